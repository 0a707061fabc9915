"""Paste-back: exact inverse warp, feathered masks, overlaps, colour matching, chroma."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from engine.faces.align import alignment_matrix, template_points, warp_to_template
from engine.faces.colour import keep_luminance_only, looks_monochrome, match_colors
from engine.faces.paste import PasteItem, face_mask, paste_faces


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()  # 512 x 512 RGB, public domain


# Eyes, nose and mouth corners of the astronaut's face (measured once on the image).
LANDMARKS = np.array([[187, 118], [232, 117], [211, 143], [192, 168], [228, 167]], float)


@pytest.mark.parametrize("template,size", [("ffhq512", 512), ("utkface", 128), (None, 96)])
def test_masks_are_zero_on_the_crop_border_and_one_inside_the_face(template, size):
    mask = face_mask(size, template)
    assert mask.dtype == np.float32 and mask.shape == (size, size)
    for edge in (mask[0], mask[-1], mask[:, 0], mask[:, -1]):
        assert edge.max() == 0.0  # no box edge can show
    if template is not None:
        pts = template_points(template, size)
        for x, y in pts:  # eyes, nose, mouth are fully inside
            assert mask[int(y), int(x)] > 0.99
    assert mask.min() >= 0.0 and mask.max() <= 1.0
    assert not mask.flags.writeable


@pytest.mark.parametrize("scale", [1, 2])
def test_pasting_the_aligned_face_itself_gives_back_the_photo(astronaut, scale):
    """The inverse warp is exact: an unchanged face pastes back onto itself."""
    matrix = alignment_matrix(LANDMARKS, "ffhq512", 256)
    crop = warp_to_template(astronaut, matrix, 256).astype(np.float32) / 255
    base = astronaut if scale == 1 else np.repeat(np.repeat(astronaut, 2, 0), 2, 1)
    if scale == 2:  # compare against a smooth enlargement, as the pipeline's base is
        import cv2

        base = cv2.resize(astronaut, (1024, 1024), interpolation=cv2.INTER_CUBIC)
    out = paste_faces(base, [PasteItem(crop, face_mask(256, "ffhq512"), matrix)], scale)
    diff = np.abs(out.astype(float) - base)
    changed = diff.max(axis=2) > 0
    assert changed.sum() > 2000
    assert diff[changed].mean() < 3.0  # resampling twice, nothing more


def test_strength_and_rejection():
    base = np.full((100, 100, 3), 40, np.uint8)
    crop = np.full((64, 64, 3), 0.8, np.float32)
    matrix = np.array([[1.0, 0, -18], [0, 1.0, -18]])  # crop = photo shifted
    mask = face_mask(64, None)
    full = paste_faces(base, [PasteItem(crop, mask, matrix, 1.0)], 1)
    half = paste_faces(base, [PasteItem(crop, mask, matrix, 0.5)], 1)
    none = paste_faces(base, [PasteItem(crop, mask, matrix, 0.0)], 1)
    np.testing.assert_array_equal(none, base)
    assert full[50, 50, 0] == 204
    assert abs(int(half[50, 50, 0]) - (40 + 204) / 2) <= 1


def test_overlapping_faces_blend_order_free_without_darkening():
    base = np.zeros((100, 160, 3), np.uint16)
    mask = face_mask(100, None, feather=0.02)  # full weight within ~43 px of the centre
    at_a = np.array([[1.0, 0, 0], [0, 1, 0]])  # centre (50, 50)
    at_b = np.array([[1.0, 0, -60], [0, 1, 0]])  # centre (110, 50)
    a = PasteItem(np.full((100, 100, 3), 0.5, np.float32), mask, at_a)
    b = PasteItem(np.full((100, 100, 3), 0.5, np.float32), mask, at_b)
    ab = paste_faces(base, [a, b], 1)
    np.testing.assert_array_equal(ab, paste_faces(base, [b, a], 1))
    half = round(0.5 * 65535)
    assert ab.max() <= half  # two faces of the same tone never add up past it
    assert ab[50, 80, 0] == half  # where both are fully in: exactly that tone
    # Different tones: the overlap is their weighted mean, not a darker or lighter mix.
    c = PasteItem(np.full((100, 100, 3), 0.9, np.float32), mask, at_b)
    ac = paste_faces(base, [a, c], 1).astype(float) / 65535
    np.testing.assert_array_equal(ac, paste_faces(base, [c, a], 1).astype(float) / 65535)
    assert ac[50, 80, 0] == pytest.approx(0.7, abs=1e-4)  # both fully in: the mean
    assert ac[50, 30, 0] == pytest.approx(0.5, abs=1e-4)  # only a
    assert ac[50, 130, 0] == pytest.approx(0.9, abs=1e-4)  # only c
    row = ac[50, 30:131, 0]
    assert row.min() >= 0.5 - 1e-4 and row.max() <= 0.9 + 1e-4  # no dip across the seam


def test_colour_matching_takes_the_low_frequencies_of_the_original(astronaut):
    original = astronaut[100:228, 150:278].astype(np.float32) / 255
    rng = np.random.default_rng(0)
    detail = rng.normal(0, 0.05, original.shape).astype(np.float32)
    restored = np.clip(original * 0.8 + np.array([0.15, 0.0, -0.05]) + detail, 0, 1)
    mask = face_mask(128, None)
    matched = match_colors(restored, original, mask)
    inside = mask > 0.9
    import cv2

    def low(x):  # what colour matching is about: the low frequencies of a difference
        return cv2.GaussianBlur(x, (0, 0), 6)

    before = np.abs(low(restored - original))[inside].mean(0)
    after = np.abs(low(matched - original))[inside].mean(0)
    assert (after < 0.3 * before).all(), (before, after)
    # High frequencies stay the restoration's: the added detail survives.
    hp = detail[inside] - detail[inside].mean(0)
    got = (matched - original)[inside]
    assert np.corrcoef(hp[:, 0], got[:, 0])[0, 1] > 0.8


def test_colour_matching_an_enlarged_output_against_a_smaller_original(astronaut):
    original = astronaut[100:164, 150:214].astype(np.float32) / 255
    import cv2

    restored = cv2.resize(original, (256, 256), interpolation=cv2.INTER_CUBIC) + 0.1
    matched = match_colors(restored.astype(np.float32), original, face_mask(256, None))
    assert matched.shape == (256, 256, 3)
    small = cv2.resize(matched, (64, 64), interpolation=cv2.INTER_AREA)
    inside = face_mask(64, None) > 0.9
    assert np.abs(small - original)[inside].mean() < 0.02


def test_keep_chroma_changes_luminance_only():
    gray = np.repeat(np.linspace(0, 1, 64, dtype=np.float32)[None, :, None], 64, 0)
    original = np.repeat(gray, 3, axis=2)
    colourful = np.clip(original + np.array([0.2, -0.1, 0.0], np.float32), 0, 1)
    kept = keep_luminance_only(colourful, original)
    inner = kept[:, 8:-8]  # away from clipping
    np.testing.assert_array_equal(inner[..., 0], inner[..., 1])
    np.testing.assert_array_equal(inner[..., 1], inner[..., 2])


def test_monochrome_photos_are_recognised(astronaut):
    gray = np.repeat(astronaut.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    y = gray[..., 0].astype(np.float32) / 255
    sepia = np.stack([y * 1.07, y * 0.74 + 0.03, y * 0.43 + 0.05], axis=2)  # toned print
    sepia16 = np.rint(np.clip(sepia, 0, 1) * 65535).astype(np.uint16)
    assert looks_monochrome(gray)
    assert looks_monochrome(sepia16)
    assert not looks_monochrome(astronaut)
