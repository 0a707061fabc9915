"""Small pieces of the main window: the start page and the "act on this" banner."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

NO_WEIGHTS_TEXT = (
    "<b>No trained face-restoration weights are installed yet</b>, so Revive cannot "
    "restore faces. Import a released Face-SPARNet checkpoint (<i>Models ▸ Manage "
    "models…</i>), or train your own (<i>Models ▸ Retrain…</i> or "
    "<code>revive train</code> on a GPU machine)."
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
            "after, keep or reject each face, and see the attention maps behind the result."
        )
        hint.setWordWrap(True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.open_button = QPushButton("Open photos…")
        self.sample_button = QPushButton("Try a sample")
        self.open_button.clicked.connect(open_slot)
        self.sample_button.clicked.connect(sample_slot)
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
        layout.addStretch(3)
