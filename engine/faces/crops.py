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

A face bigger in the output than an aligned network's size would lose the detail the
photo already has if it went through the network at that size and back. For such a
face :func:`native_crop` cuts the same aligned square at the face's own output
resolution; the pipeline then adds only the network's *correction* (its output minus
its input, enlarged) to that crop (``add_correction``), so the photo's finer detail
stays and the network's repair is added where it works.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
from PIL import Image

from ..pixels import to_float01, to_uint8
from .align import alignment_matrix, compose, similarity_scale, warp_affine, warp_to_template
from .detect import DetectedFace
from .paste import face_mask, scale_matrix


@dataclass
class FaceCrop:
    """One face cut for a network."""

    pixels: np.ndarray  # H x W x 3 float32 [0, 1]: exactly what the network is given
    to_crop: np.ndarray  # 2x3: photo pixels -> output-crop pixels
    mask: np.ndarray  # paste mask at the output crop's size, float32 [0, 1]
    seconds: float = 0.0  # time spent cutting

    @property
    def output_side(self) -> int:
        return int(self.mask.shape[0])

    def photo_side(self) -> float:
        """The output crop's side measured in photo pixels (how big the face really is)."""
        return self.output_side / similarity_scale(self.to_crop)


@dataclass
class NativeCrop:
    """An aligned face at its own output resolution (larger than the network's side)."""

    pixels: np.ndarray  # N x N x 3 float32 [0, 1]
    to_crop: np.ndarray  # 2x3: photo pixels -> this crop's pixels
    mask: np.ndarray  # N x N paste mask


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
        if self.max_side <= self.size:
            return self.size
        matrix = alignment_matrix(face.landmarks, self.template, self.size)
        output_side = self.size / similarity_scale(matrix) * self.scale
        if output_side <= DETAIL_FROM * self.size:
            return self.size
        return max(self.size, min(self.max_side, int(output_side // 16) * 16))

    def cut(self, image: np.ndarray, face: DetectedFace, feather: float) -> FaceCrop:
        start = time.perf_counter()
        side = self.working_side(face)
        matrix = alignment_matrix(face.landmarks, self.template, side)
        pixels = to_float01(warp_to_template(image, matrix, side))
        mask = face_mask(side, self.template, feather)
        return FaceCrop(pixels, matrix, mask, time.perf_counter() - start)


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


# Faces up to this much larger than the network's side go through it as they are;
# larger ones keep their own detail and get the network's correction added.
DETAIL_FROM = 1.25
# The largest working side of a restorer that works at any size (AlignedCrop.max_side):
# four times the pixels of a 128 px network, measured in docs/training.md.
WORK_MAX_SIDE = 256
NATIVE_MAX_SIDE = 1024  # the largest native crop (memory: 12 MiB of float32)


def native_side(crop: FaceCrop, scale: int) -> float:
    """How many output pixels the network's crop side covers (photo side x output scale)."""
    return crop.photo_side() * scale


def native_crop(
    plan: AlignedCrop, image: np.ndarray, face: DetectedFace, feather: float, side: int
) -> NativeCrop:
    """The plan's aligned square cut from the photo at ``side`` px (the same square as
    the network's crop, at a higher resolution)."""
    matrix = alignment_matrix(face.landmarks, plan.template, side)
    pixels = to_float01(warp_to_template(image, matrix, side))
    return NativeCrop(pixels, matrix, face_mask(side, plan.template, feather))


def add_correction(
    native: np.ndarray, network_in: np.ndarray, network_out: np.ndarray
) -> np.ndarray:
    """``native + enlarge(network_out - network_in)``: the repair without the blur.

    The network saw the face shrunk to its side; its output minus its input is what it
    changed at that resolution. Enlarged (bicubic) to the native side and added, it
    repairs what the network repairs while the photo's finer detail stays.
    """
    n = native.shape[0]
    correction = cv2.resize(network_out - network_in, (n, n), interpolation=cv2.INTER_CUBIC)
    return np.clip(native + correction, 0.0, 1.0).astype(np.float32)
