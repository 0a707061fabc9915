"""Property-based fuzzing (hypothesis) of the image loader and of ``revive restore``.

Whatever the bytes: ``load_photo`` returns a well-formed Photo or raises one
ImageReadError line naming the file, never anything else, never prints, never touches
the file; ``revive restore`` over a few such files exits 0 or 1 with one stderr line per
refused photo, leaves every input as it was and writes nothing it does not report. A
hostile download server and weight sets that lie (tests/fuzz/store.py) give the right
file, a working model or one line. The longer campaigns (1,000+ files in separate
processes, hundreds of servers and sets) are ``make fuzz``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from random import Random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.app.cli.main import main
from engine.errors import ImageReadError
from engine.io import load_photo
from tests.fuzz.corpus import MUTATIONS, base_files, odd_files, odd_name
from tests.tiny_models import tiny_user_folder

BASES = base_files(0, faces=False)
ODD = odd_files(np.random.default_rng(0))
SUFFIXES = (".jpg", ".png", ".tif", ".webp", ".bmp", ".gif")


@st.composite
def broken_file(draw) -> tuple[str | bytes, bytes]:
    """(file name, bytes): a valid file, an odd one, or a mutated one under an odd name."""
    kind = draw(st.sampled_from(["base", "odd", "mutated", "mutated", "mutated", "raw"]))
    if kind == "odd":
        return draw(st.sampled_from(ODD))
    name, data = draw(st.sampled_from(BASES))
    if kind == "raw":  # hypothesis' own bytes spliced in: shrinks to a minimal breaking file
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=64)) + data[at + draw(st.integers(0, 64)) :]
    elif kind == "mutated":
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        data = MUTATIONS[draw(st.sampled_from(sorted(MUTATIONS)))](data, rng)
    if draw(st.booleans()):
        name = os.path.splitext(name)[0] + draw(st.sampled_from(SUFFIXES))
    return odd_name(name, draw(st.integers(0, 8)), np.random.default_rng(0)), data


def write(folder: Path, name: str | bytes, data: bytes) -> Path:
    raw = name if isinstance(name, bytes) else os.fsencode(name)
    path = Path(os.fsdecode(os.path.join(os.fsencode(folder), raw)))
    path.write_bytes(data)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(case=broken_file())
def test_loader_returns_a_photo_or_one_line(case, tmp_path_factory, capfd):
    folder = tmp_path_factory.mktemp("load")
    path = write(folder, *case)
    before = digest(path)
    try:
        photo = load_photo(path)
    except ImageReadError as err:
        message = str(err)
        assert "\n" not in message and message.startswith(f"{path.name}: "), message
    else:
        assert photo.pixels.ndim == 3 and photo.pixels.shape[2] == 3
        assert min(photo.pixels.shape[:2]) >= 8
        assert photo.pixels.dtype in (np.uint8, np.uint16)
        assert all(note.isascii() and note.isprintable() for note in photo.notes), photo.notes
    assert digest(path) == before
    out, err = capfd.readouterr()
    assert out == "" and err == "", err  # no library chatter
    assert [p.name for p in folder.iterdir()] == [path.name]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    with tiny_user_folder(tmp_path_factory.mktemp("user-data"), ("hd",)) as folder:
        yield folder


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(cases=st.lists(broken_file(), min_size=1, max_size=4), beside=st.booleans())
def test_restore_gives_one_line_each_and_changes_no_input(
    weights, tmp_path_factory, capfd, cases, beside
):
    folder = tmp_path_factory.mktemp("in")
    paths = []
    for name, data in cases:
        path = write(folder, name, data)
        if path not in paths:
            paths.append(path)
    before = {p: digest(p) for p in paths}
    out_dir = folder if beside else tmp_path_factory.mktemp("out")
    report = tmp_path_factory.mktemp("report") / "report.json"
    args = ["restore", *map(str, paths), "--report", str(report), "--allow-no-faces"]
    args += ["--min-face-size", "100000"] + ([] if beside else ["-o", str(out_dir)])
    code = main(args)
    out, err = capfd.readouterr()
    assert code in (0, 1) and "Traceback" not in err
    entries = json.loads(report.read_text())["photos"]
    failed = [e for e in entries if e["status"] == "error"]
    lines = err.splitlines()
    assert len(lines) == len(failed) and all(line.startswith("revive: ") for line in lines), err
    assert len(entries) == len(paths) and code == (1 if failed else 0)
    assert {p: digest(p) for p in paths} == before
    outputs = {Path(e["output"]) for e in entries if e["status"] == "ok"}
    assert len(outputs) == len(entries) - len(failed)
    written = set(out_dir.iterdir()) - set(paths)
    assert written == outputs  # nothing unreported, no temporary file


# --- beyond photo files: hostile download servers, weights on disk that lie -----------------
# (the longer runs: ``make fuzz``, tests/fuzz/store.py)


@pytest.fixture(scope="module")
def hostile_server():
    from tests.model_server import model_server

    with model_server() as server:
        yield server


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1))
def test_a_hostile_download_is_the_file_or_one_line(hostile_server, tmp_path_factory, seed):
    from tests.fuzz.store import download_case

    kind, problem = download_case(hostile_server, tmp_path_factory.mktemp("dl"), Random(seed))
    assert problem is None, f"{kind}: {problem}"


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1))
def test_weights_that_lie_load_or_are_one_line(tmp_path_factory, seed):
    from tests.fuzz.store import weights_case

    kind, problem = weights_case(tmp_path_factory.mktemp("w"), Random(seed))
    assert problem is None, f"{kind}: {problem}"
