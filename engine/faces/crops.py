"""Crop plans: how a detected face becomes a network's input, and the way back.

A model preset names its plan; the pipeline cuts every face with it before any
network runs, so the engines only run networks. Three plans, one per kind of model:

* :class:`AlignedCrop`: the face similarity-aligned to a template at the network's
  size (SPARNetHD, Revive's blind restorers). Bicubic, area-averaged when shrinking.
* :class:`LowResAlignedCrop`: aligned at ``size // factor`` (area-averaged), then
  bicubic-up-sampled ``factor`` times with PIL, exactly as the training input of
  SPARNet x8 (a 16 px face brought to 128 px).
* :class:`RegionCrop`: a square region around the face box at the photo's own
  resolution (reflected past the photo's edges); the network enlarges it ``factor``
  times (CAGFace).

Each gives a :class:`FaceCrop`: the input pixels, the 2x3 map from photo pixels to
the network's *output* crop (what paste-back inverts), and the feathered paste mask
at the output crop's size.

A face bigger in the output than an aligned network's side is cut once at its own
output resolution (``engine.faces.native``) and shrunk from there for the network; the
:class:`FaceCrop` then carries that native crop too, for the finishing step to keep the
photo's detail. No face is warped from the photo twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image

from ..pixels import to_float01, to_uint8
from .align import alignment_matrix, compose, similarity_scale, warp_affine, warp_to_template
from .detect import DetectedFace
from .native import DETAIL_FROM, NativeCrop, cut_native, native_side, shrink
from .paste import face_mask, scale_matrix

# The largest working side of a restorer that works at any size (AlignedCrop.max_side):
# four times the pixels of a 128 px network, measured in docs/training.md.
WORK_MAX_SIDE = 256


@dataclass
class FaceCrop:
    """One face cut for a network."""

    pixels: np.ndarray  # H x W x 3 float32 [0, 1]: exactly what the network is given
    to_crop: np.ndarray  # 2x3: photo pixels -> output-crop pixels
    mask: np.ndarray  # paste mask at the output crop's size, float32 [0, 1]
    seconds: float = 0.0  # time spent cutting
    # A face larger in the result than the network's side: the aligned square at its own
    # output resolution, cut first; ``pixels`` is it shrunk (engine.faces.native).
    native: NativeCrop | None = None

    @property
    def output_side(self) -> int:
        return int(self.mask.shape[0])


class CropPlan(Protocol):
    """How one kind of network wants its faces."""

    def cut(self, image: np.ndarray, face: DetectedFace, feather: float) -> FaceCrop: ...


@dataclass(frozen=True)
class AlignedCrop:
    """Aligned to ``template`` at ``size`` px; the network's output has the same geometry.

    A fully convolutional restorer trained on crops of faces (``max_side`` above
    ``size``) takes a face that is large in the result at a larger *working side*
    instead: the face's own output side, in steps of 16, up to ``max_side``. Shrunk to
    ``size``, such a face would lose the resolution where its blur lies, and the
    network's repair, enlarged back, would come out soft (docs/training.md, "Where the
    restorer works on a big face"). ``scale`` is the output's over the photo's.
    """

    template: str
    size: int
    max_side: int = 0  # 0: always ``size``
    scale: int = 1

    def working_side(self, face: DetectedFace) -> int:
        """The side this face is cut at: ``size``, or more for a face large in the result."""
        return self._working_side(self._output_side(face))

    def _output_side(self, face: DetectedFace) -> float:
        """How many output pixels the aligned square covers (photo side x ``scale``)."""
        matrix = alignment_matrix(face.landmarks, self.template, self.size)
        return self.size / similarity_scale(matrix) * self.scale

    def _working_side(self, output_side: float) -> int:
        if self.max_side <= self.size or output_side <= DETAIL_FROM * self.size:
            return self.size
        return max(self.size, min(self.max_side, int(output_side // 16) * 16))

    def cut(self, image: np.ndarray, face: DetectedFace, feather: float) -> FaceCrop:
        """One warp per face: at the working side, or at the native side and shrunk."""
        start = time.perf_counter()
        output_side = self._output_side(face)
        side = self._working_side(output_side)
        mask = face_mask(side, self.template, feather)
        large = native_side(output_side, self.size)
        if large is None:
            matrix = alignment_matrix(face.landmarks, self.template, side)
            pixels = to_float01(warp_to_template(image, matrix, side))
            return FaceCrop(pixels, matrix, mask, time.perf_counter() - start)
        native = cut_native(image, face.landmarks, self.template, large, feather)
        pixels, matrix = shrink(native, side)
        return FaceCrop(pixels, matrix, mask, time.perf_counter() - start, native)


@dataclass(frozen=True)
class LowResAlignedCrop:
    """Aligned at ``size // factor``, then bicubic x ``factor`` (PIL), as in training."""

    template: str
    size: int
    factor: int

    def cut(self, image: np.ndarray, face: DetectedFace, feather: float) -> FaceCrop:
        start = time.perf_counter()
        lr_size = self.size // self.factor
        lr_matrix = alignment_matrix(face.landmarks, self.template, lr_size)
        lr = to_uint8(warp_to_template(image, lr_matrix, lr_size))
        up = Image.fromarray(lr).resize((self.size, self.size), Image.Resampling.BICUBIC)
        pixels = to_float01(np.asarray(up))
        # PIL maps pixel centres: up = f * (lr + 0.5) - 0.5
        matrix = compose(scale_matrix(self.factor), lr_matrix)
        mask = face_mask(self.size, self.template, feather)
        return FaceCrop(pixels, matrix, mask, time.perf_counter() - start)


@dataclass(frozen=True)
class RegionCrop:
    """A square of ``region`` face-box sides around the face, at the photo's resolution.

    The side is a multiple of ``multiple`` (the network's input must divide by it);
    the output crop is ``factor`` times larger.
    """

    factor: int
    region: float = 1.8
    multiple: int = 2

    def cut(self, image: np.ndarray, face: DetectedFace, feather: float) -> FaceCrop:
        start = time.perf_counter()
        cx = (face.box[0] + face.box[2]) / 2
        cy = (face.box[1] + face.box[3]) / 2
        m = self.multiple
        side = max(4 * m, int(round(self.region * face.size / m)) * m)
        x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0]])
        pixels = to_float01(warp_affine(image, shift, (side, side)))  # reflected past edges
        mask = face_mask(side * self.factor, None, feather)
        to_crop = compose(scale_matrix(self.factor), shift)
        return FaceCrop(pixels, to_crop, mask, time.perf_counter() - start)
