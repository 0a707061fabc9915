"""Faces larger in the result than the network's side keep their own detail (issue 19).

An identity restorer (a residual blind preset whose correction is zero) must give a
big face back exactly, while the old way (shrink to the network's side, enlarge back)
would blur it; a face smaller than the network's side goes through it as before.
"""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from engine.app.demo import astronaut
from engine.faces.native import add_correction
from engine.pipeline import RestoreOptions, Restorer
from tests.tiny_models import identity_user_folder, install_identity_restorer, one_torch_thread


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


@pytest.fixture(scope="module")
def identity_restorer(tmp_path_factory):
    """`sparnet_blind128_s` whose last convolution is zero: output = input."""
    with identity_user_folder(tmp_path_factory.mktemp("user-data")):
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


def two_faces() -> np.ndarray:
    """A large face (native crop at 2x) beside a small one (through the network as is)."""
    small = cv2.resize(astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    large = textured(1.5)
    photo = np.full((large.shape[0], large.shape[1] + 300, 3), 128, np.uint8)
    photo[: large.shape[0], : large.shape[1]] = large
    photo[40:296, large.shape[1] + 30 : large.shape[1] + 286] = small
    return photo


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


def test_the_correction_is_enlarged_and_added_to_the_native_crop():
    rng = np.random.default_rng(1)
    native = rng.uniform(0.2, 0.8, (256, 256, 3)).astype(np.float32)
    network_in = cv2.resize(native, (128, 128), interpolation=cv2.INTER_AREA)
    ramp = np.linspace(0.0, 0.1, 128, dtype=np.float32)[None, :, None]
    out = add_correction(native, network_in, network_in + ramp)
    change = out - native  # the ramp, enlarged to 256 px; the native grain untouched
    expected = np.linspace(0.0, 0.1, 256, dtype=np.float32)[None, :, None]
    assert np.abs(change[8:-8, 8:-8] - expected[:, 8:-8]).max() < 2e-3
    assert np.array_equal(add_correction(native, network_in, network_in), native)
    assert add_correction(native, network_in, network_in + 1.0).max() == 1.0  # clipped


def test_a_big_face_gets_the_networks_correction_on_its_own_detail(tmp_path, monkeypatch):
    plain = install_identity_restorer(tmp_path)
    brighter = install_identity_restorer(tmp_path, offset=0.1, name="brighter128")
    monkeypatch.setenv("REVIVE_DATA_DIR", str(tmp_path))
    photo = textured(3.0)
    results = {}
    with one_torch_thread():
        for name in (plain, brighter):
            chosen = RestoreOptions.of(model=name, masks=False, color_match=False)
            results[name] = Restorer(chosen).restore(
                photo,
                RestoreOptions.of(model=name, masks=False, color_match=False, min_face_size=100),
            )
    (face,) = results[brighter].faces
    assert "its own detail was kept" in face.note
    x0, y0, x1, y1 = np.asarray(face.box).astype(int)
    cy, cx, r = (y0 + y1) // 2, (x0 + x1) // 2, (x1 - x0) // 6  # the face's middle
    centre = (slice(cy - r, cy + r), slice(cx - r, cx + r))
    base = results[plain].image[centre].astype(np.float64)
    gain = results[brighter].image[centre].astype(np.float64) - base
    unclipped = (base > 20) & (base < 230)
    # +0.1 in [-1, 1] is +0.05 of full scale: 12.75 levels, added alike to every pixel
    # of the detail the zero-correction net keeps
    deviation = np.abs(gain[unclipped] - 12.75)
    # (a few pixels the warps' overshoot clipped in the crop differ more)
    assert np.median(deviation) <= 0.5 and np.percentile(deviation, 99.5) <= 1.0


def worked_at(face) -> int:
    """The side the network worked at, as the face's note tells the user."""
    match = re.search(r"than the (\d+) px the network worked at", face.note)
    return int(match.group(1)) if match else 128


def test_a_face_large_in_the_result_is_restored_at_a_larger_working_side(identity_restorer):
    """A blind restorer works on a big face at up to WORK_MAX_SIDE, in steps of 16: the
    resolution where the face's blur lies, not 128 px and back."""
    from engine.faces.crops import WORK_MAX_SIDE
    from engine.models import get_preset

    assert get_preset("sparnet_blind128_s").max_work_side == WORK_MAX_SIDE == 256
    assert get_preset("sparnethd_attn2d").max_work_side == 512  # its own size only
    sides = {}
    for factor, scale in ((1.0, 1), (1.0, 2), (3.0, 2)):
        photo = textured(factor)
        result = identity_restorer.restore(photo, options(min_face_size=40, scale=scale))
        (face,) = result.faces
        sides[factor, scale] = worked_at(face)
        native = face.crop_after.shape[0]
        assert sides[factor, scale] <= native and sides[factor, scale] % 16 == 0
        region = face_region(result, face, scale)
        # A zero correction at any working side gives the (enlarged) photo back.
        assert psnr(result.image[region], (result.base if scale > 1 else photo)[region]) > 30
    assert sides[1.0, 1] == 128  # about 90 px: through the network at its own size
    assert 128 < sides[1.0, 2] < 256  # the face's own side in the result, in steps of 16
    assert sides[3.0, 2] == 256  # capped


def test_faces_of_different_working_sides_restore_in_one_photo(identity_restorer):
    """Two faces, one small and one large in the result: each batch holds one side, and
    every face comes back in its own place."""
    photo = two_faces()
    events = []
    result = identity_restorer.restore(
        photo, options(min_face_size=30, scale=2), progress=events.append
    )
    assert len(result.faces) == 2
    sides = sorted(f.crop_before.shape[0] for f in result.faces)
    assert sides[0] == 128 and sides[1] > 128
    counts = [(e.done, e.total) for e in events if e.stage == "restore"]
    assert counts[-1] == (2, 2) and all(t == 2 for _, t in counts)
    for face in result.faces:
        region = face_region(result, face, 2)
        assert psnr(result.image[region], result.base[region]) > 34


def test_no_face_is_cut_from_the_photo_twice(identity_restorer, monkeypatch):
    """A large face's native crop is planned before the network, not cut again after it:
    every warp of the photo is counted (the one warp ``warp_to_template`` goes through)."""
    from engine.faces import align

    photo = two_faces()
    warped: list[tuple[int, int]] = []
    warp = align.warp_affine

    def counted(image, matrix, size, *args, **kwargs):
        if image.shape[:2] == photo.shape[:2]:  # the photo itself, not a crop of it
            warped.append(size)
        return warp(image, matrix, size, *args, **kwargs)

    monkeypatch.setattr(align, "warp_affine", counted)
    result = identity_restorer.restore(photo, options(min_face_size=30, scale=2))
    assert len(result.faces) == 2
    notes = sorted(bool(f.note) for f in result.faces)
    assert notes == [False, True]  # one face kept its own detail, one did not
    assert len(warped) == 2, warped  # one warp per face
    # each face's one warp is the crop its record holds: the native side for the large one
    assert sorted(w for w, _ in warped) == sorted(f.crop_before.shape[0] for f in result.faces)


def test_a_large_faces_network_input_is_its_native_crop_shrunk(identity_restorer):
    """The working-side input made from the native crop is the face a direct warp at the
    working side gives (same geometry, same anti-aliasing within the resampling's error)."""
    from engine.faces.align import warp_to_template
    from engine.faces.crops import AlignedCrop
    from engine.models import get_preset
    from engine.pixels import to_float01

    photo = textured(3.0)
    (face,) = identity_restorer.detect(photo, options(min_face_size=100))
    plan = get_preset("sparnet_blind128_s").crop
    assert isinstance(plan, AlignedCrop)
    crop = plan.cut(photo, face, 0.03)
    assert crop.native is not None and crop.native.side > crop.pixels.shape[0] == 256
    direct = to_float01(warp_to_template(photo, crop.to_crop, 256))
    inner = slice(8, -8)  # away from the border's reflection
    error = np.abs(crop.pixels[inner, inner] - direct[inner, inner])
    assert np.mean(error) < 0.01 and np.percentile(error, 99) < 0.05, (error.mean(),)
