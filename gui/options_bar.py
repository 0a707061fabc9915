"""The restoration choices on the toolbar: model, device, output scale, colour matching.

Beside the scale, what it gives for the current photo before the run ("Auto: 2× →
1280 × 960 (faces 50 px → 100 px)"): Auto's choice comes from engine.scale_choice.

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
from engine.scale_choice import (
    AUTO,
    MAX_RESULT_MEGAPIXELS,
    MIN_FACE_SIDE,
    choose_scale,
    face_widths,
)

from . import engine_calls as calls
from .jobs import JobRunner
from .photo_changes import ChangeKind, PhotoChange
from .photo_controller import PhotoEntry
from .preferences import Preferences
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
    missingChosen = Signal(str, str)  # a model choice that is not installed, and why
    availableChosen = Signal()  # a model choice that can run
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
        self.scale_combo.setToolTip(
            "Output size: the whole photo is enlarged by this factor. Auto: the smallest "
            f"of 1×, 2×, 4× at which the faces are {MIN_FACE_SIDE} px or more (the result "
            f"at most {MAX_RESULT_MEGAPIXELS:g} MP)"
        )
        for scale in SCALE_CHOICES:
            self.scale_combo.addItem("Auto" if scale == AUTO else f"{scale}×", scale)
        self.scale_note = QLabel()  # what the scale gives for the current photo
        self.scale_note.setToolTip("The scale the restoration will use and the result's size")
        self._photo_size: tuple[int, int] | None = None
        self._face_boxes: list = []
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
        toolbar.addWidget(self.scale_note)
        toolbar.addWidget(self.color_box)

    def restore_options(self) -> RestoreOptions:
        """The GUI's choices as ``RestoreOptions`` (attention maps always on).

        A photo without a face is not an error in the app: it is enlarged by the output
        scale and kept, like any other result (``allow_no_faces``).
        """
        prefs = Preferences(self.settings.store)  # the Settings dialog's choices
        return RestoreOptions.of(
            model=self.model_combo.currentData() or "auto",
            device=self.device_combo.currentData() or "auto",
            scale=self.scale_combo.currentData() or AUTO,
            color_match=self.color_box.isChecked(),
            grain_match=prefs.grain_match,
            identity=prefs.likeness_check,
            cpu_workers=prefs.cpu_threads,
            network_runtime=prefs.network_runtime,
            attention=True,
            masks=True,
            allow_no_faces=True,
        )

    def apply_settings(self) -> None:
        """The settings were changed elsewhere (the Settings dialog): show them here."""
        s = self.settings
        model, scale, device = s.model, s.scale, s.device
        _select_data(self.model_combo, model)
        _select_data(self.scale_combo, scale)
        _select_data(self.device_combo, device)

    def choose_model(self, value: str) -> None:
        """Select a model choice as if the user had (e.g. Auto, instead of a missing one)."""
        _select_data(self.model_combo, value)

    def model_text(self) -> str:
        return self.model_combo.currentText() or "Auto"

    def _on_changed(self) -> None:
        s = self.settings
        model_changed = s.model != (self.model_combo.currentData() or "auto")
        s.model = self.model_combo.currentData() or "auto"
        if model_changed:  # never restore with another model than the one shown
            why_not = self.availability.get(s.model)
            if why_not:
                self.missingChosen.emit(s.model, why_not)
            else:
                self.availableChosen.emit()
        s.device = self.device_combo.currentData() or "auto"
        s.scale = self.scale_combo.currentData() or AUTO
        s.color_match = self.color_box.isChecked()
        self._update_scale_note()
        self.refresh_device()
        self.changed.emit()

    # --- scale -----------------------------------------------------------------------------
    def on_photo(self, entry: PhotoEntry | None, change: PhotoChange) -> None:
        """The current photo, or what is known of its faces, changed: the scale note."""
        kinds = (ChangeKind.CURRENT, ChangeKind.LOADED, ChangeKind.STATE, ChangeKind.FOUND)
        if not change.current or change.kind not in kinds:
            return
        if entry is None or entry.photo is None:
            self.show_scale_for(None, [])
            return
        h, w = entry.photo.pixels.shape[:2]
        faces = entry.result.faces if entry.result is not None else (entry.found or [])
        self.show_scale_for((w, h), [f.box for f in faces])

    def show_scale_for(self, photo_size: tuple[int, int] | None, boxes: list) -> None:
        """The current photo (``(width, height)``, None: none) and its faces found so far."""
        self._photo_size, self._face_boxes = photo_size, list(boxes)
        self._update_scale_note()

    def scale_text(self) -> str:
        """What the scale choice gives for the current photo, before the run."""
        if self._photo_size is None:
            return ""
        w, h = self._photo_size
        choice = self.scale_combo.currentData() or AUTO
        if choice == AUTO:
            return choose_scale(face_widths(self._face_boxes), (w, h)).describe()
        return f"{choice}× → {w * int(choice)} × {h * int(choice)}"

    def _update_scale_note(self) -> None:
        self.scale_note.setText(f" {self.scale_text()} ")

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
        for row, (value, text) in enumerate(MODEL_CHOICE_LABELS.items()):
            why_not = self.availability.get(value)
            item = _item_model(combo).item(row)
            if why_not and item is not None:  # it can be chosen: then its download is offered
                item.setText(f"{text} (not installed)")
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
