"""The one engine worker: a QObject living in its own QThread.

The GUI never calls the engine itself; it wraps each engine call in a ``Job`` and
submits it here. Jobs run one after the other on the worker thread and report
through queued signals (started / progress / result / error / cancelled /
finished), so the GUI thread only ever paints and reacts. Cancel sets the job's
``CancelToken`` directly from the GUI thread (a thread-safe flag): the engine
checks it between steps, so a cancel lands within one step.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine.errors import Cancelled, ReviveError
from engine.progress import CancelToken

if TYPE_CHECKING:  # the GUI starts without importing torch; the worker imports it lazily
    from engine.pipeline import Restorer

log = logging.getLogger(__name__)
_ids = itertools.count(1)


class JobContext:
    """What a job's function gets: progress reporting, its cancel token, the shared Restorer."""

    def __init__(self, worker: EngineWorker, job: Job) -> None:
        self._worker = worker
        self.job = job
        self.cancel = job.cancel

    def progress(self, event: object) -> None:
        """Report ``event`` (an ``engine.progress.ProgressEvent``, or a training event)."""
        self._worker.progress.emit(self.job, event)

    def restorer(self) -> Restorer:
        return self._worker.restorer()

    def forget_restorer(self) -> None:
        """Drop the cached Restorer (after weights were imported or removed)."""
        self._worker.forget_restorer()


@dataclass(eq=False)
class Job:
    """One unit of engine work; ``run`` executes on the worker thread only.

    ``kind`` names it for the GUI (restore, recompose, load, save...); ``label`` is what
    the status bar says while it runs; ``batch`` places it in a batch (Restore All), so
    the status bar says "photo 3 of 7" and shows one percentage for the whole batch.
    """

    kind: str
    run: Callable[[JobContext], Any]
    label: str = ""
    batch: tuple[int, int] | None = None  # (position from 1, count) in a batch of jobs
    cancel: CancelToken = field(default_factory=CancelToken)
    id: int = field(default_factory=lambda: next(_ids))


RestorerFactory = Callable[[], "Restorer"]


def default_restorer_factory() -> Restorer:
    from engine.pipeline import Restorer

    return Restorer.from_store()  # remade (forget_restorer) when weights change


def worker_threads(cpu_count: int | None = None) -> int:
    """Torch threads for the worker: every core but one, so the GUI thread always has one."""
    cpus = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    return max(1, cpus - 1)


class EngineWorker(QObject):
    """Runs jobs in submission order on the thread it was moved to."""

    started = Signal(object)  # Job
    progress = Signal(object, object)  # Job, ProgressEvent
    result = Signal(object, object)  # Job, value
    error = Signal(object, str)  # Job, message for a dialog
    cancelled = Signal(object)  # Job
    finished = Signal(object)  # Job (after result, error or cancelled)
    _submit = Signal(object)

    def __init__(self, restorer_factory: RestorerFactory | None = None) -> None:
        super().__init__()
        self._factory = restorer_factory or default_restorer_factory
        self._restorer: Restorer | None = None
        self._lock = threading.Lock()
        self._pending: list[Job] = []
        self._current: Job | None = None
        self._threads_set = False
        self._submit.connect(self._run)

    # --- called from the GUI thread ----------------------------------------------------
    def submit(self, job: Job) -> Job:
        with self._lock:
            self._pending.append(job)
        self._submit.emit(job)  # queued: the worker thread picks it up
        return job

    def cancel_all(self, kinds: tuple[str, ...] | None = None) -> int:
        """Cancel the running job and every queued one (of ``kinds``); return how many."""
        with self._lock:
            jobs = [*self._pending, *([self._current] if self._current else [])]
        hit = [j for j in jobs if kinds is None or j.kind in kinds]
        for job in hit:
            job.cancel.cancel()
        return len(hit)

    def busy(self) -> bool:
        with self._lock:
            return self._current is not None or bool(self._pending)

    def current(self) -> Job | None:
        with self._lock:
            return self._current

    # --- runs on the worker thread -----------------------------------------------------
    def restorer(self) -> Restorer:
        if self._restorer is None:
            self._restorer = self._factory()
        return self._restorer

    def forget_restorer(self) -> None:
        self._restorer = None

    def _setup_thread(self) -> None:
        if self._threads_set:
            return
        self._threads_set = True
        try:
            import torch

            torch.set_num_threads(worker_threads())
        except Exception:  # pragma: no cover - torch is a hard dependency
            log.exception("could not set torch threads")

    @Slot(object)
    def _run(self, job: Job) -> None:
        with self._lock:
            if job in self._pending:
                self._pending.remove(job)
            self._current = job
        try:
            if job.cancel.cancelled:
                self.cancelled.emit(job)
                return
            self._setup_thread()
            self.started.emit(job)
            value = job.run(JobContext(self, job))
            if job.cancel.cancelled and value is None:
                self.cancelled.emit(job)
            else:
                self.result.emit(job, value)
        except Cancelled:
            self.cancelled.emit(job)
        except ReviveError as err:
            self.error.emit(job, str(err))
        except MemoryError:
            self.error.emit(job, "Not enough memory for this photo. Try a smaller output scale.")
        except Exception as err:  # a bug: keep the app alive, keep the traceback in the log
            log.error("job %s failed:\n%s", job.kind, traceback.format_exc())
            self.error.emit(job, f"Unexpected error ({type(err).__name__}): {err}")
        finally:
            with self._lock:
                self._current = None
            self.finished.emit(job)


class EngineHost(QObject):
    """Owns the worker thread; the GUI reaches it only through a ``jobs.JobRunner``.

    It re-emits the worker's signals on the GUI thread (signal-to-signal connections
    are queued to the receiver's thread), so that plain Python callables connected
    here, such as lambdas and pytest-qt's blockers, also run on the GUI thread.
    """

    started = Signal(object)
    progress = Signal(object, object)
    result = Signal(object, object)
    error = Signal(object, str)
    cancelled = Signal(object)
    finished = Signal(object)

    def __init__(
        self, restorer_factory: RestorerFactory | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.worker_thread = QThread()
        self.worker_thread.setObjectName("revive-engine")
        self.worker = EngineWorker(restorer_factory)
        self.worker.moveToThread(self.worker_thread)
        for name in ("started", "progress", "result", "error", "cancelled", "finished"):
            getattr(self.worker, name).connect(getattr(self, name))
        self.worker_thread.start()

    def cancel_all(self, kinds: tuple[str, ...] | None = None) -> int:
        return self.worker.cancel_all(kinds)

    def busy(self) -> bool:
        return self.worker.busy()

    def submit(self, job: Job) -> Job:
        return self.worker.submit(job)

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Cancel everything, stop the thread, wait for it (the engine stops between steps)."""
        if not self.worker_thread.isRunning():
            return
        self.worker.cancel_all()
        self.worker_thread.quit()
        if not self.worker_thread.wait(timeout_ms):  # pragma: no cover - a stuck network forward
            log.warning("engine thread did not stop within %d ms", timeout_ms)
