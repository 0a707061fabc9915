"""MTCNN detection on real photos: the Solvay conference (29 people) and a 3-face group."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.faces.align import align_face, template_points, transform_points
from engine.faces.detect import FaceDetector
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def solvay() -> np.ndarray:
    return np.asarray(
        Image.open(shared_path("real", "sparnet", "Solvay_conference_1927.jpg")).convert("RGB")
    )


@pytest.fixture(scope="module")
def solvay_faces(solvay):
    return FaceDetector().detect(solvay)


def test_finds_at_least_27_of_the_29_solvay_faces(solvay_faces):
    assert 27 <= len(solvay_faces) <= 31
    xs = [f.box[0] for f in solvay_faces]
    assert xs == sorted(xs)
    for face in solvay_faces:
        assert face.score >= 0.9 and face.landmarks.shape == (5, 2)
        x0, y0, x1, y1 = face.box
        inside = (face.landmarks[:, 0] > x0 - 5) & (face.landmarks[:, 0] < x1 + 5)
        assert inside.all()
        assert face.landmarks[0, 0] < face.landmarks[1, 0]  # left eye left of right eye


def test_large_photos_are_searched_downscaled_and_mapped_back(solvay, solvay_faces):
    detector = FaceDetector(max_side=1400)  # forces a 0.51x search copy
    faces = detector.detect(solvay)
    assert len(faces) >= 27
    # Each face found on the small copy matches one found at full size, in photo pixels.
    full = np.array([f.landmarks.mean(0) for f in solvay_faces])
    for face in faces:
        nearest = np.linalg.norm(full - face.landmarks.mean(0), axis=1).min()
        assert nearest < 4.0


def test_thresholds_are_settable(solvay, solvay_faces):
    big_only = FaceDetector(min_face_size=80).detect(solvay)
    assert len(big_only) < len(solvay_faces)
    assert all(f.size >= 80 for f in big_only)


def test_no_face_in_a_landscape():
    rng = np.random.default_rng(0)
    sky = np.linspace(0, 255, 640)[None, :, None].repeat(480, 0).repeat(3, 2)
    image = np.clip(sky + rng.normal(0, 5, sky.shape), 0, 255).astype(np.uint8)
    assert FaceDetector().detect(image) == []


def test_aligned_real_faces_land_on_the_template(solvay_faces, solvay):
    errors = []
    for face in solvay_faces:
        aligned = align_face(solvay, face.landmarks, "ffhq512", 512)
        errors.append(
            np.abs(
                transform_points(aligned.matrix, face.landmarks) - template_points("ffhq512", 512)
            ).max()
        )
    # Least squares over 5 points: residuals are the face's own shape, a few % of 512.
    assert np.median(errors) < 30
