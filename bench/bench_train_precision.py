"""Training step time of the restorer in fp32 and in bf16 autocast on this CPU.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/bench_train_precision.py [--preset
sparnet_blind128_s] [--steps 20]``. One Adam step (forward, L1 + the detail terms,
backward, update) on random faces, 64 px crops and whole 128 px faces, timed side by
side in one process (alternating, so a busy machine slows both alike). bf16 needs a
CPU with AVX512_BF16 or AMX to pay; it is measured, not assumed.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from engine.models import create_model
from training.tasks.restorer import edge_loss, spectrum_loss


def step(net, opt, x, y, bf16: bool) -> float:
    t = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        out = net(x)
    out = (out[0] if isinstance(out, tuple) else out).float()
    loss = F.l1_loss(out, y) + edge_loss(out, y) + 0.1 * spectrum_loss(out, y)
    loss.backward()
    opt.step()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="sparnet_blind128_s")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}")  # fmt: skip
    print(f"{'input':>10} {'fp32 s/step':>12} {'bf16 s/step':>12} {'bf16 speed-up':>14}")
    for side in (64, 128):
        torch.manual_seed(0)
        net = create_model(args.preset).train()
        opt = torch.optim.Adam(net.parameters(), lr=1e-4)
        x = torch.rand(args.batch, 3, side, side) * 2 - 1
        y = (x + 0.05 * torch.randn_like(x)).clamp(-1, 1)
        for bf16 in (False, True):  # warm-up
            step(net, opt, x, y, bf16)
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.steps):
            for bf16 in (False, True):
                times[bf16].append(step(net, opt, x, y, bf16))
        a, b = (sorted(times[k])[len(times[k]) // 2] for k in (False, True))
        print(f"{side:>8}px {a:12.3f} {b:12.3f} {a / b:13.2f}x")


if __name__ == "__main__":
    main()
