"""Time per stage of the whole pipeline on one photo: plain fp32 eager vs the fast path.

Run: ``.venv/bin/python bench/bench_pipeline.py [--device cpu|cuda] [--preset NAME]
[--repeats N] [--threads T] [--compile] [--megapixels-test 50]``

Stages: decode, detect, align, network, paste, encode; per photo and per face. Each
configuration runs in its own subprocess, so its peak resident memory (``ru_maxrss``)
is its own. Weights are random (seeded) weights of the preset saved into a temporary
per-user folder: timings do not depend on their values. It is a benchmark, not a test:
nothing is asserted; read the table.

Configurations:
  fp32 eager  one face per call on all torch threads, torch.no_grad, the modules as
              trained, NCHW, fp32
  fast        inference_mode, BatchNorm folded (SPARNet x8, component net), sub-pixel
              up-convolutions (engine.optimize); CPU: one face per thread, as many
              faces at once as threads; CUDA: batched faces, channels-last, fp16
              autocast; optional torch.compile

``--megapixels-test 50`` also enlarges the photo to ~50 megapixels (Lanczos, in a
temporary folder; never kept) and restores it in a subprocess, reporting its peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("REVIVE_SHARED_DATA", REPO.parent / "shared" / "data"))
SOLVAY = SHARED / "real" / "sparnet" / "Solvay_conference_1927.jpg"
STAGES = ("decode", "detect", "align", "network", "paste", "encode")


def _configs(device: str, compile_: bool) -> dict[str, dict]:
    cuda = device == "cuda"
    return {
        "fp32 eager": {
            "batch_size": 1,
            "inference_mode": False,
            "fold_batchnorm": False,
            "subpixel_upconv": False,
            "cpu_workers": 1,
            "channels_last": False,
            "precision": "fp32",
        },
        "fast": {
            "batch_size": 0,
            "inference_mode": True,
            "fold_batchnorm": True,
            "subpixel_upconv": True,
            "cpu_workers": 0,
            "channels_last": cuda,
            "precision": "auto",
            "compile": compile_,
        },
    }


def child(args: argparse.Namespace) -> None:
    """One configuration, in this process: print a JSON line of stage times and memory."""
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from engine.io import load_photo, save_photo
    from engine.models import create_model
    from engine.pipeline import RestoreOptions, Restorer
    from engine.weights import save_weights

    data = Path(tempfile.mkdtemp(prefix="revive-bench-"))
    os.environ["REVIVE_DATA_DIR"] = str(data)
    torch.manual_seed(0)
    save_weights(
        create_model(args.preset).state_dict(),
        data / "weights",
        "bench",
        args.preset,
        dtype="float32",
    )
    config = json.loads(args.child)
    options = RestoreOptions.of(model=args.preset, device=args.device, **config)
    restorer = Restorer(options)
    photo = load_photo(args.photo, max_megapixels=200)
    restorer.restore(photo, options)  # warm-up: load, fold, compile, allocate
    runs = []
    for _ in range(args.repeats):
        restorer.forget_detections()
        start = time.perf_counter()
        photo = load_photo(args.photo, max_megapixels=200)
        decode = time.perf_counter() - start
        result = restorer.restore(photo, options)
        out = data / f"out{Path(args.photo).suffix}"
        t = time.perf_counter()
        save_photo(
            __import__("dataclasses").replace(photo, pixels=result.image, alpha=result.alpha), out
        )
        times = dict(result.timings, decode=decode, encode=time.perf_counter() - t)
        runs.append(times)
    best = {s: min(r[s] for r in runs) for s in STAGES}
    median = {s: statistics.median(r[s] for r in runs) for s in STAGES}
    row = {
        "faces": len(result.faces),
        "best": best,
        "median": median,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "device": result.device,
        "size": list(photo.pixels.shape[:2]),
    }
    if args.device == "cuda":
        row["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
        if config.get("precision") == "auto":  # half precision: how far from fp32?
            ref = restorer.restore(photo, options.replace(precision="fp32"))
            diff = np.abs(ref.image.astype(np.float32) - result.image.astype(np.float32))
            row["half_vs_fp32"] = {"max": float(diff.max()), "mean": float(diff.mean())}
            bf = restorer.restore(photo, options.replace(precision="bf16"))
            diff = np.abs(ref.image.astype(np.float32) - bf.image.astype(np.float32))
            row["bf16_vs_fp32"] = {"max": float(diff.max()), "mean": float(diff.mean())}
    print("RESULT " + json.dumps(row))


def run_config(args: argparse.Namespace, config: dict, photo: Path) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        json.dumps(config),
        "--photo",
        str(photo),
        "--preset",
        args.preset,
        "--device",
        args.device,
        "--repeats",
        str(args.repeats),
        "--threads",
        str(args.threads),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise SystemExit(f"benchmark child failed:\n{done.stderr[-3000:]}")


def make_big_photo(source: Path, megapixels: float, folder: Path) -> Path:
    """The photo enlarged (Lanczos) to about ``megapixels``, as a JPEG in ``folder``."""
    import cv2

    image = cv2.imread(str(source), cv2.IMREAD_COLOR)
    h, w = image.shape[:2]
    f = (megapixels * 1e6 / (h * w)) ** 0.5
    big = cv2.resize(image, (round(w * f), round(h * f)), interpolation=cv2.INTER_LANCZOS4)
    path = folder / f"big_{megapixels:g}mp.jpg"
    cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def table(results: dict[str, dict]) -> None:
    names = list(results)
    faces = results[names[0]]["faces"]
    header = ["stage"] + [f"{n} /photo" for n in names] + [f"{n} /face" for n in names]
    if len(names) == 2:
        header.append("speed-up")
    rows = []
    for stage in (*STAGES, "total"):
        cells = [stage]
        vals = []
        for n in names:
            best = results[n]["best"]
            v = sum(best.values()) if stage == "total" else best[stage]
            vals.append(v)
            cells.append(f"{v:.3f} s")
        cells += [f"{1000 * v / max(1, faces):.1f} ms" for v in vals]
        if len(names) == 2:
            cells.append(f"{vals[0] / vals[1]:.2f}x" if vals[1] > 0 else "-")
        rows.append(cells)
    rows.append(
        ["peak RSS"]
        + [f"{results[n]['peak_rss_mb']:.0f} MB" for n in names]
        + [""] * (len(header) - 1 - len(names))
    )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--photo", type=Path, default=SOLVAY)
    parser.add_argument("--preset", default="sparnethd_lite256")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "mps"))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--compile", action="store_true", help="fast path also uses torch.compile")
    parser.add_argument("--megapixels-test", type=float, default=0.0, metavar="MP")
    parser.add_argument("--only", choices=("fp32 eager", "fast"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    import torch

    print(
        f"{args.photo.name}, preset {args.preset}, device {args.device}, "
        f"{args.threads} threads, best of {args.repeats}, torch {torch.__version__}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    configs = _configs(args.device, args.compile)
    if args.only:
        configs = {args.only: configs[args.only]}
    results = {name: run_config(args, cfg, args.photo) for name, cfg in configs.items()}
    print(f"faces: {results[next(iter(results))]['faces']}")
    table(results)
    for name, r in results.items():
        for key in ("peak_cuda_mb", "half_vs_fp32", "bf16_vs_fp32"):
            if key in r:
                print(f"{name}: {key} = {r[key]}")
    if args.megapixels_test:
        with tempfile.TemporaryDirectory(prefix="revive-big-") as folder:
            big = make_big_photo(args.photo, args.megapixels_test, Path(folder))
            one = argparse.Namespace(**{**vars(args), "repeats": 1})
            r = run_config(one, configs.get("fast", next(iter(configs.values()))), big)
            h, w = r["size"]
            print(
                f"\n{w}x{h} ({w * h / 1e6:.1f} MP), {r['faces']} faces, fast path: "
                f"total {sum(r['best'].values()):.1f} s, peak RSS {r['peak_rss_mb']:.0f} MB"
            )
            print("  " + ", ".join(f"{s} {r['best'][s]:.2f} s" for s in STAGES))


if __name__ == "__main__":
    main()
