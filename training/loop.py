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

import enum
import json
import math
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
from engine.errors import ReviveError
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
from .plots import plot_run
from .run_plan import RunPlan
from .runlog import RunLog
from .runtime import Runtime, hardware_text, make_runtime
from .task import Task


class DivergedError(ReviveError):
    """A loss became NaN or infinite: the weights are lost, the run stops at once."""


class EventKind(enum.StrEnum):
    """What a training event reports (a ``str``, so logs and JSON read it as a word)."""

    START = "start"
    NOTE = "note"
    STEP = "step"  # ``values``: the losses
    VALIDATION = "validation"  # ``values``: the metrics
    SAMPLE = "sample"  # ``image``: the grid, uint8 H x W x 3
    CHECKPOINT = "checkpoint"
    EXPORT = "export"
    DONE = "done"  # ``message``: finished / stopped
    ERROR = "error"  # ``message``: one line (``training.api`` only)


@dataclass
class TrainingEvent:
    """What a front end hears from a run (``kind`` says which; see ``EventKind``)."""

    kind: EventKind
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

    def __init__(self, enabled: bool, start: int, total: int, silent: bool = False) -> None:
        self.bar = None
        self.silent = silent  # the other ranks of a multi-process run: rank 0 speaks
        if enabled and not silent:
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
        elif logged and not self.silent:
            text = " ".join(f"{k}={v:.4g}" for k, v in values.items())
            print(f"step {step}/{total} {text}", file=sys.stderr, flush=True)

    def write(self, line: str) -> None:
        if self.silent:
            return
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
    task: Task, plan: RunPlan, step: int, wall_s: float, metrics: dict, cpu_s: float = 0.0
) -> Path:
    """Write the shipped network to the weights store with its model card."""
    config = plan.config
    run_dir = config.run_dir
    name = config.export_name or f"{plan.preset}-{run_dir.name}"
    directory = Path(config.export_dir) if config.export_dir else run_dir / "export"
    module = task.export_module()
    validation = {k: round(float(v), 5) for k, v in metrics.items()}
    hardware = hardware_text(task.rt.device, task.rt.world)
    card = {
        "preset": plan.preset,
        "trainer": plan.trainer.name,
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
    return save_weights(module.state_dict(), directory, name, plan.preset, card=card)


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    progress: EventCallback | None = None,
    cancel: CancelToken | None = None,
    export: bool = True,
    save_config: bool = True,
    deadline: float | None = None,
) -> TrainResult:
    """Run (or resume) one training run to ``config.steps``; see the module docstring.

    ``deadline`` (a ``time.time()`` value) ends the steps like the time limit does,
    at a moment fixed before the set-up (a lent machine's clock, not the run's).
    """
    rt = make_runtime(config.device, config.amp, config.channels_last)
    try:
        return _train(config, rt, resume, progress, cancel, export, save_config, deadline)
    finally:
        rt.close()


def export_checkpoint(config: TrainConfig, attempts: int = 3) -> Path:
    """Export the last checkpoint of a run (validated first, for the model card).

    The run may be training in another process: a checkpoint it prunes while this
    reads it is a ``CheckpointError``, and the export starts again from the new latest
    one (the weight set itself is written whole or not at all, ``save_weights``).
    """
    for attempt in range(attempts):
        folder = latest_checkpoint(config.run_dir)
        if folder is None:
            raise CheckpointError(f"{config.run_dir} has no checkpoint to export")
        try:
            step = int(json.loads((folder / "meta.json").read_text(encoding="utf-8"))["step"])
            result = train(replace(config, steps=step), resume=True, save_config=False)
        except (CheckpointError, OSError) as err:
            if attempt + 1 == attempts or latest_checkpoint(config.run_dir) == folder:
                raise CheckpointError(f"checkpoint {folder.name} cannot be read ({err})") from None
            continue
        assert result.export is not None
        return result.export
    raise AssertionError("unreachable")


def _train(
    config: TrainConfig,
    rt: Runtime,
    resume: bool,
    progress: EventCallback | None,
    cancel: CancelToken | None,
    export: bool,
    save_config: bool,
    deadline: float | None = None,
) -> TrainResult:
    session = _Session(config, rt, progress or (lambda event: None), deadline)
    session.set_up(resume)
    session.open_logs(save_config)
    try:
        stopped = session.run_steps(cancel)
        session.close_steps(stopped)
    except BaseException:
        if session.log is not None:  # a diverged or failed run: no writer thread left over
            session.log.close()
        raise
    finally:
        session.shut_down()
    return session.finish(stopped, export)


class _Session:
    """One call of ``train``, in phases: set up, open logs, run steps, close, finish.

    It owns the task, the logs, the progress bar and the clocks (wall and CPU time,
    both carried over from the checkpoint a run resumes from).
    """

    def __init__(
        self, config: TrainConfig, rt: Runtime, emit: EventCallback, deadline: float | None = None
    ) -> None:
        self.config, self.rt, self.emit, self.deadline = config, rt, emit, deadline
        self.plan = RunPlan.of(config)
        self.task: Task
        self.log: RunLog | None = None
        self.bar: _Progress
        self.start = self.step = 0
        self.wall_before = self.cpu_before = 0.0
        self.checkpoint: Path | None = None
        self.history: list[dict[str, float]] = []
        self.metrics: dict[str, float] = {}
        self.t0 = time.perf_counter()
        self.c0 = time.process_time()
        self.pool: ThreadPoolExecutor | None = None
        self.future: Future | None = None

    # -- clocks ---------------------------------------------------------------------------
    def wall_now(self) -> float:
        return self.wall_before + time.perf_counter() - self.t0

    def cpu_now(self) -> float:
        """CPU seconds of this run (all threads), a fair clock on a machine shared with others."""
        return self.cpu_before + time.process_time() - self.c0

    def out_of_time(self) -> bool:
        """Past the time limit or the deadline, by every rank's agreement (they stop together)."""
        limit, rt = self.config.time_limit_s, self.rt
        if limit is None and self.deadline is None:
            return False
        late = limit is not None and time.perf_counter() - self.t0 >= limit
        late = late or (self.deadline is not None and time.time() >= self.deadline)
        if not rt.distributed:
            return late
        flag = torch.tensor([float(late)], device=rt.device)
        return bool(rt.all_mean(flag).item() > 0)

    # -- phase 1: the task, its data and its starting weights -----------------------------
    def set_up(self, resume: bool) -> None:
        config, rt = self.config, self.rt
        _seed_everything(config.seed)  # identical initial weights on every rank
        task = self.task = self.plan.make_task(rt)
        task.prepare_data()
        task.build()
        self.checkpoint = latest_checkpoint(config.run_dir) if resume else None
        if resume and self.checkpoint is None and rt.is_main:
            task.notes.append(f"no checkpoint in {config.run_dir}: starting from step 0")
        if self.checkpoint is not None:
            self._load_checkpoint(self.checkpoint)
        elif config.init_weights:
            task.init_from_weights(config.init_weights)
        task.wrap()
        self.step = self.start

    def _load_checkpoint(self, folder: Path) -> None:
        config, task = self.config, self.task
        tensors, meta = load_checkpoint(folder)
        if meta.get("preset") != self.plan.preset:
            raise CheckpointError(
                f"the checkpoint in {config.run_dir} is of {meta.get('preset')!r}, "
                f"not {self.plan.preset!r}"
            )
        task.load_state(tensors, meta)
        rng_from_flat(tensors, meta.get("rng", {}))
        self.start, self.wall_before = int(meta["step"]), float(meta.get("wall_s", 0.0))
        self.cpu_before = float(meta.get("cpu_s", 0.0))
        task.earlier_runs = list(meta.get("earlier_runs", []))

    # -- phase 2: run folder, logs, progress bar --------------------------------------------
    def open_logs(self, save_config: bool) -> None:
        config, rt = self.config, self.rt
        # save_config False: an export of a run's last checkpoint, maybe while the run goes
        # on in another process: its configuration and logs are left alone.
        if rt.is_main and save_config:
            config.run_dir.mkdir(parents=True, exist_ok=True)
            config.save()
            self.log = RunLog(config.run_dir, tensorboard=config.tensorboard)
            self.log.truncate_after(self.start)
        notes = [*rt.notes, *self.task.notes, *(self.log.notes if self.log else [])]
        self.bar = _Progress(config.progress_bar, self.start, config.steps, silent=not rt.is_main)
        for note in notes if rt.is_main else []:
            self.bar.write(f"note: {note}")
            self.emit(TrainingEvent(EventKind.NOTE, self.start, config.steps, message=note))
        self.emit(
            TrainingEvent(EventKind.START, self.start, config.steps, message=str(config.run_dir))
        )
        self.t0, self.c0 = time.perf_counter(), time.process_time()

    # -- what happens every so many steps -----------------------------------------------------
    def save_checkpoint_now(self) -> None:
        config, rt, task = self.config, self.rt, self.task
        if rt.is_main:
            tensors, meta = task.state()
            rng_t, rng_m = rng_to_flat()
            meta.update(
                preset=self.plan.preset, trainer=self.plan.trainer.name, wall_s=self.wall_now(),
                rng=rng_m, cpu_s=self.cpu_now(), config=config.to_dict(),
                earlier_runs=task.earlier_runs,
            )  # fmt: skip
            folder = save_checkpoint(
                config.run_dir,
                self.step,
                {**tensors, **rng_t},
                meta,
                dtype=config.checkpoint_dtype,
                keep=config.keep_checkpoints,
            )
            self.emit(
                TrainingEvent(EventKind.CHECKPOINT, self.step, config.steps, path=str(folder))
            )
        rt.barrier()

    def validate_now(self) -> dict[str, float]:
        metrics: dict[str, float] = {}
        if self.rt.is_main:
            metrics = self.task.validate()
            if metrics and self.log is not None:
                clocks = {"wall_s": round(self.wall_now(), 3), "cpu_s": round(self.cpu_now(), 3)}
                self.log.log_val(self.step, {**metrics, **clocks})
                self.emit(
                    TrainingEvent(
                        EventKind.VALIDATION, self.step, self.config.steps, values=metrics
                    )
                )
                self.bar.write(f"validation at step {self.step}: " + _fmt(metrics))
        self.rt.barrier()
        return metrics

    def samples_now(self) -> None:
        if self.rt.is_main:
            rows = self.task.sample_rows()
            if rows:
                grid = sample_grid(rows)
                path = self.config.run_dir / "samples" / f"step-{self.step:08d}.png"
                save_png(path, grid)
                self.emit(
                    TrainingEvent(
                        EventKind.SAMPLE, self.step, self.config.steps, image=grid, path=str(path)
                    )
                )
        self.rt.barrier()

    # -- phase 3: the steps ---------------------------------------------------------------------
    def run_steps(self, cancel: CancelToken | None) -> bool:
        """Train to ``config.steps`` (or the time limit); True when cancelled."""
        config, rt, task = self.config, self.rt, self.task
        sums: dict[str, torch.Tensor] = {}
        count, samples_seen, t_log = 0, 0, time.perf_counter()
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="batch")
        if self.start < config.steps:
            self.future = self.pool.submit(task.make_batch, self.start)
        while self.step < config.steps:
            if cancel is not None and cancel.cancelled:
                return True
            step = self.step
            task.on_step_start(step)
            assert self.future is not None
            batch = self.future.result()
            self.future = (
                self.pool.submit(task.make_batch, step + 1) if step + 1 < config.steps else None
            )
            losses = task.train_step(batch, step)
            task.update_emas()
            for k, v in losses.items():
                v = v.detach().float()
                sums[k] = sums[k] + v if k in sums else v
            count += 1
            samples_seen += task.batch * rt.world
            self.step = step = step + 1
            ending = step < config.steps and self.out_of_time()
            logged = step % config.log_every == 0 or step == config.steps or ending
            values: dict[str, float] = {}
            if logged:
                names = list(sums)
                stacked = rt.all_mean(torch.stack([sums[k] for k in names]) / count)
                values = dict(zip(names, stacked.tolist(), strict=True))
                now = time.perf_counter()
                row = {
                    **values,
                    "wall_s": round(self.wall_now(), 3),
                    "cpu_s": round(self.cpu_now(), 3),
                    "samples_per_s": round(samples_seen / max(now - t_log, 1e-9), 3),
                    **_device_memory(rt),
                }
                self.history.append({"step": step, **values})
                if self.log is not None:
                    self.log.log_train(step, row)
                self.emit(TrainingEvent(EventKind.STEP, step, config.steps, values=values))
                sums, count, t_log, samples_seen = {}, 0, now, 0
                if bad := [k for k, v in values.items() if not math.isfinite(v)]:
                    raise DivergedError(
                        f"the {bad[0]} loss is not a number at step {step}: training stopped "
                        "(try --amp off or a lower learning rate)"
                    )
            self.bar.update(step, config.steps, values, logged)
            if step < config.steps:
                if step % config.val_every == 0:
                    self.metrics = self.validate_now()
                if step % config.sample_every == 0:
                    self.samples_now()
                if step % config.checkpoint_every == 0:
                    self.save_checkpoint_now()
            if ending:
                limit = config.time_limit_s
                note = (
                    f"time limit of {limit:g} s reached at step {step}"
                    if limit is not None and time.perf_counter() - self.t0 >= limit
                    else f"deadline reached at step {step}"
                )
                self.bar.write(f"note: {note}")
                self.emit(TrainingEvent(EventKind.NOTE, step, config.steps, message=note))
                break
        return False

    # -- phase 4: the last step's validation, samples and checkpoint ----------------------------
    def close_steps(self, stopped: bool) -> None:
        if self.step > self.start or self.checkpoint is None:
            if not stopped:
                self.task.final_validation = True
                self.metrics = self.validate_now() or self.metrics
                self.samples_now()
            self.save_checkpoint_now()
        self.wall = self.wall_now()

    def shut_down(self) -> None:
        if self.future is not None:
            self.future.cancel()
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        self.bar.close()

    # -- phase 5: export, plots, the result ---------------------------------------------------
    def finish(self, stopped: bool, export: bool) -> TrainResult:
        config, rt, task = self.config, self.rt, self.task
        wall = getattr(self, "wall", self.wall_now())
        export_path = None
        if not stopped and export and rt.is_main:
            if not self.metrics:
                task.final_validation = True
                self.metrics = task.validate()
            export_path = export_run(task, self.plan, self.step, wall, self.metrics, self.cpu_now())
            self.emit(
                TrainingEvent(EventKind.EXPORT, self.step, config.steps, path=str(export_path))
            )
            self.bar.write(f"exported {export_path}")
        if rt.is_main and self.log is not None:
            self.log.close()
            _, note = plot_run(config.run_dir)
            if note:
                self.bar.write(f"note: {note}")
        rt.barrier()
        message = "stopped" if stopped else "finished"
        self.emit(TrainingEvent(EventKind.DONE, self.step, config.steps, message=message))
        return TrainResult(
            config.run_dir, self.step, stopped, self.history, self.metrics, export_path, wall
        )


def _device_memory(rt: Runtime) -> dict[str, float]:
    """Peak GPU memory of this process so far (GiB), for the train log; none on a CPU."""
    if rt.device.type != "cuda":
        return {}
    return {
        "gpu_mem_gib": round(torch.cuda.max_memory_allocated(rt.device) / 2**30, 3),
        "gpu_reserved_gib": round(torch.cuda.max_memory_reserved(rt.device) / 2**30, 3),
    }


def _fmt(values: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4f}" for k, v in values.items())
