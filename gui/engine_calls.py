"""The engine calls the GUI makes, each one a function run by the worker thread.

This is the only GUI module that calls the engine's processing functions. Each
function runs on the worker thread (inside a ``Job``), so the GUI thread never
decodes, restores, recomposes or encodes. They also turn pixels into ``QImage``
here (QImage, unlike QPixmap, may be made off the GUI thread), so large photos
do not stall the GUI when their result arrives.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PySide6.QtGui import QImage

from engine.errors import ReviveError, WeightsError
from engine.options import RestoreOptions
from engine.progress import CancelToken, ProgressCallback

from .imaging import display_image, qimage_from_array

if TYPE_CHECKING:  # the engine's heavy modules (torch) load on the worker, when first used
    from engine.batch import BatchOutcome
    from engine.catalogue import CatalogueEntry
    from engine.io import Photo
    from engine.models import ModelKind
    from engine.pipeline import Restorer
    from engine.results import RestoreResult
    from engine.weights import WeightsInfo

THUMB_SIDE = 128


@dataclass
class Loaded:
    photo: Photo
    image: QImage
    thumbnail: QImage


@dataclass
class Restored:
    photo: Photo
    result: RestoreResult
    before: QImage
    after: QImage


@dataclass
class Recomposed:
    result: RestoreResult
    after: QImage


@dataclass
class Found:
    """The faces of a photo found without restoring it: boxes (photo pixels) and crops."""

    faces: list
    crops: list[np.ndarray]


@dataclass
class Available:
    """The model catalogue for the model manager: entries, which are installed, or why not."""

    entries: list[CatalogueEntry]
    installed: set[str]
    problem: str = ""  # the catalogue could not be read


@dataclass
class ModelRow:
    """One installed weight set for the model manager (``problems`` None = not checked)."""

    info: WeightsInfo
    problems: list[str] | None = None
    kind: ModelKind | None = None  # None for an unknown preset
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


def _loaded(photo: Photo) -> Loaded:
    return Loaded(photo, display_image(photo.pixels), thumbnail(photo.pixels))


def load(path: Path) -> Loaded:
    from engine.io import load_photo

    return _loaded(load_photo(path))


def sample(progress: ProgressCallback | None = None) -> Loaded:
    """The public-domain astronaut, degraded like an old photo (Help > Try a sample)."""
    from engine.app.demo import demo_photo

    return _loaded(demo_photo(progress))


def face_crop(pixels: np.ndarray, box: np.ndarray, side: int = 96) -> np.ndarray:
    """The face of ``box`` with a margin, at most ``side`` px (for the faces panel)."""
    h, w = pixels.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    margin = 0.2 * max(x1 - x0, y1 - y0)
    left, top = max(0, int(x0 - margin)), max(0, int(y0 - margin))
    right, bottom = min(w, int(x1 + margin) + 1), min(h, int(y1 + margin) + 1)
    crop = pixels[top:bottom, left:right]
    if crop.size == 0:
        return np.zeros((side, side, 3), np.uint8)
    from engine.pixels import to_uint8

    crop = to_uint8(crop)
    if crop.ndim == 2:
        crop = np.repeat(crop[..., None], 3, axis=2)
    factor = side / max(crop.shape[:2])
    if factor < 1.0:
        size = (max(1, round(crop.shape[1] * factor)), max(1, round(crop.shape[0] * factor)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(crop[..., :3])


def detect(restorer: Restorer, photo: Photo, options: RestoreOptions) -> Found:
    """Find the faces of a photo (MTCNN: works with no restoration model installed)."""
    faces = restorer.detect(photo, options)
    return Found(faces, [face_crop(photo.pixels, f.box) for f in faces])


# --- restoration ----------------------------------------------------------------------
def warm_up(restorer: Restorer, options: RestoreOptions) -> None:
    """Load the face detector now, so the first photo neither waits nor stalls the UI;
    the identity check goes to a helper process (dlib would hold the GIL for long)."""
    restorer.warm_up(options)
    from engine.identity import identity_in_helper_process

    identity_in_helper_process()


def restore(
    restorer: Restorer,
    photo: Photo,
    options: RestoreOptions,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
) -> Restored:
    """The restored photo, to be shown: its likeness figures follow (``measure_likeness``)."""
    result = restorer.restore(
        photo, options, progress=progress, cancel=cancel, measure_likeness=False
    )
    return Restored(photo, result, display_image(photo.pixels), display_image(result.image))


def recompose(restorer: Restorer, result: RestoreResult) -> Recomposed:
    """Paste again with the faces' current ``accepted`` / ``strength`` (no network run);
    the figures of the faces whose strength changed follow (``measure_likeness``)."""
    fresh = restorer.recompose(result, likeness=False)
    return Recomposed(fresh, display_image(fresh.image))


def likeness_due(result: RestoreResult | None) -> bool:
    """Some face of ``result`` waits for its likeness figure (missing, or out of date)."""
    from engine.face_identity import to_measure

    return result is not None and bool(to_measure(result))


def measure_likeness(
    result: RestoreResult, progress: ProgressCallback | None, cancel: CancelToken | None
) -> RestoreResult:
    """A copy of ``result`` with the figures it is due, measured (dlib: in the helper
    process); cancelled, it has those measured so far."""
    import copy

    from engine.errors import Cancelled
    from engine.face_identity import measure_result

    fresh = dataclasses.replace(result, faces=[copy.copy(f) for f in result.faces])
    fresh.timings = dict(result.timings)
    with contextlib.suppress(Cancelled):  # the figures measured so far are worth keeping
        measure_result(fresh, progress, cancel)
    return fresh


def strength_keeping_likeness(result: RestoreResult, index: int) -> float:
    """The highest strength (up to the face's own) at which it still looks like the person."""
    from engine.face_identity import strength_keeping_likeness as find

    return find(next(f for f in result.faces if f.index == index))


def rerun_face(
    restorer: Restorer,
    photo: Photo,
    result: RestoreResult,
    index: int,
    options: RestoreOptions,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
) -> Recomposed:
    fresh = restorer.rerun_face(
        photo, result, index, options, progress=progress, cancel=cancel, measure_likeness=False
    )
    return Recomposed(fresh, display_image(fresh.image))


# --- saving ---------------------------------------------------------------------------
def output_photo(photo: Photo, result: RestoreResult) -> Photo:
    """The restored photo with the original's metadata (EXIF, ICC, XMP, DPI, bit depth)."""
    return dataclasses.replace(
        photo, pixels=result.image, alpha=result.alpha, notes=list(photo.notes)
    )


def save(
    restorer: Restorer,
    photo: Photo,
    result: RestoreResult,
    path: Path,
    fmt: str | None,
    quality: int,
    fresh: bool,
    replace_original: bool = False,
) -> Path:
    """Write the restored photo; recompose first if the faces changed since the last paste.

    ``replace_original`` is set only after the user confirmed, in a dialog, that the
    original file may be replaced.
    """
    from engine.io import save_photo

    if not fresh:
        result = restorer.recompose(result, likeness=False)
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


ExportItem = tuple[str, "Path | None", "Photo | None", "RestoreResult | None", bool]


def batch_export(
    restorer: Restorer,
    items: list[ExportItem],
    options: RestoreOptions,
    folder: Path,
    fmt: str | None,
    quality: int,
    progress: ProgressCallback | None,
    cancel: CancelToken,
) -> BatchOutcome:
    """Restore (when not done yet) and save every photo into ``folder`` (``engine.batch``).

    ``items`` are (name, path, photo or None, result or None, result is fresh). One
    photo failing (unreadable, no face) is recorded and the others go on.
    """
    from engine.batch import BatchItem, SaveOptions, restore_batch

    batch = [
        BatchItem(name, path, photo, result, fresh) for name, path, photo, result, fresh in items
    ]
    save = SaveOptions(folder=folder, fmt=fmt or None, quality=quality)
    return restore_batch(  # the app reads no figures of an export
        restorer, batch, options, save, progress=progress, cancel=cancel, likeness=False
    )


# --- models and devices ---------------------------------------------------------------
def list_models(verify: bool = False) -> list[ModelRow]:
    from engine.models import get_preset
    from engine.weights import installed_weights, verify_weights

    rows = []
    for info in installed_weights():
        try:
            preset = get_preset(info.preset)
            kind, description = preset.kind, preset.description
        except ReviveError:
            kind, description = None, "unknown preset"
        rows.append(ModelRow(info, verify_weights(info) if verify else None, kind, description))
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
    return any(r.kind is not None and r.kind.restores_faces for r in rows)


def import_checkpoint(path: Path) -> WeightsInfo:
    """Import a release ``.pth``; a damaged file is said in words, not the unpickler's."""
    from engine.catalogue import explain_import_error
    from engine.checkpoint_import import import_official_checkpoint

    try:
        return import_official_checkpoint(path)
    except WeightsError as err:
        raise WeightsError(explain_import_error(str(err))) from None


def available_models() -> Available:
    """The catalogue, and which of its models are installed (catalogue problems: words)."""
    from engine.catalogue import installed_entry_names, load_catalogue
    from engine.weights import installed_weights

    try:
        entries = load_catalogue()
    except ReviveError as err:
        return Available([], set(), str(err))
    return Available(entries, installed_entry_names(entries, installed_weights()))


def download_model(
    name: str, progress: ProgressCallback | None, cancel: CancelToken | None
) -> WeightsInfo:
    """Download, check and install a catalogue model (resumes an earlier try)."""
    from engine.catalogue import find_entry, install

    return install(find_entry(name), progress=progress, cancel=cancel)


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
