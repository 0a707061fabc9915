"""The photos the user opened and what became of each: no Qt here, so it is tested plainly.

``PhotoController`` holds the queue of ``PhotoEntry`` records, which one is current,
and every change of a photo's ``PhotoStatus``. Work on a photo (loading, restoring,
re-pasting its faces) runs on the engine worker; the GUI asks the controller for a
``Ticket`` when it sends the work and hands the answer back with that ticket. An
answer whose ticket went stale is ignored: the photo was removed since, or (for work
on its faces) the faces changed again, so a newer answer is on its way. Widgets
``subscribe`` to hear of every change; the display images (QImage in the app) are
opaque to the controller, which is generic over their type.

Every change is told once, typed (``gui.photo_changes.PhotoChange``), at the moment
the controller records it: the window's parts follow that one stream and nothing
else tells them about photos.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .photo_changes import ChangeKind, PhotoChange

if TYPE_CHECKING:
    from engine.io import Photo
    from engine.results import FaceRecord, RestoreResult

ImageT = TypeVar("ImageT")


class PhotoStatus(enum.Enum):
    """Where a photo is; the value is what the queue says of it."""

    NEW = "waiting"
    LOADING = "loading…"
    LOADED = "not restored yet"
    QUEUED = "queued for restoration"
    RESTORING = "restoring…"
    RESTORED = "restored"
    CANCELLED = "cancelled"
    ERROR = "error"

    @property
    def words(self) -> str:
        return str(self.value)


@dataclass(eq=False)
class PhotoEntry(Generic[ImageT]):
    """One photo in the queue (``path`` is None for an in-memory sample)."""

    name: str
    path: Path | None = None
    photo: Photo | None = None  # once loaded
    result: RestoreResult | None = None  # once restored
    before_image: ImageT | None = None  # the photo for display (made on the worker)
    after_image: ImageT | None = None  # the result for display
    thumbnail: ImageT | None = None
    status: PhotoStatus = PhotoStatus.NEW
    detail: str = ""
    generation: int = 0  # bumped by every change to the faces and every new result
    image_generation: int = -1  # the generation ``result.image`` was pasted for
    saved_to: Path | None = None
    # The faces found before any restoration (detection runs without a restoration
    # model): the detector's faces (``.box`` in photo pixels) and a crop of each.
    found: list[Any] | None = None
    found_crops: list[Any] | None = None
    detecting: bool = False
    rerunning: int | None = None  # the face being restored again, if one is

    @property
    def fresh(self) -> bool:
        """``result.image`` shows the faces as they stand now (no recompose pending)."""
        return self.image_generation == self.generation

    def status_line(self) -> str:
        text = self.status.words
        if self.status is PhotoStatus.RESTORED and self.result is not None:
            text = f"restored · {len(self.result.faces)} face(s)"
        if self.detail:
            text = f"{text}: {self.detail}"
        return text


@dataclass(frozen=True, eq=False)
class Ticket(Generic[ImageT]):
    """What a piece of work on ``entry`` was sent for; its answer is checked against it.

    ``generation`` is None for work on the whole photo (load, restore), which only goes
    stale when the photo is removed; work on the faces carries the generation it was
    computed for.
    """

    entry: PhotoEntry[ImageT]
    generation: int | None = None


Listener = Callable[[PhotoEntry[ImageT] | None, PhotoChange], None]  # None: no current photo


class PhotoController(Generic[ImageT]):
    """The photo queue, the current photo, and every status change (GUI thread only)."""

    def __init__(self) -> None:
        self.entries: list[PhotoEntry[ImageT]] = []
        self.current: PhotoEntry[ImageT] | None = None
        self._listeners: list[Listener[ImageT]] = []

    # --- listeners -----------------------------------------------------------------------
    def subscribe(self, listener: Listener[ImageT]) -> None:
        """``listener(entry, change)`` after every change (``entry`` None: no current photo)."""
        self._listeners.append(listener)

    def _tell(
        self, entry: PhotoEntry[ImageT] | None, kind: ChangeKind, face: int | None = None
    ) -> None:
        change = PhotoChange(kind, entry is self.current, face)
        for listener in list(self._listeners):
            listener(entry, change)

    # --- the queue -----------------------------------------------------------------------
    def __contains__(self, entry: object) -> bool:
        return any(e is entry for e in self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, name: str, path: Path | None = None) -> PhotoEntry[ImageT]:
        entry: PhotoEntry[ImageT] = PhotoEntry(name, path)
        self.entries.append(entry)
        self._tell(entry, ChangeKind.ADDED)
        return entry

    def find(self, path: Path) -> PhotoEntry[ImageT] | None:
        return next((e for e in self.entries if e.path is not None and e.path == path), None)

    def remove(self, entry: PhotoEntry[ImageT]) -> None:
        """Take ``entry`` out; if it was current, the first photo left becomes current."""
        if entry not in self:
            return
        self.entries = [e for e in self.entries if e is not entry]
        self._tell(entry, ChangeKind.REMOVED)
        if self.current is entry:
            self.current = None
            self.select(self.entries[0] if self.entries else None, always=True)

    def select(self, entry: PhotoEntry[ImageT] | None, always: bool = False) -> None:
        """Make ``entry`` the current photo (listeners hear of it if it changed)."""
        if entry is not None and entry not in self:
            return
        if entry is self.current and not always:
            return
        self.current = entry
        self._tell(entry, ChangeKind.CURRENT)

    def step(self, delta: int) -> None:
        """Select the next (+1) or previous (-1) photo, wrapping around."""
        if not self.entries:
            return
        if self.current is None:
            self.select(self.entries[0])
            return
        row = self.entries.index(self.current)
        self.select(self.entries[(row + delta) % len(self.entries)])

    def restorable(self) -> list[PhotoEntry[ImageT]]:
        """The photos Restore All restores: loaded, and not restoring or failed."""
        wanted = (PhotoStatus.LOADED, PhotoStatus.CANCELLED, PhotoStatus.RESTORED)
        return [e for e in self.entries if e.status in wanted and e.photo is not None]

    def exportable(self) -> list[PhotoEntry[ImageT]]:
        """The photos Export All writes (a failed one would only fail again)."""
        return [e for e in self.entries if e.status is not PhotoStatus.ERROR]

    # --- tickets -------------------------------------------------------------------------
    def is_live(self, ticket: Ticket[ImageT]) -> bool:
        """The answer to ``ticket`` still applies (not removed, faces not changed since)."""
        entry = ticket.entry
        if entry not in self:
            return False
        return ticket.generation is None or ticket.generation == entry.generation

    def is_stale(self, ticket: Ticket[ImageT]) -> bool:
        return not self.is_live(ticket)

    def _set(
        self,
        entry: PhotoEntry[ImageT],
        status: PhotoStatus,
        detail: str = "",
        kind: ChangeKind = ChangeKind.STATE,
    ) -> None:
        entry.status, entry.detail = status, detail
        self._tell(entry, kind)

    # --- loading -------------------------------------------------------------------------
    def needs_loading(self, entry: PhotoEntry[ImageT]) -> bool:
        """Not decoded yet, not being decoded, and there is a file to decode."""
        return (
            entry.photo is None
            and entry.status is not PhotoStatus.LOADING
            and entry.path is not None
        )

    def start_loading(self, entry: PhotoEntry[ImageT]) -> Ticket[ImageT]:
        self._set(entry, PhotoStatus.LOADING)
        return Ticket(entry)

    def loaded(
        self, ticket: Ticket[ImageT], photo: Photo, image: ImageT, thumbnail: ImageT
    ) -> bool:
        if not self.is_live(ticket):
            return False
        entry = ticket.entry
        entry.photo, entry.before_image, entry.thumbnail = photo, image, thumbnail
        self._set(entry, PhotoStatus.LOADED, kind=ChangeKind.LOADED)
        return True

    # --- finding faces (no restoration) --------------------------------------------------
    def start_detecting(self, entry: PhotoEntry[ImageT]) -> Ticket[ImageT] | None:
        """Faces of a loaded photo are looked for once (None: not loaded, or done already)."""
        if entry not in self or entry.photo is None or entry.found is not None:
            return None
        if entry.detecting:
            return None
        entry.detecting = True
        return Ticket(entry)

    def faces_found(self, ticket: Ticket[ImageT], faces: list[Any], crops: list[Any]) -> bool:
        entry = ticket.entry
        entry.detecting = False
        if not self.is_live(ticket):
            return False
        entry.found, entry.found_crops = list(faces), list(crops)
        self._tell(entry, ChangeKind.FOUND)
        return True

    def detection_failed(self, ticket: Ticket[ImageT]) -> None:
        ticket.entry.detecting = False

    def failed(self, ticket: Ticket[ImageT], message: str) -> bool:
        """Loading or restoring the photo failed with ``message``."""
        if not self.is_live(ticket):
            return False
        entry = ticket.entry
        if entry.result is not None:  # a second restoration failed: the first one stands
            self._set(entry, PhotoStatus.RESTORED, f"the last restoration failed: {message}")
            return True
        self._set(entry, PhotoStatus.ERROR, message)
        return True

    # --- restoring -----------------------------------------------------------------------
    def queue_restore(self, entry: PhotoEntry[ImageT]) -> Ticket[ImageT] | None:
        """Mark ``entry`` queued for restoration; None if it cannot be (not loaded, already)."""
        if entry not in self or entry.photo is None:
            return None
        if entry.status in (PhotoStatus.QUEUED, PhotoStatus.RESTORING):
            return None
        self._set(entry, PhotoStatus.QUEUED)
        return Ticket(entry)

    def restoring(self, ticket: Ticket[ImageT]) -> bool:
        if not self.is_live(ticket):
            return False
        self._set(ticket.entry, PhotoStatus.RESTORING)
        return True

    def restored(self, ticket: Ticket[ImageT], result: RestoreResult, after: ImageT) -> bool:
        """A new result: any re-paste of the old faces still on its way goes stale."""
        if not self.is_live(ticket):
            return False
        entry = ticket.entry
        entry.result, entry.after_image = result, after
        entry.generation += 1
        entry.image_generation = entry.generation
        self._set(entry, PhotoStatus.RESTORED, "; ".join(result.warnings), ChangeKind.RESULT)
        return True

    def cancelled(self, ticket: Ticket[ImageT]) -> bool:
        """Restoration stopped: back to the last result if there is one."""
        if not self.is_live(ticket):
            return False
        entry = ticket.entry
        self._set(entry, PhotoStatus.CANCELLED if entry.result is None else PhotoStatus.RESTORED)
        return True

    # --- the faces -----------------------------------------------------------------------
    def change_face(
        self,
        entry: PhotoEntry[ImageT],
        index: int,
        *,
        accepted: bool | None = None,
        strength: float | None = None,
    ) -> tuple[FaceRecord, Ticket[ImageT]] | None:
        """Record a face's new ``accepted`` / ``strength``; the ticket is for its re-paste.

        None if ``entry`` has no result or no face ``index``.
        """
        result = entry.result
        if entry not in self or result is None or all(f.index != index for f in result.faces):
            return None

        def edit(face: FaceRecord) -> FaceRecord:
            if face.index != index:
                return face
            return dataclasses.replace(
                face,
                accepted=face.accepted if accepted is None else bool(accepted),
                strength=face.strength if strength is None else float(strength),
            )

        faces = [edit(f) for f in result.faces]
        entry.result = dataclasses.replace(result, faces=faces)
        entry.generation += 1
        changed = next(f for f in faces if f.index == index)
        self._tell(entry, ChangeKind.FACE_EDITED, index)
        return changed, Ticket(entry, entry.generation)

    def change_all(self, entry: PhotoEntry[ImageT], accepted: bool) -> Ticket[ImageT] | None:
        """Accept (or reject) every face at once; the ticket is for the one re-paste."""
        result = entry.result
        if entry not in self or result is None or not result.faces:
            return None
        faces = [dataclasses.replace(f, accepted=bool(accepted)) for f in result.faces]
        entry.result = dataclasses.replace(result, faces=faces)
        entry.generation += 1
        self._tell(entry, ChangeKind.FACE_EDITED)
        return Ticket(entry, entry.generation)

    def start_repaste(self, entry: PhotoEntry[ImageT]) -> Ticket[ImageT] | None:
        """``entry``'s faces will be pasted again as they stand: earlier re-pastes go stale."""
        if entry not in self or entry.result is None or entry.photo is None:
            return None
        entry.generation += 1
        return Ticket(entry, entry.generation)

    def start_rerun(self, entry: PhotoEntry[ImageT], index: int) -> Ticket[ImageT] | None:
        """Face ``index`` of ``entry`` is restored again (``rerunning`` until it ends)."""
        ticket = self.start_repaste(entry)
        if ticket is not None:
            entry.rerunning = index
            self._tell(entry, ChangeKind.FACE_RERUN, index)
        return ticket

    def rerun_ended(
        self, ticket: Ticket[ImageT], index: int, result: RestoreResult | None, after: ImageT | None
    ) -> bool:
        """The re-run of face ``index`` ended: with its ``result`` and picture (pasted, if
        still wanted), or None (failed or cancelled). False: the answer is not used."""
        entry = ticket.entry
        entry.rerunning = None
        used = result is not None and after is not None and self.recomposed(ticket, result, after)
        if entry in self:
            self._tell(entry, ChangeKind.FACE_RERUN, index)
        return used

    def recomposed(self, ticket: Ticket[ImageT], result: RestoreResult, after: ImageT) -> bool:
        """The faces pasted again (after a change or a re-run), if still wanted; the
        likeness figures that arrived while it was pasted are kept."""
        if not self.is_live(ticket):
            return False
        entry = ticket.entry
        if entry.result is not None:
            from engine.face_identity import with_figures

            result = with_figures(result, entry.result)
        entry.result, entry.after_image = result, after
        entry.image_generation = entry.generation
        self._tell(entry, ChangeKind.PASTED)
        return True

    def likeness_measured(self, entry: PhotoEntry[ImageT], measured: RestoreResult) -> bool:
        """The likeness figures of ``entry``'s faces arrived (measured on ``measured``, a
        copy of its result): they join the faces still the same. The picture stays."""
        if entry not in self or entry.result is None:
            return False
        from engine.face_identity import with_figures

        entry.result = with_figures(entry.result, measured)
        self._tell(entry, ChangeKind.LIKENESS)
        return True

    def saved(self, entry: PhotoEntry[ImageT], path: Path) -> None:
        entry.saved_to = Path(path)
        self._tell(entry, ChangeKind.SAVED)
