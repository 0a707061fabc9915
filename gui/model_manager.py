"""The model manager: installed weight sets with their model cards, import, verification.

Listing, importing and verifying are engine calls, so they run on the worker thread
of the ``JobRunner`` the dialog is given, like everything else; the dialog shows their
answers, and says what failed through ``failed`` (the window shows it in a dialog).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from engine.paths import user_weights_dir
from engine.weights import human_size

from . import engine_calls as calls
from .jobs import JobRunner
from .settings import Settings

if TYPE_CHECKING:
    from engine.weights import WeightsInfo

COLUMNS = ("Name", "Model", "Kind", "Precision", "Size", "Source", "Check")


def card_html(row: calls.ModelRow) -> str:
    """A weight set's model card as HTML (every field the card has, in its order)."""
    info = row.info
    lines = [
        f"<h3>{html.escape(str(info.card.get('title', info.name)))}</h3>",
        f"<p><b>Preset:</b> {html.escape(info.preset)} — {html.escape(row.description)}</p>",
        f"<p><b>Files:</b> {len(info.files)} shard(s), {human_size(info.total_bytes)}, "
        f"{html.escape(info.dtype)}<br><b>Manifest:</b> {html.escape(str(info.manifest))}</p>",
    ]
    card = {k: v for k, v in info.card.items() if k != "title"}
    if card:
        items = "".join(
            f"<tr><td valign=top><b>{html.escape(str(k))}</b></td>"
            f"<td>{html.escape(str(v))}</td></tr>"
            for k, v in card.items()
        )
        lines.append(f"<table cellspacing=4>{items}</table>")
    else:
        lines.append("<p><i>This weight set has no model card.</i></p>")
    if row.problems:
        lines.append(
            "<p><b>Verification failed:</b><br>"
            + "<br>".join(html.escape(p) for p in row.problems)
            + "</p>"
        )
    return "".join(lines)


class ModelManagerDialog(QDialog):
    """Lists weights; imports a Face-SPARNet release checkpoint; verifies sha256 sums."""

    weightsChanged = Signal()
    failed = Signal(str)  # what went wrong, for an error dialog

    def __init__(self, jobs: JobRunner, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.settings = settings
        self.setWindowTitle("Models")
        self.resize(900, 520)
        self.rows: list[calls.ModelRow] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._show_card)
        self.card = QTextBrowser()
        self.card.setOpenExternalLinks(True)
        self.empty_label = QLabel(
            "<b>No weights are installed.</b> Import a released Face-SPARNet checkpoint "
            "(<i>SPARNetHD_V4_Attn2D_net_H-epoch10.pth</i> and the others from the "
            "Face-SPARNet release) with the button below, or train your own with "
            "<code>revive train</code>."
        )
        self.empty_label.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)

        self.import_button = QPushButton("Import Face-SPARNet checkpoint…")
        self.verify_button = QPushButton("Verify all")
        self.folder_button = QPushButton("Open weights folder")
        self.import_button.clicked.connect(self.import_dialog)
        self.verify_button.clicked.connect(self.verify)
        self.folder_button.clicked.connect(self._open_folder)
        buttons = QHBoxLayout()
        for button in (self.import_button, self.verify_button, self.folder_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        buttons.addWidget(close)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.card)
        split.setSizes([520, 380])
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty_label)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    # --- worker round trips ------------------------------------------------------------
    def refresh(self, verify: bool = False) -> None:
        self.status.setText("Checking weights…" if verify else "Reading installed weights…")
        self.verify_button.setEnabled(False)
        self.jobs.submit(
            "models",
            lambda ctx: calls.list_models(verify=verify),
            on_result=lambda rows: self._show_rows(rows, verify),
            on_error=self._failed,
        )

    def verify(self) -> None:
        self.refresh(verify=True)

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Import a Face-SPARNet checkpoint",
            self.settings.last_folder,
            "PyTorch checkpoints (*.pth *.pt);;All files (*)",
        )
        if path:
            self.import_checkpoint(Path(path))

    def import_checkpoint(self, path: Path) -> None:
        self.status.setText(f"Importing {path.name}…")
        self.import_button.setEnabled(False)
        self.jobs.submit(
            "import",
            lambda ctx: calls.import_checkpoint(path),
            label=f"Importing {path.name}",
            on_result=self._imported,
            on_error=self._failed,
        )

    def _imported(self, info: WeightsInfo) -> None:
        self.import_button.setEnabled(True)
        self.status.setText(f"Imported {info.name} ({info.preset}).")
        self.weightsChanged.emit()
        self.refresh()

    def _failed(self, message: str) -> None:
        self.import_button.setEnabled(True)
        self.verify_button.setEnabled(True)
        self.status.setText(message)
        self.failed.emit(message)

    # --- display -----------------------------------------------------------------------
    def _show_rows(self, rows: list[calls.ModelRow], verified: bool) -> None:
        self.rows = rows
        self.verify_button.setEnabled(True)
        self.empty_label.setVisible(not rows)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            info = row.info
            check = (
                "not checked" if row.problems is None else ("ok" if not row.problems else "DAMAGED")
            )
            cells = (
                info.name,
                info.preset,
                row.kind.label if row.kind is not None else "?",
                info.dtype,
                human_size(info.total_bytes),
                info.source,
                check,
            )
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        if rows:
            self.table.selectRow(0)
        else:
            self.card.clear()
        if verified:
            bad = sum(bool(r.problems) for r in rows)
            self.status.setText(
                f"{len(rows)} weight set(s) checked: "
                + ("all fine." if not bad else f"{bad} damaged (re-import or re-train them).")
            )
        else:
            self.status.setText(
                f"{len(rows)} weight set(s) installed. Your folder: {user_weights_dir()}"
            )

    def _show_card(self) -> None:
        selected = self.table.selectionModel().selectedRows()
        if selected and selected[0].row() < len(self.rows):
            self.card.setHtml(card_html(self.rows[selected[0].row()]))

    def _open_folder(self) -> None:
        folder = user_weights_dir()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
