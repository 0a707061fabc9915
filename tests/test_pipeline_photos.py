"""The Restorer on a real 3-person photo: engines, colour handling, bit depth, alpha, cancel."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.errors import Cancelled, NoFaceError, WeightsError
from engine.io import load_photo
from engine.pipeline import RestoreOptions, Restorer
from engine.progress import CancelToken
from tests.conftest import shared_path
from tests.tiny_models import install_tiny_weights, tiny_user_folder

pytestmark = pytest.mark.shared
FAST = {"min_face_size": 40.0}  # the faces are ~100 px: a shorter detection pyramid


@pytest.fixture(scope="module")
def restorer(tmp_path_factory):
    with tiny_user_folder(tmp_path_factory.mktemp("user-data")):
        yield Restorer()


@pytest.fixture(scope="module")
def group() -> np.ndarray:
    """test_hzgg.jpg at half size (540 x 220, three faces), uint8 RGB."""
    photo = load_photo(shared_path("real", "sparnet", "test_hzgg.jpg"))
    return cv2.resize(photo.pixels, (540, 220), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def restored(restorer, group):
    return restorer.restore(group, RestoreOptions.of(**FAST, masks=True))


def ycbcr(image: np.ndarray) -> np.ndarray:
    x = image.astype(np.float64) / np.iinfo(image.dtype).max
    y = x @ [0.299, 0.587, 0.114]
    return np.stack([y, (x[..., 2] - y) / 1.772, (x[..., 0] - y) / 1.402], axis=-1)


def test_three_faces_restored_with_the_sparnethd_preset(restored, group):
    assert len(restored.faces) == 3
    assert restored.image.shape == group.shape and restored.image.dtype == np.uint8
    assert {f.model for f in restored.faces} == {"sparnethd_tiny"}
    assert {f.weights for f in restored.faces} == {"test-sparnethd_tiny"}
    assert not restored.keep_chroma  # a colour photo may get colour back
    assert restored.faces[0].attention is None  # only on request
    report = restored.to_report()
    assert len(report["faces"]) == 3 and report["size"] == [540, 220]


def test_sparnet_faces_carry_the_component_masks_of_the_aligned_face(restored):
    """The shipped component network segments what SPARNet was given: skin in the middle
    of the aligned face, hair along its top (the inspector shows these next to the maps)."""
    for face in restored.faces:
        masks = face.masks
        assert set(masks) == {"hair", "skin", "other"}
        side = face.crop_before.shape[0]
        assert all(m.shape == (side, side) and 0 <= m.min() <= m.max() <= 1 for m in masks.values())
        middle = (slice(side // 2, int(0.72 * side)), slice(int(0.3 * side), int(0.7 * side)))
        top = slice(0, side // 10)
        assert masks["skin"][middle].mean() > 0.5 and masks["hair"][middle].mean() < 0.1
        assert masks["hair"][top].mean() > 0.6 and masks["skin"][top].mean() < 0.2


def test_masks_only_on_request(restorer, group):
    result = restorer.restore(group, RestoreOptions.of(**FAST, masks=False))
    assert all(face.masks is None for face in result.faces)


def test_a_gray_photo_stays_gray(restorer, group):
    gray = cv2.cvtColor(group, cv2.COLOR_RGB2GRAY)
    result = restorer.restore(gray, RestoreOptions.of(**FAST))
    assert result.keep_chroma and len(result.faces) == 3
    out = result.image
    np.testing.assert_array_equal(out[..., 0], out[..., 1])
    np.testing.assert_array_equal(out[..., 1], out[..., 2])
    assert np.abs(out[..., 0].astype(int) - gray).max() > 20  # the faces did change
    for face in result.faces:  # even the face crops shown in the app are gray
        assert np.abs(np.diff(face.crop_after.astype(int), axis=2)).max() <= 1


def test_a_sepia_photo_keeps_its_chroma(restorer, group):
    y = cv2.cvtColor(group, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    sepia = np.stack([y * 1.07, y * 0.74 + 0.03, y * 0.43 + 0.05], axis=2)
    sepia = np.rint(np.clip(sepia, 0, 1) * 255).astype(np.uint8)
    result = restorer.restore(sepia, RestoreOptions.of(**FAST))
    assert result.keep_chroma
    before, after = ycbcr(sepia), ycbcr(result.image)
    unclipped = np.all((result.image > 3) & (result.image < 252), axis=2)
    chroma_change = np.abs(after[..., 1:] - before[..., 1:])[unclipped]
    assert chroma_change.max() <= 2.5 / 255  # rounding to 8 bits only
    assert np.abs(after[..., 0] - before[..., 0]).max() > 0.1  # luminance was restored


def test_sixteen_bit_photos_stay_sixteen_bit_and_exact_outside_the_faces(restorer, group):
    rng = np.random.default_rng(0)
    deep = group.astype(np.uint16) * 257 + rng.integers(0, 256, group.shape, dtype=np.uint16)
    result = restorer.restore(deep, RestoreOptions.of(**FAST))
    assert result.image.dtype == np.uint16
    untouched = np.all(result.image == deep, axis=2)
    assert 0.3 < untouched.mean() < 0.99
    assert (result.image[~untouched] % 257 != 0).any()  # not 8-bit values scaled up


def test_alpha_is_carried_and_scaled(restorer, group):
    alpha = np.full(group.shape[:2], 255, np.uint8)
    alpha[:, :40] = 0
    rgba = np.dstack([group, alpha])
    same = restorer.restore(rgba, RestoreOptions.of(**FAST))
    np.testing.assert_array_equal(same.alpha, alpha)
    double = restorer.restore(rgba, RestoreOptions.of(**FAST, scale=2))
    assert double.alpha.shape == (440, 1080) and double.image.shape == (440, 1080, 3)
    assert double.alpha[:, :70].max() == 0 and double.alpha[:, 90:].min() == 255


def test_tiny_faces_go_to_sparnet_x8(restorer, group):
    # Eye distances here are ~39 px: call faces below 40 px "tiny" to send them to x8.
    events = []
    result = restorer.restore(
        group, RestoreOptions.of(**FAST, tiny_face_eye_distance=40.0), progress=events.append
    )
    counts = [(e.done, e.total) for e in events if e.stage == "restore"]
    assert counts[-1] == (3, 3) and counts == sorted(counts)  # one count over both engines
    models = [f.model for f in result.faces]
    tiny = [f for f in result.faces if f.model == "sparnet_x8_tiny"]
    assert tiny and len(tiny) < 3, models  # both engines ran in one photo
    for face in tiny:
        assert face.crop_before.shape == (64, 64, 3)
        # The x8 input is an 8 px face, bicubic-up-sampled: very smooth.
        assert np.abs(np.diff(face.crop_before.astype(int), axis=1)).mean() < 6


def test_cagface_restores_face_regions_x4_with_component_masks(restorer, group):
    result = restorer.restore(group, RestoreOptions.of(**FAST, model="cagface", tile_size=64))
    assert {f.model for f in result.faces} == {"cagface_tiny"}
    for face in result.faces:
        h, w = face.crop_before.shape[:2]
        assert face.crop_after.shape == (4 * h, 4 * w, 3)
        assert set(face.masks) == {"hair", "skin", "other"}
        for mask in face.masks.values():
            assert mask.shape == (h, w) and mask.min() >= 0 and mask.max() <= 1
    assert np.abs(result.image.astype(int) - group).max() > 5


def test_rerun_one_face_with_another_model_changes_only_that_face(restorer, restored, group):
    again = restorer.rerun_face(
        group, restored, 1, RestoreOptions.of(**FAST, model="sparnet_x8_tiny")
    )
    assert [f.model for f in again.faces] == ["sparnethd_tiny", "sparnet_x8_tiny", "sparnethd_tiny"]
    assert again.faces[0] is not restored.faces[0]
    np.testing.assert_array_equal(again.faces[0].crop_after, restored.faces[0].crop_after)
    diff = np.any(again.image != restored.image, axis=2)
    x0, y0, x1, y1 = restored.faces[1].box
    ys, xs = np.nonzero(diff)
    cx = (x0 + x1) / 2
    assert diff.any() and np.abs(xs - cx).max() < 2 * (x1 - x0)  # around face 1 only


def test_cancel_stops_promptly_with_nothing_returned(restorer, group):
    token = CancelToken()
    seen = []

    def progress(event):
        seen.append(event.stage)
        if event.stage == "align":
            token.cancel()

    with pytest.raises(Cancelled):
        restorer.restore(group, RestoreOptions.of(**FAST), progress=progress, cancel=token)
    assert "restore" not in seen and "paste" not in seen


def test_a_photo_without_faces(restorer):
    rng = np.random.default_rng(0)
    sky = np.linspace(40, 220, 320)[None, :, None].repeat(200, 0).repeat(3, 2)
    landscape = np.clip(sky + rng.normal(0, 4, sky.shape), 0, 255).astype(np.uint8)
    with pytest.raises(NoFaceError, match="no face found"):
        restorer.restore(landscape, RestoreOptions.of(**FAST))
    result = restorer.restore(landscape, RestoreOptions.of(**FAST, allow_no_faces=True, scale=2))
    assert result.faces == [] and result.image.shape == (400, 640, 3)


def test_missing_weights_are_one_clear_line(tmp_path, monkeypatch, group):
    monkeypatch.setenv("REVIVE_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(WeightsError, match="revive models import") as err:
        Restorer().restore(group)
    assert "\n" not in str(err.value)
    install_tiny_weights(tmp_path / "parts", ("cagface",))
    monkeypatch.setenv("REVIVE_DATA_DIR", str(tmp_path / "parts"))
    monkeypatch.setenv("REVIVE_RESOURCES", str(tmp_path / "no-shipped-weights"))
    with pytest.raises(WeightsError, match="component network"):
        Restorer().restore(group, RestoreOptions.of(model="cagface"))


def test_faces_in_parallel_on_the_cpu_give_the_same_photo(restorer, group):
    one = restorer.restore(group, RestoreOptions.of(**FAST, batch_size=1, cpu_workers=1))
    two = restorer.restore(group, RestoreOptions.of(**FAST, batch_size=1, cpu_workers=2))
    assert [f.model for f in two.faces] == [f.model for f in one.faces]
    assert np.abs(two.image.astype(int) - one.image).max() <= 1
    token = CancelToken()

    def progress(event):
        if event.stage == "restore":
            token.cancel()

    with pytest.raises(Cancelled):
        restorer.restore(
            group,
            RestoreOptions.of(**FAST, batch_size=1, cpu_workers=2),
            progress=progress,
            cancel=token,
        )
