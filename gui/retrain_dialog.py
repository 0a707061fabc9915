"""Models > Retrain: train a model on your own faces, watch it learn, stop and resume.

Made for photographers: models by what they do ("Face restorer (128 px faces)"), a
default that finishes in minutes on a CPU (Revive's blind restorer, a few hundred
steps), and, once a folder of faces is chosen, a measurement on the spot: two real
training steps on this machine give the time of one, and the dialog says how long the
chosen number of steps will take (and, until the user sets the steps, picks a number
that takes about ten minutes). While it trains: the step, the time left, sample faces,
and a short log in words; the developer's lines are under *Details*.

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

from PySide6.QtCore import Qt, QTimer, Signal
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

from engine.models.presets import preset_label
from engine.paths import user_data_dir, user_weights_dir

from .imaging import pixmap_from_array
from .jobs import JobRunner
from .progress_text import duration_words
from .worker import Job, JobContext

if TYPE_CHECKING:
    from training.api import TrainConfig, TrainingEvent, TrainResult

SAMPLE_SIDE = 520
DEFAULT_MODEL = "restorer"  # Revive's blind restorer: trains on a CPU
DEFAULT_STEPS = 300  # before a measurement says better
TARGET_S = 10 * 60  # the steps picked after a measurement take about this long


def model_choices() -> list[tuple[str, str]]:
    """(value, label): the trainers by what they train, then Revive's lighter presets."""
    from training.api import TRAINERS, trainable_models, trainable_presets

    trainers = [(name, label) for name, label in trainable_models().items()]
    defaults = {t.default_preset for t in TRAINERS.values()}
    presets = [
        (p.name, f"{preset_label(p.name)} · variant")
        for p in trainable_presets()
        if p.name not in defaults  # the trainer's own line trains it already
    ]
    return [*trainers, *presets]


def steps_for(seconds_per_step: float, target_s: float = TARGET_S) -> int:
    """Steps that take about ``target_s`` (rounded to a round number, 20 to 20,000)."""
    steps = target_s / max(seconds_per_step, 1e-3)
    step = 10 if steps < 200 else 50 if steps < 2000 else 500
    return int(max(20, min(20_000, round(steps / step) * step)))


class RetrainDialog(QDialog):
    """Configure, measure and run one training run at a time."""

    weightsChanged = Signal()
    runFinished = Signal(object)  # TrainResult, or None after an error
    measured = Signal(float)  # seconds per step on this machine

    def __init__(self, jobs: JobRunner | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Retrain a model on your own faces")
        self.resize(980, 640)
        self.jobs = jobs if jobs is not None else JobRunner()
        if self.jobs.parent() is None:
            self.jobs.setParent(self)  # its worker thread ends with the dialog
        self.job: Job | None = None
        self.measure_job: Job | None = None
        self.run_dir: Path | None = None
        self.last_result: TrainResult | None = None
        self.events: list[TrainingEvent] = []
        self.step_seconds: float | None = None
        self._steps_chosen = False  # the user set the steps: a measurement keeps them
        self._setting_steps = False
        self._training = False
        self._started_at = 0.0
        self._first_step: int | None = None

        self.model_combo = QComboBox()
        for value, label in model_choices():
            self.model_combo.addItem(label, value)
            self.model_combo.setItemData(
                self.model_combo.count() - 1, f"{value}", Qt.ItemDataRole.ToolTipRole
            )
        self.model_combo.setCurrentIndex(max(0, self.model_combo.findData(DEFAULT_MODEL)))
        self.data_edit = QLineEdit()
        self.data_edit.setPlaceholderText("a folder of photos with faces, or a face pack")
        data_browse = QPushButton("Browse…")
        data_browse.clicked.connect(self._browse_data)
        data_row = QHBoxLayout()
        data_row.addWidget(self.data_edit, 1)
        data_row.addWidget(data_browse)
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 10_000_000)
        self.steps_spin.setSingleStep(50)
        self.steps_spin.setValue(DEFAULT_STEPS)
        self.steps_spin.setToolTip(
            "How many times the network learns from a batch of faces: more is better, "
            "and takes longer"
        )
        self.estimate = QLabel("Choose a folder of faces to see how long it takes here.")
        self.estimate.setWordWrap(True)
        self.measure_button = QPushButton("Measure")
        self.measure_button.setToolTip("Time two training steps on this computer")
        self.measure_button.clicked.connect(self.measure)
        estimate_row = QHBoxLayout()
        estimate_row.addWidget(self.estimate, 1)
        estimate_row.addWidget(self.measure_button)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(0, 1024)
        self.batch_spin.setSpecialValueText("automatic")
        self.batch_spin.setToolTip("Faces per step (automatic: the model's usual number)")
        self.device_combo = QComboBox()
        for value, text in (("auto", "Automatic"), ("cuda", "GPU (CUDA)"), ("mps", "GPU (Apple)")):
            self.device_combo.addItem(text, value)
        self.device_combo.addItem("CPU", "cpu")
        self.install_box = QCheckBox("When finished, add the model to my Revive models")
        self.install_box.setChecked(True)
        form = QFormLayout()
        form.addRow("What to train", self.model_combo)
        form.addRow("Your faces", data_row)
        form.addRow("Steps", self.steps_spin)
        form.addRow("Time", estimate_row)
        form.addRow("Faces per step", self.batch_spin)
        form.addRow("Run on", self.device_combo)
        form.addRow(self.install_box)

        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after this step; Resume continues from there")
        self.resume_button = QPushButton("Resume")
        self.open_button = QPushButton("Open an earlier run…")
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
        self.story = QPlainTextEdit()  # what happened, in words
        self.story.setReadOnly(True)
        self.story.setMaximumBlockCount(500)
        self.details_box = QCheckBox("Details (for developers)")
        self.log = QPlainTextEdit()  # every event, as the trainer says it
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.hide()
        self.details_box.toggled.connect(self.log.setVisible)
        self.sample = QLabel("Sample faces appear here while it trains: before | after | goal.")
        self.sample.setWordWrap(True)
        self.sample.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.sample.setMinimumSize(SAMPLE_SIDE // 2, SAMPLE_SIDE // 3)

        left = QVBoxLayout()
        left.addLayout(form)
        left.addLayout(buttons)
        left.addWidget(self.progress)
        left.addWidget(self.status)
        left.addWidget(self.losses)
        left.addWidget(self.story, 1)
        left.addWidget(self.details_box)
        left.addWidget(self.log, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addWidget(self.sample, 1)

        # A measurement follows every change of what is measured (half a second later).
        self._measure_timer = QTimer(self)
        self._measure_timer.setSingleShot(True)
        self._measure_timer.setInterval(500)
        self._measure_timer.timeout.connect(self.measure)
        self.data_edit.editingFinished.connect(self._measure_timer.start)
        self.model_combo.currentIndexChanged.connect(self._on_setup_changed)
        self.batch_spin.valueChanged.connect(self._on_setup_changed)
        self.device_combo.currentIndexChanged.connect(self._on_setup_changed)
        self.steps_spin.valueChanged.connect(self._on_steps_changed)
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
            tensorboard=False,
        )

    def _browse_data(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of training faces")
        if folder:
            self.data_edit.setText(folder)
            self.measure()

    def _on_setup_changed(self) -> None:
        self.step_seconds = None
        if self.data_edit.text().strip():
            self._measure_timer.start()
        else:
            self._show_estimate()

    def _on_steps_changed(self) -> None:
        if not self._setting_steps:
            self._steps_chosen = True
        self._show_estimate()

    def _set_steps(self, steps: int) -> None:
        self._setting_steps = True
        try:
            self.steps_spin.setValue(steps)
        finally:
            self._setting_steps = False

    # --- measuring -----------------------------------------------------------------------
    def measure(self) -> Job | None:
        """Time two real training steps of the chosen setup on this machine (worker)."""
        if not self.data_edit.text().strip() or self.running:
            self._show_estimate()
            return None
        try:
            config = self.config_from_form()
        except Exception as err:  # ConfigError and friends
            self.estimate.setText(str(err))
            return None
        if self.measure_job is not None:
            self.measure_job.cancel.cancel()
        self.estimate.setText("Measuring how fast it trains here (two steps)…")
        self.measure_button.setEnabled(False)

        def run(ctx: JobContext) -> float:
            from training.api import measure_step

            return measure_step(config, ctx.cancel)

        job = self.jobs.submit(
            "measure",
            run,
            on_result=lambda seconds: self._measured(job, seconds),
            on_error=lambda message: self._measure_failed(job, message),
            on_done=lambda: self._measure_done(job),
        )
        self.measure_job = job
        return job

    def _measured(self, job: Job, seconds: float) -> None:
        if job is not self.measure_job:
            return
        self.step_seconds = seconds
        self.measure_button.setText("Measure again")
        if not self._steps_chosen:
            self._set_steps(steps_for(seconds))
        self._show_estimate()
        self.measured.emit(seconds)

    def _measure_failed(self, job: Job, message: str) -> None:
        if job is self.measure_job:
            self.estimate.setText(f"Could not measure: {message}")

    def _measure_done(self, job: Job) -> None:
        if job is self.measure_job:
            self.measure_job = None
            self.measure_button.setEnabled(not self.running)

    def estimate_text(self) -> str:
        if self.step_seconds is None:
            if not self.data_edit.text().strip():
                return "Choose a folder of faces to see how long it takes here."
            return "Not measured yet."
        total = self.step_seconds * self.steps_spin.value()
        return (
            f"One step takes {self.step_seconds:.2f} s on this computer: "
            f"{self.steps_spin.value():,} steps take {duration_words(total)}."
        )

    def _show_estimate(self) -> None:
        self.estimate.setText(self.estimate_text())

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

        if self.measure_job is not None:
            self.measure_job.cancel.cancel()
        self.run_dir = Path(config.out)
        self.events = []
        self.progress.setRange(0, max(1, config.steps))
        self.progress.setValue(0)
        self._started_at = time.monotonic()
        self._first_step = None
        verb = "Resuming" if resume else "Starting"
        self._say(f"{verb}: the faces are being prepared…")
        self._tell(f"{verb} ({self.model_combo.currentText() or config.model}).")
        self._log(f"{verb.lower()} {config.model} in {self.run_dir}")

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
            self._say("Stopping after this step (its progress is saved)…")

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
        """A training run is on (a measurement is not)."""
        return self._training

    def _set_running(self, running: bool) -> None:
        self._training = running
        self.measure_button.setText("Measure again" if self.step_seconds else "Measure")
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.resume_button.setEnabled(not running and self.run_dir is not None)
        self.open_button.setEnabled(not running)
        self.measure_button.setEnabled(not running and self.measure_job is None)

    # --- events --------------------------------------------------------------------------
    def _on_event(self, job: Job, event: TrainingEvent) -> None:
        from training.api import EventKind  # loaded with the run that sent the event

        if job is not self.job:
            return
        self.events.append(event)
        kind = event.kind
        if event.total:
            self.progress.setRange(0, event.total)
            self.progress.setValue(min(event.step, event.total))
        values = ", ".join(f"{k} {v:.4g}" for k, v in event.values.items())
        if kind is EventKind.STEP:
            self._on_step(event, values)
        elif kind is EventKind.SAMPLE and event.image is not None:
            self.sample.setPixmap(pixmap_from_array(event.image, SAMPLE_SIDE))
            self._tell(f"Step {event.step}: new sample faces (right: before | after | goal).")
            self._log(f"step {event.step}: sample grid")
        elif kind is EventKind.VALIDATION:
            self._tell(f"Step {event.step}: quality checked on faces kept aside.")
            self._log(f"step {event.step}: validation {values}")
        elif kind is EventKind.CHECKPOINT:
            self._tell(f"Step {event.step}: progress saved (Resume continues from here).")
            self._log(f"checkpoint: {event.path}")
        elif kind is EventKind.EXPORT and event.path:
            self._tell(f"The trained model was saved: {Path(event.path).name}.")
            self._log(f"weights exported: {event.path}")
            self.weightsChanged.emit()
        elif kind is EventKind.START:
            self._say(f"Training: step {event.step} of {event.total}.")
            self._log(f"start: {event.message}")
        elif kind in (EventKind.NOTE, EventKind.DONE, EventKind.ERROR):
            text = event.message or (event.path or "")
            self._log(f"{kind}: {text}" if text else kind)

    def _on_step(self, event: TrainingEvent, values: str) -> None:
        if self._first_step is None:
            self._first_step = event.step
            self._started_at = time.monotonic()
        self.losses.setText(f"Step {event.step}: error {self._error(event):.4g} (lower is better)")
        self._log(f"step {event.step}: {values}")
        done = event.step - self._first_step
        left = event.total - event.step
        elapsed = time.monotonic() - self._started_at
        words = f"Training: step {event.step} of {event.total}"
        if done >= 2 and elapsed > 1.0 and left > 0:
            words += f" · {duration_words(elapsed / done * left)} left"
        self._say(words)

    @staticmethod
    def _error(event: TrainingEvent) -> float:
        values = event.values
        for key in ("loss", "pixel", "l1", "total", "g_total"):
            if key in values:
                return float(values[key])
        return float(next(iter(values.values()), 0.0))

    def _on_result(self, job: Job, result: TrainResult) -> None:
        if job is not self.job:
            return
        self.last_result = result
        if result.stopped:
            self._say(f"Stopped at step {result.step}. Resume continues from there.")
            self._tell(f"Stopped at step {result.step}.")
        else:
            where = (
                " It is in your models now: choose it in the toolbar's Model list."
                if result.export and self.install_box.isChecked()
                else (f" Weights: {result.export}" if result.export else "")
            )
            self._say(f"Finished at step {result.step}.{where}")
            self._tell(f"Finished at step {result.step}.")
        self.runFinished.emit(result)

    def _on_error(self, job: Job, message: str) -> None:
        if job is not self.job:
            return
        self._say(f"Training stopped: {message}")
        self._tell(f"Training stopped: {message}")
        self._log(f"error: {message}")
        self.runFinished.emit(None)

    def _say(self, text: str) -> None:
        self.status.setText(text)

    def _tell(self, text: str) -> None:
        self.story.appendPlainText(text)

    def _log(self, text: str) -> None:
        self.log.appendPlainText(text)

    def shutdown(self) -> None:
        """Stop a running training (it checkpoints) and end the training thread."""
        if self.measure_job is not None:
            self.measure_job.cancel.cancel()
        self.jobs.shutdown(timeout_ms=60_000)
