"""Faces larger in the result than the network's side keep their own detail (issue 19).

An identity restorer (a residual blind preset whose correction is zero) must give a
big face back exactly, while the old way (shrink to the network's side, enlarge back)
would blur it; a face smaller than the network's side goes through it as before.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.app.demo import astronaut
from engine.pipeline import RestoreOptions, Restorer
from tests.tiny_models import install_identity_restorer, one_torch_thread


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


@pytest.fixture(scope="module")
def identity_restorer(tmp_path_factory):
    """`sparnet_blind128_s` whose last convolution is zero: output = input."""
    folder = tmp_path_factory.mktemp("user-data")
    install_identity_restorer(folder)
    with one_torch_thread(), pytest.MonkeyPatch.context() as mp:
        mp.setenv("REVIVE_DATA_DIR", str(folder))
        yield Restorer(RestoreOptions.of(model="identity128", masks=False, color_match=False))


def face_region(result, face, scale: int = 1) -> tuple[slice, slice]:
    x0, y0, x1, y1 = (np.asarray(face.box) * scale).astype(int)
    return slice(y0, y1), slice(x0, x1)


def textured(factor: float, seed: int = 0) -> np.ndarray:
    """The astronaut enlarged ``factor`` times, with fine grain added (detail only a
    network working at a smaller size would lose)."""
    image = astronaut()
    side = int(round(512 * factor))
    big = cv2.resize(image, (side, side), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    grain = np.random.default_rng(seed).normal(0.0, 8.0, big.shape[:2])[..., None]
    return np.clip(np.rint(big + grain), 0, 255).astype(np.uint8)


def options(**extra) -> RestoreOptions:
    return RestoreOptions.of(model="identity128", masks=False, color_match=False, **extra)


def test_a_big_face_keeps_its_detail(identity_restorer):
    photo = textured(3.0)  # the aligned face square is about 230 px: over 1.25 x 128
    result = identity_restorer.restore(photo, options(min_face_size=100))
    (face,) = result.faces
    n = face.crop_after.shape[0]
    assert "its own detail was kept" in face.note and n > 160
    region = face_region(result, face)
    kept = psnr(result.image[region], photo[region])
    # The old way: shrink the aligned face to the network's 128 px and enlarge it back.
    small = cv2.resize(face.crop_before, (128, 128), interpolation=cv2.INTER_AREA)
    blurred = psnr(cv2.resize(small, (n, n), interpolation=cv2.INTER_CUBIC), face.crop_before)
    # (two bicubic warps, there and back, cost some of the grain: about 40 dB)
    assert kept > 38 and blurred < kept - 6, (kept, blurred)
    assert result.to_report()["faces"][0]["note"] == face.note


def test_a_small_face_goes_through_the_network_as_before(identity_restorer):
    photo = textured(1.0)  # the aligned face square is about 80 px
    result = identity_restorer.restore(photo, options(min_face_size=40))
    (face,) = result.faces
    assert face.note == "" and face.crop_after.shape[:2] == (128, 128)
    region = face_region(result, face)
    assert psnr(result.image[region], photo[region]) > 30  # identity net, resampled twice


def test_scale_two_makes_a_face_big_enough_to_keep_its_detail(identity_restorer):
    photo = textured(1.5)  # about 140 px: through the network at scale 1, not at scale 2
    one = identity_restorer.restore(photo, options(min_face_size=60))
    two = identity_restorer.restore(photo, options(min_face_size=60, scale=2))
    assert one.faces[0].note == ""
    assert "its own detail was kept" in two.faces[0].note
    region = face_region(two, two.faces[0], 2)
    assert psnr(two.image[region], two.base[region]) > 40  # the enlarged photo, kept
