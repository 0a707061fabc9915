"""Settings (File ▸ Settings…, Ctrl+,): the choices that are not on the toolbar, and
the toolbar's defaults, in one place.

Appearance (follow the system, light, dark), the likeness check, grain matching, and
where the network runs (device, CPU threads, runtime), plus the default model and output
scale (the toolbar's choices, which it remembers). The choices offered are the
toolbar's own (read from its combo boxes), never a second list. OK writes them to the
app's settings; the window then applies them at once.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.runtimes import RUNTIME_LABELS

from .preferences import APPEARANCES, Preferences
from .settings import Settings


def _copy_choices(source: QComboBox, target: QComboBox) -> None:
    """The same items (text and data) as ``source``, and its current choice."""
    target.clear()
    for row in range(source.count()):
        data = source.itemData(row)
        if data is None:  # a separator
            continue
        target.addItem(source.itemText(row), data)
    target.setCurrentIndex(max(0, target.findData(source.currentData())))


class SettingsDialog(QDialog):
    """The app's settings; ``accepted`` means they were written."""

    def __init__(
        self,
        settings: Settings,
        prefs: Preferences,
        toolbar_choices: dict[str, QComboBox],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings, self.prefs = settings, prefs
        self.appearance = QComboBox()
        for value, text in APPEARANCES:
            self.appearance.addItem(text, value)
        self.appearance.setCurrentIndex(self.appearance.findData(prefs.appearance))
        self.model = QComboBox()
        self.scale = QComboBox()
        self.device = QComboBox()
        _copy_choices(toolbar_choices["model"], self.model)
        _copy_choices(toolbar_choices["scale"], self.scale)
        _copy_choices(toolbar_choices["device"], self.device)
        self.likeness = QCheckBox("Check that each restored face still looks like the person")
        self.likeness.setChecked(prefs.likeness_check)
        self.likeness.setToolTip(
            "Compares each restored face with the original (a face-recognition network); "
            "off: restoring is a little faster and the faces panel shows no likeness figure"
        )
        self.grain = QCheckBox("Give restored faces the grain of the photo around them")
        self.grain.setChecked(prefs.grain_match)
        self.grain.setToolTip(
            "At 2× and 4× the photo around the faces is only enlarged, grain and all; "
            "without this a clean restored face can look pasted in"
        )
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("Automatic")
        self.threads.setValue(prefs.cpu_threads)
        self.threads.setToolTip("Faces restored at once on a CPU, one thread each")
        self.runtime = QComboBox()
        for value, text in RUNTIME_LABELS.items():
            self.runtime.addItem(text, value)
        self.runtime.setCurrentIndex(max(0, self.runtime.findData(prefs.network_runtime)))
        self.runtime.setToolTip(
            "What runs the networks on a CPU; Auto measures both once per network "
            "and keeps the faster"
        )

        form = QFormLayout()
        form.addRow("Appearance", self.appearance)
        form.addRow("Default model", self.model)
        form.addRow("Default output scale", self.scale)
        form.addRow("Likeness check", self.likeness)
        form.addRow("Grain matching", self.grain)
        form.addRow("Device", self.device)
        form.addRow("CPU threads", self.threads)
        form.addRow("Runtime", self.runtime)
        note = QLabel(
            "The model, scale and device are also on the toolbar; what you choose there "
            "is remembered as the default too."
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def accept(self) -> None:
        """Write every choice, then close."""
        p, s = self.prefs, self.settings
        p.appearance = str(self.appearance.currentData())
        p.likeness_check = self.likeness.isChecked()
        p.grain_match = self.grain.isChecked()
        p.cpu_threads = self.threads.value()
        p.network_runtime = str(self.runtime.currentData() or "auto")
        s.model = str(self.model.currentData() or "auto")
        s.scale = self.scale.currentData() or "auto"
        s.device = str(self.device.currentData() or "auto")
        s.sync()
        super().accept()
