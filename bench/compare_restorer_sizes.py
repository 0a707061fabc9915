"""Which blind-restorer size learns fastest per CPU-hour: train each for the same time.

Run (about an hour with the defaults):
``.venv/bin/python bench/compare_restorer_sizes.py --data packs/utk128-train
--val-data packs/utk128-val [--minutes 20] [--threads 1] [--only sparnet_blind128_s ...]``.

Each candidate trains with ``revive train PRESET`` (same data, seed, batch, learning
rate, validation faces), one after the other, for ``--minutes`` of wall time; then a
table prints the validation PSNR-Y over the degraded input at a few marks of CPU
time (the process's own, so other work on the machine does not skew it), from each
run's ``val_log.csv``. ``--report-only`` prints the table of finished runs.
It is a benchmark, not a test: nothing here is asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from training.runlog import VAL_LOG, read_csv

CANDIDATES = ("sparnet_blind128_s", "sparnet_blind128_m", "sparnet_blind128_l")


def train(preset: str, args: argparse.Namespace, out: Path) -> None:
    val_every = {"sparnet_blind128_s": 40, "sparnet_blind128_m": 15, "sparnet_blind128_l": 10}
    # a validation about every 70 CPU-s; patches make steps (128 / patch) ** 2 times cheaper
    every = val_every.get(preset, 20) * (max(1, (128 // args.patch) ** 2) if args.patch else 1)
    cmd = [
        sys.executable, "-m", "training", "train", preset,
        "--data", args.data, "--val-data", args.val_data, "--val-count", str(args.val_count),
        "--steps", "1000000", "--batch", str(args.batch), "--lr", str(args.lr),
        "--time-limit", str(args.minutes * 60), "--val-every", str(every),
        "--sample-every", "100000", "--checkpoint-every", "100000", "--out", str(out),
        "--no-progress", "--log-every", "10", "--workers", "1", "--no-export", "--channels-last",
    ]  # fmt: skip
    if args.patch:
        cmd += ["--patch", str(args.patch)]
    if args.loss:
        cmd += ["--option", f'loss="{args.loss}"']
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    with open(out.with_suffix(".log"), "w", encoding="utf-8") as log:
        subprocess.run(cmd, check=True, env=env, stdout=log, stderr=subprocess.STDOUT)


def baseline(log: Path) -> float | None:
    """The degraded input's PSNR-Y, from the run's first note."""
    for line in log.read_text(encoding="utf-8").splitlines():
        if "bicubic baseline PSNR-Y" in line:
            return float(line.split("bicubic baseline PSNR-Y")[1].split("dB")[0])
    return None


def table(runs: dict[str, Path], marks: list[float]) -> str:
    """Gain over the degraded input at CPU-minute marks (CPU time: fair on a shared machine)."""
    from engine.models import create_model

    head = ["preset", "params", "steps", "faces/CPU-s", *[f"+dB @{m:g} CPU-min" for m in marks]]
    rows = [head]
    for preset, out in runs.items():
        _, val = read_csv(out / VAL_LOG)
        _, tr = read_csv(out / "train_log.csv")
        base = baseline(out.with_suffix(".log"))
        if not val or not tr or base is None:
            continue
        params = sum(p.numel() for p in create_model(preset).parameters())
        speed = tr[-1]["step"] * run_batch(out) / max(tr[-1]["cpu_s"], 1e-9)
        cells = []
        for mark in marks:
            seen = [r for r in val if r["cpu_s"] <= mark * 60 + 1]
            cells.append(f"{seen[-1]['psnr_y'] - base:+.2f}" if seen else "-")
        rows.append([preset, f"{params / 1e6:.2f} M", f"{int(tr[-1]['step'])}",
                     f"{speed:.1f}", *cells])  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def run_batch(out: Path) -> int:
    import json

    return int(json.loads((out / "config.json").read_text(encoding="utf-8"))["batch"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="packs/utk128-train")
    parser.add_argument("--val-data", default="packs/utk128-val")
    parser.add_argument("--val-count", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--patch", type=int, default=0, help="train on square crops")
    parser.add_argument("--loss", help="l1 | l2 | charbonnier (default the trainer's, l1)")
    parser.add_argument("--out", default="runs/compare")
    parser.add_argument("--only", nargs="*", default=list(CANDIDATES))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    root = Path(args.out)
    root.mkdir(parents=True, exist_ok=True)
    suffix = f"-p{args.patch}" if args.patch else ""
    runs = {name: root / f"{name}{suffix}" for name in args.only}
    if not args.report_only:
        for preset, out in runs.items():
            print(f"training {preset} for {args.minutes:g} min ...", flush=True)
            train(preset, args, out)
    marks = [m for m in (2, 5, 10, 15, 20, 30, 60) if m <= args.minutes]
    print(table(runs, marks))


if __name__ == "__main__":
    main()
