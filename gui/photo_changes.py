"""The one stream of photo changes: what happened to a photo, typed, and who follows it.

The ``PhotoController`` tells every change of a photo as a ``PhotoChange``; the window
turns that into one Qt signal, and every part that shows a photo (each dock's panel,
the central view, the status bar, the toolbar) follows it with its own
``on_photo(entry, change)``, acting on the kinds it needs and ignoring the rest. No
part is told by another one, so a new panel needs no wiring: its file and its row
in the window's ``DOCKS`` table. No Qt here, so the kinds are tested plainly.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from engine.results import FaceRecord


class ChangeKind(enum.Enum):
    """What happened to a photo; the value is how it reads in a log or a test."""

    ADDED = "added"  # it joined the queue
    REMOVED = "removed"  # it left the queue
    CURRENT = "current"  # it (or None: no photo) is now the one shown
    LOADED = "loaded"  # decoded: its picture can be shown
    STATE = "state"  # its status changed: loading, queued, restoring, failed, cancelled
    FOUND = "found"  # its faces were found (before any restoration)
    RESULT = "result"  # a new restoration: its result and "after" picture
    PASTED = "pasted"  # its faces were pasted again: a new "after" picture
    LIKENESS = "likeness"  # its faces' likeness figures arrived (after the picture)
    FACE_EDITED = "face edited"  # a face accepted / rejected or its strength changed
    FACE_RERUN = "face re-run"  # a face's new restoration started or ended
    SAVED = "saved"  # written to a file


# The kinds after which a photo's whole display is rebuilt (its faces included).
SHOWN_AGAIN = frozenset(
    {ChangeKind.CURRENT, ChangeKind.LOADED, ChangeKind.STATE, ChangeKind.FOUND, ChangeKind.RESULT}
)


@dataclass(frozen=True)
class PhotoChange:
    """One change of one photo, as every follower hears it.

    ``current``: the photo is the one shown (always True for ``CURRENT``); a panel
    that shows only the current photo ignores the others. ``face``: for
    ``FACE_EDITED`` and ``FACE_RERUN``, the index of the face (None: every face).
    """

    kind: ChangeKind
    current: bool = False
    face: int | None = None

    @property
    def shows_again(self) -> bool:
        """The current photo must be shown again as a whole (``SHOWN_AGAIN``)."""
        return self.current and self.kind in SHOWN_AGAIN

    def faces(self, entry: Any) -> list[FaceRecord]:
        """The faces of ``entry``'s result this change is about (all for ``face`` None)."""
        result = getattr(entry, "result", None)
        if result is None:
            return []
        return [f for f in result.faces if self.face is None or f.index == self.face]


@runtime_checkable
class PhotoFollower(Protocol):
    """A part of the window that follows the photos (a dock's panel, the view, ...)."""

    def on_photo(self, entry: Any, change: PhotoChange) -> None:
        """``entry`` (a ``PhotoEntry``; None with ``CURRENT``: no photo) changed."""
