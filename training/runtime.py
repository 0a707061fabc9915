"""Where a training process runs: device, mixed precision, and its place in a torchrun job.

A process started by ``torchrun`` finds RANK / WORLD_SIZE / LOCAL_RANK in its
environment and joins the process group (NCCL on CUDA, gloo on the CPU); a plain
process is rank 0 of 1. Only rank 0 writes logs, samples and checkpoints.
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from engine.errors import DeviceError

AMP_MODES = ("auto", "bf16", "fp16", "off")


def pick_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """``auto`` picks CUDA (the local rank's GPU), then Apple's MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError("CUDA was asked for but no NVIDIA GPU is available here")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
    return device


def hardware_text(device: torch.device, world: int = 1) -> str:
    """One line for the model card: what the run trained on."""
    if device.type == "cuda":
        what = torch.cuda.get_device_name(device)
    elif device.type == "mps":
        what = "Apple GPU (MPS)"
    else:
        n = torch.get_num_threads()
        what = f"CPU ({platform.machine()}, {n} thread{'s' if n > 1 else ''})"
    procs = f"{world} x " if world > 1 else ""
    return f"{procs}{what}, torch {torch.__version__}"


@dataclass
class Runtime:
    """Device, precision and rank of this process; ``backward`` hides the grad scaler."""

    device: torch.device
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    amp_dtype: torch.dtype | None = None
    scaler: torch.amp.GradScaler | None = None
    channels_last: bool = False
    owns_group: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def to_device(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler is not None:
            self.scaler.step(optimizer)
        else:
            optimizer.step()

    def update_scaler(self) -> None:
        if self.scaler is not None:
            self.scaler.update()

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def all_mean(self, x: torch.Tensor) -> torch.Tensor:
        """Mean of a tensor over the ranks (identity in a single process)."""
        if not self.distributed:
            return x
        x = x.clone()
        dist.all_reduce(x)
        return x / self.world

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def make_runtime(device: str = "auto", amp: str = "auto", channels_last: bool = False) -> Runtime:
    """Join the torchrun job if there is one, pick the device and the precision."""
    if amp not in AMP_MODES:
        raise ValueError(f"amp must be one of {AMP_MODES}")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local_rank)
    owns = False
    if world > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
        owns = True
    rt = Runtime(dev, rank, world, local_rank, channels_last=channels_last, owns_group=owns)
    if dev.type == "cuda":
        if amp == "auto":
            amp = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        if amp == "bf16":
            rt.amp_dtype = torch.bfloat16
        elif amp == "fp16":
            rt.amp_dtype = torch.float16
            rt.scaler = torch.amp.GradScaler("cuda")
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    elif amp == "bf16" and dev.type == "cpu":
        # Asked for, never automatic: it pays only on CPUs with AVX512_BF16 or AMX
        # (bench/bench_train_precision.py measures it; docs/training.md has the figures).
        rt.amp_dtype = torch.bfloat16
        if torch.backends.cpu.get_cpu_capability() not in ("AVX512", "AVX512_BF16", "AMX"):
            rt.notes.append("bf16 autocast on a CPU without AVX-512: expect it to be slower")
    elif amp in ("bf16", "fp16"):
        rt.notes.append(f"mixed precision ({amp}) is used on CUDA and (bf16) CPUs only; float32")
    return rt


@contextlib.contextmanager
def eval_mode(*nets: torch.nn.Module) -> Iterator[None]:
    """Put networks in eval mode for a block, then restore each one's previous mode."""
    modes = [n.training for n in nets]
    for n in nets:
        n.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for n, m in zip(nets, modes, strict=True):
            n.train(m)
