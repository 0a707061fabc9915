"""The GPU session script, dry-run on the CPU with tiny nets: a lent GPU's minutes
must not be the first time it runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile

import pytest

from engine.weights import read_manifest, verify_weights
from tests.conftest import REPO
from tests.training_util import TINY_CAGFACE, TINY_DISC, TINY_SPARNET, make_pack

SCRIPT = REPO / "training" / "device" / "session.sh"


def _overrides(values: dict) -> str:
    return " ".join(f"--override {k}={json.dumps(v)}" for k, v in values.items())


def _run(mode: str, tmp_path, env_extra: dict) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHON": sys.executable,  # the interpreter running the tests: any torch under test
        "PYTHONPATH": str(REPO),
        "OUT": str(tmp_path / "out"),
        "REVIVE_DEVICE": "cpu",
        "REVIVE_WORKERS": "2",
        "REVIVE_WORK": str(tmp_path / "work"),
        "OMP_NUM_THREADS": "1",
        **env_extra,
    }
    return subprocess.run(["bash", str(SCRIPT), mode], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip


def _results(tmp_path, mode: str) -> dict[str, bytes]:
    with tarfile.open(tmp_path / "out" / f"results-{mode}.tar.gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


@pytest.mark.slow
def test_small_mode_trains_x8_and_both_cagface_stages_and_evaluates(tmp_path):
    packs = {
        "PACK_128": make_pack(tmp_path / "train", n=10, size=128),
        "PACK_128_VAL": make_pack(tmp_path / "val", n=4, size=128),
    }
    proc = _run("small", tmp_path, {
        **{k: str(v) for k, v in packs.items()},
        "TIME_SMALL": "5", "BATCH_X8": "2", "BATCH_CAG": "2",
        "EXTRA_X8": _overrides(TINY_SPARNET),
        "EXTRA_CAG": _overrides(TINY_CAGFACE) + " --patch 8",
    })  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = tmp_path / "out"
    for name in ("sparnet_x8-utkface", "cagface_x4_lite-utkface"):
        info = read_manifest(out / f"{name}.weights.json")
        assert info.dtype == "float16" and verify_weights(info) == []
    card = read_manifest(out / "cagface_x4_lite-utkface.weights.json").card
    assert 0 < card["stage1_steps"] < card["steps"]  # stage 2 ran after stage 1
    files = _results(tmp_path, "small")
    for name in ("eval-x8", "eval-cagface"):
        results = json.loads(files[f"logs/{name}.json"])["results"]
        assert len(results) == 2 and "psnr_y" in results["bicubic"]
    assert "logs/run-x8/train_log.csv" in files and "logs/machine.txt" in files
    assert len(list(out.iterdir())) <= 8  # what the device returns at most


@pytest.mark.slow
def test_hd_mode_trains_with_the_gan_and_evaluates_eq14(tmp_path):
    packs = {
        "PACK_256": make_pack(tmp_path / "train", n=6, size=256),
        "PACK_256_VAL": make_pack(tmp_path / "val", n=3, size=256),
    }
    disc = json.dumps(TINY_DISC).replace(" ", "")
    proc = _run("hd", tmp_path, {
        **{k: str(v) for k, v in packs.items()},
        "TIME_HD": "4", "BATCH_HD": "1",
        "EXTRA_HD": _overrides(TINY_SPARNET) + f" --option disc_overrides={disc}",
    })  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    info = read_manifest(tmp_path / "out" / "sparnethd_lite256-utkface.weights.json")
    assert verify_weights(info) == [] and info.card["steps"] >= 1
    files = _results(tmp_path, "hd")
    setup = json.loads(files["logs/eval-hd.json"])["setup"]
    assert setup["degradation"] == "eq14" and setup["faces"] == 3
    assert b"time limit of 4 s reached" in files["logs/hd.txt"]
