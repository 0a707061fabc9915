"""Restore and save a batch of photos: the one loop behind ``revive restore`` and the app's
Export All.

Before any work, every photo gets its own output path (``<stem>_revived.<ext>`` beside
it or in one folder; when two photos would share one, the later ones get ``-2``, ``-3``
... so no result is lost), and every input of the batch is protected: no output, and
no extra file, is ever written over any of them. Then, photo by photo: decode (unless
the caller has the photo already), restore (unless it has a result), recompose when
the faces changed since, save atomically, then measure the likeness figures (they
follow the written photo: ``engine.face_identity``), and tell the caller. One photo
failing (unreadable, no face) is recorded and the batch goes on; cancelling keeps the
photos already saved and leaves no partial file; a photo saved before a cancel stays
saved, its result saying which figures are missing (``Likeness.MISSING``).

Nothing here imports torch: a batch whose files are all refused never loads it (the
caller may pass a function that makes the ``Restorer`` when the first photo needs it).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import Cancelled, ImageWriteError, ReviveError
from .face_identity import measure_result
from .io import Photo, load_photo, normalize_format, output_path_for, save_photo
from .io.formats import FORMAT_SUFFIX
from .io.paths import fitted_name, numbered
from .memory import release_freed_memory
from .options import RestoreOptions
from .progress import CancelToken, ProgressCallback, ProgressEvent, Stage
from .results import RestoreResult

if TYPE_CHECKING:
    from .pipeline import Restorer


@dataclass
class BatchItem:
    """One photo of a batch: a file, or a photo the caller already holds."""

    name: str  # what the user sees
    path: Path | None = None  # the input file (None: an in-memory photo, e.g. the sample)
    photo: Photo | None = None  # already decoded
    result: RestoreResult | None = None  # already restored
    fresh: bool = True  # ``result.image`` shows the faces as they now stand

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> BatchItem:
        path = Path(path)
        return cls(path.name, path)


@dataclass(frozen=True)
class SaveOptions:
    """Where and how the results are written."""

    folder: Path | None = None  # None: beside each input (in-memory photos need one)
    fmt: str | None = None  # None: the input's own format (GIF becomes PNG)
    quality: int = 95  # JPEG / WebP

    def __post_init__(self) -> None:
        if not 1 <= self.quality <= 100:
            raise ImageWriteError(f"the quality must be between 1 and 100, not {self.quality}")
        if self.fmt is not None:
            try:
                normalize_format(self.fmt)
            except ValueError as err:
                raise ImageWriteError(str(err)) from None
        if self.folder is not None:
            for folder in (self.folder, *self.folder.parents):
                if os.path.lexists(folder):
                    if not os.path.isdir(folder):
                        raise ImageWriteError(
                            f"{folder.name or folder}: is a file, not a folder for the outputs"
                        )
                    break

    @property
    def suffix(self) -> str | None:
        return FORMAT_SUFFIX[normalize_format(self.fmt)] if self.fmt else None


@dataclass
class PhotoOutcome:
    """What became of one photo."""

    item: BatchItem
    status: str = "pending"  # ok | error | cancelled | pending
    output: Path | None = None
    error: str = ""
    seconds: float = 0.0  # until the photo was written (its likeness figures follow)
    # The decoded photo and its result, while ``on_photo`` and ``extras`` run; dropped
    # afterwards, so a batch of any length holds one photo at a time.
    photo: Photo | None = field(default=None, repr=False)
    result: RestoreResult | None = field(default=None, repr=False)
    report: dict = field(default_factory=dict, repr=False)  # result.to_report(), kept
    note: str = ""  # e.g. the output name was changed to avoid a collision
    extras: list[str] = field(default_factory=list)  # more files written for it
    notes: list[str] = field(default_factory=list)  # what loading and saving had to change


@dataclass
class BatchOutcome:
    photos: list[PhotoOutcome]
    cancelled: bool = False

    @property
    def saved(self) -> list[Path]:
        return [p.output for p in self.photos if p.status == "ok" and p.output is not None]

    @property
    def failed(self) -> list[tuple[str, str]]:
        return [(p.item.name, p.error) for p in self.photos if p.status == "error"]


def _identity(path: Path) -> set[tuple]:
    """Keys under which ``path`` names a file: its inode where it exists (links, ``..``),
    and its resolved path, case-folded (a case-insensitive disk has one file for both)."""
    keys: set[tuple] = set()
    try:
        info = os.stat(path)
        keys.add(("inode", info.st_dev, info.st_ino))
    except (OSError, ValueError):
        pass
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        resolved = path.absolute()
    keys.add(("path", os.path.normcase(str(resolved)).casefold()))
    return keys


def plan_outputs(items: list[BatchItem], save: SaveOptions) -> list[tuple[Path, str]]:
    """(output path, note) for each item: distinct, never an input of the batch."""
    inputs: set[tuple] = set()
    for item in items:
        if item.path is not None:
            inputs |= _identity(item.path)
    taken: set[tuple] = set()
    planned = []
    for item in items:
        if item.path is not None:
            target = output_path_for(item.path, save.folder, ext=save.suffix)
        else:
            folder = save.folder or Path.home()
            target = folder / fitted_name(
                Path(item.name).stem, f"_revived{save.suffix or '.png'}", 255
            )
        first, n, note = target, 1, ""
        keys = _identity(target)
        while keys & taken or keys & inputs:
            n += 1
            target = numbered(first, n)
            keys = _identity(target)
        if n > 1:
            whose = (
                "an input of this batch"
                if _identity(first) & inputs
                else "another photo's in this batch"
            )
            note = f"saved as {target.name}: {first.name} is {whose}"
        taken |= keys
        planned.append((target, note))
    return planned


def named(name: str, message: str) -> str:
    """``name: message``, with the name once (file errors already start with it)."""
    return message if message.startswith(f"{name}:") else f"{name}: {message}"


PhotoCallback = Callable[[PhotoOutcome], None]


class _BatchError(Exception):
    """A failure that is not this photo's (no weights, no such device): ends the batch."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _outside_the_photo(make: Callable[[], Restorer]) -> Restorer:
    try:
        return make()
    except ReviveError as err:
        raise _BatchError(err) from None


def _write_extras(
    outcome: PhotoOutcome,
    extras: Callable[[PhotoOutcome, list[Path]], list[str]],
    protected: list[Path],
) -> None:
    """Side files (reports, crops) never undo a photo that is already saved: a failure is a note."""
    try:
        outcome.extras = extras(outcome, protected)
    except (ReviveError, OSError) as err:
        outcome.notes.append(f"the extra files were not written: {err}")


def restore_batch(
    restorer: Restorer | Callable[[], Restorer],
    items: list[BatchItem],
    options: RestoreOptions,
    save: SaveOptions,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    on_photo: PhotoCallback | None = None,
    extras: Callable[[PhotoOutcome, list[Path]], list[str]] | None = None,
    likeness: bool = True,
) -> BatchOutcome:
    """Restore and save ``items`` in order; see the module docstring.

    ``restorer`` is a Restorer, or a function that makes one: it is called once, when
    the first photo that decoded needs restoring, and what it raises (no weights, no
    such device) ends the batch, since it would fail every photo alike. ``on_photo``
    hears each finished photo (ok or error) at once; ``extras`` may write more files
    for a saved photo (the CLI's faces and attention grids), given the paths it must
    never overwrite, and returns what it wrote. ``likeness`` False leaves the figures
    unmeasured (a caller that reads none of them).
    """
    made: list[Restorer] = []
    if hasattr(restorer, "restore"):
        made.append(restorer)  # type: ignore[arg-type]

    def the_restorer() -> Restorer:
        if not made:
            made.append(restorer())  # type: ignore[operator]
        return made[0]

    protected = [item.path for item in items if item.path is not None]
    plan = plan_outputs(items, save)
    outcomes = [PhotoOutcome(item) for item in items]
    total = len(items)
    cancelled = False
    for i, (item, (target, note), outcome) in enumerate(zip(items, plan, outcomes, strict=True)):
        if cancel is not None and cancel.cancelled:
            cancelled = True
            break
        if progress is not None:
            progress(ProgressEvent(Stage.PHOTO, i, total, f"photo {i + 1} of {total}: {item.name}"))
        start = time.perf_counter()
        try:
            photo = item.photo
            if photo is None:
                if item.path is None:
                    raise ReviveError(f"{item.name}: nothing to restore")
                photo = load_photo(item.path, max_megapixels=options.photo.max_megapixels)
            result = item.result
            if result is None:
                result = _outside_the_photo(the_restorer).restore(
                    photo, options, progress=progress, cancel=cancel, measure_likeness=False
                )
            elif not item.fresh:
                result = _outside_the_photo(the_restorer).recompose(result, likeness=False)
            if cancel is not None and cancel.cancelled:
                raise Cancelled("cancelled")
            restored = dataclasses.replace(
                photo, pixels=result.image, alpha=result.alpha, notes=list(photo.notes)
            )
            t = time.perf_counter()
            outcome.notes = restored.notes
            outcome.output = save_photo(
                restored,
                target,
                format=save.fmt,
                quality=save.quality,
                protected=protected,
                notes=outcome.notes,
            )
            result.timings["encode"] = time.perf_counter() - t
            outcome.photo, outcome.result, outcome.note = photo, result, note
            outcome.status = "ok"
            outcome.seconds = time.perf_counter() - start
            if extras is not None:
                _write_extras(outcome, extras, protected)
            if likeness:  # the photo is written: its figures follow
                measure_result(result, progress, cancel)
        except (Cancelled, KeyboardInterrupt):  # Ctrl+C in a terminal: keep what is done
            if outcome.status != "ok":
                outcome.status = "cancelled"
            cancelled = True
        except _BatchError as err:
            raise err.error from None
        except ReviveError as err:
            outcome.status, outcome.error = "error", named(item.name, str(err))
        if outcome.status != "ok":
            outcome.seconds = time.perf_counter() - start
        if outcome.status != "cancelled" and on_photo is not None:
            on_photo(outcome)
        if outcome.result is not None:
            outcome.report = outcome.result.to_report()
        outcome.photo = outcome.result = None  # freed before the next photo
        release_freed_memory()
        if cancelled:
            break
    if progress is not None:
        progress(ProgressEvent(Stage.PHOTO, total, total, "done"))
    return BatchOutcome(outcomes, cancelled)
