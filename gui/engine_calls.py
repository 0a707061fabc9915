"""The engine calls the GUI makes, each one a function run by the worker thread.

This is the only GUI module that calls the engine's processing functions. Each
function runs on the worker thread (inside a ``Job``), so the GUI thread never
decodes, restores, recomposes or encodes. They also turn pixels into ``QImage``
here (QImage, unlike QPixmap, may be made off the GUI thread), so large photos
do not stall the GUI when their result arrives.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PySide6.QtGui import QImage

from engine.errors import ReviveError
from engine.progress import CancelToken, ProgressCallback, ProgressEvent

from .imaging import display_image, qimage_from_array

THUMB_SIDE = 128
RESTORER_FAMILIES = ("sparnet", "cagface")


@dataclass
class Loaded:
    photo: Any  # engine.io.Photo
    image: QImage
    thumbnail: QImage


@dataclass
class Restored:
    photo: Any
    result: Any  # engine.results.RestoreResult
    before: QImage
    after: QImage


@dataclass
class Recomposed:
    result: Any
    after: QImage


@dataclass
class BatchOutcome:
    saved: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, message)
    cancelled: bool = False


@dataclass
class ModelRow:
    """One installed weight set for the model manager (``problems`` None = not checked)."""

    info: Any  # engine.weights.WeightsInfo
    problems: list[str] | None = None
    family: str = ""
    description: str = ""


def thumbnail(image: np.ndarray, side: int = THUMB_SIDE) -> QImage:
    h, w = image.shape[:2]
    factor = side / max(h, w)
    if factor < 1.0:
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return qimage_from_array(image)


# --- photos ---------------------------------------------------------------------------
def collect(paths: list[str]) -> list[Path]:
    """Files and folders the user dropped or opened, expanded to photo files."""
    from engine.io import collect_photos

    return collect_photos(paths)


def _loaded(photo: Any) -> Loaded:
    return Loaded(photo, display_image(photo.pixels), thumbnail(photo.pixels))


def load(path: Path) -> Loaded:
    from engine.io import load_photo

    return _loaded(load_photo(path))


def sample(progress: ProgressCallback | None = None) -> Loaded:
    """The public-domain astronaut, degraded like an old photo (Help > Try a sample)."""
    from engine.app.demo import demo_photo

    return _loaded(demo_photo(progress))


# --- restoration ----------------------------------------------------------------------
def options_from(settings: dict[str, Any]) -> Any:
    """``RestoreOptions`` from the GUI's choices (only the fields the engine knows)."""
    from engine.pipeline import RestoreOptions

    known = {f.name for f in dataclasses.fields(RestoreOptions)}
    return RestoreOptions(**{k: v for k, v in settings.items() if k in known})


def warm_up(restorer: Any, options: dict[str, Any]) -> None:
    """Load the face detector now, so the first photo neither waits nor stalls the UI."""
    restorer.warm_up(options_from(options))


def restore(
    restorer: Any,
    photo: Any,
    options: dict[str, Any],
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
) -> Restored:
    result = restorer.restore(photo, options_from(options), progress=progress, cancel=cancel)
    return Restored(photo, result, display_image(photo.pixels), display_image(result.image))


def recompose(restorer: Any, photo: Any, result: Any, cancel: CancelToken | None) -> Recomposed:
    """Paste again with the faces' current ``accepted`` / ``strength`` (no network run)."""
    fresh = restorer.recompose(photo, result)
    return Recomposed(fresh, display_image(fresh.image))


def rerun_face(
    restorer: Any,
    photo: Any,
    result: Any,
    index: int,
    options: dict[str, Any],
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
) -> Recomposed:
    fresh = restorer.rerun_face(
        photo, result, index, options_from(options), progress=progress, cancel=cancel
    )
    return Recomposed(fresh, display_image(fresh.image))


# --- saving ---------------------------------------------------------------------------
def output_photo(photo: Any, result: Any) -> Any:
    """The restored photo with the original's metadata (EXIF, ICC, XMP, DPI, bit depth)."""
    return dataclasses.replace(
        photo, pixels=result.image, alpha=result.alpha, notes=list(photo.notes)
    )


def save(
    restorer: Any,
    photo: Any,
    result: Any,
    path: Path,
    fmt: str | None,
    quality: int,
    fresh: bool,
    replace_original: bool = False,
    cancel: CancelToken | None = None,
) -> Path:
    """Write the restored photo; recompose first if the faces changed since the last paste.

    ``replace_original`` is set only after the user confirmed, in a dialog, that the
    original file may be replaced.
    """
    from engine.io import save_photo

    if not fresh:
        result = restorer.recompose(photo, result)
    out = output_photo(photo, result)
    if replace_original:
        out = dataclasses.replace(out, source=None)
    return save_photo(out, path, format=fmt or None, quality=quality)


def default_output_path(source: Path | None, fmt: str | None, folder: str | None = None) -> Path:
    from engine.io import output_path_for
    from engine.io.formats import FORMAT_SUFFIX

    ext = FORMAT_SUFFIX.get(fmt) if fmt else None
    if source is None:
        return Path(folder or Path.home()) / f"sample_revived{ext or '.png'}"
    return output_path_for(source, folder or None, ext=ext)


def batch_export(
    restorer: Any,
    items: list[tuple[str, Path | None, Any, Any, bool]],
    options: dict[str, Any],
    folder: Path,
    fmt: str | None,
    quality: int,
    progress: ProgressCallback | None,
    cancel: CancelToken,
) -> BatchOutcome:
    """Restore (when not done yet) and save every photo into ``folder``.

    ``items`` are (name, path, photo or None, result or None, result is fresh). One
    photo failing (unreadable, no face) is recorded and the others go on.
    """
    from engine.errors import Cancelled
    from engine.io import load_photo, output_path_for, save_photo
    from engine.io.formats import FORMAT_SUFFIX

    outcome = BatchOutcome()
    total = len(items)
    ext = FORMAT_SUFFIX.get(fmt) if fmt else None
    for i, (name, path, photo, result, fresh) in enumerate(items):
        if cancel.cancelled:
            outcome.cancelled = True
            break
        if progress:
            progress(ProgressEvent("export", i, total, f"photo {i + 1} of {total}: {name}"))
        try:
            if photo is None:
                photo = load_photo(path)
            if result is None:
                result = restorer.restore(
                    photo, options_from(options), progress=progress, cancel=cancel
                )
            elif not fresh:
                result = restorer.recompose(photo, result)
            if path is not None:
                target = output_path_for(path, folder, ext=ext)
            else:
                target = folder / f"{Path(name).stem}_revived{ext or '.png'}"
            outcome.saved.append(
                save_photo(output_photo(photo, result), target, format=fmt or None, quality=quality)
            )
        except Cancelled:
            outcome.cancelled = True
            break
        except ReviveError as err:
            outcome.failed.append((name, str(err)))
    if progress:
        progress(ProgressEvent("export", total, total, "done"))
    return outcome


# --- models and devices ---------------------------------------------------------------
def list_models(verify: bool = False) -> list[ModelRow]:
    from engine.models import get_preset
    from engine.weights import installed_weights, verify_weights

    rows = []
    for info in installed_weights():
        try:
            preset = get_preset(info.preset)
            family, description = preset.family, preset.description
        except ReviveError:
            family, description = "?", "unknown preset"
        rows.append(ModelRow(info, verify_weights(info) if verify else None, family, description))
    return rows


def model_availability(choices: tuple[str, ...]) -> dict[str, str | None]:
    """For each model choice (auto, sparnethd, ...): None if it can run, else why not."""
    from engine.model_choice import plan_models

    found: dict[str, str | None] = {}
    for choice in choices:
        try:
            plan_models(choice)
            found[choice] = None
        except ReviveError as err:
            found[choice] = str(err)
    return found


def has_restoration_weights(rows: list[ModelRow]) -> bool:
    return any(r.family in RESTORER_FAMILIES for r in rows)


def import_checkpoint(path: Path) -> Any:
    from engine.checkpoint_import import import_official_checkpoint

    return import_official_checkpoint(path)


def devices() -> list[str]:
    from engine.device import available_devices

    return available_devices()


def device_label(choice: str) -> str:
    """What ``auto`` / ``cuda`` / ... means on this machine, for the status bar."""
    from engine.device import resolve_device

    device = resolve_device(choice)
    if device.type == "cuda":
        import torch

        return f"GPU ({torch.cuda.get_device_name(device)})"
    return {"mps": "GPU (Apple)", "cpu": "CPU"}.get(device.type, device.type)
