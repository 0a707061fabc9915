"""Save / Save As / batch export dialogs: where, which format, which quality.

The writing itself is ``engine.io.save_photo`` on the worker thread (atomic, keeps
EXIF / ICC / XMP, refuses to write over an input). Replacing an original needs an
explicit "Replace the original" answer in ``confirm_replace_original`` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QWidget,
)

from engine.io.formats import BY_NAME, WRITABLE, dialog_filter, format_for_suffix

from .settings import FORMAT_CHOICES, Settings


@dataclass(frozen=True)
class ExportChoice:
    """Where (a file for Save As, a folder for batch export), format ("" = as the original)."""

    path: Path
    format: str | None
    quality: int


class ExportDialog(QDialog):
    """One dialog for both Save As (``folder=False``) and batch export (``folder=True``)."""

    def __init__(
        self,
        parent: QWidget | None,
        settings: Settings,
        suggestion: Path,
        folder: bool,
        count: int = 1,
    ) -> None:
        super().__init__(parent)
        self.folder = folder
        self.setWindowTitle("Export all photos" if folder else "Save restored photo as")
        self.path_edit = QLineEdit(str(suggestion))
        # Room for a whole path: the name at the end must never be cut off.
        metrics = self.path_edit.fontMetrics()
        self.path_edit.setMinimumWidth(
            min(900, max(420, metrics.horizontalAdvance(str(suggestion)) + 24))
        )
        self.path_edit.setCursorPosition(len(str(suggestion)))  # the name shows, not the root
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        self.format_combo = QComboBox()
        for value, text in FORMAT_CHOICES:
            self.format_combo.addItem(text, value)
        self.format_combo.setCurrentIndex(
            max(0, self.format_combo.findData(settings.export_format))
        )
        self.quality_spin = QSpinBox()
        self.quality_spin.setRange(1, 100)
        self.quality_spin.setValue(settings.export_quality)
        self.quality_spin.setSuffix(" %")
        self.quality_spin.setToolTip(
            "JPEG / WebP quality (other formats are lossless; for a batch kept in each "
            "photo's own format it applies to the JPEG and WebP ones)"
        )
        form = QFormLayout(self)
        self.form = form
        if folder:
            form.addRow(QLabel(f"{count} photo(s) will be restored if needed and saved."))
        form.addRow("Folder" if folder else "File", path_row)
        form.addRow("Format", self.format_combo)
        form.addRow("Quality", self.quality_spin)
        note = QLabel("Date taken, camera data and colour profile are kept.")
        note.setEnabled(False)
        form.addRow(note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.format_combo.currentIndexChanged.connect(self._on_format)
        self.path_edit.textChanged.connect(self._show_quality)
        self._on_format()
        self.path_edit.setCursorPosition(len(self.path_edit.text()))

    def written_format(self) -> str | None:
        """The format the file will have (Save As: the chosen one, else its name's);
        None: not known here (a batch kept in each photo's own format)."""
        fmt = self.format_combo.currentData() or None
        if fmt or self.folder:
            return fmt
        return format_for_suffix(Path(self.path_edit.text()).suffix)

    def _show_quality(self) -> None:
        """Quality only where it means something: JPEG / WebP (or a batch that may hold some)."""
        row = BY_NAME.get(self.written_format() or "")
        lossy = row is None or row.lossy
        self.quality_spin.setEnabled(lossy)
        self.form.setRowVisible(self.quality_spin, lossy)

    def _on_format(self) -> None:
        fmt = self.format_combo.currentData()
        row = BY_NAME.get(fmt or "")
        self._show_quality()
        if not self.folder and row is not None:
            path = Path(self.path_edit.text())
            if path.suffix.lower() not in row.suffixes:
                self.path_edit.setText(str(path.with_suffix(row.suffix)))

    def _browse(self) -> None:
        current = self.path_edit.text()
        if self.folder:
            chosen = QFileDialog.getExistingDirectory(self, "Export into folder", current)
        else:
            chosen, _ = QFileDialog.getSaveFileName(
                self,
                "Save restored photo as",
                current,
                dialog_filter(WRITABLE),
                options=QFileDialog.Option.DontConfirmOverwrite,
            )
        if chosen:
            self.path_edit.setText(chosen)

    def choice(self) -> ExportChoice:
        return ExportChoice(
            Path(self.path_edit.text()).expanduser(),
            self.format_combo.currentData() or None,
            self.quality_spin.value(),
        )

    def remember(self, settings: Settings) -> None:
        settings.export_format = self.format_combo.currentData() or ""
        settings.export_quality = self.quality_spin.value()
        path = Path(self.path_edit.text())
        if self.folder:
            settings.export_folder = str(path)
        else:
            settings.last_folder = str(path.parent)


def ask_save_as(parent: QWidget, suggestion: Path, settings: Settings) -> ExportChoice | None:
    dialog = ExportDialog(parent, settings, suggestion, folder=False)
    while dialog.exec() == QDialog.DialogCode.Accepted:
        choice = dialog.choice()
        if choice.path.is_dir():
            QMessageBox.warning(dialog, "Save As", f"{choice.path} is a folder; name a file.")
            continue
        if (
            choice.path.exists()
            and QMessageBox.question(
                dialog,
                "Save As",
                f"{choice.path.name} already exists. Replace it?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            != QMessageBox.StandardButton.Yes
        ):
            continue
        dialog.remember(settings)
        return choice
    return None


def ask_batch_export(parent: QWidget, settings: Settings, count: int) -> ExportChoice | None:
    suggestion = Path(settings.export_folder or settings.last_folder)
    dialog = ExportDialog(parent, settings, suggestion, folder=True, count=count)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    dialog.remember(settings)
    return dialog.choice()


def confirm_replace_original(parent: QWidget, original: Path) -> bool:
    """Ask, defaulting to No, before the restored photo replaces the original file."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Replace the original?")
    box.setText(f"“{original.name}” is the original photo.")
    box.setInformativeText(
        "Saving here replaces the original with the restored version. This cannot be undone."
    )
    replace = box.addButton("Replace the original", QMessageBox.ButtonRole.DestructiveRole)
    keep = box.addButton("Keep the original", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.exec()
    return box.clickedButton() is replace
