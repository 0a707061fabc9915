"""Every restored face carries an identity figure (issue 18), in the result, the report
and the command line's summary; it follows the face's strength."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.app.cli.main import main
from engine.app.demo import astronaut
from engine.face_identity import identity_reason
from engine.pipeline import RestoreOptions, Restorer
from tests.conftest import shared_path
from tests.tiny_models import install_identity_restorer, install_tiny_weights, one_torch_thread

pytestmark = pytest.mark.skipif(identity_reason() is not None, reason=str(identity_reason()))


@pytest.fixture(scope="module")
def user_folder(tmp_path_factory):
    """The tiny random test nets, and an identity restorer (its correction is zero)."""
    folder = tmp_path_factory.mktemp("user-data")
    install_tiny_weights(folder, ("hd", "components"))
    install_identity_restorer(folder)
    with one_torch_thread(), pytest.MonkeyPatch.context() as mp:
        mp.setenv("REVIVE_DATA_DIR", str(folder))
        yield folder


def test_an_unchanged_face_keeps_its_identity(user_folder):
    result = Restorer().restore(astronaut(), RestoreOptions.of(model="identity128"))
    (face,) = result.faces
    assert face.identity is not None and face.identity.cosine > 0.97
    assert not face.identity.flagged


@pytest.mark.shared
def test_a_scrambled_face_is_flagged_and_a_lower_strength_brings_it_back(user_folder):
    """Random weights move a real face far: flagged; at 20 % strength it comes back."""
    photo = shared_path("real", "sparnet", "test_hzgg.jpg")
    restorer = Restorer()
    result = restorer.restore(photo, RestoreOptions.of(model="test-sparnethd_tiny",
                                                       min_face_size=40))  # fmt: skip
    assert len(result.faces) == 3
    assert all(f.identity.flagged for f in result.faces)
    face = result.faces[1]
    face.strength = 0.2
    lowered = restorer.recompose(result).faces[1]
    assert lowered.identity_strength == pytest.approx(0.2)
    assert lowered.identity.cosine > result.faces[1].identity.cosine + 0.05
    assert result.faces[0].identity == restorer.recompose(result).faces[0].identity


@pytest.mark.shared
def test_the_report_and_the_summary_carry_it(user_folder, tmp_path, capsys):
    photo = shared_path("real", "sparnet", "test_hzgg.jpg")
    report = tmp_path / "report.json"
    args = ["restore", str(photo), "-o", str(tmp_path / "out"), "--model", "test-sparnethd_tiny",
            "--min-face-size", "40", "--report", str(report)]  # fmt: skip
    code = main(args)
    assert code == 0
    faces = json.loads(report.read_text())["photos"][0]["faces"]
    assert len(faces) == 3
    for face in faces:
        ident = face["identity"]
        assert -1 <= ident["cosine"] <= 1 and ident["distance"] >= 0
        assert ident["flagged"] == (ident["cosine"] < ident["threshold"])
    line = capsys.readouterr().out
    assert "identity" in line and "may no longer look like the person" in line


def test_no_identity_skips_it(user_folder):
    result = Restorer().restore(astronaut(), RestoreOptions.of(model="identity128", identity=False))
    assert result.faces[0].identity is None
    assert np.isfinite(result.timings["total"]) and "identity" not in result.timings


@pytest.mark.shared
def test_the_strength_that_keeps_the_likeness(user_folder):
    from engine.face_identity import measure, strength_keeping_likeness

    photo = shared_path("real", "sparnet", "test_hzgg.jpg")
    result = Restorer().restore(photo, RestoreOptions.of(model="test-sparnethd_tiny",
                                                         min_face_size=40))  # fmt: skip
    face = result.faces[0]
    assert face.identity.flagged
    keep = strength_keeping_likeness(face)
    assert 0.0 <= keep < 1.0
    measure(face, keep)
    assert not face.identity.flagged
    if keep < 0.95:  # a bit more would cross the line again
        measure(face, min(1.0, keep + 0.1))
        assert face.identity.flagged


def test_the_helper_process_gives_the_same_figures(user_folder):
    """A window runs the check in a helper process (dlib holds the GIL): same numbers,
    and a helper that dies leaves the check to this process."""
    import os

    from engine import identity

    image = astronaut()
    face = image[40:220, 150:330].astype(np.float32) / 255.0
    blurred = np.ascontiguousarray(face[::2, ::2])  # the same face, at half the size
    here = identity.compare_faces(face, blurred)
    identity.identity_in_helper_process()
    try:
        pool = identity._helper.pool()
        assert pool is not None and pool.submit(os.getpid).result() != os.getpid()
        assert identity.compare_faces(face, blurred).cosine == pytest.approx(here.cosine, abs=1e-6)
        for process in list(pool._processes.values()):  # the helper dies
            process.kill()
            process.join()
        assert identity.compare_faces(face, blurred).cosine == pytest.approx(here.cosine, abs=1e-6)
        assert identity._helper.pool() is None  # back in this process
    finally:
        identity.stop_helper_process()
