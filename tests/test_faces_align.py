"""Alignment: exact similarity fit and inverse, warps that put landmarks on the template."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.faces.align import (
    TEMPLATES,
    align_face,
    alignment_matrix,
    fit_similarity,
    invert_similarity,
    template_points,
    transform_points,
    warp_to_template,
)


def random_similarity(rng: np.random.Generator) -> np.ndarray:
    angle = rng.uniform(-np.pi, np.pi)
    scale = rng.uniform(0.1, 5)
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    return np.array([[c, -s, rng.uniform(-300, 300)], [s, c, rng.uniform(-300, 300)]])


@pytest.mark.parametrize("seed", range(5))
def test_fit_recovers_a_similarity_and_the_inverse_is_exact(seed):
    rng = np.random.default_rng(seed)
    truth = random_similarity(rng)
    src = rng.uniform(0, 500, size=(5, 2))
    fitted = fit_similarity(src, transform_points(truth, src))
    assert np.allclose(fitted, truth, atol=1e-9)
    back = transform_points(invert_similarity(fitted), transform_points(fitted, src))
    assert np.allclose(back, src, atol=1e-9)


def test_fit_never_reflects():
    src = template_points("ffhq512", 512)
    mirrored = src * np.array([-1, 1])
    matrix = fit_similarity(src, mirrored)
    assert np.linalg.det(matrix[:, :2]) > 0


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_templates_are_plausible_faces(name):
    pts = TEMPLATES[name]
    left_eye, right_eye, nose, mouth_l, mouth_r = pts
    assert left_eye[0] < nose[0] < right_eye[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_l[1], mouth_r[1])
    assert ((pts > 0) & (pts < 1)).all()


def centroid(channel: np.ndarray) -> np.ndarray:
    weights = channel.astype(np.float64)
    ys, xs = np.mgrid[: channel.shape[0], : channel.shape[1]]
    return np.array([(xs * weights).sum(), (ys * weights).sum()]) / weights.sum()


@pytest.mark.parametrize(("crop_per_photo_px", "size"), [(1.3, 256), (0.12, 128)])
def test_warp_puts_the_landmarks_on_the_template(crop_per_photo_px, size):
    """Five dots placed at a face's landmarks land on the template points of the crop."""
    angle = 0.4
    c, s = np.cos(angle), np.sin(angle)
    crop_pts = template_points("utkface", size)
    # photo = R * crop / scale + offset: a rotated, scaled copy of the template
    photo_pts = crop_pts @ np.array([[c, -s], [s, c]]).T / crop_per_photo_px
    margin = size / crop_per_photo_px  # the whole crop lies inside the photo: no mirrored dots
    photo_pts += margin - photo_pts.min(0)
    side = int(photo_pts.max() + margin)
    radius = max(2, int(3 / crop_per_photo_px))

    def dot(i: int) -> np.ndarray:
        image = np.zeros((side, side), np.float32)
        x, y = photo_pts[i]
        cv2.circle(image, (int(round(x)), int(round(y))), radius, 1.0, -1)
        return image

    # the dots' own centroids (a rasterised circle is centred on a whole pixel)
    photo_pts = np.array([centroid(dot(i)) for i in range(5)])
    found = []
    for i in range(5):  # one dot per single-channel image (OpenCV warps up to 4 channels)
        face = align_face(dot(i), photo_pts, "utkface", size)
        assert face.crop.shape == (size, size)
        found.append(centroid(np.clip(face.crop, 0, None)))
    # The warp moves each dot exactly where the fitted map says ...
    assert np.abs(np.array(found) - transform_points(face.matrix, photo_pts)).max() < 0.25
    # ... which is the template, up to the whole-pixel rounding of the dots.
    assert np.abs(np.array(found) - crop_pts).max() < 1.0
    round_trip = transform_points(face.inverse, transform_points(face.matrix, photo_pts))
    assert np.allclose(round_trip, photo_pts, atol=1e-9)


def test_shrinking_warp_is_not_aliased():
    """A fine stripe pattern shrunk 8x must average to grey, not alias into bands."""
    stripes = np.zeros((2048, 2048), np.uint8)
    stripes[:, ::2] = 255
    matrix = np.array([[1 / 8, 0, 0], [0, 1 / 8, 0]])
    crop = warp_to_template(stripes, matrix, 256)
    assert abs(crop[16:-16, 16:-16].mean() - 127.5) < 3
    assert crop[16:-16, 16:-16].std() < 3


def test_16bit_images_stay_16bit():
    photo = (np.random.default_rng(0).random((300, 300, 3)) * 65535).astype(np.uint16)
    matrix = alignment_matrix(template_points("ffhq512", 300), "ffhq512", 128)
    crop = warp_to_template(photo, matrix, 128)
    assert crop.dtype == np.uint16 and crop.max() > 255
