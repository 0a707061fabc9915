"""Progress reporting and cancellation shared by every long operation.

The GUI passes a callback that emits a Qt signal and a token its Cancel button
sets; the CLI passes a tqdm-updating callback and a token set on Ctrl+C. Engine
code calls ``cancel.raise_if_cancelled()`` between steps (never inside a network
forward), so a cancel returns promptly and leaves nothing half-written.
"""

from __future__ import annotations

import dataclasses
import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .errors import Cancelled


class Stage(enum.StrEnum):
    """What a long operation is doing (a ``str``, so logs and the CLI print it as a word)."""

    DECODE = "decode"
    DETECT = "detect"
    ALIGN = "align"
    RESTORE = "restore"
    IDENTITY = "identity"
    PASTE = "paste"
    ENCODE = "encode"
    PHOTO = "photo"  # a batch: photo i of n
    EXPORT = "export"
    DOWNLOAD = "download"
    VERIFY = "verify"
    INSTALL = "install"
    PACK = "pack"  # training: faces cut into a pack
    EVALUATE = "evaluate"  # training: weights measured


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a long operation: ``done`` of ``total`` in ``stage``."""

    stage: Stage
    done: int
    total: int
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


ProgressCallback = Callable[[ProgressEvent], None]


class CancelToken:
    """A thread-safe flag: set by the front end, checked by the engine between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")


def report(
    progress: ProgressCallback | None, stage: Stage, done: int, total: int, message: str = ""
) -> None:
    """Call ``progress`` if there is one (engine code never checks for None itself)."""
    if progress is not None:
        progress(ProgressEvent(stage, done, total, message))


def part_of(progress: ProgressCallback | None, done: int, total: int) -> ProgressCallback | None:
    """A callback for one part of a larger count: its events continue from ``done`` of
    ``total`` (faces restored in groups, reported as one count)."""
    if progress is None:
        return None
    outer = progress

    def counted(event: ProgressEvent) -> None:
        outer(dataclasses.replace(event, done=done + event.done, total=total))

    return counted


def check(cancel: CancelToken | None) -> None:
    """Raise ``Cancelled`` when the token is set (no-op without a token)."""
    if cancel is not None:
        cancel.raise_if_cancelled()
