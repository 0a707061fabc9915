"""Small pieces of the main window: the start page and the "act on this" banner."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

NO_WEIGHTS_TEXT = (
    "<b>No face-restoration model is installed yet</b>, so Revive can find faces but "
    "not restore them. <b>Download one</b> (one click, e.g. SPARNetHD from its authors), "
    "import a released Face-SPARNet checkpoint, or train your own (<i>Models ▸ Retrain…</i>)."
)
SAMPLE_NEEDS_WEIGHTS = (
    "Try a sample restores a photo, which needs a face-restoration model: download one "
    "first (Models ▸ Manage Models…)."
)


class Banner(QFrame):
    """A strip above the view for something the user must act on (palette colours only)."""

    def __init__(self, text: str, buttons: list[tuple[str, Callable[[], None]]]) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        layout = QHBoxLayout(self)
        layout.addWidget(self.label, 1)
        self.buttons = []
        for title, slot in buttons:
            button = QPushButton(title)
            button.clicked.connect(slot)
            layout.addWidget(button)
            self.buttons.append(button)


class WelcomePage(QWidget):
    """What the photo area shows before any photo is open."""

    def __init__(self, open_slot: Callable[[], None], sample_slot: Callable[[], None]) -> None:
        super().__init__()
        title = QLabel("<h2>Drop photos or folders here</h2>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint = QLabel(
            "Every face is found, restored and pasted back. You can compare before and "
            "after, keep or reject each face, and see where the network looked."
        )
        hint.setWordWrap(True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.open_button = QPushButton("Open photos…")
        self.sample_button = QPushButton("Try a sample")
        self.open_button.clicked.connect(open_slot)
        self.sample_button.clicked.connect(sample_slot)
        self.sample_note = QLabel(SAMPLE_NEEDS_WEIGHTS)
        self.sample_note.setWordWrap(True)
        self.sample_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.sample_note.setEnabled(False)  # greyed: a note, not an instruction
        self.sample_note.hide()
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.sample_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        layout.addWidget(self.sample_note)
        layout.addStretch(3)

    def set_has_weights(self, has_weights: bool | None) -> None:
        """Try a sample is offered only when it can restore the sample."""
        can = has_weights is not False
        self.sample_button.setEnabled(can)
        self.sample_button.setToolTip("" if can else SAMPLE_NEEDS_WEIGHTS)
        self.sample_note.setVisible(not can)
