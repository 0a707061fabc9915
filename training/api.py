"""A training run as a GUI sees it: configure, start, stop, resume, listen to events.

Two ways to drive it:

* ``run.run(progress, cancel)`` trains in the calling thread (a GUI worker thread)
  and returns a ``TrainResult``; ``progress`` receives every ``TrainingEvent``.
* ``run.start()`` trains in a background thread of its own; ``stop()`` asks it to
  finish the current step, write a checkpoint and return; ``start(resume=True)``
  (or ``resume()``) continues exactly where it stopped. Events go to the
  ``on_event`` callback (called in the training thread) and to ``events``, a queue
  a GUI timer can drain.

Event kinds (``EventKind``): start, note, step (losses), validation (metrics),
sample (``image``: input | output | target rows), checkpoint, export, done
(``message`` finished / stopped), and error (``message``: one line).
``measure_step`` times a few real steps of a configuration (the app's estimate).
"""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import Cancelled, ReviveError
from engine.progress import CancelToken

from .checkpoint import latest_checkpoint
from .config import TrainConfig
from .loop import EventKind, TrainingEvent, TrainResult, train
from .run_plan import RunPlan
from .trainers import TRAINERS, trainable_presets

__all__ = [
    "TRAINERS",
    "EventKind",
    "TrainConfig",
    "TrainResult",
    "TrainingEvent",
    "TrainingRun",
    "measure_step",
    "trainable_models",
    "trainable_presets",
]


def trainable_models() -> dict[str, str]:
    """Trainer name -> what it trains, in a photographer's words (the app's picker)."""
    return {name: t.label for name, t in TRAINERS.items()}


@dataclass
class TrainingRun:
    """One run folder: its configuration, its thread, its events."""

    config: TrainConfig
    on_event: Callable[[TrainingEvent], None] | None = None
    events: queue.Queue = field(default_factory=queue.Queue)
    result: TrainResult | None = None
    error: BaseException | None = None

    def __post_init__(self) -> None:
        RunPlan.of(self.config)  # a bad model name fails here, not in the thread
        self._thread: threading.Thread | None = None
        self._cancel = CancelToken()

    @classmethod
    def open(cls, run_dir: str | Path, **kw) -> TrainingRun:
        """A run from its folder (its saved configuration), e.g. to resume it."""
        return cls(TrainConfig.load(run_dir), **kw)

    @property
    def run_dir(self) -> Path:
        return self.config.run_dir

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def checkpoint_step(self) -> int | None:
        """Step of the last checkpoint, or None when the run has none yet."""
        folder = latest_checkpoint(self.run_dir)
        return None if folder is None else int(folder.name.split("-")[-1])

    def _emit(self, event: TrainingEvent) -> None:
        self.events.put(event)
        if self.on_event is not None:
            self.on_event(event)

    def run(
        self,
        progress: Callable[[TrainingEvent], None] | None = None,
        cancel: CancelToken | None = None,
        resume: bool = False,
    ) -> TrainResult:
        """Train in this thread until done or cancelled."""

        def emit(event: TrainingEvent) -> None:
            self._emit(event)
            if progress is not None:
                progress(event)

        config = self.config
        if config.progress_bar:  # no terminal bar inside an app
            config = TrainConfig.from_dict({**config.to_dict(), "progress_bar": False})
        self.result = train(config, resume=resume, progress=emit, cancel=cancel)
        return self.result

    def start(self, resume: bool = False) -> None:
        """Train in a background thread; events arrive through ``on_event`` / ``events``."""
        if self.running:
            raise ReviveError("this training run is already running")
        self._cancel = CancelToken()
        self.error = None

        def body() -> None:
            try:
                self.run(cancel=self._cancel, resume=resume)
            except BaseException as err:  # reported as an event; the GUI shows it
                self.error = err
                message = str(err)
                if not isinstance(err, ReviveError):
                    message = f"{type(err).__name__}: {err}"
                self._emit(TrainingEvent(EventKind.ERROR, 0, self.config.steps, message=message))

        self._thread = threading.Thread(target=body, name="revive-training", daemon=True)
        self._thread.start()

    def resume(self) -> None:
        self.start(resume=True)

    def stop(self) -> None:
        """Ask the run to checkpoint after the current step and return."""
        self._cancel.cancel()

    def wait(self, timeout: float | None = None) -> TrainResult | None:
        """Wait for the thread; re-raise its error; return the result (None if still running)."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return None
        if self.error is not None:
            raise self.error
        return self.result


# --- how long a step takes on this machine (the app's Retrain dialog asks) -------
MEASURE_STEPS = 3  # the first is a warm-up; the others are timed
MEASURE_FACES = 24


def measure_step(config: TrainConfig, cancel: CancelToken | None = None) -> float:
    """Seconds per training step of ``config`` on this machine: two timed real steps.

    A throw-away run in a temporary folder (a few faces, no validation, no export).
    """
    folder = Path(tempfile.mkdtemp(prefix="revive-measure-"))
    stamps: list[float] = []
    stop = _Stop(cancel)
    try:
        probe = TrainConfig.from_dict(
            {
                **config.to_dict(),
                "out": str(folder / "run"),
                "steps": MEASURE_STEPS + 1,
                "log_every": 1,
                "val_every": 10_000,
                "sample_every": 10_000,
                "checkpoint_every": 10_000,
                "val_count": 2,
                "max_faces": MEASURE_FACES,
                "export_dir": None,
                "export_name": None,
                "tensorboard": False,
                "progress_bar": False,
                "checkpoint_optimizer": False,
            }
        )

        def heard(event: TrainingEvent) -> None:
            if event.kind is EventKind.STEP:
                stamps.append(time.perf_counter())
                if len(stamps) >= MEASURE_STEPS:
                    stop.cancel()

        TrainingRun(probe).run(progress=heard, cancel=stop)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if cancel is not None and cancel.cancelled:
        raise Cancelled("cancelled")
    if len(stamps) < 2:
        raise RuntimeError("the measurement ran too few steps")
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    return min(gaps)


class _Stop(CancelToken):
    """The measuring run's cancel token: set by the run itself, or by the caller's token."""

    def __init__(self, outer: CancelToken | None) -> None:
        super().__init__()
        self.outer = outer

    @property
    def cancelled(self) -> bool:
        return super().cancelled or (self.outer is not None and self.outer.cancelled)

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise Cancelled("cancelled")
