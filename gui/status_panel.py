"""The status bar: what is happening, one overall percentage, the time left, and Cancel.

It follows a ``JobRunner``'s busy jobs, and the photo shown, by itself. The step is
words on the left ("Photo 3 of 7 · family.jpg · Restoring faces: 8 of 29 faces ·
about 2 min left"); the bar shows one percentage of the whole job (or of the whole
batch, for Restore All and Export All: ``progress_text.OverallProgress``), so it
never starts again at every stage. "Ready" comes back once no busy job is left
(unless a lasting message, such as "Saved …" or "Cancelled: …", was put up
meanwhile). The labels give way when the window is narrow (elided, never pushing
Cancel off the screen).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QSizePolicy, QStatusBar

from engine.progress import ProgressEvent

from .jobs import JobRunner
from .photo_changes import ChangeKind, PhotoChange
from .photo_controller import PhotoEntry
from .progress_text import STAGE_WORDS, OverallProgress
from .worker import Job

__all__ = ["STAGE_WORDS", "ElidedLabel", "StatusPanel"]

BAR_WIDTH = 220


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with "…" instead of widening the window."""

    def __init__(self, text: str = "", least: int = 40) -> None:
        super().__init__()
        self._full = ""
        self._least = least
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def sizeHint(self) -> QSize:  # noqa: N802 - the whole text, as far as the maximum allows
        width = self.fontMetrics().horizontalAdvance(self._full) + 8
        return QSize(min(width, self.maximumWidth()), super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - it may shrink to this, never widening
        return QSize(self._least, super().minimumSizeHint().height())

    def setText(self, text: str) -> None:  # noqa: N802 (Qt override)
        self._full = text
        self.setToolTip(text)
        self._elide()
        self.updateGeometry()

    def full_text(self) -> str:
        return self._full

    def text(self) -> str:  # the whole text, whatever fits (tests and callers read it)
        return self._full

    def _elide(self) -> None:
        width = max(10, self.width())
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width)
        super().setText(shown)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()


class StatusPanel(QObject):
    """Owns the status bar's widgets and what they say."""

    def __init__(self, bar: QStatusBar, jobs: JobRunner) -> None:
        super().__init__(bar)
        self.step_label = ElidedLabel("Ready")
        self.progress_bar = QProgressBar()
        self.progress_bar.setFixedWidth(BAR_WIDTH)
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("%p%")
        self.progress_bar.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop (Esc); what is finished is kept")
        self.cancel_button.hide()
        self.device_label = ElidedLabel(least=70)
        self.device_label.setMaximumWidth(200)
        self.model_label = ElidedLabel(least=90)
        self.model_label.setMaximumWidth(340)
        bar.addWidget(self.step_label, 1)
        bar.addWidget(self.progress_bar)
        bar.addWidget(self.cancel_button)
        bar.addPermanentWidget(self.device_label)
        bar.addPermanentWidget(self.model_label)
        self.device_text = "…"
        self._transient = True
        self.tracker: OverallProgress | None = None
        jobs.busyStarted.connect(self._on_started)
        jobs.busyProgress.connect(self._on_progress)
        jobs.busyChanged.connect(self._on_busy)
        self.show_device(self.device_text)

    def set_status(self, text: str, transient: bool = False) -> None:
        """The status line; a transient text (progress) gives way to "Ready" when idle."""
        self.step_label.setText(text)
        self._transient = transient

    def on_photo(self, entry: PhotoEntry | None, change: PhotoChange) -> None:
        """Another photo is shown (or the shown one is now decoded): where it stands."""
        if change.current and change.kind in (ChangeKind.CURRENT, ChangeKind.LOADED):
            self.show_photo("" if entry is None else f"{entry.name}: {entry.status_line()}")

    def show_photo(self, text: str) -> None:
        """Another photo is shown: a message about the previous one goes (progress of a
        running job stays); ``text`` says where the shown photo stands."""
        if self.tracker is None:
            self.set_status(text or "Ready", transient=True)

    def show_device(self, text: str) -> None:
        self.device_text = text
        self.device_label.setText(f"Device: {text}")

    def show_model(self, text: str) -> None:
        self.model_label.setText(f"Model: {text}")

    @property
    def percent(self) -> int:
        return self.progress_bar.value()

    def _on_started(self, job: Job) -> None:
        previous = self.tracker
        same_batch = (
            previous is not None
            and job.batch is not None
            and previous.batch is not None
            and previous.batch[1] == job.batch[1]
            and job.batch[0] > previous.batch[0]
        )
        if same_batch and previous is not None:  # Restore All: the next photo of the batch
            previous.batch, previous.label, previous.step = job.batch, job.label, ""
            self.tracker = previous
        else:
            self.tracker = OverallProgress(job.label, job.batch)
        self._show(self.tracker.shown().line())
        self.progress_bar.setValue(round(100 * self.tracker.fraction))
        self.progress_bar.show()
        self.cancel_button.show()

    def _show(self, text: str) -> None:
        self.set_status(text or "Working…", transient=True)

    def _on_progress(self, job: Job, event: object) -> None:
        if not isinstance(event, ProgressEvent):
            return
        if self.tracker is None:
            self.tracker = OverallProgress(job.label, job.batch)
        shown = self.tracker.update(event)
        self._show(shown.line())
        self.progress_bar.setValue(shown.percent)

    def _on_busy(self, busy: bool) -> None:
        if busy:
            return
        self.tracker = None
        self.progress_bar.hide()
        self.cancel_button.hide()
        if self._transient:
            self.set_status("Ready", transient=True)
