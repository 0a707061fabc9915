"""Save, Save As, Export All and the attention-grid export.

Every write happens on the worker thread through ``engine.io.save_photo`` (one photo)
or ``engine.batch`` (Export All); the faces as they stand now are what gets written
(re-pasted first if a change is still on its way). The original is replaced only
after ``export.confirm_replace_original`` says yes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QWidget

from engine.options import RestoreOptions

from . import engine_calls as calls
from . import export
from .attention_inspector import AttentionInspector
from .export import ExportChoice
from .jobs import JobRunner
from .messages import Messages
from .photo_controller import PhotoController, PhotoEntry
from .settings import Settings
from .status_panel import StatusPanel
from .worker import Job, JobContext

if TYPE_CHECKING:
    from engine.batch import BatchOutcome

Entry = PhotoEntry[QImage]


class Saving(QObject):
    """Writes restored photos; owns no state beyond its collaborators."""

    def __init__(
        self,
        window: QWidget,
        jobs: JobRunner,
        photos: PhotoController[QImage],
        settings: Settings,
        options: Callable[[], RestoreOptions],
        status: StatusPanel,
        messages: Messages,
        inspector: AttentionInspector,
    ) -> None:
        super().__init__(window)
        self.dialog_parent = window
        self.jobs = jobs
        self.photos = photos
        self.settings = settings
        self.options = options
        self.status = status
        self.messages = messages
        self.inspector = inspector

    def save_current(self) -> None:
        """Save beside the original as ``<name>_revived.<ext>`` (Save As for a sample)."""
        entry = self.photos.current
        if entry is None or entry.result is None:
            return
        if entry.path is None:
            self.save_current_as()
            return
        fmt = self.settings.export_format or None
        target = calls.default_output_path(entry.path, fmt)
        self.save(entry, target, fmt, self.settings.export_quality, replace_original=False)

    def save_current_as(self) -> None:
        entry = self.photos.current
        if entry is None or entry.result is None:
            return
        fmt = self.settings.export_format or None
        suggestion = calls.default_output_path(
            entry.path, fmt, None if entry.path else self.settings.last_folder
        )
        choice = export.ask_save_as(self.dialog_parent, suggestion, self.settings)
        if choice is None:
            return
        replace = False
        if entry.path is not None and _same_path(choice.path, entry.path):
            if not export.confirm_replace_original(self.dialog_parent, entry.path):
                return
            replace = True
        self.save(entry, choice.path, choice.format, choice.quality, replace_original=replace)

    def save(
        self,
        entry: Entry,
        target: Path,
        fmt: str | None,
        quality: int,
        replace_original: bool,
    ) -> Job | None:
        photo, result, fresh = entry.photo, entry.result, entry.fresh
        if photo is None or result is None:
            return None

        def run(ctx: JobContext) -> Path:
            return calls.save(
                ctx.restorer(), photo, result, target, fmt, quality, fresh, replace_original
            )

        def saved(path: Path) -> None:
            self.photos.saved(entry, path)
            self.status.set_status(f"Saved {path}")

        return self.jobs.submit("save", run, label=f"Saving {target.name}", on_result=saved)

    def export_all(self) -> None:
        entries = self.photos.exportable()
        if not entries:
            return
        choice = export.ask_batch_export(self.dialog_parent, self.settings, len(entries))
        if choice is None:
            return
        self.start_batch_export(entries, choice)

    def start_batch_export(self, entries: list[Entry], choice: ExportChoice) -> Job:
        items: list[calls.ExportItem] = [
            (e.name, e.path, e.photo, e.result, e.fresh) for e in entries
        ]
        options, folder = self.options(), choice.path

        def run(ctx: JobContext) -> BatchOutcome:
            return calls.batch_export(
                ctx.restorer(),
                items,
                options,
                folder,
                choice.format,
                choice.quality,
                ctx.progress,
                ctx.cancel,
            )

        return self.jobs.submit(
            "batch",
            run,
            label="Export",
            busy=True,
            on_result=lambda outcome: self._on_batch_done(outcome, folder),
        )

    def _on_batch_done(self, outcome: BatchOutcome, folder: Path) -> None:
        lines = [f"{len(outcome.saved)} photo(s) saved in {folder}."]
        if outcome.cancelled:
            lines.append("The export was cancelled before the end.")
        if outcome.failed:
            lines.append(f"{len(outcome.failed)} photo(s) failed:")
            lines.extend(f"• {name}: {message}" for name, message in outcome.failed[:10])
        self.status.set_status(lines[0])
        if outcome.failed:
            self.messages.error("\n".join(lines), "Export")
        else:
            self.messages.info("<br>".join(lines), "Export")

    def export_attention_grid(self) -> None:
        face = self.inspector.face
        if face is None:
            return
        current = self.photos.current
        stem = current.path.stem if current is not None and current.path else "sample"
        suggestion = Path(self.settings.last_folder) / f"{stem}_face{face.index + 1}_attention.png"
        path, _ = QFileDialog.getSaveFileName(
            self.dialog_parent, "Export attention maps", str(suggestion), "PNG image (*.png)"
        )
        if path:
            try:
                written = self.inspector.export_png(path)
            except OSError as err:
                self.messages.error(f"Could not export the attention maps: {err}")
            else:
                self.status.set_status(f"Saved {written}")


def _same_path(a: Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False
