"""The whole pipeline on the 1927 Solvay conference photo (29 people), tiny networks, CPU.

One restoration (x2, attention maps on) is shared by the module; the checks then look
at its faces, its seams, and recompositions of it (no network run).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from engine.faces.paste import PasteItem, warped_mask
from engine.pipeline import RestoreOptions, Restorer, recompose
from tests.conftest import shared_path
from tests.tiny_models import tiny_user_folder

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def restorer(tmp_path_factory):
    with tiny_user_folder(tmp_path_factory.mktemp("user-data"), ("hd", "x8")):
        yield Restorer()


@pytest.fixture(scope="module")
def solvay_path():
    return shared_path("real", "sparnet", "Solvay_conference_1927.jpg")


@pytest.fixture(scope="module")
def result(restorer, solvay_path):
    events = []
    res = restorer.restore(
        solvay_path, RestoreOptions.of(scale=2, attention=True), progress=events.append
    )
    res.events = events
    return res


def opacity(result) -> np.ndarray:
    """How much of the restored faces each output pixel shows (max_i w_i)."""
    h, w = result.image.shape[:2]
    shown = np.zeros((h, w), np.float32)
    for f in result.faces:
        got = warped_mask(PasteItem(f.restored, f.paste_mask, f.to_crop, 1.0), result.scale, (h, w))
        if got is not None:
            (x0, y0, x1, y1), weight = got
            np.maximum(shown[y0:y1, x0:x1], weight, out=shown[y0:y1, x0:x1])
    return shown


def seam_metric(result) -> tuple[float, float]:
    """Mean absolute step of (output - base) across the mask's border, and inside faces.

    A pasted box or a hard edge shows up as large steps of the change where the mask
    changes; a feathered blend spreads the change so that the border steps are no
    larger than the steps the restoration itself makes inside the face.
    """
    a = opacity(result)
    d = result.image.astype(np.float32) - result.base.astype(np.float32)
    gx = np.abs(np.diff(d, axis=1)).mean(2)[:-1, :]
    gy = np.abs(np.diff(d, axis=0)).mean(2)[:, :-1]
    step = (gx + gy) / 2
    k = np.ones((3, 3), np.uint8)
    highest, lowest = cv2.dilate(a, k)[:-1, :-1], cv2.erode(a, k)[:-1, :-1]
    border = (highest > 0.02) & (lowest < 0.98)
    inside = lowest >= 0.98
    return float(step[border].mean()), float(step[inside].mean())


def test_at_least_27_faces_are_restored_at_twice_the_size(result, solvay_path):
    from PIL import Image

    with Image.open(solvay_path) as im:
        w, h = im.size
    assert result.image.shape == (2 * h, 2 * w, 3) and result.image.dtype == np.uint8
    assert result.base.shape == result.image.shape
    assert 27 <= len(result.faces) <= 31
    assert result.device == "cpu" and not result.warnings
    for i, face in enumerate(result.faces):
        assert face.index == i and face.model == "sparnethd_tiny"
        # The crops show the face square at its size in the result (at least the network's
        # 64 px); larger faces kept their own detail and say so.
        side = face.crop_after.shape[0]
        assert face.crop_before.shape == face.crop_after.shape == (side, side, 3) and side >= 64
        assert ("its own detail was kept" in face.note) == (side > 1.25 * 64)
        assert face.crop_after.dtype == np.uint8
        assert [a.stage for a in face.attention] == ["encoder", "encoder", "body"] + ["decoder"] * 2
        assert all(a.values.min() >= 0 and a.values.max() <= 1 for a in face.attention)
        assert set(face.timings) == {"align", "network", "paste"}
    assert set(result.timings) >= {"decode", "detect", "align", "network", "paste", "total"}
    stages = [e.stage for e in result.events]
    assert stages.index("detect") < stages.index("align") < stages.index("restore")
    last_paste = max(i for i, stage in enumerate(stages) if stage == "paste")
    assert set(stages[last_paste + 1 :]) <= {"identity"}  # the figures follow the pasted photo
    # Every face changed the output; outside the faces it is the upscaled photo.
    changed = np.abs(result.image.astype(int) - result.base).max(axis=2) > 0
    for face in result.faces:
        x0, y0, x1, y1 = np.maximum(0, 2 * face.box).astype(int)
        assert changed[y0:y1, x0:x1].mean() > 0.3
    assert not changed[opacity(result) == 0].any()  # outside the face masks: untouched


def test_no_visible_box_the_border_steps_are_no_larger_than_inside(result):
    border, inside = seam_metric(result)
    assert border <= inside, (border, inside)


def test_the_seam_measure_catches_a_hard_edge_that_feathering_hides(result):
    """A restoration that brightens each face by 30 levels and sharpens it (colour match
    off): a visible-seam case. Feathered, its border passes; pasted hard, it fails."""

    def toned(face):
        x = face.crop_before.astype(np.float32) / 255
        return np.clip(x + 0.12 + (x - cv2.GaussianBlur(x, (0, 0), 1.5)), 0, 1)

    faces = [dataclasses.replace(f, restored=toned(f)) for f in result.faces]
    border, inside = seam_metric(recompose(dataclasses.replace(result, faces=faces)))
    assert border <= inside, (border, inside)
    hard = [
        dataclasses.replace(f, paste_mask=(f.paste_mask > 0.5).astype(np.float32)) for f in faces
    ]
    hard_border, hard_inside = seam_metric(recompose(dataclasses.replace(result, faces=hard)))
    assert hard_border > hard_inside and hard_border > 2 * border


def test_recompose_with_a_rejected_face_restores_its_region_exactly(result):
    faces = [dataclasses.replace(f) for f in result.faces]
    faces[3].accepted = False
    again = recompose(dataclasses.replace(result, faces=faces))
    x0, y0, x1, y1 = (2 * result.faces[3].box).astype(int)
    region = (slice(y0, y1), slice(x0, x1))
    np.testing.assert_array_equal(again.image[region], result.base[region])
    assert not np.array_equal(result.image[region], result.base[region])
    # The other faces are pasted as before.
    x0, y0, x1, y1 = (2 * result.faces[10].box).astype(int)
    np.testing.assert_array_equal(again.image[y0:y1, x0:x1], result.image[y0:y1, x0:x1])
    assert result.faces[3].accepted  # the original result is untouched


def test_strength_zero_gives_the_original_and_half_is_halfway(result, restorer):
    zero = [dataclasses.replace(f, strength=0.0) for f in result.faces]
    np.testing.assert_array_equal(
        recompose(dataclasses.replace(result, faces=zero)).image, result.base
    )
    half = [dataclasses.replace(f, strength=0.5) for f in result.faces]
    halfway = restorer.recompose(dataclasses.replace(result, faces=half)).image
    a = opacity(result)
    lone = a >= 0.999  # fully inside a face: out = base + s * (restored - base)
    full = result.image[lone].astype(float) - result.base[lone]
    got = halfway[lone].astype(float) - result.base[lone]
    assert np.abs(got - 0.5 * full).max() <= 1.0  # rounding of two uint8 images
