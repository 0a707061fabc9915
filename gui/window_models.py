"""Models, device, retraining and the Help menu of the main window."""

from __future__ import annotations

import importlib.util

from PySide6.QtGui import QKeySequence, QPixmap

from engine.paths import user_weights_dir

from . import engine_calls as calls
from .photo_queue import PhotoEntry
from .settings import MODEL_CHOICES
from .worker import Job


class ModelsMixin:
    """Installed weights, device, the Retrain and Models dialogs, and Help."""

    def refresh_models(self) -> None:
        """Re-read the installed weights (worker thread); update the combo and the banner."""
        choices = tuple(value for value, _text in MODEL_CHOICES)
        self.submit(
            "models",
            lambda ctx: (calls.list_models(verify=False), calls.model_availability(choices)),
            on_result=self._on_models,
        )

    def _on_models(self, job: Job, found: tuple[list[calls.ModelRow], dict]) -> None:
        rows, self.model_availability = found
        self.model_rows = rows
        self.has_weights = calls.has_restoration_weights(rows)
        self._fill_model_combo()
        self.banner.setVisible(not self.has_weights)
        self._update_actions()
        self._update_status_labels()
        self.weightsChecked.emit(self.has_weights)

    def weights_changed(self) -> None:
        """After an import or a training run: forget the cached networks, re-list weights."""
        self.submit("models", lambda ctx: ctx.forget_restorer())
        self.refresh_models()

    def refresh_device(self) -> None:
        choice = self.device_combo.currentData() or "auto"
        self.submit(
            "device",
            lambda ctx: (calls.devices(), calls.device_label(choice)),
            on_result=self._on_device,
            on_error=lambda job, message: self._on_device(job, (None, f"unavailable ({message})")),
        )

    def _on_device(self, job: Job, value: tuple[list[str] | None, str]) -> None:
        available, label = value
        self.device_text = label
        if available is not None:
            model = self.device_combo.model()
            for row in range(self.device_combo.count()):
                data = self.device_combo.itemData(row)
                item = model.item(row)
                if item is not None and data not in ("auto", None):
                    item.setEnabled(data in available)
        self._update_status_labels()

    def open_model_manager(self) -> None:
        from .model_manager import ModelManagerDialog

        if self.model_manager is None:
            self.model_manager = ModelManagerDialog(self)
            self.model_manager.weightsChanged.connect(self.weights_changed)
        self.model_manager.show()
        self.model_manager.raise_()
        self.model_manager.refresh()

    @staticmethod
    def _training_available() -> bool:
        try:
            return importlib.util.find_spec("training.api") is not None
        except (ImportError, ValueError):
            return False

    def open_retrain(self) -> None:
        if not self._training_available():
            return
        from .retrain_dialog import RetrainDialog

        if self.retrain_dialog is None:
            self.retrain_dialog = RetrainDialog(self)
            self.retrain_dialog.weightsChanged.connect(self.weights_changed)
        self.retrain_dialog.show()
        self.retrain_dialog.raise_()

    def _show_train_help(self) -> None:
        self.show_info(
            "To train your own weights, run <code>revive train --help</code> "
            "(best on a machine with a GPU), or use <i>Models ▸ Retrain…</i>. "
            f"Trained and imported weights go to <code>{user_weights_dir()}</code>.",
            "Training",
        )

    def try_sample(self) -> None:
        """Degrade the public-domain astronaut and restore it (one click for newcomers)."""
        if self.has_weights is False:
            self.show_error(
                "The sample needs trained weights to restore it. Import a released "
                "Face-SPARNet checkpoint in Models ▸ Manage models… first."
            )
            return

        def loaded(job: Job, value: calls.Loaded) -> None:
            entry = self.queue.add(PhotoEntry("astronaut (sample)", None))
            entry.photo, entry.before_image, entry.status = value.photo, value.image, "loaded"
            self.queue.set_thumbnail(entry, QPixmap.fromImage(value.thumbnail))
            self.queue.refresh(entry)
            self.queue.select(entry)
            self.restore_entry(entry)

        self.submit(
            "sample",
            lambda ctx: calls.sample(ctx.progress),
            label="Sample",
            busy=True,
            on_result=loaded,
        )

    def show_shortcuts(self) -> None:
        actions = [
            self.open_action,
            self.open_folder_action,
            self.save_action,
            self.save_as_action,
            self.export_action,
            self.restore_action,
            self.restore_all_action,
            self.cancel_action,
            self.next_action,
            self.previous_action,
            *self.mode_actions.values(),
            self.toggle_action,
            self.zoom_in_action,
            self.zoom_out_action,
            self.zoom_fit_action,
            self.zoom_actual_action,
            self.inspector_action,
            self.models_action,
            self.quit_action,
        ]
        native = QKeySequence.SequenceFormat.NativeText
        rows = "".join(
            f"<tr><td>{a.text().replace('&', '')}</td><td><b>"
            f"{', '.join(s.toString(native) for s in a.shortcuts())}"
            "</b></td></tr>"
            for a in actions
            if a.shortcuts()
        )
        self.show_info(f"<table cellspacing=6>{rows}</table>", "Keyboard shortcuts")

    def show_about(self) -> None:
        from engine import __version__

        self.show_info(
            f"<b>Revive {__version__}</b><br>Restores the faces in old and low-quality "
            "photos with SPARNet / SPARNetHD (Chen et al., 2020) and CAGFace "
            "(Kalarot et al., 2020), and shows the attention behind every result.",
            "About Revive",
        )
