"""Running one photo's networks: how they run this time, and every engine on its faces.

The pipeline hands over faces already planned and cut (``engine.faces.plan``); this
makes the run's settings (device, precision, faces per call, tiles, shrinking on
out-of-memory), gives each engine of the ``EngineSet`` its own faces with one progress
count over all of them (``restore_in_groups``), and says in words which device and precision ran.
"""

from __future__ import annotations

import torch

from .device import OomFallback, autocast_dtype
from .face_engines import EngineSet, RestoredFace, RunSettings, restore_in_groups
from .faces.plan import PlannedFace
from .options import RuntimeOptions
from .progress import CancelToken, ProgressCallback


def auto_batch(device: torch.device, size: int) -> int:
    """Faces per network call. GPUs want big batches; a CPU core is fastest with one
    face at a time once a face's activations outgrow its caches (256 px and up)."""
    budget = 2**21 if device.type == "cuda" else 2**16  # pixels per call
    return int(max(1, min(16 if device.type == "cuda" else 8, budget // max(1, size * size))))


def run_settings(
    r: RuntimeOptions,
    device: torch.device,
    batch: int,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
) -> RunSettings:
    """How the engines run this time: device, precision, batch (shrunk on OOM), tiles."""
    return RunSettings(
        fallback=OomFallback(device, batch),
        dtype=autocast_dtype(device, r.precision),
        attention=r.attention,
        masks=r.masks,
        channels_last=r.channels_last,
        inference_mode=r.inference_mode,
        cpu_workers=r.cpu_workers or torch.get_num_threads(),
        tile_size=r.tile_size,
        tile_overlap=r.tile_overlap,
        progress=progress,
        cancel=cancel,
    )


def run_networks(
    planned: list[PlannedFace], engines: EngineSet, run: RunSettings
) -> list[RestoredFace]:
    """Each engine restores its faces (one progress count over all); outputs in order."""
    groups = [[i for i, p in enumerate(planned) if p.engine is e] for e in engines.all()]
    return restore_in_groups(
        [g for g in groups if g],
        run,
        lambda mine: planned[mine[0]].engine.restore([planned[i].prepared for i in mine], run),
    )


def device_text(run: RunSettings) -> str:
    """The device that ran, with the half precision it used: "cuda:0 (fp16)", "cpu"."""
    device = run.fallback.device
    if device.type == "cuda" and run.dtype is not None:
        name = {torch.float16: "fp16", torch.bfloat16: "bf16"}[run.dtype]
        return f"{device} ({name})"
    return str(device)
