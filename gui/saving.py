"""Save, Save As, Export All and the attention-grid export.

Every write happens on the worker thread through ``engine.io.save_photo`` (one photo)
or ``engine.batch`` (Export All); the faces as they stand now are what gets written
(re-pasted first if a change is still on its way). The original is replaced only
after ``export.confirm_replace_original`` says yes. Save never writes over an earlier
result either: when ``<name>_revived.<ext>`` exists, the new one is
``<name>_revived-2.<ext>`` and the status bar says so. Export All's report names every
photo it did not save, and why (failed, could not be opened, cancelled).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
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
        wanted = calls.default_output_path(entry.path, fmt)
        target = free_path(wanted)
        note = f" ({wanted.name} already exists and was kept)" if target != wanted else ""
        self.save(
            entry, target, fmt, self.settings.export_quality, replace_original=False, note=note
        )

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
        note: str = "",
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
            self.status.set_status(f"Saved {path}{note}")

        return self.jobs.submit(
            "save",
            run,
            label=f"Saving {target.name}",
            on_result=saved,
            on_error=lambda message: self._error(f"Not saved: {message}"),
        )

    def export_all(self) -> None:
        entries = self.photos.exportable()
        if not entries:
            self.messages.error("No photo can be exported: none of them could be opened.")
            return
        choice = export.ask_batch_export(self.dialog_parent, self.settings, len(entries))
        if choice is None:
            return
        self.start_batch_export(entries, choice)

    def start_batch_export(self, entries: list[Entry], choice: ExportChoice) -> Job:
        skipped = [e for e in self.photos.entries if all(e is not x for x in entries)]
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
            on_result=lambda outcome: self._on_batch_done(outcome, folder, skipped),
            on_error=lambda message: self._error(f"Export stopped: {message}", "Export"),
        )

    def _on_batch_done(self, outcome: BatchOutcome, folder: Path, skipped: list[Entry]) -> None:
        report = export_report(outcome, folder, [(e.name, e.detail) for e in skipped])
        self.status.set_status(report.summary)
        if report.problems:
            self.messages.error(report.text(), "Export")
        else:
            self.messages.info(html.escape(report.text()).replace("\n", "<br>"), "Export")

    def _error(self, message: str, title: str = "Revive") -> None:
        self.messages.error(message, title)

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


def free_path(target: Path) -> Path:
    """``target``, or ``<stem>-2<suffix>``, ``-3``, ... when it exists (never overwrite)."""
    from engine.io.paths import numbered

    candidate, n = target, 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = numbered(target, n)
    return candidate


@dataclass
class ExportReport:
    """What Export All did with every photo of the list."""

    summary: str  # the first line, also the status bar's
    lines: list[str]
    problems: bool  # something was not saved

    def text(self) -> str:
        return "\n".join([self.summary, *self.lines])


def export_report(
    outcome: BatchOutcome, folder: Path, skipped: list[tuple[str, str]]
) -> ExportReport:
    """Saved, failed, skipped (could not be opened) and not reached (cancelled), by name."""
    saved = [p for p in outcome.photos if p.status == "ok"]
    failed = [p for p in outcome.photos if p.status == "error"]
    not_reached = [p for p in outcome.photos if p.status in ("cancelled", "pending")]
    total = len(outcome.photos) + len(skipped)
    summary = f"{len(saved)} of {total} photo(s) saved in {folder}."
    lines = []
    no_face = [p for p in saved if p.result is not None and not p.result.faces]
    if no_face:
        names = ", ".join(p.item.name for p in no_face)
        lines.append(f"No face found in {len(no_face)} of them (only enlarged): {names}.")
    renamed = [p for p in saved if p.note]
    lines.extend(f"• {p.item.name}: {p.note}" for p in renamed)
    if failed:
        lines.append(f"{len(failed)} failed:")
        lines.extend(f"• {p.error}" for p in failed)
    if skipped:
        lines.append(f"{len(skipped)} skipped (could not be opened):")
        lines.extend(f"• {name}: {detail}" if detail else f"• {name}" for name, detail in skipped)
    if not_reached:
        lines.append(f"{len(not_reached)} not saved: the export was cancelled before them:")
        lines.extend(f"• {p.item.name}" for p in not_reached)
    elif outcome.cancelled:
        lines.append("The export was cancelled.")
    problems = bool(failed or skipped or not_reached or outcome.cancelled)
    return ExportReport(summary, lines, problems)


def _same_path(a: Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False
