"""The restoration choices on the toolbar: model, device, output scale, colour matching.

They are remembered in ``Settings`` and read into ``RestoreOptions`` on the GUI
thread whenever work is sent to the engine. Model choices that cannot run (no
weights for them) and devices this machine lacks are shown greyed out, with the
reason; which devices exist is asked of the engine on the worker thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QToolBar

from engine.models.presets import preset_label, weights_label
from engine.options import MODEL_CHOICE_LABELS, RestoreOptions

from . import engine_calls as calls
from .jobs import JobRunner
from .settings import DEVICE_CHOICES, SCALE_CHOICES, Settings
from .worker import JobContext


def _select_data(combo: QComboBox, value: object) -> None:
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)


def _item_model(combo: QComboBox) -> QStandardItemModel:
    model = combo.model()
    assert isinstance(model, QStandardItemModel)  # a QComboBox's own model
    return model


class OptionsBar(QObject):
    """Owns the four choice widgets and turns them into ``RestoreOptions``."""

    changed = Signal()  # the user changed a choice (already saved in the settings)
    deviceText = Signal(str)  # what the device choice means on this machine

    def __init__(self, settings: Settings, jobs: JobRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.jobs = jobs
        self.model_rows: list[calls.ModelRow] = []
        self.availability: dict[str, str | None] = {}
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Which network restores the faces")
        self.model_combo.setMinimumContentsLength(28)
        self.device_combo = QComboBox()
        self.device_combo.setToolTip("Where the network runs")
        for value, text in DEVICE_CHOICES:
            self.device_combo.addItem(text, value)
        self.scale_combo = QComboBox()
        self.scale_combo.setToolTip("Output size: the whole photo is enlarged by this factor")
        for scale in SCALE_CHOICES:
            self.scale_combo.addItem(f"{scale}×", scale)
        self.color_box = QCheckBox("Match colours")
        self.color_box.setToolTip("Keep each restored face's colours close to the original's")

        self._fill_model_combo()
        _select_data(self.device_combo, settings.device)
        _select_data(self.scale_combo, settings.scale)
        self.color_box.setChecked(settings.color_match)
        self.model_combo.currentIndexChanged.connect(self._on_changed)
        self.device_combo.currentIndexChanged.connect(self._on_changed)
        self.scale_combo.currentIndexChanged.connect(self._on_changed)
        self.color_box.toggled.connect(self._on_changed)

    def add_to(self, toolbar: QToolBar) -> None:
        for label, widget in (
            ("Model", self.model_combo),
            ("Device", self.device_combo),
            ("Scale", self.scale_combo),
        ):
            toolbar.addWidget(QLabel(f" {label} "))
            toolbar.addWidget(widget)
        toolbar.addWidget(self.color_box)

    def restore_options(self) -> RestoreOptions:
        """The GUI's choices as ``RestoreOptions`` (attention maps always on).

        A photo without a face is not an error in the app: it is enlarged by the output
        scale and kept, like any other result (``allow_no_faces``).
        """
        return RestoreOptions.of(
            model=self.model_combo.currentData() or "auto",
            device=self.device_combo.currentData() or "auto",
            scale=int(self.scale_combo.currentData() or 1),
            color_match=self.color_box.isChecked(),
            attention=True,
            masks=True,
            allow_no_faces=True,
        )

    def model_text(self) -> str:
        return self.model_combo.currentText() or "Auto"

    def _on_changed(self) -> None:
        s = self.settings
        s.model = self.model_combo.currentData() or "auto"
        s.device = self.device_combo.currentData() or "auto"
        s.scale = int(self.scale_combo.currentData() or 1)
        s.color_match = self.color_box.isChecked()
        self.refresh_device()
        self.changed.emit()

    # --- models ----------------------------------------------------------------------------
    def set_models(self, rows: list[calls.ModelRow], availability: dict[str, str | None]) -> None:
        """The installed weights were listed: offer them, grey out what cannot run."""
        self.model_rows, self.availability = rows, availability
        self._fill_model_combo()

    def _fill_model_combo(self) -> None:
        """The three model families, then every installed restoration weight set by name."""
        wanted = self.settings.model
        combo = self.model_combo
        combo.blockSignals(True)
        combo.clear()
        for value, text in MODEL_CHOICE_LABELS.items():
            combo.addItem(text, value)
        for row, value in enumerate(MODEL_CHOICE_LABELS):
            why_not = self.availability.get(value)
            item = _item_model(combo).item(row)
            if why_not and item is not None:  # e.g. no CAGFace weights: shown, greyed out
                item.setEnabled(False)
                item.setToolTip(why_not)
        restorers = [r for r in self.model_rows if r.kind is not None and r.kind.restores_faces]
        if restorers:
            combo.insertSeparator(combo.count())
            presets = [r.info.preset for r in restorers]
            for model_row in restorers:
                info = model_row.info
                # The model's name alone, unless two installed sets share it.
                text = (
                    preset_label(info.preset)
                    if presets.count(info.preset) == 1
                    else weights_label(info.name, info.preset)
                )
                combo.addItem(text, info.name)
                combo.setItemData(
                    combo.count() - 1,
                    f"Weights {info.name} ({info.preset})",
                    Qt.ItemDataRole.ToolTipRole,
                )
        index = combo.findData(wanted)
        combo.setCurrentIndex(index if index >= 0 else 0)
        combo.blockSignals(False)

    # --- devices ---------------------------------------------------------------------------
    def refresh_device(self) -> None:
        """Ask the engine which devices exist and what the current choice means."""
        choice = self.device_combo.currentData() or "auto"

        def run(_ctx: JobContext) -> tuple[list[str] | None, str]:
            return calls.devices(), calls.device_label(choice)

        self.jobs.submit(
            "device",
            run,
            on_result=self._on_device,
            on_error=lambda message: self._on_device((None, f"unavailable ({message})")),
        )

    def _on_device(self, value: tuple[list[str] | None, str]) -> None:
        available, label = value
        if available is not None:
            model = _item_model(self.device_combo)
            for row in range(self.device_combo.count()):
                data = self.device_combo.itemData(row)
                item = model.item(row)
                if item is not None and data not in ("auto", None):
                    item.setEnabled(data in available)
        self.deviceText.emit(label)
