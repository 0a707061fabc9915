"""The status bar: the current step, a progress bar and Cancel; device and model on the right.

It follows a ``JobRunner``'s busy jobs by itself: their label and progress while one
runs, "Ready" once none is left (unless a lasting message, such as "Saved …" or
"Cancelled: …", was put up meanwhile).
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

from engine.progress import ProgressEvent

from .jobs import JobRunner
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


class StatusPanel(QObject):
    """Owns the status bar's widgets and what they say."""

    def __init__(self, bar: QStatusBar, jobs: JobRunner) -> None:
        super().__init__(bar)
        self.step_label = QLabel("Ready")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.device_label = QLabel()
        self.model_label = QLabel()
        bar.addWidget(self.step_label, 1)
        bar.addWidget(self.progress_bar)
        bar.addWidget(self.cancel_button)
        bar.addPermanentWidget(self.device_label)
        bar.addPermanentWidget(self.model_label)
        self.device_text = "…"
        self._transient = True
        jobs.busyStarted.connect(self._on_started)
        jobs.busyProgress.connect(self._on_progress)
        jobs.busyChanged.connect(self._on_busy)
        self.show_device(self.device_text)

    def set_status(self, text: str, transient: bool = False) -> None:
        """The status line; a transient text (progress) gives way to "Ready" when idle."""
        self.step_label.setText(text)
        self._transient = transient

    def show_device(self, text: str) -> None:
        self.device_text = text
        self.device_label.setText(f"Device: {text}")

    def show_model(self, text: str) -> None:
        self.model_label.setText(f"Model: {text}")

    def _on_started(self, job: Job) -> None:
        self.set_status(job.label or "Working…", transient=True)
        self.progress_bar.setRange(0, 0)
        self.progress_bar.show()
        self.cancel_button.show()

    def _on_progress(self, job: Job, event: object) -> None:
        if not isinstance(event, ProgressEvent):
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

    def _on_busy(self, busy: bool) -> None:
        if busy:
            return
        self.progress_bar.hide()
        self.cancel_button.hide()
        if self._transient:
            self.set_status("Ready", transient=True)
