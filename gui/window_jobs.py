"""How the main window talks to the engine worker: jobs, progress, cancel, dialogs.

Each job carries its own result / error / cancelled callbacks; "busy" jobs (those a
user waits for) drive the status bar's step text, progress bar and Cancel button.
Dialogs for errors are window-modal but never block the event loop, so the app
keeps painting, and tests can read them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from engine.progress import ProgressEvent

from .photo_queue import PhotoEntry
from .worker import Job

STAGE_WORDS = {
    "decode": "Reading",
    "detect": "Finding faces",
    "align": "Aligning faces",
    "restore": "Restoring faces",
    "paste": "Pasting faces back",
    "encode": "Saving",
    "export": "Exporting",
}


class JobsMixin:
    """Submits jobs to the worker and routes its signals back to per-job callbacks."""

    def submit(
        self,
        kind: str,
        run: Callable[[Any], Any],
        *,
        label: str = "",
        payload: Any = None,
        busy: bool = False,
        on_result: Callable[[Job, Any], None] | None = None,
        on_error: Callable[[Job, str], None] | None = None,
        on_cancelled: Callable[[Job], None] | None = None,
    ) -> Job:
        """Send ``run`` to the worker thread; ``busy`` jobs show progress and can be cancelled."""
        job = Job(kind, run, label=label, payload=payload)
        self._callbacks[job.id] = {
            k: v
            for k, v in (("result", on_result), ("error", on_error), ("cancelled", on_cancelled))
            if v is not None
        }
        if busy:
            self._busy_jobs.add(job.id)
        self.engine.submit(job)
        self._update_actions()
        return job

    def set_status(self, text: str, transient: bool = False) -> None:
        """The status line; a transient text (progress) gives way to "Ready" when idle."""
        self.step_label.setText(text)
        self._transient_status = transient

    def _on_started(self, job: Job) -> None:
        if job.kind == "restore" and isinstance(job.payload, PhotoEntry):
            job.payload.status = "restoring"
            self.queue.refresh(job.payload)
            if job.payload is self.current:
                self._show_faces(job.payload)
        if job.id in self._busy_jobs:
            self.set_status(job.label or "Working…", transient=True)
            self.progress_bar.setRange(0, 0)
            self.progress_bar.show()
            self.cancel_button.show()

    def _on_progress(self, job: Job, event: ProgressEvent) -> None:
        if job.id not in self._busy_jobs:
            return
        words = STAGE_WORDS.get(event.stage, event.stage.capitalize())
        detail = f"{words}"
        if event.stage in ("restore", "paste") and event.total:
            detail += f": face {min(event.done, event.total)} of {event.total} done"
        elif event.message:
            detail += f": {event.message}"
        prefix = f"{job.label} · " if job.label else ""
        self.set_status(prefix + detail, transient=True)
        if event.total:
            self.progress_bar.setRange(0, event.total)
            self.progress_bar.setValue(min(event.done, event.total))
            self.progress_bar.setFormat(f"{words} %v/%m")
        else:
            self.progress_bar.setRange(0, 0)

    def _on_result(self, job: Job, value: Any) -> None:
        callback = self._callbacks.get(job.id, {}).get("result")
        if callback is not None:
            callback(job, value)

    def _on_error(self, job: Job, message: str) -> None:
        callback = self._callbacks.get(job.id, {}).get("error")
        if callback is not None:
            callback(job, message)
        else:
            self.show_error(message)

    def _on_cancelled(self, job: Job) -> None:
        callback = self._callbacks.get(job.id, {}).get("cancelled")
        if callback is not None:
            callback(job)

    def _on_finished(self, job: Job) -> None:
        self._callbacks.pop(job.id, None)
        if job.id in self._busy_jobs:
            self._busy_jobs.discard(job.id)
            if not self._busy_jobs:
                self.progress_bar.hide()
                self.cancel_button.hide()
                if self._transient_status:
                    self.set_status("Ready", transient=True)
        self._update_actions()

    def is_busy(self) -> bool:
        return bool(self._busy_jobs)

    def cancel(self) -> None:
        """Stop the running restoration and every queued one (loading and saving go on)."""
        if not self._busy_jobs:
            return
        self.engine.cancel_all(kinds=("restore", "rerun", "batch", "sample"))
        self.set_status("Cancelling…", transient=True)

    def show_error(self, message: str, title: str = "Revive") -> QMessageBox:
        """Show ``message`` in a window-modal dialog that does not block the event loop."""
        if self.error_box is not None:
            self.error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok)
        box.setObjectName("error_dialog")
        box.setParent(self, box.windowFlags())
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self.error_box = box
        return box

    def show_info(self, message: str, title: str = "Revive") -> QMessageBox:
        if self.info_box is not None:
            self.info_box.close()
        box = QMessageBox(
            QMessageBox.Icon.Information, title, message, QMessageBox.StandardButton.Ok
        )
        box.setParent(self, box.windowFlags())
        box.setTextFormat(Qt.TextFormat.RichText)
        box.open()
        self.info_box = box
        return box
