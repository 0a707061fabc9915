"""The GPU lease kit, dry-run on the CPU with tiny nets: a lent GPU's minutes must not be
the first time it runs. ``bash tools/gpu_lease/session.sh`` trains the three restorers
in parallel processes until their deadlines, exports, evaluates, records the lease in
the model cards and leaves at most 8 files of at most 16 MiB in $OUT; a second lease,
after ``tools.gpu_lease.install``, continues the first (weights, D, lease counter, part).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from engine.weights import read_manifest, save_weights, verify_weights
from tests.conftest import REPO
from tests.training_util import TINY_CAGFACE, TINY_DISC, TINY_SPARNET, make_pack
from tools.gpu_lease import plan as lease_plan
from tools.gpu_lease.lease import lease_context
from tools.gpu_lease.worker import hand_over
from training.pack import read_index, read_pack, split_pack

SCRIPT = REPO / "tools" / "gpu_lease" / "session.sh"
NAMES = ("sparnet_blind128_l-gpu", "sparnet_x8_lite-gpu", "cagface_x4_lite-gpu")
# Deadlines earlier than on a GPU: on a loaded 2-core machine a worker may need 8 s to
# start, and the tail (export, evaluation, the final validation's identity check) more.
TINY_PLAN = {
    "restorer": {"overrides": TINY_SPARNET, "size": 32, "batch": 2, "workers": 1,
                 "val_count": 2, "train_until": 0.6,
                 "options": {"gpu_degrade": True, "gan": True, "betas": [0.5, 0.99],
                             "disc_overrides": TINY_DISC}},
    "tiny": {"overrides": TINY_SPARNET, "size": 32, "batch": 2, "workers": 1, "val_count": 2,
             "train_until": 0.5},
    "cagface": {"overrides": TINY_CAGFACE, "size": 32, "batch": 2, "workers": 1, "val_count": 2,
                "train_until": 0.5, "options": {"patch": 8}, "fresh": {"stage1_steps": 1}},
}  # fmt: skip


def _resources(root: Path) -> Path:
    """A private resources/ with the shipped component weights only (no restorer yet)."""
    weights = root / "resources" / "weights"
    weights.mkdir(parents=True)
    source = REPO / "resources" / "weights"
    registry = json.loads((source / "registry.json").read_text())
    name = registry["defaults"]["components"]
    for f in source.glob(f"{name}*"):
        shutil.copy2(f, weights / f.name)
    (weights / "registry.json").write_text(json.dumps(
        {"weights": [name], "defaults": {"components": name}}))  # fmt: skip
    return root / "resources"


# The dry lease's length: its three trainings start, run and stop inside it, with room
# for a CPU that other work keeps busy (it once failed at 40 s under such load).
LEASE_S = 60


def _lease(
    root: Path, part: int, *models: str, seconds: int = LEASE_S
) -> subprocess.CompletedProcess:
    out = root / f"out{part}"
    env = {
        **os.environ,
        "PYTHON": sys.executable,  # the interpreter running the tests: any torch under test
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
        "OUT": str(out),
        "REVIVE_WORK": str(root / f"work{part}"),
        "REVIVE_DEVICE": "cpu",
        "REVIVE_RESOURCES": str(root / "resources"),
        "REVIVE_LEASE_STATE": str(root / "state"),
        "LEASE_SECONDS": str(seconds),
        "LEASE_PACK": str(root / "packs" / f"part{part}"),
        "LEASE_VAL_PACK": str(root / "packs" / "val"),
        "LEASE_PLAN": json.dumps(TINY_PLAN),
    }
    return subprocess.run(["bash", str(SCRIPT), *models], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.fixture(scope="module")
def first_lease(tmp_path_factory):
    root = tmp_path_factory.mktemp("lease")
    _resources(root)
    packs = root / "packs"
    full = make_pack(root / "full", n=12, size=32)
    split_pack(full, [packs / f"part{k}" for k in range(3)], seed=0)
    make_pack(packs / "val", n=4, size=32)
    proc = _lease(root, 0)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return root, proc


def _results(out: Path) -> dict[str, bytes]:
    with tarfile.open(out / "results-lease.tar.gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


@pytest.mark.slow
def test_one_command_trains_all_three_side_by_side(first_lease):
    root, proc = first_lease
    out = root / "out0"
    lines = proc.stdout.splitlines()
    started = [i for i, ln in enumerate(lines) if ": started " in ln]
    finished = [i for i, ln in enumerate(lines) if ": finished (exit 0)" in ln]
    parallel = len(started) == 3 and len(finished) == 3 and max(started) < min(finished)
    assert parallel, proc.stdout[-3000:]
    assert "lease 1: part 1/3" in proc.stdout and "gain-dB" in proc.stdout  # the table
    # What comes back: 3 weight sets (manifest + one fp16 shard) and one archive.
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 7 <= lease_plan.MAX_RETURNED_FILES
    assert all((out / f).stat().st_size <= lease_plan.MAX_FILE_BYTES for f in files)
    for name in NAMES:
        info = read_manifest(out / f"{name}.weights.json")
        assert info.dtype == "float16" and verify_weights(info) == []
        (lease,) = info.card["leases"]
        assert lease["lease"] == 1 and lease["part"] == "1/3" and lease["steps"] >= 1
        assert lease["samples"] == lease["steps"] * 2 and lease["gpu_seconds"] > 0
        assert {"psnr_y", "input_psnr_y", "gain_db"} <= set(lease["validation"])
        assert lease["losses"] and info.card["lease_total"]["leases"] == 1
    restorer = read_manifest(out / f"{NAMES[0]}.weights.json").card
    assert restorer["degraded_on"] == "device" and restorer["discriminator"]["started_from"] is None
    assert restorer["leases"][0]["validation"]["degradation"] == "eq14"
    cagface = read_manifest(out / f"{NAMES[2]}.weights.json").card
    assert cagface["stage1_steps"] == 1 < cagface["steps"]  # stage 2 ran, from stage 1
    # The archive: the lease record, the machine, evaluations, loss logs, the discriminator.
    results = _results(out)
    record = json.loads(results["logs/lease.json"])
    assert record["wall_s"] <= LEASE_S and set(record["models"]) == {"restorer", "tiny", "cagface"}
    assert "logs/machine.txt" in results
    for role in ("restorer", "tiny", "cagface"):
        evaluation = json.loads(results[f"logs/eval-{role}.json"])
        assert evaluation["setup"]["seed"] == 2024 and len(evaluation["results"]) == 2
        assert b"samples_per_s" in results[f"logs/run-{role}/train_log.csv"]
    assert f"logs/disc/{NAMES[0]}-disc.weights.json" in results
    # Each training stopped at its own deadline: the restorer last.
    text = {r: results[f"logs/{r}.txt"].decode() for r in ("restorer", "tiny")}
    assert "deadline reached" in text["restorer"] and "deadline reached" in text["tiny"]
    wall = {r: record["models"][r]["train_seconds"] for r in ("restorer", "tiny", "cagface")}
    assert wall["restorer"] > wall["tiny"]


@pytest.mark.slow
def test_the_next_lease_continues_the_last(first_lease):
    root, _ = first_lease
    from tools.gpu_lease.install import main as install

    weights = root / "resources" / "weights"
    assert install([str(root / "out0"), "--weights", str(weights), "--state",
                    str(root / "state"), "--runs", str(root / "runs")]) == 0  # fmt: skip
    registry = json.loads((weights / "registry.json").read_text())
    assert registry["defaults"]["restorer"] == NAMES[0] and registry["defaults"]["tiny"] == NAMES[1]
    assert (root / "state" / f"{NAMES[0]}-disc.weights.json").is_file()
    assert (root / "runs" / "lease-1" / "logs" / "lease.json").is_file()
    proc = _lease(root, 1, "restorer", seconds=24)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "lease 2: part 2/3" in proc.stdout
    assert "continues sparnet_blind128_l-gpu, D from the saved one" in proc.stdout
    card = read_manifest(root / "out1" / f"{NAMES[0]}.weights.json").card
    first, second = card["leases"]
    assert (first["lease"], second["lease"], second["part"]) == (1, 2, "2/3")
    assert second["started_from"] == NAMES[0] and len(card["history"]) == 2
    assert card["discriminator"]["started_from"] == f"{NAMES[0]}-disc"
    assert card["optimizer"]["warmup_steps"] == 300  # a learning-rate warm-up on old weights


def test_parts_are_disjoint_random_thirds(tmp_path):
    full = make_pack(tmp_path / "full", n=11, size=32)
    parts = [tmp_path / f"p{k}" for k in range(3)]
    split_pack(full, parts, seed=0)
    names = [set(read_pack(p).names) for p in parts]
    assert sorted(len(n) for n in names) == [3, 4, 4]
    assert set().union(*names) == set(read_pack(full).names) and not names[0] & names[1]
    index = read_index(parts[1])
    assert index["part"]["index"] == 1 and index["part"]["of"] == 3
    split_pack(full, [tmp_path / f"q{k}" for k in range(3)], seed=0)  # reproducible
    assert (tmp_path / "q2" / "index.json").read_text().replace("q2", "p2") == (
        parts[2] / "index.json"
    ).read_text().replace("q2", "p2")


def test_the_lease_counter_picks_the_part():
    assert lease_plan.next_lease({}) == 1
    cards = {"restorer": {"leases": [{}, {}]}, "tiny": {"leases": [{}]}}
    assert lease_plan.next_lease(cards) == 3
    assert [lease_plan.part_of(n) for n in (1, 2, 3, 4)] == [0, 1, 2, 0]


def test_a_carried_part_that_is_not_the_leases_own_is_named(tmp_path, monkeypatch):
    full = make_pack(tmp_path / "full", n=6, size=32)
    split_pack(full, [tmp_path / f"p{k}" for k in range(3)], seed=0)
    monkeypatch.setenv("REVIVE_RESOURCES", str(_resources(tmp_path / "r")))
    context = lease_context(str(tmp_path / "p2"))  # lease 1 wants part 1
    assert context["number"] == 1 and context["part"] == 2
    assert any("part 3/3" in n and "part 1/3" in n for n in context["notes"])


def test_cagface_from_scratch_switches_stages_at_a_time(tmp_path):
    from tests.training_util import tiny_config
    from tools.gpu_lease.worker import options_for
    from training.loop import train

    plan = lease_plan.plans({"cagface": {"overrides": TINY_CAGFACE}})["cagface"]
    now = time.time()
    spec = {"deadline": now + 100, "setup_s": 0}
    until = options_for(plan, spec, "fast")["stage1_until"]
    assert now + 39 < until < now + 41  # stage 1: 40 % of the window, stage 2 the rest
    assert "stage1_until" not in options_for(plan, {**spec, "init": "x"}, "fast")
    data = make_pack(tmp_path / "faces", n=6, size=32)
    config = tiny_config("cagface_tiny", data, tmp_path / "run", steps=3, size=32,
                         options={"patch": 8, "stage1_until": 0.0})  # fmt: skip
    result = train(config)
    card = read_manifest(result.export).card
    assert card["stage1_steps"] == 1 and card["steps"] == 3  # one step of stage 1 at least


def test_a_returned_file_over_16_mib_is_refused(tmp_path, monkeypatch):
    import torch

    manifest = save_weights({"w": torch.zeros(64, 64)}, tmp_path / "w", "x", "sparnet_x8_tiny")
    monkeypatch.setattr("tools.gpu_lease.worker.MAX_FILE_BYTES", 1000)
    with pytest.raises(RuntimeError, match="16 MiB"):
        hand_over(manifest, tmp_path / "out")


def test_a_loss_that_is_not_a_number_stops_the_run(tmp_path):
    """On the device a NaN under bf16 must end the fast path early (the kit retries fp32)."""
    from tests.training_util import tiny_config
    from training.loop import DivergedError, train

    data = make_pack(tmp_path / "faces", n=6, size=32)
    config = tiny_config("sparnet_x8_tiny", data, tmp_path / "run", steps=50, size=32, lr=1e12,
                         model_overrides=TINY_SPARNET)  # fmt: skip
    with pytest.raises(DivergedError, match="not a number"):
        train(config)


def test_install_can_take_a_replaced_set_out(tmp_path):
    import torch

    from engine.errors import ReviveError
    from tools.gpu_lease.install import remove_set

    weights = tmp_path / "weights"
    for name in ("old", "new"):
        save_weights({"w": torch.zeros(4)}, weights, name, "sparnet_x8_tiny")
    (weights / "registry.json").write_text(
        json.dumps({"weights": ["old", "new"], "defaults": {"tiny": "new"}})
    )
    with pytest.raises(ReviveError, match="default"):
        remove_set(weights, "new")
    remove_set(weights, "old")
    assert json.loads((weights / "registry.json").read_text())["weights"] == ["new"]
    assert sorted(p.name for p in weights.iterdir()) == [
        "new.safetensors", "new.weights.json", "registry.json"
    ]  # fmt: skip
