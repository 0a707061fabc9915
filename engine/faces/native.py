"""Large faces keep their own detail: the native crop, cut once, and the repair added to it.

A face bigger in the output than an aligned network's side would lose the detail the
photo already has if it went through the network at that side and back. For such a
face the crop plan cuts the aligned square once, at the face's own output resolution
(:func:`cut_native`), and gives the network that crop shrunk to its working side.
After the network only its *correction* (output minus input, enlarged) is added to the
native crop (:func:`keep_own_detail`), so the photo's finer detail stays and the
network's repair is added where it works. The photo is warped once per face.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..pixels import to_float01
from .align import alignment_matrix, compose, warp_to_template
from .paste import face_mask, scale_matrix

# Faces up to this much larger than the network's side go through it as they are;
# larger ones keep their own detail and get the network's correction added.
DETAIL_FROM = 1.25
NATIVE_MAX_SIDE = 1024  # the largest native crop (memory: 12 MiB of float32)


@dataclass
class NativeCrop:
    """An aligned face at its own output resolution (larger than the network's side)."""

    pixels: np.ndarray  # N x N x 3 float32 [0, 1]
    to_crop: np.ndarray  # 2x3: photo pixels -> this crop's pixels
    mask: np.ndarray  # N x N paste mask

    @property
    def side(self) -> int:
        return int(self.pixels.shape[0])


@dataclass
class KeptDetail:
    """A large face after the network: its native crop with the network's repair added."""

    before: np.ndarray  # the native crop (float32 [0, 1])
    after: np.ndarray  # before + the enlarged correction
    to_crop: np.ndarray
    mask: np.ndarray
    masks: dict[str, np.ndarray] | None  # the face parts, at the native side
    note: str  # one sentence for the user


def native_side(output_side: float, network_side: int) -> int | None:
    """The native crop's side for an aligned square ``output_side`` px in the result, or
    None when the face is small enough to go through the network as it is."""
    if output_side <= DETAIL_FROM * network_side:
        return None
    return int(min(NATIVE_MAX_SIDE, round(output_side)))


def cut_native(
    image: np.ndarray, landmarks: np.ndarray, template: str, side: int, feather: float
) -> NativeCrop:
    """The aligned square cut from the photo at ``side`` px: the face's one warp."""
    matrix = alignment_matrix(landmarks, template, side)
    pixels = to_float01(warp_to_template(image, matrix, side))
    return NativeCrop(pixels, matrix, face_mask(side, template, feather))


def shrink(native: NativeCrop, side: int) -> tuple[np.ndarray, np.ndarray]:
    """The network's input made from the native crop: (pixels at ``side``, photo -> them).

    Area-averaged, as the aligned crops are when they shrink; the map follows
    ``cv2.resize``'s pixel centres, the same ones ``add_correction`` enlarges back with.
    """
    if side == native.side:
        return native.pixels, native.to_crop
    pixels = cv2.resize(native.pixels, (side, side), interpolation=cv2.INTER_AREA)
    return pixels, compose(scale_matrix(side / native.side), native.to_crop)


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


def keep_own_detail(
    native: NativeCrop,
    network_in: np.ndarray,
    network_out: np.ndarray,
    masks: dict[str, np.ndarray] | None,
) -> KeptDetail:
    """The native crop with the network's correction; the face parts at the native side."""
    n = native.side
    if masks is not None:  # the same square, at the crop's new resolution
        masks = {
            k: np.asarray(cv2.resize(v, (n, n), interpolation=cv2.INTER_LINEAR))
            for k, v in masks.items()
        }
    note = (
        f"this face is {n} px in the result, larger than the "
        f"{network_in.shape[0]} px the network worked at: its own detail was "
        "kept and the network's repair added"
    )
    after = add_correction(native.pixels, network_in, network_out)
    return KeptDetail(native.pixels, after, native.to_crop, native.mask, masks, note)
