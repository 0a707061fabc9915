"""SIGKILL ``revive train`` at random moments and check what a resume starts from.

A tiny SPARNet x8 (about 50 k parameters) on 12 astronaut crops, a checkpoint every
step, so a good share of the kills lands inside a checkpoint write. First one run goes
through uninterrupted, keeping every checkpoint. Then the same run is started with
``--resume``, killed after a random delay, and started again, ``kills`` times, and
finally run to its end. After every kill:

* the checkpoint ``latest.json`` points at is complete (it loads), and it is the newest
  complete one: a resume starts from the last complete checkpoint;
* every checkpoint the interrupted run has equals the uninterrupted run's at the same
  step, tensor for tensor (networks, EMA, optimiser moments, random states): the
  resumed run's next checkpoint is the one an uninterrupted run writes;
* ``revive export`` of the run, started while the run is being written, gives a whole
  weight set (its sha256 sums hold) or one line, never a half set.

``make kill-test`` runs 20 kills (a few minutes on 2 cores); the test suite runs a few
(``tests/test_training_kill.py``).

    python -m tests.kill_training [--kills 20] [--seed 0] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.training_util import TINY_SPARNET, make_pack  # noqa: E402
from training.checkpoint import checkpoint_root, latest_checkpoint, load_checkpoint  # noqa: E402

STEPS_PER_KILL = 6  # steps a kill costs on average (a resume repeats from the last one)
OVERRIDES = [a for k, v in TINY_SPARNET.items() for a in ("--override", f"{k}={v}")]
TIMEOUT = 600


@dataclass
class Report:
    kills: int = 0
    kills_in_checkpoint_writes: int = 0
    resumes_checked: int = 0
    checkpoints_compared: int = 0
    exports_whole: int = 0
    exports_refused: int = 0
    problems: list[str] = field(default_factory=list)


def subprocess_env(data_dir: Path, **extra: object) -> dict[str, str]:
    """The environment of a `revive` subprocess: this checkout, a private data folder."""
    env = {**os.environ, "REVIVE_DATA_DIR": str(data_dir), "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _train_args(pack: Path, run: Path, steps: int) -> list[str]:
    return ["train", "sparnet_x8", "--data", str(pack), "--out", str(run), "--resume",
            "--steps", str(steps), "--batch", "2", "--val-count", "2", "--log-every", "1",
            "--checkpoint-every", "1", "--device", "cpu", "--workers", "1", "--no-progress",
            *OVERRIDES]  # fmt: skip


def revive_process(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "engine", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def _complete_steps(run: Path) -> list[int]:
    """Steps of the checkpoint folders that load (meta.json and every shard)."""
    steps = []
    for folder in sorted(checkpoint_root(run).glob("step-*")):
        try:
            _tensors, meta = load_checkpoint(folder)
        except Exception:
            continue
        steps.append(int(meta["step"]))
    return steps


def _latest_step(run: Path) -> int:
    try:
        folder = latest_checkpoint(run)
    except Exception:
        return -1
    return -1 if folder is None else int(folder.name.split("-")[1])


def _wait_for_a_moment(proc: subprocess.Popen, run: Path, rng: random.Random) -> bool:
    """Wait for a random moment of the run (start-up, between steps, or just as a
    checkpoint folder appears, while its shards are written); False if it ended first."""
    mode = rng.choice(["start-up", "steps", "write", "write"])
    start = _latest_step(run)
    steps = rng.randint(0, 3)
    deadline = time.monotonic() + TIMEOUT
    pause = rng.uniform(0.0, 3.0) if mode == "start-up" else rng.uniform(0.0, 0.2)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if mode == "start-up":
            break
        latest = _latest_step(run)
        if mode == "steps" and latest >= start + 1 + steps:
            break
        if mode == "write" and latest >= start + steps and _folder_after(run, latest):
            pause = 0.0
            break
        time.sleep(0.002)
    time.sleep(pause)
    return proc.poll() is None


def _folder_after(run: Path, step: int) -> bool:
    """A checkpoint folder newer than ``step`` exists without its meta.json (being written)."""
    for folder in checkpoint_root(run).glob("step-*"):
        if int(folder.name.split("-")[1]) > step and not (folder / "meta.json").exists():
            return True
    return False


def _caught_writing(run: Path) -> bool:
    """A checkpoint folder newer than the complete ones: the kill came while it was written."""
    complete = _complete_steps(run)
    newest = max(complete) if complete else -1
    return any(int(f.name.split("-")[1]) > newest for f in checkpoint_root(run).glob("step-*"))


def _same(a: Path, b: Path) -> str | None:
    """None when two checkpoint folders hold equal tensors and steps; else what differs."""
    ta, ma = load_checkpoint(a)
    tb, mb = load_checkpoint(b)
    if ma["step"] != mb["step"] or set(ta) != set(tb):
        return f"{a.name}: other steps or keys"
    for key in ta:
        if not torch.equal(ta[key], tb[key]):
            return f"{a.name}: {key} differs"
    return None


def reference_run(pack: Path, folder: Path, env: dict[str, str], steps: int) -> Path:
    """The uninterrupted run, keeping every checkpoint."""
    run = folder / "reference"
    proc = revive_process(
        [*_train_args(pack, run, steps), "--keep-checkpoints", str(steps + 1)], env
    )
    out, err = proc.communicate(timeout=TIMEOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"the reference run failed: {err.strip()[-800:]}")
    return run


def _check_after_kill(run: Path, reference: Path, report: Report) -> None:
    complete = _complete_steps(run)
    latest = None
    try:
        latest = latest_checkpoint(run)
    except Exception as err:
        report.problems.append(f"kill {report.kills}: latest.json is unusable ({err})")
    if latest is not None:
        try:
            step = int(load_checkpoint(latest)[1]["step"])
        except Exception as err:
            report.problems.append(f"kill {report.kills}: latest points at a damaged one ({err})")
            return
        if complete and step != max(complete):
            report.problems.append(
                f"kill {report.kills}: latest is step {step}, the newest complete is "
                f"{max(complete)}"
            )
        report.resumes_checked += 1
    elif complete:
        report.problems.append(f"kill {report.kills}: no latest.json, complete {complete}")
    for step in complete:
        folder = checkpoint_root(run) / f"step-{step:08d}"
        twin = checkpoint_root(reference) / f"step-{step:08d}"
        if (problem := _same(folder, twin)) is not None:
            report.problems.append(f"kill {report.kills}: {problem}")
        report.checkpoints_compared += 1


def _export_while_running(run: Path, folder: Path, env: dict[str, str], report: Report) -> None:
    from engine.weights import read_manifest, verify_weights

    target = folder / f"exports-{report.kills}"
    proc = revive_process(["export", str(run), "--to", str(target), "--name", "live"], env)
    out, err = proc.communicate(timeout=TIMEOUT)
    manifest = target / "live.weights.json"
    if proc.returncode == 0:
        problems = verify_weights(read_manifest(manifest))
        if problems:
            report.problems.append(f"export {report.kills}: a half set ({problems})")
        else:
            report.exports_whole += 1
    else:
        lines = [line for line in err.splitlines() if line.strip()]
        if len(lines) != 1 or "Traceback" in err:
            report.problems.append(f"export {report.kills}: not one line: {err.strip()[-400:]}")
        elif manifest.exists():
            report.problems.append(f"export {report.kills}: refused but left a manifest")
        report.exports_refused += 1


def _kill_repeatedly(
    run: Path,
    pack: Path,
    reference: Path,
    steps: int,
    kills: int,
    rng: random.Random,
    env: dict[str, str],
    folder: Path,
    report: Report,
) -> None:
    """Start the run, kill it at a random moment, check, again: until it ends or the
    kills are done."""
    while report.kills < kills:
        proc = revive_process(_train_args(pack, run, steps), env)
        if not _wait_for_a_moment(proc, run, rng):
            proc.communicate(timeout=TIMEOUT)
            if proc.returncode != 0:
                report.problems.append(f"a run ended with {proc.returncode}")
            return  # it finished before the kill
        if rng.random() < 0.3 and (run / "checkpoints").is_dir():
            _export_while_running(run, folder, env, report)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=TIMEOUT)
        report.kills += 1
        report.kills_in_checkpoint_writes += _caught_writing(run)
        _check_after_kill(run, reference, report)


def campaign(kills: int, seed: int, folder: Path, steps: int | None = None) -> Report:
    rng = random.Random(seed)
    steps = steps or STEPS_PER_KILL * kills + 8  # long enough for every kill
    data = folder / "data"
    env = subprocess_env(data)
    pack = make_pack(folder / "pack", n=12, size=32)
    reference = reference_run(pack, folder, env, steps)
    report = Report()
    round_ = 0
    while report.kills < kills:  # a run that ends before its kills: the next one starts
        round_ += 1
        run = folder / f"killed-{round_}"
        _kill_repeatedly(run, pack, reference, steps, kills, rng, env, folder, report)
        proc = revive_process(_train_args(pack, run, steps), env)
        _out, err = proc.communicate(timeout=TIMEOUT)
        if proc.returncode != 0:
            report.problems.append(f"the last resume failed: {err.strip()[-400:]}")
        final = checkpoint_root(run) / f"step-{steps:08d}"
        if (problem := _same(final, checkpoint_root(reference) / final.name)) is not None:
            report.problems.append(f"the finished run: {problem}")
        if round_ > kills:
            report.problems.append("the runs end before they can be killed")
            break
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", help="work in this folder and keep it (default: a temp one)")
    args = parser.parse_args(argv)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="revive-kill-"))
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        report = campaign(args.kills, args.seed, folder)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    for name, value in vars(report).items():
        if name != "problems":
            print(f"{name.replace('_', ' '):<28} {value}")
    print(f"{'minutes':<28} {(time.perf_counter() - start) / 60:.1f}")
    for problem in report.problems:
        print(f"problem: {problem}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
