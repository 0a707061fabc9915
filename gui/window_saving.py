"""Save, Save As, batch export and attention-grid export for the main window.

Every write happens on the worker thread through ``engine.io.save_photo``; the
original is replaced only after ``export.confirm_replace_original`` says yes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog

from . import engine_calls as calls
from . import export
from .export import ExportChoice
from .photo_queue import PhotoEntry
from .worker import Job


class SavingMixin:
    """Save / Save As / Export All; the faces as they stand now are what gets written."""

    def _save_snapshot(self, entry: PhotoEntry):
        fresh = entry.image_generation == entry.generation
        return entry.photo, entry.result, fresh

    def save_current(self) -> None:
        """Save beside the original as ``<name>_revived.<ext>`` (Save As for a sample)."""
        entry = self.current
        if entry is None or entry.result is None:
            return
        if entry.path is None:
            self.save_current_as()
            return
        fmt = self.settings.export_format or None
        target = calls.default_output_path(entry.path, fmt)
        self._save(entry, target, fmt, self.settings.export_quality, replace_original=False)

    def save_current_as(self) -> None:
        entry = self.current
        if entry is None or entry.result is None:
            return
        fmt = self.settings.export_format or None
        suggestion = calls.default_output_path(
            entry.path, fmt, None if entry.path else self.settings.last_folder
        )
        choice = export.ask_save_as(self, suggestion, self.settings)
        if choice is None:
            return
        replace = False
        if entry.path is not None and _same_path(choice.path, entry.path):
            if not export.confirm_replace_original(self, entry.path):
                return
            replace = True
        self._save(entry, choice.path, choice.format, choice.quality, replace_original=replace)

    def _save(
        self,
        entry: PhotoEntry,
        target: Path,
        fmt: str | None,
        quality: int,
        replace_original: bool,
    ) -> Job:
        photo, result, fresh = self._save_snapshot(entry)

        def run(ctx) -> Path:
            return calls.save(
                ctx.restorer(), photo, result, target, fmt, quality, fresh, replace_original
            )

        def saved(job: Job, path: Path) -> None:
            entry.saved_to = Path(path)
            self.set_status(f"Saved {path}")

        return self.submit(
            "save",
            run,
            label=f"Saving {target.name}",
            payload=entry,
            on_result=saved,
        )

    def export_all(self) -> None:
        entries = [e for e in self.queue.entries if e.status != "error"]
        if not entries:
            return
        choice = export.ask_batch_export(self, self.settings, len(entries))
        if choice is None:
            return
        self.start_batch_export(entries, choice)

    def start_batch_export(self, entries: list[PhotoEntry], choice: ExportChoice) -> Job:
        items = []
        for e in entries:
            photo, result, fresh = self._save_snapshot(e)
            items.append((e.name, e.path, photo, result, fresh))
        options, folder = self.restore_options(), choice.path

        def run(ctx) -> Any:
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

        return self.submit(
            "batch",
            run,
            label="Export",
            busy=True,
            on_result=lambda job, outcome: self._on_batch_done(outcome, folder),
        )

    def _on_batch_done(self, outcome: Any, folder: Path) -> None:
        lines = [f"{len(outcome.saved)} photo(s) saved in {folder}."]
        if outcome.cancelled:
            lines.append("The export was cancelled before the end.")
        if outcome.failed:
            lines.append(f"{len(outcome.failed)} photo(s) failed:")
            lines.extend(f"• {name}: {message}" for name, message in outcome.failed[:10])
        self.set_status(lines[0])
        if outcome.failed:
            self.show_error("\n".join(lines), "Export")
        else:
            self.show_info("<br>".join(lines), "Export")

    def export_attention_grid(self) -> None:
        face = self.inspector.face
        if face is None:
            return
        stem = self.current.path.stem if self.current and self.current.path else "sample"
        suggestion = Path(self.settings.last_folder) / f"{stem}_face{face.index + 1}_attention.png"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export attention maps", str(suggestion), "PNG image (*.png)"
        )
        if path:
            try:
                written = self.inspector.export_png(path)
            except OSError as err:
                self.show_error(f"Could not export the attention maps: {err}")
            else:
                self.set_status(f"Saved {written}")


def _same_path(a: Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False
