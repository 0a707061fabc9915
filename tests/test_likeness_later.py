"""The likeness figures follow the photo (issue 26): faces are pasted and the photo is
written before any face's likeness is measured; the figures then reach the result and
the report, a few faces per call into dlib; a cancel while they are measured keeps the
photo, and the report says which figures are missing.

The order is checked by recording the identity measurement as it is called (what
already exists at that moment), never by a time."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine import face_identity, identity
from engine.app.cli.main import build_parser
from engine.app.cli.restore_cmd import EXIT_INTERRUPTED, restore_paths
from engine.app.demo import astronaut
from engine.batch import BatchItem, SaveOptions, restore_batch
from engine.face_identity import identity_reason
from engine.pipeline import RestoreOptions, Restorer
from engine.progress import CancelToken, Stage
from engine.results import Likeness
from tests.tiny_models import identity_user_folder

pytestmark = pytest.mark.skipif(identity_reason() is not None, reason=str(identity_reason()))

MODEL = "identity128"  # its correction is zero: every restored face is its own original


@pytest.fixture(scope="module")
def user_folder(tmp_path_factory):
    with identity_user_folder(tmp_path_factory.mktemp("user-data")) as folder:
        yield folder


@pytest.fixture(scope="module")
def three_faces(tmp_path_factory) -> Path:
    """The astronaut three times side by side: a group photo of three real faces."""
    path = tmp_path_factory.mktemp("photos") / "three.png"
    Image.fromarray(np.concatenate([astronaut()] * 3, axis=1)).save(path)
    return path


class Measurements:
    """Records each call into the identity check: how many faces, and what existed then."""

    def __init__(self, monkeypatch, watched: Path | None = None, then=None) -> None:
        self.faces: list[int] = []
        self.written: list[bool] = []
        self.descriptor_calls = 0
        self.watched, self.then = watched, then
        compare_many, embed_chips = (
            identity.IdentityModel.compare_many,
            identity.IdentityModel.embed_chips,
        )
        record = self

        def recording_compare(model, pairs):
            record.faces.append(len(pairs))
            record.written.append(record.watched is not None and record.watched.is_file())
            scores = compare_many(model, pairs)
            if record.then is not None:
                record.then()
            return scores

        def counting_embed(model, chips):
            record.descriptor_calls += 1
            return embed_chips(model, chips)

        identity.stop_helper_process()  # measured in this process, where it is recorded
        monkeypatch.setattr(identity.IdentityModel, "compare_many", recording_compare)
        monkeypatch.setattr(identity.IdentityModel, "embed_chips", counting_embed)


def test_the_photo_is_written_before_its_likeness_is_measured(
    user_folder, three_faces, tmp_path, monkeypatch
):
    target = tmp_path / "three_revived.png"
    seen = Measurements(monkeypatch, watched=target)
    batch = restore_batch(
        Restorer(),
        [BatchItem.of(three_faces)],
        RestoreOptions.of(model=MODEL),
        SaveOptions(tmp_path),
    )
    (outcome,) = batch.photos
    assert outcome.status == "ok" and outcome.output == target
    assert seen.faces == [3] and seen.written == [True]  # one call, after the photo exists
    assert seen.descriptor_calls == 1  # every face's two chips in one call into dlib
    assert outcome.report["likeness"] == "measured" and "likeness_note" not in outcome.report
    for face in outcome.report["faces"]:
        assert face["identity"]["cosine"] > 0.97  # the identity restorer keeps every face


def test_a_restoration_pastes_before_it_measures(user_folder, three_faces, monkeypatch):
    """The library's own call still gives the figures, measured once the faces are pasted;
    asked not to, it leaves them pending for its caller."""
    monkeypatch.setattr(face_identity, "FACES_PER_CALL", 2)
    seen = Measurements(monkeypatch)
    stages: list[Stage] = []
    restorer = Restorer()
    result = restorer.restore(
        three_faces, RestoreOptions.of(model=MODEL), progress=lambda e: stages.append(e.stage)
    )
    assert Stage.PASTE in stages and Stage.IDENTITY in stages
    last_paste = len(stages) - 1 - stages[::-1].index(Stage.PASTE)
    assert last_paste < stages.index(Stage.IDENTITY)
    assert seen.faces == [2, 1] and seen.descriptor_calls == 2  # groups of FACES_PER_CALL
    assert result.likeness is Likeness.MEASURED and all(f.identity for f in result.faces)

    later = restorer.restore(three_faces, RestoreOptions.of(model=MODEL), measure_likeness=False)
    assert later.likeness is Likeness.PENDING and all(f.identity is None for f in later.faces)
    assert np.array_equal(later.image, result.image)  # the same photo, figures to come
    face_identity.measure_result(later)
    assert later.likeness is Likeness.MEASURED
    for a, b in zip(later.faces, result.faces, strict=True):
        assert a.identity.cosine == pytest.approx(b.identity.cosine, abs=1e-6)


def test_no_identity_measures_nothing(user_folder, three_faces, tmp_path, monkeypatch):
    seen = Measurements(monkeypatch)
    options = RestoreOptions.of(model=MODEL, identity=False)
    batch = restore_batch(Restorer(), [BatchItem.of(three_faces)], options, SaveOptions(tmp_path))
    assert seen.faces == [] and batch.photos[0].report["likeness"] == "off"


def test_a_cancel_while_measuring_keeps_the_photo_and_says_what_is_missing(
    user_folder, three_faces, tmp_path, monkeypatch, capsys
):
    """Cancelled after the first group of faces of the first photo: that photo is saved,
    its report keeps the figures measured and says the others are missing; the second
    photo is not started."""
    token = CancelToken()
    monkeypatch.setattr(face_identity, "FACES_PER_CALL", 2)
    seen = Measurements(monkeypatch, watched=tmp_path / "three_revived.png", then=token.cancel)
    second = tmp_path / "second.png"
    Image.fromarray(astronaut()).save(second)
    argv = ["restore", "x", "-o", str(tmp_path / "out"), "--model", MODEL]
    args = argparse.Namespace(
        **vars(build_parser().parse_args([*argv, "--report", str(tmp_path / "r.json")]))
    )
    seen.watched = tmp_path / "out" / "three_revived.png"
    code = restore_paths([three_faces, second], args, cancel=token)
    assert code == EXIT_INTERRUPTED
    assert seen.faces == [2] and seen.written == [True]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["three_revived.png"]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["interrupted"]
    (entry,) = report["photos"]
    assert entry["status"] == "ok" and entry["likeness"] == "missing"
    assert "missing" in entry["likeness_note"]
    figures = [face["identity"] for face in entry["faces"]]
    assert [f is not None for f in figures] == [True, True, False]
    out = capsys.readouterr().out
    assert "1 likeness figure(s) missing (cancelled)" in out


def test_one_helper_process_measures_a_group_as_this_process_does(user_folder):
    """The app's helper: started twice, still one process; a group of faces goes in one
    trip and comes back with the figures this process gives."""
    image = astronaut()
    face = image[40:220, 150:330].astype(np.float32) / 255.0
    pairs = [(face, np.ascontiguousarray(face[::k, ::k]), None) for k in (1, 2, 3)]
    here = identity.compare_face_pairs(pairs)
    identity.identity_in_helper_process()
    try:
        pool = identity._helper.pool()
        identity.identity_in_helper_process()  # the window warms up again: the same helper
        assert identity._helper.pool() is pool
        there = identity.compare_face_pairs(pairs)
        assert len(pool._processes) == 1
        for a, b in zip(here, there, strict=True):
            assert a is not None and b is not None
            assert b.cosine == pytest.approx(a.cosine, abs=1e-6)
        assert here[0].cosine == pytest.approx(1.0, abs=1e-6)  # a face against itself
    finally:
        identity.stop_helper_process()
