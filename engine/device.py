"""Compute device choice, half-precision policy, and the out-of-memory fallback.

``auto`` picks CUDA, then Apple MPS, then the CPU. Half precision is used only on
CUDA, through autocast (convolutions in fp16, reductions such as the norms' statistics
stay in fp32), because that is where it is both fast and accurate; the CPU and MPS run
fp32. When a CUDA (or MPS) step runs out of memory, :class:`OomFallback` retries it with
half the batch or tile, down to one, then on the CPU, and records a warning that the
front ends show.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TypeVar

import torch

from .errors import DeviceError

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")
PRECISION_CHOICES = ("auto", "fp32", "fp16", "bf16")
T = TypeVar("T")


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """Device kinds that work on this machine, best first."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if mps_available():
        found.append("mps")
    return [*found, "cpu"]


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` | ``cuda`` | ``cuda:N`` | ``mps`` | ``cpu`` -> a usable ``torch.device``."""
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device(available_devices()[0])
    kind = name.split(":")[0]
    if kind not in DEVICE_CHOICES:
        raise DeviceError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    if kind == "cuda" and not torch.cuda.is_available():
        raise DeviceError("no CUDA GPU is available here; use --device cpu (or auto)")
    if kind == "mps" and not mps_available():
        raise DeviceError("Apple MPS is not available here; use --device cpu (or auto)")
    return torch.device(name)


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The reduced precision to run networks in on ``device``, or None for fp32.

    ``auto`` means fp16 on CUDA (autocast keeps numerically sensitive ops in fp32) and
    fp32 elsewhere; ``fp16`` / ``bf16`` are honoured on CUDA only (on the CPU, with no
    native half arithmetic here, they would be slower and less accurate).
    """
    if precision not in PRECISION_CHOICES:
        raise DeviceError(
            f"unknown precision {precision!r}; choose one of {', '.join(PRECISION_CHOICES)}"
        )
    if device.type != "cuda" or precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float16


@contextlib.contextmanager
def precision_context(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    """Autocast to ``dtype`` on ``device`` when one is given; plain fp32 otherwise."""
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


def is_out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is a device running out of memory (CUDA, MPS or the allocator)."""
    if isinstance(err, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(err, RuntimeError) and "out of memory" in str(err).lower()


def release_memory(device: torch.device) -> None:
    """Give cached blocks back after an out-of-memory error, so a retry can succeed."""
    if device.type == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif device.type == "mps" and mps_available():
        torch.mps.empty_cache()


class OomFallback:
    """Runs steps on a device; on out-of-memory halves the work size, then moves to the CPU.

    One object lives for one photo, so once a step had to shrink (or leave the GPU), the
    following steps start from there instead of failing again. ``warnings`` collects one
    sentence per change for the result.
    """

    def __init__(
        self, device: torch.device, size: int, what: str = "batch", minimum: int = 1
    ) -> None:
        self.device = device
        self.minimum = max(1, int(minimum))
        self.size = max(self.minimum, int(size))
        self.initial_size = self.size
        self.what = what
        self.warnings: list[str] = []

    def run(self, step: Callable[[torch.device, int], T]) -> T:
        """Call ``step(device, size)`` until it fits in memory."""
        while True:
            try:
                return step(self.device, self.size)
            except Exception as err:
                if not is_out_of_memory(err):
                    raise
                release_memory(self.device)
                self._shrink()

    def _shrink(self) -> None:
        if self.size > self.minimum:
            self.size = max(self.minimum, self.size // 2)
            self.warnings.append(
                f"{self.device.type} ran out of memory: retrying with {self.what} {self.size}"
            )
            return
        if self.device.type != "cpu":
            self.warnings.append(
                f"{self.device.type} ran out of memory even with {self.what} {self.size}: "
                "continuing on the CPU (slower)"
            )
            self.device = torch.device("cpu")
            self.size = self.initial_size
            return
        raise DeviceError(
            "out of memory even on the CPU: close other programs or process a smaller photo"
        )
