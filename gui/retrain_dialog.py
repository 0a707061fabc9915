"""Models > Retrain: train a model on your own faces, watch it learn, stop and resume.

Built on ``training.api``. Training runs on the worker thread of the ``JobRunner``
the dialog is given (the app gives it one of its own, a second worker thread), so
restoring photos in the main window goes on meanwhile. Losses,
validation metrics and sample grids arrive as ``TrainingEvent``s through the worker's
progress signal; Stop writes a checkpoint after the current step, and Resume
continues exactly from it. Finished weights go to your Revive weights folder and
the main window's model list picks them up.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.paths import user_data_dir, user_weights_dir

from .imaging import pixmap_from_array
from .jobs import JobRunner
from .worker import Job, JobContext

if TYPE_CHECKING:
    from training.api import TrainConfig, TrainingEvent, TrainResult

SAMPLE_SIDE = 520


def model_choices() -> list[tuple[str, str]]:
    """(value, label): the trainers, then Revive's own lighter presets."""
    from training.api import trainable_models, trainable_presets

    presets = [(p.name, p.description) for p in trainable_presets()]
    return [*trainable_models().items(), *presets]


class RetrainDialog(QDialog):
    """Configure and run one training run at a time."""

    weightsChanged = Signal()
    runFinished = Signal(object)  # TrainResult, or None after an error

    def __init__(self, jobs: JobRunner | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Retrain a model")
        self.resize(980, 640)
        self.jobs = jobs if jobs is not None else JobRunner()
        if self.jobs.parent() is None:
            self.jobs.setParent(self)  # its worker thread ends with the dialog
        self.job: Job | None = None
        self.run_dir: Path | None = None
        self.last_result: TrainResult | None = None
        self.events: list[TrainingEvent] = []

        self.model_combo = QComboBox()
        for value, label in model_choices():
            self.model_combo.addItem(f"{value}: {label}", value)
        self.data_edit = QLineEdit()
        self.data_edit.setPlaceholderText(
            "a folder of face photos, or a pack from `revive data pack`"
        )
        data_browse = QPushButton("Browse…")
        data_browse.clicked.connect(self._browse_data)
        data_row = QHBoxLayout()
        data_row.addWidget(self.data_edit, 1)
        data_row.addWidget(data_browse)
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 10_000_000)
        self.steps_spin.setValue(1000)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(0, 1024)
        self.batch_spin.setSpecialValueText("the paper's")
        self.device_combo = QComboBox()
        for value, text in (("auto", "Auto"), ("cuda", "GPU (CUDA)"), ("mps", "GPU (Apple)")):
            self.device_combo.addItem(text, value)
        self.device_combo.addItem("CPU (slow)", "cpu")
        self.install_box = QCheckBox("Install the trained weights into my Revive models")
        self.install_box.setChecked(True)
        form = QFormLayout()
        form.addRow("Model", self.model_combo)
        form.addRow("Training faces", data_row)
        form.addRow("Steps", self.steps_spin)
        form.addRow("Batch", self.batch_spin)
        form.addRow("Device", self.device_combo)
        form.addRow(self.install_box)

        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.resume_button = QPushButton("Resume")
        self.open_button = QPushButton("Open a run…")
        self.start_button.clicked.connect(self.start_from_form)
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(self.resume)
        self.open_button.clicked.connect(self._open_run)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.stop_button, self.resume_button, self.open_button):
            buttons.addWidget(button)
        buttons.addStretch(1)

        self.progress = QProgressBar()
        self.progress.setFormat("step %v of %m")
        self.status = QLabel("Not started.")
        self.status.setWordWrap(True)
        self.losses = QLabel()
        self.losses.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.sample = QLabel("Sample faces (input | output | target) appear here.")
        self.sample.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.sample.setMinimumSize(SAMPLE_SIDE // 2, SAMPLE_SIDE // 3)

        left = QVBoxLayout()
        left.addLayout(form)
        left.addLayout(buttons)
        left.addWidget(self.progress)
        left.addWidget(self.status)
        left.addWidget(self.losses)
        left.addWidget(self.log, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addWidget(self.sample, 1)
        self._set_running(False)

    # --- configuration -------------------------------------------------------------------
    def config_from_form(self) -> TrainConfig:
        from training.api import TrainConfig

        model = self.model_combo.currentData()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return TrainConfig(
            model=model,
            data=self.data_edit.text().strip(),
            out=str(user_data_dir() / "runs" / f"{model}-{stamp}"),
            steps=self.steps_spin.value(),
            batch=self.batch_spin.value() or None,
            device=self.device_combo.currentData(),
            export_dir=str(user_weights_dir()) if self.install_box.isChecked() else None,
            progress_bar=False,
        )

    def _browse_data(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of training faces")
        if folder:
            self.data_edit.setText(folder)

    # --- running -------------------------------------------------------------------------
    def start_from_form(self) -> None:
        if not self.data_edit.text().strip():
            self._say("Choose a folder of training faces first.")
            return
        try:
            config = self.config_from_form()
        except Exception as err:  # ConfigError and friends: one line for the user
            self._say(str(err))
            return
        self.start(config)

    def start(self, config: TrainConfig, resume: bool = False) -> Job:
        """Run ``config`` (resume: from its run folder's last checkpoint) on the worker."""
        from training.api import TrainingRun

        self.run_dir = Path(config.out)
        self.events = []
        self.progress.setRange(0, max(1, config.steps))
        self.progress.setValue(0)
        verb = "Resuming" if resume else "Starting"
        self._say(f"{verb} {config.model} in {self.run_dir}…")

        def run(ctx: JobContext) -> TrainResult:
            return TrainingRun(config).run(progress=ctx.progress, cancel=ctx.cancel, resume=resume)

        self._set_running(True)
        job = self.jobs.submit(
            "train",
            run,
            label=f"Training {config.model}",
            on_progress=lambda event: self._on_event(job, event),
            on_result=lambda result: self._on_result(job, result),
            on_error=lambda message: self._on_error(job, message),
            on_done=lambda: self._set_running(False),
        )
        self.job = job
        return job

    def stop(self) -> None:
        """Finish the current step, write a checkpoint, and stop (Resume continues)."""
        if self.job is not None:
            self.job.cancel.cancel()
            self._say("Stopping after this step (a checkpoint is written)…")

    def resume(self) -> Job | None:
        if self.run_dir is None:
            return None
        from training.api import TrainConfig

        try:
            config = TrainConfig.load(self.run_dir)
        except Exception as err:
            self._say(str(err))
            return None
        return self.start(config, resume=True)

    def _open_run(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "A training run folder", str(user_data_dir() / "runs")
        )
        if folder:
            self.run_dir = Path(folder)
            self._say(f"Run {self.run_dir.name} selected: press Resume to continue it.")
            self._set_running(False)

    @property
    def running(self) -> bool:
        return self.job is not None and self.jobs.has_work()

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.resume_button.setEnabled(not running and self.run_dir is not None)
        self.open_button.setEnabled(not running)

    # --- events --------------------------------------------------------------------------
    def _on_event(self, job: Job, event: TrainingEvent) -> None:
        if job is not self.job:
            return
        self.events.append(event)
        kind = event.kind
        if event.total:
            self.progress.setRange(0, event.total)
            self.progress.setValue(min(event.step, event.total))
        values = ", ".join(f"{k} {v:.4g}" for k, v in event.values.items())
        if kind == "step":
            self.losses.setText(f"step {event.step}: {values}")
        elif kind == "sample" and event.image is not None:
            self.sample.setPixmap(pixmap_from_array(event.image, SAMPLE_SIDE))
            self._log(f"step {event.step}: sample grid")
        elif kind == "validation":
            self._log(f"step {event.step}: validation {values}")
        elif kind == "export" and event.path:
            self._log(f"weights exported: {event.path}")
            self.weightsChanged.emit()
        elif kind in ("note", "start", "checkpoint", "done", "error"):
            text = event.message or (event.path or "")
            self._log(f"{kind}: {text}" if text else kind)

    def _on_result(self, job: Job, result: TrainResult) -> None:
        if job is not self.job:
            return
        self.last_result = result
        if result.stopped:
            self._say(f"Stopped at step {result.step}. Resume continues from there.")
        else:
            where = f" Weights: {result.export}" if result.export else ""
            self._say(f"Finished at step {result.step}.{where}")
        self.runFinished.emit(result)

    def _on_error(self, job: Job, message: str) -> None:
        if job is not self.job:
            return
        self._say(f"Training stopped: {message}")
        self._log(f"error: {message}")
        self.runFinished.emit(None)

    def _say(self, text: str) -> None:
        self.status.setText(text)

    def _log(self, text: str) -> None:
        self.log.appendPlainText(text)

    def shutdown(self) -> None:
        """Stop a running training (it checkpoints) and end the training thread."""
        self.jobs.shutdown(timeout_ms=60_000)
