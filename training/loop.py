"""The one training loop every trainer shares.

Per step: make the batch (prefetched in a thread while the previous step runs),
run the trainer's step, update EMA copies. Around it: CSV / TensorBoard logs,
validation, sample grids, atomic checkpoints with exact resume, export to the
weights store with a model card, a progress bar (tqdm when installed, plain lines
otherwise) and events for a GUI (``TrainingEvent``). A time limit per call ends the
run early like its last step (validation, checkpoint, export), so a GPU lent by the
minute is never lost mid-run. Cancelling saves a checkpoint
of the last finished step, so ``resume`` continues exactly where it stopped.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from engine.atomic import atomic_path
from engine.progress import CancelToken
from engine.weights import save_weights

from .checkpoint import (
    CheckpointError,
    latest_checkpoint,
    load_checkpoint,
    rng_from_flat,
    rng_to_flat,
    save_checkpoint,
)
from .config import TrainConfig
from .trainers import resolve_model
from .plots import plot_run
from .runlog import RunLog
from .runtime import Runtime, hardware_text, make_runtime
from .task import Task


@dataclass
class TrainingEvent:
    """What a front end hears from a run.

    ``kind``: ``start``, ``step`` (losses), ``validation`` (metrics), ``sample``
    (``image``: the grid, uint8 H x W x 3), ``checkpoint``, ``export``, ``note``,
    ``done`` (``message``: finished / stopped).
    """

    kind: str
    step: int
    total: int
    values: dict[str, float] = field(default_factory=dict)
    image: np.ndarray | None = None
    message: str = ""
    path: str | None = None


EventCallback = Callable[[TrainingEvent], None]


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    stopped: bool
    losses: list[dict[str, float]]  # every logged row (step, losses...)
    metrics: dict[str, float]
    export: Path | None
    wall_s: float


def make_task(config: TrainConfig, rt: Runtime) -> Task:
    return resolve_model(config.model)[0].task(config, rt)


def sample_grid(rows: list[list[np.ndarray]], gap: int = 2) -> np.ndarray:
    """Rows of equal-height uint8 images side by side, rows stacked, on a white canvas."""
    h = max(img.shape[0] for row in rows for img in row)
    widths = [sum(img.shape[1] for img in row) + gap * (len(row) - 1) for row in rows]
    canvas = np.full((len(rows) * (h + gap) - gap, max(widths), 3), 255, np.uint8)
    for r, row in enumerate(rows):
        x = 0
        for img in row:
            if img.ndim == 2:
                img = np.repeat(img[..., None], 3, axis=2)
            canvas[r * (h + gap) : r * (h + gap) + img.shape[0], x : x + img.shape[1]] = img
            x += img.shape[1] + gap
    return canvas


def save_png(path: Path, image: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")


class _Progress:
    """tqdm when available and wanted; otherwise a plain line every log step."""

    def __init__(self, enabled: bool, start: int, total: int) -> None:
        self.bar = None
        if enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, initial=start, unit="step", dynamic_ncols=True)
            except ImportError:
                pass

    def update(self, step: int, total: int, values: dict[str, float], logged: bool) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if logged:
                self.bar.set_postfix({k: f"{v:.4g}" for k, v in values.items()}, refresh=False)
        elif logged:
            text = " ".join(f"{k}={v:.4g}" for k, v in values.items())
            print(f"step {step}/{total} {text}", file=sys.stderr, flush=True)

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def export_run(
    task: Task, config: TrainConfig, step: int, wall_s: float, metrics: dict, cpu_s: float = 0.0
) -> Path:
    """Write the shipped network to the weights store with its model card."""
    run_dir = config.run_dir
    name = config.export_name or f"{config.preset}-{run_dir.name}"
    directory = Path(config.export_dir) if config.export_dir else run_dir / "export"
    module = task.export_module()
    validation = {k: round(float(v), 5) for k, v in metrics.items()}
    hardware = hardware_text(task.rt.device, task.rt.world)
    card = {
        "preset": config.preset,
        "trainer": config.trainer,
        "steps": step,
        "batch": task.batch * task.rt.world,
        "seed": config.seed,
        "wall_time_s": round(wall_s, 1),
        "cpu_time_s": round(cpu_s, 1),
        "hardware": hardware,
        "validation": validation,
        **task.card(),
    }
    this_run = {
        "date": time.strftime("%Y-%m-%d"),
        "steps": step,
        "samples": step * task.batch * task.rt.world,
        "seconds": round(wall_s, 1),
        "cpu_seconds": round(cpu_s, 1),
        "hardware": hardware,
        "validation": validation,
    }
    history = [*task.earlier_runs, this_run]
    card["history"] = history
    card["total"] = {
        "runs": len(history),
        "steps": sum(int(h.get("steps", 0)) for h in history),
        "samples": sum(int(h.get("samples", 0)) for h in history),
        "seconds": round(sum(float(h.get("seconds", 0.0)) for h in history), 1),
        "cpu_seconds": round(sum(float(h.get("cpu_seconds", 0.0)) for h in history), 1),
    }
    if config.model_overrides:
        card["model_overrides"] = config.model_overrides
    return save_weights(module.state_dict(), directory, name, config.preset, card=card)


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    progress: EventCallback | None = None,
    cancel: CancelToken | None = None,
    export: bool = True,
    save_config: bool = True,
) -> TrainResult:
    """Run (or resume) one training run to ``config.steps``; see the module docstring."""
    rt = make_runtime(config.device, config.amp, config.channels_last)
    try:
        return _train(config, rt, resume, progress, cancel, export, save_config)
    finally:
        rt.close()


def export_checkpoint(config: TrainConfig) -> Path:
    """Export the last checkpoint of a run (validated first, for the model card)."""
    folder = latest_checkpoint(config.run_dir)
    if folder is None:
        raise CheckpointError(f"{config.run_dir} has no checkpoint to export")
    step = int(json.loads((folder / "meta.json").read_text(encoding="utf-8"))["step"])
    result = train(replace(config, steps=step), resume=True, save_config=False)
    assert result.export is not None
    return result.export


def _train(
    config: TrainConfig,
    rt: Runtime,
    resume: bool,
    progress: EventCallback | None,
    cancel: CancelToken | None,
    export: bool,
    save_config: bool,
) -> TrainResult:
    run_dir = config.run_dir
    emit = progress or (lambda event: None)
    _seed_everything(config.seed)  # identical initial weights on every rank
    task = make_task(config, rt)
    task.prepare_data()
    task.build()
    start, wall_before, cpu_before = 0, 0.0, 0.0
    checkpoint = latest_checkpoint(run_dir) if resume else None
    if resume and checkpoint is None and rt.is_main:
        task.notes.append(f"no checkpoint in {run_dir}: starting from step 0")
    if checkpoint is not None:
        tensors, meta = load_checkpoint(checkpoint)
        if meta.get("preset") != config.preset:
            raise CheckpointError(
                f"the checkpoint in {run_dir} is of {meta.get('preset')!r}, not {config.preset!r}"
            )
        task.load_state(tensors, meta)
        rng_from_flat(tensors, meta.get("rng", {}))
        start, wall_before = int(meta["step"]), float(meta.get("wall_s", 0.0))
        cpu_before = float(meta.get("cpu_s", 0.0))
        task.earlier_runs = list(meta.get("earlier_runs", []))
    elif config.init_weights:
        task.init_from_weights(config.init_weights)
    task.wrap()

    log = None
    if rt.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        if save_config:
            config.save()
        log = RunLog(run_dir, tensorboard=config.tensorboard)
        log.truncate_after(start)
    notes = [*rt.notes, *task.notes, *(log.notes if log else [])]
    bar = _Progress(config.progress_bar and rt.is_main, start, config.steps)
    for note in notes if rt.is_main else []:
        bar.write(f"note: {note}")
        emit(TrainingEvent("note", start, config.steps, message=note))
    emit(TrainingEvent("start", start, config.steps, message=str(run_dir)))

    c0 = time.process_time()

    def cpu_now() -> float:
        """CPU seconds of this run (all threads), a fair clock on a machine shared with others."""
        return cpu_before + time.process_time() - c0

    def checkpoint_now(step: int, wall: float) -> None:
        if rt.is_main:
            tensors, meta = task.state()
            rng_t, rng_m = rng_to_flat()
            meta.update(
                preset=config.preset, trainer=config.trainer, wall_s=wall, rng=rng_m,
                cpu_s=cpu_now(),
                config=config.to_dict(), earlier_runs=task.earlier_runs,
            )  # fmt: skip
            folder = save_checkpoint(
                run_dir,
                step,
                {**tensors, **rng_t},
                meta,
                dtype=config.checkpoint_dtype,
                keep=config.keep_checkpoints,
            )
            emit(TrainingEvent("checkpoint", step, config.steps, path=str(folder)))
        rt.barrier()

    def validate_now(step: int) -> dict[str, float]:
        metrics: dict[str, float] = {}
        if rt.is_main:
            metrics = task.validate()
            if metrics and log is not None:
                clocks = {"wall_s": round(wall_before + time.perf_counter() - t0, 3),
                          "cpu_s": round(cpu_now(), 3)}  # fmt: skip
                log.log_val(step, {**metrics, **clocks})
                emit(TrainingEvent("validation", step, config.steps, values=metrics))
                bar.write(f"validation at step {step}: " + _fmt(metrics))
        rt.barrier()
        return metrics

    def samples_now(step: int) -> None:
        if rt.is_main:
            rows = task.sample_rows()
            if rows:
                grid = sample_grid(rows)
                path = run_dir / "samples" / f"step-{step:08d}.png"
                save_png(path, grid)
                emit(TrainingEvent("sample", step, config.steps, image=grid, path=str(path)))
        rt.barrier()

    history: list[dict[str, float]] = []
    metrics: dict[str, float] = {}
    sums: dict[str, torch.Tensor] = {}
    count = 0
    t0 = time.perf_counter()
    t_log, samples_seen = t0, 0
    step = start
    stopped = False

    def out_of_time() -> bool:
        """Past this call's time limit, by every rank's agreement (they stop together)."""
        if config.time_limit_s is None:
            return False
        late = time.perf_counter() - t0 >= config.time_limit_s
        if not rt.distributed:
            return late
        flag = torch.tensor([float(late)], device=rt.device)
        return bool(rt.all_mean(flag).item() > 0)

    pool = ThreadPoolExecutor(1, thread_name_prefix="batch")
    future: Future | None = pool.submit(task.make_batch, start) if start < config.steps else None
    try:
        while step < config.steps:
            if cancel is not None and cancel.cancelled:
                stopped = True
                break
            task.on_step_start(step)
            assert future is not None
            batch = future.result()
            future = pool.submit(task.make_batch, step + 1) if step + 1 < config.steps else None
            losses = task.train_step(batch, step)
            task.update_emas()
            for k, v in losses.items():
                v = v.detach().float()
                sums[k] = sums[k] + v if k in sums else v
            count += 1
            samples_seen += task.batch * rt.world
            step += 1
            ending = step < config.steps and out_of_time()
            logged = step % config.log_every == 0 or step == config.steps or ending
            values: dict[str, float] = {}
            if logged:
                names = list(sums)
                stacked = rt.all_mean(torch.stack([sums[k] for k in names]) / count)
                values = dict(zip(names, stacked.tolist(), strict=True))
                now = time.perf_counter()
                row = {
                    **values,
                    "wall_s": round(wall_before + now - t0, 3),
                    "cpu_s": round(cpu_now(), 3),
                    "samples_per_s": round(samples_seen / max(now - t_log, 1e-9), 3),
                }
                history.append({"step": step, **values})
                if log is not None:
                    log.log_train(step, row)
                emit(TrainingEvent("step", step, config.steps, values=values))
                sums, count, t_log, samples_seen = {}, 0, now, 0
            bar.update(step, config.steps, values, logged)
            if step % config.val_every == 0 and step < config.steps:
                metrics = validate_now(step)
            if step % config.sample_every == 0 and step < config.steps:
                samples_now(step)
            if step % config.checkpoint_every == 0 and step < config.steps:
                checkpoint_now(step, wall_before + time.perf_counter() - t0)
            if ending:
                note = f"time limit of {config.time_limit_s:g} s reached at step {step}"
                bar.write(f"note: {note}")
                emit(TrainingEvent("note", step, config.steps, message=note))
                break
        wall = wall_before + time.perf_counter() - t0
        if step > start or checkpoint is None:
            if not stopped:
                metrics = validate_now(step) or metrics
                samples_now(step)
            checkpoint_now(step, wall)
    finally:
        if future is not None:
            future.cancel()
        pool.shutdown(wait=True)
        bar.close()
    export_path = None
    if not stopped and export and rt.is_main:
        if not metrics:
            metrics = task.validate()
        export_path = export_run(task, config, step, wall, metrics, cpu_now())
        emit(TrainingEvent("export", step, config.steps, path=str(export_path)))
        bar.write(f"exported {export_path}")
    if rt.is_main and log is not None:
        log.close()
        _, note = plot_run(run_dir)
        if note:
            bar.write(f"note: {note}")
    rt.barrier()
    emit(TrainingEvent("done", step, config.steps, message="stopped" if stopped else "finished"))
    return TrainResult(run_dir, step, stopped, history, metrics, export_path, wall)


def _fmt(values: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4f}" for k, v in values.items())
