"""Parameters and CPU time per face of every generator preset at its native size (fp32).

Run: ``.venv/bin/python bench/bench_models.py [--repeats N] [--threads T] [--only NAME ...]``.
Prints a table; it is a benchmark, not a test (no timing is asserted anywhere).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from engine.models import ModelKind, create_model, list_presets

# Native input per family: SPARNet works at its face size, CAGFace x4 on a 64 px LR face
# (256 px out), the component network on a 128 px face.
CAGFACE_LR = 64
PARSING_SIZE = 128


def native_input(preset) -> tuple[torch.Tensor, dict]:
    if preset.kind in (ModelKind.RESTORER, ModelKind.TINY_FACE):
        return torch.rand(1, 3, preset.size, preset.size) * 2 - 1, {}
    if preset.kind is ModelKind.REGION:
        return torch.rand(1, 6, CAGFACE_LR, CAGFACE_LR) * 2 - 1, {}
    return torch.rand(1, 3, PARSING_SIZE, PARSING_SIZE) * 2 - 1, {}


def time_forward(net: torch.nn.Module, x: torch.Tensor, repeats: int) -> list[float]:
    times = []
    with torch.inference_mode():
        net(x)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            net(x)
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--only", nargs="*", help="preset names to run")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for preset in list_presets():
        if preset.kind is ModelKind.DISCRIMINATOR or preset.is_test_only:
            continue
        if args.only and preset.name not in args.only:
            continue
        net = create_model(preset.name)
        x, _ = native_input(preset)
        times = time_forward(net, x, args.repeats)
        params = sum(p.numel() for p in net.parameters())
        out_side = x.shape[-1] * preset.scale if preset.kind is ModelKind.REGION else x.shape[-1]
        rows.append(
            (
                preset.name,
                f"{params / 1e6:.2f} M",
                f"{x.shape[-1]} -> {out_side}",
                f"{statistics.median(times) * 1000:.0f} ms",
            )
        )
    print(
        f"CPU, fp32 eager, {args.threads} threads, median of {args.repeats}, "
        f"torch {torch.__version__}"
    )
    header = ("preset", "params", "input -> output px", "time / face")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
