"""Models ▸ Manage Models: the installed models, and the ones Revive can download.

Two tabs. *Installed*: each weight set by the name a photographer reads ("SPARNetHD,
2D attention"), what it does, its size and whether its files check out, with its model
card in plain words beside it; import a released Face-SPARNet checkpoint, verify.
*Download*: the catalogue (``resources/models.json``): what each model is, its size and
licence, where it comes from; **Download** fetches it with a progress bar (resumes
after Cancel or a lost connection), checks it and installs it, and the window can
restore at once. Listing, importing and verifying run on the window's worker; downloads
on a worker of their own (``downloads``), so restoring goes on meanwhile. What failed
goes out through ``failed`` (the window shows it in a dialog).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from engine.model_card_words import card_summary, without_paths
from engine.models.presets import preset_label, weights_label
from engine.paths import user_weights_dir
from engine.progress import ProgressEvent
from engine.weights import human_size

from . import engine_calls as calls
from .jobs import JobRunner
from .progress_text import OverallProgress
from .settings import Settings
from .worker import Job

if TYPE_CHECKING:
    from engine.catalogue import CatalogueEntry
    from engine.weights import WeightsInfo

COLUMNS = ("Model", "What it does", "Size", "Files")
DOWNLOAD_COLUMNS = ("Model", "Size", "Licence", "Status")
NO_RESTORER = (
    "<b>No face-restoration model is installed.</b> Pick one under <i>Download</i> "
    "and press <b>Download</b>: Revive fetches it, checks it and installs it."
)
CARD_WORDS = {
    "source": "File it came from",
    "source_sha256": "That file's sha256",
    "data": "Trained on",
    "licence": "Licence",
    "license": "Licence",
    "notes": "Notes",
    "downloaded_from": "Downloaded from",
    "steps": "Training steps",
    "metrics": "Measured quality",
    "trainer": "Trained by",
}
_HEX = re.compile(r"^[0-9a-f]{40,}$")


def _words(key: str) -> str:
    return CARD_WORDS.get(key, key.replace("_", " ").capitalize())


def _value_html(value: Any, depth: int = 0) -> str:
    """A model-card value as text a person reads (nested tables and lists flattened)."""
    if isinstance(value, dict):
        if depth >= 2:
            return html.escape(", ".join(f"{_words(str(k))} {v}" for k, v in value.items()))
        items = "".join(
            f"<li>{html.escape(_words(str(k)))}: {_value_html(v, depth + 1)}</li>"
            for k, v in value.items()
        )
        return f"<ul style='margin:0'>{items}</ul>"
    if isinstance(value, (list, tuple)):
        return html.escape(", ".join(str(v) for v in value))
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    if _HEX.match(text):  # a checksum: the start says enough
        return f"<code>{text[:12]}…</code>"
    if text.startswith(("http://", "https://")):
        safe = html.escape(text, quote=True)
        return f"<a href='{safe}'>{safe}</a>"
    return html.escape(text)


def card_html(row: calls.ModelRow) -> str:
    """A weight set's model card as readable HTML (no raw dictionaries)."""
    info = row.info
    title = weights_label(info.name, info.preset)
    kind = row.kind.purpose if row.kind is not None else "unknown kind of model"
    lines = [f"<h3>{html.escape(title)}</h3>"]
    if (own := info.card.get("title")) and own != title:
        lines.append(f"<p><i>{html.escape(str(own))}</i></p>")
    lines += [
        f"<p>{html.escape(row.description or '')}</p>",
        f"<p><b>What it does:</b> {html.escape(kind)}<br>"
        f"<b>Size:</b> {human_size(info.total_bytes)} in {len(info.files)} file(s), "
        f"{html.escape(info.dtype)}<br>"
        f"<b>Name:</b> {html.escape(info.name)} (model {html.escape(info.preset)})</p>",
    ]
    summary = card_summary(info.card)
    if summary:
        rows = "".join(
            f"<tr><td valign=top><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
            for k, v in summary
        )
        lines.append(f"<table cellspacing=4>{rows}</table><p><b>Details</b></p>")
    card = without_paths({k: v for k, v in info.card.items() if k != "title"})
    if card:
        items = "".join(
            f"<tr><td valign=top><b>{html.escape(_words(str(k)))}</b></td>"
            f"<td>{_value_html(v)}</td></tr>"
            for k, v in card.items()
        )
        lines.append(f"<table cellspacing=4>{items}</table>")
    else:
        lines.append("<p><i>This weight set has no model card.</i></p>")
    if row.problems:
        lines.append(
            "<p><b>Its files are damaged:</b><br>"
            + "<br>".join(html.escape(p) for p in row.problems)
            + "<br>Download or import it again.</p>"
        )
    lines.append(f"<p><small>{html.escape(str(info.manifest))}</small></p>")
    return "".join(lines)


def entry_html(entry: CatalogueEntry, installed: bool) -> str:
    """A catalogue model for the Download tab."""
    source = html.escape(entry.source, quote=True)
    state = "Installed." if installed else "Not installed."
    return (
        f"<h3>{html.escape(entry.title)}</h3>"
        f"<p>{html.escape(entry.description)}</p>"
        f"<p><b>Download:</b> {html.escape(entry.size_text())} · {state}<br>"
        f"<b>Licence:</b> {html.escape(entry.licence)}<br>"
        f"<b>From:</b> <a href='{source}'>{source}</a><br>"
        f"<b>Checked by:</b> {html.escape(entry.checked_by)}</p>"
        + (f"<p><i>{html.escape(entry.notes)}</i></p>" if entry.notes else "")
        + f"<p><small>Name for the command line: <code>revive models download "
        f"{html.escape(entry.name)}</code></small></p>"
    )


def _table(columns: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(True)
    table.verticalHeader().hide()
    header = table.horizontalHeader()
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # names never cut off
    for column in range(1, len(columns)):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
    return table


class ModelManagerDialog(QDialog):
    """Installed models (import, verify) and the catalogue (download)."""

    weightsChanged = Signal()
    failed = Signal(str)  # what went wrong, for an error dialog

    def __init__(
        self,
        jobs: JobRunner,
        settings: Settings,
        parent: QWidget | None = None,
        downloads: JobRunner | None = None,
    ) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.downloads = downloads if downloads is not None else JobRunner()
        if self.downloads.parent() is None:
            self.downloads.setParent(self)  # its worker thread ends with the dialog
        self.settings = settings
        self.setWindowTitle("Models")
        self.resize(920, 540)
        self.rows: list[calls.ModelRow] = []
        self.available: calls.Available | None = None
        self.download_job: Job | None = None
        self._tracker: OverallProgress | None = None

        self.empty_label = QLabel(NO_RESTORER)
        self.empty_label.setWordWrap(True)
        self.empty_label.hide()
        self.tabs = QTabWidget()
        self.tabs.addTab(self._installed_tab(), "Installed")
        self.tabs.addTab(self._download_tab(), "Download")
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(close)

    def _installed_tab(self) -> QWidget:
        self.table = _table(COLUMNS)
        self.table.itemSelectionChanged.connect(self._show_card)
        self.card = QTextBrowser()
        self.card.setOpenExternalLinks(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.import_button = QPushButton("Import a checkpoint…")
        self.import_button.setToolTip(
            "A released Face-SPARNet .pth file you downloaded yourself (e.g. "
            "SPARNetHD_V4_Attn2D_net_H-epoch10.pth)"
        )
        self.verify_button = QPushButton("Check all files")
        self.verify_button.setToolTip("Compare every file's sha256 with the one it was saved with")
        self.folder_button = QPushButton("Open models folder")
        self.import_button.clicked.connect(self.import_dialog)
        self.verify_button.clicked.connect(self.verify)
        self.folder_button.clicked.connect(self._open_folder)
        buttons = QHBoxLayout()
        for button in (self.import_button, self.verify_button, self.folder_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.card)
        split.setSizes([480, 400])
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        return tab

    def _download_tab(self) -> QWidget:
        self.catalogue_table = _table(DOWNLOAD_COLUMNS)
        self.catalogue_table.itemSelectionChanged.connect(self._show_entry)
        self.entry_card = QTextBrowser()
        self.entry_card.setOpenExternalLinks(True)
        self.download_button = QPushButton("Download")
        self.download_button.setEnabled(False)
        self.download_button.clicked.connect(self.download_selected)
        self.cancel_download_button = QPushButton("Cancel")
        self.cancel_download_button.setToolTip("Stop; what arrived is kept and Download resumes")
        self.cancel_download_button.clicked.connect(self.cancel_download)
        self.cancel_download_button.hide()
        self.download_progress = QProgressBar()
        self.download_progress.setRange(0, 100)
        self.download_progress.setFormat("%p%")
        self.download_progress.hide()
        self.download_status = QLabel()
        self.download_status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.download_button)
        row.addWidget(self.download_progress, 1)
        row.addWidget(self.cancel_download_button)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.catalogue_table)
        split.addWidget(self.entry_card)
        split.setSizes([540, 360])
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(split, 1)
        layout.addWidget(self.download_status)
        layout.addLayout(row)
        return tab

    def show_downloads(self) -> None:
        self.tabs.setCurrentIndex(1)

    def set_has_restorer(self, has: bool | None) -> None:
        self.empty_label.setVisible(has is False)

    # --- worker round trips ------------------------------------------------------------
    def refresh(self, verify: bool = False) -> None:
        self.status.setText("Checking every file…" if verify else "Reading installed models…")
        self.verify_button.setEnabled(False)
        self.jobs.submit(
            "models",
            lambda ctx: calls.list_models(verify=verify),
            on_result=lambda rows: self._show_rows(rows, verify),
            on_error=self._failed,
        )
        self.jobs.submit(
            "catalogue",
            lambda ctx: calls.available_models(),
            on_result=self._show_catalogue,
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
        self.status.setText(f"Imported {weights_label(info.name, info.preset)}.")
        self.weightsChanged.emit()
        self.refresh()

    def _failed(self, message: str) -> None:
        self.import_button.setEnabled(True)
        self.verify_button.setEnabled(True)
        self.status.setText(message)
        self.failed.emit(message)

    # --- downloads -----------------------------------------------------------------------
    def selected_entry(self) -> CatalogueEntry | None:
        if self.available is None:
            return None
        rows = self.catalogue_table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.available.entries):
            return None
        return self.available.entries[rows[0].row()]

    def download_selected(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            self.download(entry.name)

    def download(self, name: str) -> Job | None:
        """Download, check and install catalogue model ``name`` on the downloads worker."""
        if self.download_job is not None:
            return None
        self._tracker = OverallProgress()
        self.download_status.setText(f"Connecting for {name}…")
        self.download_progress.setValue(0)
        self.download_progress.show()
        self.cancel_download_button.show()
        self.download_button.setEnabled(False)
        job = self.downloads.submit(
            "download",
            lambda ctx: calls.download_model(name, ctx.progress, ctx.cancel),
            label=f"Downloading {name}",
            busy=True,
            on_progress=self._on_download_progress,
            on_result=self._downloaded,
            on_error=self._download_failed,
            on_cancelled=lambda: self._download_ended(
                "Download stopped; what arrived is kept: Download continues from there."
            ),
            on_done=self._download_done,
        )
        self.download_job = job
        return job

    def cancel_download(self) -> None:
        if self.download_job is not None:
            self.download_job.cancel.cancel()

    def _on_download_progress(self, event: object) -> None:
        if not isinstance(event, ProgressEvent) or self._tracker is None:
            return
        shown = self._tracker.update(event)
        self.download_progress.setValue(shown.percent)
        if event.stage == "download" and event.total:
            text = f"{event.done / 1e6:.1f} of {event.total / 1e6:.1f} MB"
            if shown.remaining_s is not None:
                text = f"{text} · {shown.line().rpartition(' · ')[2]}"
            self.download_status.setText(f"Downloading {event.message}: {text}")
        elif event.stage == "download":
            self.download_status.setText(f"Downloading {event.message}: {event.done / 1e6:.1f} MB")
        else:
            self.download_status.setText(shown.text)

    def _downloaded(self, info: WeightsInfo) -> None:
        self._download_ended(
            f"Installed {weights_label(info.name, info.preset)}: it restores photos now."
        )
        self.weightsChanged.emit()
        self.refresh()

    def _download_failed(self, message: str) -> None:
        self._download_ended(message)
        self.failed.emit(message)

    def _download_ended(self, text: str) -> None:
        self.download_status.setText(text)
        self.download_progress.hide()
        self.cancel_download_button.hide()

    def _download_done(self) -> None:
        self.download_job = None
        self._tracker = None
        self._show_entry()

    # --- display -----------------------------------------------------------------------
    def _show_rows(self, rows: list[calls.ModelRow], verified: bool) -> None:
        self.rows = rows
        self.verify_button.setEnabled(True)
        self.set_has_restorer(calls.has_restoration_weights(rows))
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            info = row.info
            check = (
                "not checked"
                if row.problems is None
                else ("fine" if not row.problems else "DAMAGED")
            )
            cells = (
                weights_label(info.name, info.preset),
                row.kind.purpose if row.kind is not None else "?",
                human_size(info.total_bytes),
                check,
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{info.name} ({info.preset})" if c == 0 else text)
                self.table.setItem(r, c, item)
        self.table.resizeRowsToContents()
        if rows:
            self.table.selectRow(0)
        else:
            self.card.clear()
        if verified:
            bad = sum(bool(r.problems) for r in rows)
            self.status.setText(
                f"{len(rows)} model(s) checked: "
                + ("every file is fine." if not bad else f"{bad} damaged (download them again).")
            )
        else:
            self.status.setText(
                f"{len(rows)} model(s) installed. Your models folder: {user_weights_dir()}"
            )

    def _show_card(self) -> None:
        selected = self.table.selectionModel().selectedRows()
        if selected and selected[0].row() < len(self.rows):
            self.card.setHtml(card_html(self.rows[selected[0].row()]))

    def _show_catalogue(self, available: calls.Available) -> None:
        keep = self.selected_entry()
        self.available = available
        table = self.catalogue_table
        table.setRowCount(len(available.entries))
        for r, entry in enumerate(available.entries):
            status = "Installed" if entry.name in available.installed else "Not installed"
            licence = entry.licence.split(" (")[0]  # the whole of it: tooltip and card
            cells = (preset_label(entry.preset), entry.size_text(), licence, status)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(entry.title if c == 0 else entry.licence if c == 2 else text)
                table.setItem(r, c, item)
        table.resizeRowsToContents()
        if available.problem:
            self.download_status.setText(available.problem)
        names = [e.name for e in available.entries]
        if keep is not None and keep.name in names:
            table.selectRow(names.index(keep.name))
        elif available.entries:
            first_missing = next(
                (i for i, e in enumerate(available.entries) if e.name not in available.installed),
                0,
            )
            table.selectRow(first_missing)
        self._show_entry()

    def _show_entry(self) -> None:
        entry = self.selected_entry()
        installed = (
            self.available is not None
            and entry is not None
            and (entry.name in self.available.installed)
        )
        if entry is None:
            self.entry_card.clear()
            self.download_button.setEnabled(False)
            return
        self.entry_card.setHtml(entry_html(entry, installed))
        busy = self.download_job is not None
        self.download_button.setEnabled(not busy and not installed)
        self.download_button.setText("Installed" if installed else f"Download {entry.size_text()}")

    def _open_folder(self) -> None:
        folder = user_weights_dir()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def shutdown(self) -> None:
        """A download stops (its part file stays for the next try); its thread ends."""
        if self.download_job is not None:
            self.download_job.cancel.cancel()
        self.downloads.shutdown(timeout_ms=30_000)
