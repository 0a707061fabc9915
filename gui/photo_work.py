"""The work done on photos: open, load, find faces, restore, re-paste and re-run faces, the sample.

``PhotoWork`` sends each step to the engine worker through the ``JobRunner`` and
records its answer in the ``PhotoController``, with the ticket the controller gave
for it, so that an answer for a photo removed since, or for faces changed since,
is dropped. It touches no widget and tells no panel: the controller tells every
change to the window's parts (``gui.photo_changes``); it puts words in the status bar
and errors in a dialog. Faces are found (MTCNN, no restoration model needed) for the photo
shown while it is not restored, so the faces panel can show them before Restore, and
with no model installed at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QImage

from engine.errors import ReviveError
from engine.io.formats import READS
from engine.options import RestoreOptions
from engine.results import RestoreResult

from . import engine_calls as calls
from .jobs import JobRunner
from .messages import Messages
from .photo_controller import PhotoController, PhotoEntry, PhotoStatus, Ticket
from .settings import Settings
from .status_panel import StatusPanel
from .worker import Job, JobContext

Entry = PhotoEntry[QImage]

NO_WEIGHTS_FOR_SAMPLE = (
    "Try a sample restores a photo, which needs a face-restoration model. Download one "
    "first: Models ▸ Manage Models… ▸ Download."
)


_BUSY = (PhotoStatus.QUEUED, PhotoStatus.RESTORING)


def device_words(device: str) -> str:
    """``cpu`` / ``cuda:0 (fp16)`` / ``mps`` as the status bar says them."""
    kind, _, rest = device.partition(":")
    words = {"cpu": "CPU", "cuda": "GPU", "mps": "GPU (Apple)"}.get(kind, kind)
    return f"{words} {rest}".strip() if kind == "cuda" and rest else words


class PhotoWork(QObject):
    """Sends photo work to the worker; records the answers in the ``PhotoController``."""

    def __init__(
        self,
        jobs: JobRunner,
        photos: PhotoController[QImage],
        options: Callable[[], RestoreOptions],
        settings: Settings,
        status: StatusPanel,
        messages: Messages,
        has_weights: Callable[[], bool | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.photos = photos
        self.options = options  # read on the GUI thread, used on the worker's
        self.settings = settings
        self.status = status
        self.messages = messages
        self.has_weights = has_weights

    def _stale(self, ticket: Ticket[QImage]) -> Callable[[], bool]:
        return lambda: self.photos.is_stale(ticket)

    # --- opening -------------------------------------------------------------------------
    def open_paths(self, paths: list[str | Path]) -> None:
        """Files and folders (dropped, opened, or from the command line) into the queue."""
        wanted = [str(p) for p in paths]
        if not wanted:
            return
        self.jobs.submit(
            "collect",
            lambda ctx: calls.collect(wanted),
            on_result=lambda found: self._add_paths(found, explicit=wanted),
        )

    def open_at_once(self, paths: list[str | Path]) -> None:
        """Photos named on the command line: the first is decoded here and now.

        The worker's first jobs import torch and build the face detector (seconds);
        a photo queued behind them would appear that much after the window. Decoding
        needs only ``engine.io`` (no torch), so the first photo is shown with the
        window; the others follow through the worker as usual.
        """
        wanted = [str(p) for p in paths]
        try:
            found = calls.collect(wanted)
        except ReviveError:
            found = []
        if not found:
            self.open_paths(paths)  # says what is wrong, as for any open
            return
        first = Path(found[0])
        entry = self.photos.find(first) or self.photos.add(first.name, first)
        ticket = self.photos.start_loading(entry)
        if ticket is not None:
            try:
                loaded = calls.load(first)
            except ReviveError as error:
                self._on_load_error(ticket, str(error))
            else:
                self._on_loaded(ticket, loaded)
        self._add_paths([first, *found[1:]], explicit=wanted)

    def _add_paths(self, found: list[Path], explicit: list[str]) -> None:
        if not found:
            self.messages.error(f"No photos found in what was opened ({READS}).")
            return
        first: Entry | None = None
        for path in found:
            path = Path(path)
            entry = self.photos.find(path)
            if entry is None:
                entry = self.photos.add(path.name, path)
                self.load(entry)
            elif entry.status is PhotoStatus.ERROR:
                self.load(entry)  # try again: the file may have been fixed
            first = first or entry
        for item in explicit:
            if Path(item).is_file():
                self.settings.add_recent(item)
        if first is not None:
            self.photos.select(first)  # what was just opened is what the user wants to see

    def load(self, entry: Entry) -> Job | None:
        path = entry.path
        if path is None:
            return None
        ticket = self.photos.start_loading(entry)
        return self.jobs.submit(
            "load",
            lambda ctx: calls.load(path),
            stale=self._stale(ticket),
            on_result=lambda loaded: self._on_loaded(ticket, loaded),
            on_error=lambda message: self._on_load_error(ticket, message),
        )

    def _on_loaded(self, ticket: Ticket[QImage], loaded: calls.Loaded) -> None:
        if not self.photos.loaded(ticket, loaded.photo, loaded.image, loaded.thumbnail):
            return
        entry = ticket.entry
        if self.settings.restore_on_open and self.has_weights():
            self.restore(entry)
        elif entry is self.photos.current:
            self.find_faces(entry)

    def find_faces(self, entry: Entry | None) -> Job | None:
        """Find the faces of a loaded, unrestored photo (once), to show them before Restore."""
        if entry is None or entry.result is not None:
            return None
        if entry.status in (PhotoStatus.QUEUED, PhotoStatus.RESTORING):
            return None  # restoring finds them anyway
        ticket = self.photos.start_detecting(entry)
        if ticket is None or entry.photo is None:
            return None
        photo, options = entry.photo, self.options()
        return self.jobs.submit(
            "detect",
            lambda ctx: calls.detect(ctx.restorer(), photo, options),
            stale=self._stale(ticket),
            on_result=lambda found: self._on_found(ticket, found),
            on_error=lambda message: self.photos.detection_failed(ticket),
            on_cancelled=lambda: self.photos.detection_failed(ticket),
        )

    def _on_found(self, ticket: Ticket[QImage], found: calls.Found) -> None:
        self.photos.faces_found(ticket, found.faces, found.crops)

    def _on_load_error(self, ticket: Ticket[QImage], message: str) -> None:
        self.photos.failed(ticket, message)
        self.status.set_status(f"Error: {message}")
        self.messages.error(message)

    def try_sample(self) -> None:
        """Degrade the public-domain astronaut and restore it (one click for newcomers)."""
        if self.has_weights() is False:
            self.messages.error(NO_WEIGHTS_FOR_SAMPLE)
            return

        def loaded(value: calls.Loaded) -> None:
            entry = self.photos.add("astronaut (sample)", None)
            self.photos.loaded(
                self.photos.start_loading(entry), value.photo, value.image, value.thumbnail
            )
            self.photos.select(entry)
            self.restore(entry)

        self.jobs.submit(
            "sample",
            lambda ctx: calls.sample(ctx.progress),
            label="Sample",
            busy=True,
            on_result=loaded,
        )

    # --- restoring -----------------------------------------------------------------------
    def restore_current(self) -> None:
        if self.photos.current is not None:
            self.restore(self.photos.current)

    def restore_all(self) -> None:
        """Every photo of the list, one job each, counted as one batch ("photo 3 of 7")."""
        entries = [e for e in self.photos.restorable() if e.status not in _BUSY]
        for i, entry in enumerate(entries, 1):
            self.restore(entry, batch=(i, len(entries)) if len(entries) > 1 else None)

    def restore(self, entry: Entry, batch: tuple[int, int] | None = None) -> Job | None:
        """Queue ``entry`` for restoration (loading it first if it is not loaded)."""
        if entry.photo is None:
            if self.photos.needs_loading(entry):
                self.load(entry)
            return None
        ticket = self.photos.queue_restore(entry)
        if ticket is None:
            return None
        photo, options = entry.photo, self.options()

        def run(ctx: JobContext) -> calls.Restored:
            return calls.restore(ctx.restorer(), photo, options, ctx.progress, ctx.cancel)

        job = self.jobs.submit(
            "restore",
            run,
            label=entry.name,
            batch=batch,
            busy=True,
            stale=self._stale(ticket),
            on_started=lambda: self._on_restoring(ticket),
            on_result=lambda restored: self._on_restored(ticket, restored),
            on_error=lambda message: self._on_restore_error(ticket, message),
            on_cancelled=lambda: self._on_restore_cancelled(ticket),
        )
        return job

    def _on_restoring(self, ticket: Ticket[QImage]) -> None:
        self.photos.restoring(ticket)

    def _on_restored(self, ticket: Ticket[QImage], restored: calls.Restored) -> None:
        if not self.photos.restored(ticket, restored.result, restored.after):
            return
        entry, result = ticket.entry, restored.result
        if result.faces:
            done = f"{len(result.faces)} face(s) restored on {device_words(result.device)}"
        elif result.scale > 1:
            done = f"no face found: enlarged {result.scale}× only"
        else:
            done = "no face found: nothing changed"
        self.status.set_status(f"{entry.name}: {done}")
        if result.device:
            self.status.show_device(device_words(result.device))
        self.follow_likeness(entry)

    # --- the likeness figures, after the picture -----------------------------------------
    def follow_likeness(self, entry: Entry) -> Job | None:
        """Measure the likeness figures ``entry``'s faces are due, now that its picture
        is shown (a job of its own: the window goes on; dlib runs in a helper process)."""
        result = entry.result
        if not calls.likeness_due(result):
            return None
        assert result is not None
        kind = self._likeness_kind(entry)
        self.jobs.cancel(kinds=(kind,))  # only the newest version of its faces matters
        return self.jobs.submit(
            kind,
            lambda ctx: calls.measure_likeness(result, ctx.progress, ctx.cancel),
            stale=lambda: entry not in self.photos,
            on_result=lambda measured: self._on_likeness(entry, measured),
        )

    def _on_likeness(self, entry: Entry, measured: RestoreResult) -> None:
        self.photos.likeness_measured(entry, measured)

    @staticmethod
    def _likeness_kind(entry: Entry) -> str:
        return f"figures:{id(entry)}"

    def _on_restore_error(self, ticket: Ticket[QImage], message: str) -> None:
        self.photos.failed(ticket, message)
        self.status.set_status(f"Error: {message}")
        self.messages.error(f"{ticket.entry.name}: {message}")

    def _on_restore_cancelled(self, ticket: Ticket[QImage]) -> None:
        self.photos.cancelled(ticket)
        self.status.set_status(f"Cancelled: {ticket.entry.name}")

    def cancel(self) -> None:
        """Stop the running restoration and every queued one (loading and saving go on)."""
        if self.jobs.cancel_busy():
            self.status.set_status("Cancelling…", transient=True)

    # --- the faces -----------------------------------------------------------------------
    def set_face_accepted(self, index: int, accepted: bool) -> None:
        self._change_face(index, accepted=accepted)

    def set_face_strength(self, index: int, strength: float) -> None:
        self._change_face(index, strength=strength)

    def _change_face(
        self, index: int, accepted: bool | None = None, strength: float | None = None
    ) -> None:
        """Record a new accepted / strength for a face, then paste again on the worker."""
        entry = self.photos.current
        if entry is None:
            return
        changed = self.photos.change_face(entry, index, accepted=accepted, strength=strength)
        if changed is not None and entry.result is not None:
            self._repaste(entry, changed[1])

    def keep_likeness(self, index: int) -> None:
        """Lower face ``index``'s strength until it passes the identity check again."""
        entry = self.photos.current
        if entry is None or entry.result is None:
            return
        result = entry.result
        self.status.set_status("Finding the strength that keeps the likeness…", transient=True)

        def found(strength: float) -> None:
            # still this photo, and the face still there (a re-paste may have come since)
            now = entry.result
            live = entry in self.photos and self.photos.current is entry and now is not None
            if live and now is not None and any(f.index == index for f in now.faces):
                self.set_face_strength(index, strength)
                self.status.set_status(f"Face {index + 1}: strength {strength:.0%}")

        self.jobs.submit(
            "likeness",
            lambda ctx: calls.strength_keeping_likeness(result, index),
            on_result=lambda done: found(float(done)),
        )

    def set_all_accepted(self, accepted: bool) -> None:
        """Use all / Use none: every face of the current photo, then one re-paste."""
        entry = self.photos.current
        if entry is None or entry.result is None:
            return
        ticket = self.photos.change_all(entry, accepted)
        if ticket is not None:
            self._repaste(entry, ticket)

    def set_grain_match(self, on: bool) -> None:
        """Grain matching on or off for the current photo: its faces pasted again."""
        entry = self.photos.current
        if entry is None or entry.result is None or entry.result.options is None:
            return
        options = entry.result.options.replace(grain_match=bool(on))
        entry.result = dataclasses.replace(entry.result, options=options)
        ticket = self.photos.start_repaste(entry)  # earlier re-pastes go stale
        if ticket is not None:
            self._repaste(entry, ticket)

    def _repaste(self, entry: Entry, ticket: Ticket[QImage]) -> None:
        """Paste ``entry``'s faces again as they stand, on the worker (no network)."""
        result = entry.result
        assert result is not None
        kind = self._recompose_kind(entry)
        # only this photo's newest state matters; its figures follow the new paste
        self.jobs.cancel(kinds=(kind, self._likeness_kind(entry)))
        self.jobs.submit(
            kind,
            lambda ctx: calls.recompose(ctx.restorer(), result),
            stale=self._stale(ticket),
            on_result=lambda done: self._repasted(ticket, done),
        )

    @staticmethod
    def _recompose_kind(entry: Entry) -> str:
        """One re-paste job kind per photo: a newer one replaces only its own photo's."""
        return f"recompose:{id(entry)}"

    def _repasted(self, ticket: Ticket[QImage], done: calls.Recomposed) -> None:
        if self.photos.recomposed(ticket, done.result, done.after):
            self.follow_likeness(ticket.entry)
        # False: the faces changed again since; a newer answer is on its way

    def _show_error(self, message: str) -> None:
        self.messages.error(message)

    def rerun_face(self, index: int) -> Job | None:
        """Restore face ``index`` of the current photo again with the current choices."""
        entry = self.photos.current
        if entry is None:
            return None
        if entry.photo is None or entry.result is None:
            return None
        photo, result, options = entry.photo, entry.result, self.options()
        ticket = self.photos.start_rerun(entry, index)
        if ticket is None:
            return None
        self.jobs.cancel(kinds=(self._likeness_kind(entry),))  # its figures follow the re-run
        answered = False

        def run(ctx: JobContext) -> calls.Recomposed:
            return calls.rerun_face(
                ctx.restorer(), photo, result, index, options, ctx.progress, ctx.cancel
            )

        def finished(done: calls.Recomposed) -> None:
            nonlocal answered
            answered = True
            if self.photos.rerun_ended(ticket, index, done.result, done.after):
                self.follow_likeness(ticket.entry)

        def ended() -> None:  # failed, cancelled, or an answer no longer wanted
            if not answered:
                self.photos.rerun_ended(ticket, index, None, None)

        return self.jobs.submit(
            "rerun",
            run,
            label=f"{entry.name}, face {index + 1}",
            busy=True,
            stale=self._stale(ticket),
            on_result=finished,
            on_error=self._show_error,
            on_done=ended,
        )
