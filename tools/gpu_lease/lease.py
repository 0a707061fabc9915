"""One GPU lease, one command: ``bash tools/gpu_lease/session.sh`` (this module).

Trains the default restorer, SPARNet x8 and CAGFace x4 at the same time on the one
GPU (``plan.PLANS``: presets, batches, time shares), each in a worker process
(``tools.gpu_lease.worker``) that stops at its own deadline, exports fp16 shards,
evaluates them on the carried validation faces and records the lease in the model
card. Meanwhile this process samples the GPU (utilisation, memory, per process) every
two seconds. A training that fails early is started again in plain fp32 (or at half
the batch after running out of memory) while time is left. At the end it prints one
table and leaves in ``$OUT`` the weight sets (manifest + one shard each) and
``results-lease.tar.gz`` (logs, loss CSVs, evaluations, GPU samples, the machine's
description, the discriminator): 7 files of at most 15 MiB.

Everything ends within ``--seconds`` (540) of the start; stragglers are stopped
``STOP_MARGIN_S`` before. A CPU dry run with tiny nets: ``tests/test_device_session.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .plan import (
    LEASE_PACK,
    LEASE_SECONDS,
    MAX_FILE_BYTES,
    MAX_RETURNED_FILES,
    PARTS,
    ROLES,
    STATE_DIR,
    VAL_PACK,
    ModelPlan,
    load_overrides,
    next_lease,
    part_of,
    plans,
    shipped_cards,
)

RESULTS = "results-lease.tar.gz"
STOP_MARGIN_S = 0.03  # of the lease: stragglers are stopped this share before its end
EVAL_MARGIN_S = 0.06  # no evaluation starts later than this share before the end
RETRY_MIN_S = 0.12  # a retry needs this share of the lease left before its deadline
RESULTS_LIMIT = 15 * 2**20


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def describe_machine(logs: Path, device: str) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "device": device,
    }
    query = (
        _run(
            [
                "nvidia-smi",
                "--query-gpu=name,memory.total,driver_version",
                "--format=csv,noheader,nounits",
            ]
        )
        .strip()
        .splitlines()
    )
    if query:  # not torch.cuda here: this process keeps no CUDA context on the GPU
        name, memory, driver = (v.strip() for v in (query[0].split(",") + ["", ""])[:3])
        info.update(gpu=name, gpu_memory_mib=memory, driver=driver, cuda=torch.version.cuda)
    smi = _run(["nvidia-smi"])
    (logs / "machine.txt").write_text(json.dumps(info, indent=2) + "\n\n" + smi, encoding="utf-8")
    return info


def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


class GpuSampler(threading.Thread):
    """``nvidia-smi`` every ``every`` seconds: the GPU's utilisation and memory, and per
    process its memory and (``nvidia-smi pmon``, where the driver allows it) its share
    of the streaming multiprocessors."""

    def __init__(self, logs: Path, every: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.logs, self.every = logs, every
        self.stop = threading.Event()
        self.samples: list[dict[str, float]] = []
        self.sm: dict[int, list[float]] = {}  # pid -> SM % samples
        self.memory: dict[int, float] = {}  # pid -> peak MiB
        self.available = shutil.which("nvidia-smi") is not None

    def run(self) -> None:
        if not self.available:
            return
        t0 = time.time()
        with (
            open(self.logs / "gpu.csv", "w", encoding="utf-8") as gpu,
            open(self.logs / "gpu-processes.csv", "w", encoding="utf-8") as procs,
        ):
            gpu.write("t_s,util_pct,mem_util_pct,mem_used_mib,power_w\n")
            procs.write("t_s,pid,used_mib,sm_pct\n")
            while not self.stop.is_set():
                t = round(time.time() - t0, 1)
                self._gpu(t, gpu)
                self._processes(t, procs)
                gpu.flush()
                procs.flush()
                self.stop.wait(self.every)

    def _gpu(self, t: float, gpu: Any) -> None:
        query = "--query-gpu=utilization.gpu,utilization.memory,memory.used,power.draw"
        out = _run(["nvidia-smi", query, "--format=csv,noheader,nounits"]).strip()
        line = out.splitlines()[0] if out else ""
        if not line:
            return
        gpu.write(f"{t},{line.replace(' ', '')}\n")
        try:
            util, mem_util, used = (float(v) for v in line.split(",")[:3])
        except ValueError:
            return
        self.samples.append({"t": t, "util": util, "mem_util": mem_util, "used_mib": used})

    def _processes(self, t: float, procs: Any) -> None:
        used: dict[int, float] = {}
        query = "--query-compute-apps=pid,used_memory"
        for row in _run(["nvidia-smi", query, "--format=csv,noheader,nounits"]).splitlines():
            try:
                pid_text, mib = (v.strip() for v in row.split(",")[:2])
                used[int(pid_text)] = float(mib)
            except ValueError:
                continue
        sm: dict[int, float] = {}
        for row in _run(["nvidia-smi", "pmon", "-c", "1", "-s", "u"]).splitlines():
            fields = row.split()
            if row.startswith("#") or len(fields) < 4:
                continue
            try:
                sm[int(fields[1])] = float(fields[3])
            except ValueError:
                continue
        for pid in sorted(set(used) | set(sm)):
            procs.write(f"{t},{pid},{used.get(pid, '')},{sm.get(pid, '')}\n")
            if pid in used:
                self.memory[pid] = max(self.memory.get(pid, 0.0), used[pid])
            if pid in sm:
                self.sm.setdefault(pid, []).append(sm[pid])

    def summary(self) -> dict[str, Any]:
        busy = [s for s in self.samples if s["used_mib"] > 0]
        if not busy:
            return {"sampled": self.available, "samples": 0}
        utils = [s["util"] for s in busy]
        return {
            "samples": len(busy),
            "util_mean_pct": round(sum(utils) / len(utils), 1),
            "util_max_pct": max(utils),
            "mem_used_max_gib": round(max(s["used_mib"] for s in busy) / 1024, 2),
        }

    def of_processes(self, pids: list[int]) -> dict[str, Any]:
        """Peak memory and mean SM share of one model's worker processes."""
        sm = [v for p in pids for v in self.sm.get(p, [])]
        memory = [self.memory[p] for p in pids if p in self.memory]
        return {
            "gpu_sm_mean_pct": round(sum(sm) / len(sm), 1) if sm else None,
            "gpu_mem_smi_gib": round(max(memory) / 1024, 2) if memory else None,
        }


class Training:
    """One worker process and what it needs to be started again."""

    def __init__(self, plan: ModelPlan, spec: Path, log_path: Path, deadline: float) -> None:
        self.plan, self.spec_path, self.log_path, self.deadline = plan, spec, log_path, deadline
        self.proc: subprocess.Popen | None = None
        self.attempts: list[str] = []
        self.codes: list[int] = []
        self.pids: list[int] = []

    def start(self, attempt: str, env: dict[str, str]) -> None:
        self.attempts.append(attempt)
        log = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115 - the child owns it
        log.write(f"\n=== attempt {attempt} at {time.strftime('%H:%M:%S')} ===\n")
        log.flush()
        cmd = [
            sys.executable,
            "-m",
            "tools.gpu_lease.worker",
            str(self.spec_path),
            "--attempt",
            attempt,
        ]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.pids.append(self.proc.pid)
        log.close()
        say(f"{self.plan.role}: started {self.plan.preset} ({attempt}), pid {self.proc.pid}")


def lease_context(data: str) -> dict[str, Any]:
    """Lease number, the part it should train on, and the part the carried pack holds."""
    from training.pack import read_index

    cards = shipped_cards()
    number = next_lease(cards)
    part = part_of(number)
    context: dict[str, Any] = {"number": number, "part": part, "parts": PARTS, "notes": []}
    try:
        index = read_index(data)
        context["faces"] = index.get("count")
        carried = index.get("part")
        if carried and (carried.get("index") != part or carried.get("of") != PARTS):
            context["notes"].append(
                f"the carried pack is part {carried.get('index', -1) + 1}/{carried.get('of')}, "
                f"lease {number} should train on part {part + 1}/{PARTS} "
                "(run `make gpu-data` after installing the last lease's weights)"
            )
        if carried:
            context["part"] = int(carried["index"])
            context["parts"] = int(carried["of"])
    except Exception as err:  # the workers will say what is wrong with the pack
        context["notes"].append(f"cannot read {data}: {err}")
    context["shipped"] = {r: c.get("name") for r, c in cards.items()}
    return context


def starting_points(plan: ModelPlan, state_dir: Path) -> tuple[str | None, str | None, str]:
    """(the shipped weights to continue, the saved D, why): both only when they fit."""
    from engine.weights import default_weights

    info = default_weights(plan.role)
    if info is None:
        return None, None, "no shipped weights: from scratch"
    if info.preset != plan.preset:
        return None, None, f"the shipped {info.name} is a {info.preset}: from scratch"
    disc = None
    if plan.gan:
        path = state_dir / f"{plan.export_name}-disc.weights.json"
        disc = str(path) if path.is_file() else None
    how = f"continues {info.name}" + (", D from the saved one" if disc else "")
    return str(info.manifest), disc, how


def bundle(work: Path, out: Path) -> Path:
    """logs/ + each run's CSVs, config and last sample grid + the D, in one archive."""
    logs = work / "logs"
    for run in sorted(work.glob("run-*")):
        target = logs / run.name
        target.mkdir(parents=True, exist_ok=True)
        for pattern in ("*.csv", "config.json", "*.png"):
            for f in run.glob(pattern):
                shutil.copy2(f, target / f.name)
        samples = sorted((run / "samples").glob("*.png"))
        if samples:
            shutil.copy2(samples[-1], target / samples[-1].name)
    if (work / "disc").is_dir():
        shutil.copytree(work / "disc", logs / "disc", dirs_exist_ok=True)
    path = out / RESULTS
    with tarfile.open(path, "w:gz") as tar:
        tar.add(logs, arcname="logs")
    if path.stat().st_size > RESULTS_LIMIT:  # keep what matters: drop the pictures
        with tarfile.open(path, "w:gz") as tar:
            tar.add(logs, arcname="logs", filter=lambda m: None if m.name.endswith(".png") else m)
    return path


def table(summaries: dict[str, dict[str, Any]]) -> str:
    """One line per model: what it did, what it measures, its last losses (or its error)."""
    head = [
        "model",
        "preset",
        "steps",
        "samples",
        "samples/s",
        "GPU-GiB",
        "SM-%",
        "PSNR-Y",
        "input",
        "gain-dB",
        "losses",
    ]
    rows = [head]
    for role, s in summaries.items():
        v = s.get("validation") or {}
        cells = [
            s.get("preset"),
            s.get("steps"),
            s.get("samples"),
            s.get("samples_per_s"),
            s.get("gpu_mem_gib"),
            s.get("gpu_sm_mean_pct"),
            v.get("psnr_y"),
            v.get("input_psnr_y"),
            v.get("gain_db"),
        ]
        losses = " ".join(f"{k}={x:.4g}" for k, x in (s.get("losses") or {}).items())
        rows.append(
            [
                role,
                *("-" if c is None else str(c) for c in cells),
                losses or str(s.get("error", "")),
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bash tools/gpu_lease/session.sh",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "models",
        nargs="*",
        default=list(ROLES),
        help=f"roles to train (default: all of {', '.join(ROLES)})",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=float(os.environ.get("LEASE_SECONDS", LEASE_SECONDS)),
        help="everything ends within this many seconds (default 540)",
    )
    parser.add_argument("--data", default=os.environ.get("LEASE_PACK", LEASE_PACK))
    parser.add_argument("--val-data", default=os.environ.get("LEASE_VAL_PACK", VAL_PACK))
    parser.add_argument("--out", default=os.environ.get("OUT", "runs/device-out"))
    parser.add_argument("--work", default=os.environ.get("REVIVE_WORK", "/tmp/revive-lease"))
    parser.add_argument(
        "--state",
        default=os.environ.get("REVIVE_LEASE_STATE", STATE_DIR),
        help="where the saved discriminator is looked for",
    )
    parser.add_argument("--device", default=os.environ.get("REVIVE_DEVICE", "cuda"))
    parser.add_argument("--amp", default=os.environ.get("REVIVE_AMP", "bf16"))
    parser.add_argument(
        "--plan",
        default=os.environ.get("LEASE_PLAN"),
        help="JSON (or a JSON file) of per-role plan changes",
    )
    args = parser.parse_args(argv)
    t0 = time.time()
    unknown = [m for m in args.models if m not in ROLES]
    if unknown:
        parser.error(f"unknown model {unknown[0]!r}; choose among {', '.join(ROLES)}")
    seconds = args.seconds
    from training.pack import is_pack

    missing = [p for p in (args.data, args.val_data) if not is_pack(p)]
    if missing:  # nothing to train on: say so before a minute of the lease goes
        say(
            f"no pack at {', '.join(missing)}: run `make gpu-data` and carry "
            f'["{LEASE_PACK}", "{VAL_PACK}"]'
        )
        return 2
    out, work = Path(args.out), Path(args.work)
    if work.exists():
        shutil.rmtree(work)
    logs = work / "logs"
    logs.mkdir(parents=True)
    out.mkdir(parents=True, exist_ok=True)
    the_plans = plans(load_overrides(args.plan))
    chosen = {r: the_plans[r] for r in ROLES if r in args.models}
    machine = describe_machine(logs, args.device)
    say(
        f"lease on {machine.get('gpu', machine['device'])}, torch {machine['torch']}, "
        f"{machine['cpus']} CPUs; {seconds:g} s in all"
    )
    context = lease_context(args.data)
    context["trainings"] = len(chosen)
    for note in context["notes"]:
        say(f"note: {note}")
    say(
        f"lease {context['number']}: part {context['part'] + 1}/{context['parts']} "
        f"({context.get('faces')} faces) of {args.data}"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(Path.cwd()), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    cuda = args.device != "cpu"
    if cuda:
        env["OMP_NUM_THREADS"] = "2"
    stop_at = t0 + seconds * (1 - STOP_MARGIN_S)
    trainings: dict[str, Training] = {}
    starts: dict[str, dict[str, Any]] = {}
    for role, plan in chosen.items():
        init, disc, how = starting_points(plan, Path(args.state))
        starts[role] = {"init": init, "disc": disc, "how": how}
        say(f"{role}: {plan.preset}, {how}; trains until {plan.train_until * seconds:.0f} s")
        spec = {
            "plan": asdict(plan),
            "data": args.data,
            "val_data": args.val_data,
            "device": args.device,
            "amp": args.amp if cuda else "off",
            "channels_last": cuda,
            "deadline": t0 + plan.train_until * seconds,
            "stop_by": t0 + seconds * (1 - EVAL_MARGIN_S),
            "setup_s": 0.05 * seconds,
            "work": str(work),
            "out": str(out),
            "init": init,
            "disc": disc,
            "lease": context,
            "torch_threads": 2 if cuda else None,
            "log_every": 50 if cuda else 1,
        }
        spec_path = work / f"spec-{role}.json"
        spec_path.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
        trainings[role] = Training(plan, spec_path, logs / f"{role}.txt", spec["deadline"])
        trainings[role].start("fast", env)
    sampler = GpuSampler(logs)
    sampler.start()
    running = dict(trainings)
    while running:
        time.sleep(0.5 if not cuda else 2.0)
        for role, tr in list(running.items()):
            assert tr.proc is not None
            code = tr.proc.poll()
            if code is None:
                if time.time() > stop_at:
                    say(f"{role}: still running at the lease's end: stopped")
                    tr.proc.send_signal(signal.SIGTERM)
                    try:
                        tr.proc.wait(10)
                    except subprocess.TimeoutExpired:
                        tr.proc.kill()
                    tr.codes.append(-1)
                    del running[role]
                continue
            tr.codes.append(code)
            left = tr.deadline - time.time()
            if code in (1, 3) and left > RETRY_MIN_S * seconds and len(tr.attempts) < 3:
                attempt = "half" if code == 3 else "plain"
                if attempt in tr.attempts:
                    attempt = "plain" if attempt == "half" else "half"
                say(f"{role}: failed (exit {code}); again as '{attempt}', {left:.0f} s left")
                tr.start(attempt, env)
                continue
            say(f"{role}: finished (exit {code})")
            del running[role]
    sampler.stop.set()
    sampler.join(5)
    summaries: dict[str, dict[str, Any]] = {}
    for role in trainings:
        path = logs / f"{role}.json"
        summaries[role] = (
            json.loads(path.read_text()) if path.is_file() else {"error": "no summary"}
        )
        summaries[role]["how"] = starts[role]["how"]
        summaries[role]["attempts"] = trainings[role].attempts
        summaries[role].update(sampler.of_processes(trainings[role].pids))
    record = {
        "lease": context,
        "seconds": seconds,
        "wall_s": round(time.time() - t0, 1),
        "machine": machine,
        "gpu": sampler.summary(),
        "models": summaries,
        "plans": {r: asdict(p) for r, p in chosen.items()},
    }
    (logs / "lease.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(table(summaries), flush=True)
    gpu = record["gpu"]
    if gpu.get("samples"):
        say(
            f"GPU: {gpu['util_mean_pct']} % busy on average (max {gpu['util_max_pct']} %), "
            f"{gpu['mem_used_max_gib']} GiB at most"
        )
    results = bundle(work, out)
    returned = sorted(p for p in out.iterdir() if p.is_file())
    too_big = [p.name for p in returned if p.stat().st_size > MAX_FILE_BYTES]
    say(
        f"$OUT: {len(returned)} files, {sum(p.stat().st_size for p in returned) / 2**20:.1f} MiB "
        f"({results.name} {results.stat().st_size / 2**20:.2f} MiB); {time.time() - t0:.0f} s"
    )
    if len(returned) > MAX_RETURNED_FILES or too_big:
        say(f"warning: more than {MAX_RETURNED_FILES} files or files over 16 MiB: {too_big}")
    ok = all("returned" in s for s in summaries.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
