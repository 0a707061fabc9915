"""The installed weights, and the Models menu: Manage Models and Retrain.

``ModelsPanel`` asks the engine (on the worker) which weight sets are installed and
which model choices can run, remembers whether any face restorer is installed
(the window shows a banner until one is), and opens the two dialogs. Whether one is
installed is known at once from the weight manifests (``believed``; no torch), then
confirmed by the engine (``has_weights``). The model manager shares the window's
``JobRunner`` for listing and importing (quick), and has one of its own for downloads
(minutes), as Retrain has for training, so restoring photos goes on meanwhile.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from engine.installed import restorer_installed
from engine.options import MODEL_CHOICES
from engine.paths import user_weights_dir

from . import engine_calls as calls
from .jobs import JobRunner
from .messages import Messages
from .settings import Settings
from .worker import JobContext

if TYPE_CHECKING:
    from .model_manager import ModelManagerDialog
    from .retrain_dialog import RetrainDialog

TRAIN_HELP = (
    "To train your own weights, run <code>revive train --help</code> "
    "(best on a machine with a GPU), or use <i>Models ▸ Retrain…</i>. "
    "Trained and imported weights go to <code>{folder}</code>."
)


def training_available() -> bool:
    """Whether this build has the training module (a bundle may leave it out)."""
    try:
        return importlib.util.find_spec("training.api") is not None
    except (ImportError, ValueError):
        return False


class ModelsPanel(QObject):
    """Installed weights, the model manager and the Retrain dialog."""

    listed = Signal(object, object)  # list[ModelRow], {model choice: why it cannot run}
    weightsChecked = Signal(bool)  # restoration weights present?

    def __init__(
        self, window: QWidget, jobs: JobRunner, settings: Settings, messages: Messages
    ) -> None:
        super().__init__(window)
        self.dialog_parent = window
        self.jobs = jobs
        self.settings = settings
        self.messages = messages
        self.rows: list[calls.ModelRow] = []
        self.availability: dict[str, str | None] = {}
        self.has_weights: bool | None = None  # None until the engine's check answers
        self.quick: bool | None = _quick_check()
        self.model_manager: ModelManagerDialog | None = None
        self.retrain_dialog: RetrainDialog | None = None

    @property
    def believed(self) -> bool | None:
        """The engine's answer once there is one, the manifests' until then."""
        return self.has_weights if self.has_weights is not None else self.quick

    def refresh(self) -> None:
        """Re-read the installed weights (worker thread); say what was found."""

        def run(_ctx: JobContext) -> tuple[list[calls.ModelRow], dict[str, str | None]]:
            return calls.list_models(verify=False), calls.model_availability(MODEL_CHOICES)

        self.jobs.submit("models", run, on_result=self._on_models)

    def _on_models(self, found: tuple[list[calls.ModelRow], dict[str, str | None]]) -> None:
        self.rows, self.availability = found
        self.has_weights = calls.has_restoration_weights(self.rows)
        self.listed.emit(self.rows, self.availability)
        self.weightsChecked.emit(self.has_weights)
        if self.model_manager is not None:
            self.model_manager.set_has_restorer(self.has_weights)

    def weights_changed(self) -> None:
        """After an import or a training run: forget the cached networks, re-list weights."""
        self.jobs.submit("models", lambda ctx: ctx.forget_restorer())
        self.refresh()

    def open_model_manager(self) -> ModelManagerDialog:
        from .model_manager import ModelManagerDialog

        if self.model_manager is None:
            manager = ModelManagerDialog(
                self.jobs, self.settings, self.dialog_parent, downloads=JobRunner()
            )
            manager.weightsChanged.connect(self.weights_changed)
            manager.failed.connect(lambda message: self.messages.error(message, "Models"))
            self.model_manager = manager
        self.model_manager.show()
        self.model_manager.raise_()
        self.model_manager.refresh()
        return self.model_manager

    def open_downloads(self) -> None:
        """The model manager, at its list of models to download."""
        self.open_model_manager().show_downloads()

    def open_import(self) -> None:
        self.open_model_manager().import_dialog()

    def open_retrain(self) -> None:
        if not training_available():
            return
        from .retrain_dialog import RetrainDialog

        if self.retrain_dialog is None:
            dialog = RetrainDialog(JobRunner(), parent=self.dialog_parent)
            dialog.weightsChanged.connect(self.weights_changed)
            self.retrain_dialog = dialog
        self.retrain_dialog.show()
        self.retrain_dialog.raise_()

    def show_train_help(self) -> None:
        self.messages.info(TRAIN_HELP.format(folder=user_weights_dir()), "Training")

    def shutdown(self) -> None:
        """A running training checkpoints first, a download keeps its part; threads end."""
        if self.retrain_dialog is not None:
            self.retrain_dialog.shutdown()
        if self.model_manager is not None:
            self.model_manager.shutdown()


def _quick_check() -> bool | None:
    try:
        return restorer_installed()
    except Exception:  # an odd manifest: the engine's check answers in a moment
        return None
