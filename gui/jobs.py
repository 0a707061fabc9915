"""``JobRunner``: the one way the GUI sends work to the engine worker and hears back.

A part of the window (or a dialog) calls ``submit`` with the function to run on the
worker thread and the callbacks it wants, each run on the GUI thread: ``on_started``,
``on_progress``, ``on_result``, ``on_error``, ``on_cancelled``, and ``on_done`` (after
any of the three answers). ``stale`` is asked when an answer arrives: once it says
True (the photo was removed, or its faces changed again since), the answer is dropped
and only ``on_done`` runs. Jobs a user waits for are ``busy``: they drive the
``busyChanged`` / ``busyStarted`` / ``busyProgress`` signals (the status bar's step
text, progress bar and Cancel) and ``cancel_busy`` stops them. An error nobody handles
comes out of ``unhandledError``, for a dialog.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from PySide6.QtCore import QObject, Signal

from .worker import EngineHost, Job, JobContext

T = TypeVar("T")


@dataclass
class _Handlers:
    started: Callable[[], None] | None = None
    progress: Callable[[Any], None] | None = None
    result: Callable[[Any], None] | None = None
    error: Callable[[str], None] | None = None
    cancelled: Callable[[], None] | None = None
    done: Callable[[], None] | None = None
    stale: Callable[[], bool] | None = None

    def is_stale(self) -> bool:
        return self.stale is not None and self.stale()


class JobRunner(QObject):
    """Owns the worker host, the callbacks of every queued job and the busy state."""

    busyChanged = Signal(bool)  # some busy job is queued or running
    busyStarted = Signal(object)  # Job: a busy job began to run
    busyProgress = Signal(object, object)  # Job, progress event of a busy job
    unhandledError = Signal(str)  # an error of a job that has no on_error

    def __init__(self, host: EngineHost | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host = host or EngineHost(parent=self)
        self._handlers: dict[int, _Handlers] = {}
        self._busy: dict[int, Job] = {}
        self.host.started.connect(self._on_started)
        self.host.progress.connect(self._on_progress)
        self.host.result.connect(self._on_result)
        self.host.error.connect(self._on_error)
        self.host.cancelled.connect(self._on_cancelled)
        self.host.finished.connect(self._on_finished)

    # --- submitting ----------------------------------------------------------------------
    def submit(
        self,
        kind: str,
        run: Callable[[JobContext], T],
        *,
        label: str = "",
        batch: tuple[int, int] | None = None,
        busy: bool = False,
        stale: Callable[[], bool] | None = None,
        on_started: Callable[[], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        on_result: Callable[[T], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> Job:
        """Queue ``run`` on the worker thread; the callbacks run on the GUI thread."""
        job = Job(kind, run, label=label, batch=batch)
        self._handlers[job.id] = _Handlers(
            on_started,
            on_progress,
            cast("Callable[[Any], None] | None", on_result),
            on_error,
            on_cancelled,
            on_done,
            stale,
        )
        if busy:
            was_busy = self.is_busy()
            self._busy[job.id] = job
            if not was_busy:
                self.busyChanged.emit(True)
        self.host.submit(job)
        return job

    def is_busy(self) -> bool:
        """A job the user waits for (restore, re-run, export, sample) is queued or running."""
        return bool(self._busy)

    def has_work(self) -> bool:
        """Any job at all is queued or running on the worker."""
        return self.host.busy()

    def cancel(self, kinds: tuple[str, ...] | None = None) -> int:
        """Cancel the running job and the queued ones of ``kinds`` (all: None); how many."""
        return self.host.cancel_all(kinds)

    def cancel_busy(self) -> int:
        """Cancel every busy job, running or queued (loading and saving go on)."""
        jobs = list(self._busy.values())
        for job in jobs:
            job.cancel.cancel()
        return len(jobs)

    def shutdown(self, timeout_ms: int = 10000) -> None:
        self.host.shutdown(timeout_ms)

    # --- the worker's answers (GUI thread) -----------------------------------------------
    def _live(self, job: Job) -> _Handlers | None:
        handlers = self._handlers.get(job.id)
        return None if handlers is None or handlers.is_stale() else handlers

    def _on_started(self, job: Job) -> None:
        handlers = self._live(job)
        if handlers is not None and handlers.started is not None:
            handlers.started()
        if job.id in self._busy:
            self.busyStarted.emit(job)

    def _on_progress(self, job: Job, event: object) -> None:
        handlers = self._handlers.get(job.id)
        if handlers is not None and handlers.progress is not None:
            handlers.progress(event)
        if job.id in self._busy:
            self.busyProgress.emit(job, event)

    def _on_result(self, job: Job, value: object) -> None:
        handlers = self._live(job)
        if handlers is not None and handlers.result is not None:
            handlers.result(value)

    def _on_error(self, job: Job, message: str) -> None:
        handlers = self._handlers.get(job.id)
        if handlers is not None and handlers.is_stale():
            return
        if handlers is not None and handlers.error is not None:
            handlers.error(message)
        else:
            self.unhandledError.emit(message)

    def _on_cancelled(self, job: Job) -> None:
        handlers = self._live(job)
        if handlers is not None and handlers.cancelled is not None:
            handlers.cancelled()

    def _on_finished(self, job: Job) -> None:
        handlers = self._handlers.pop(job.id, None)
        if handlers is not None and handlers.done is not None:
            handlers.done()
        if self._busy.pop(job.id, None) is not None and not self._busy:
            self.busyChanged.emit(False)
