"""The Restorer: a whole photo in, the same photo out with every face restored.

``decode -> detect -> align -> network -> paste``, with a progress callback, a cancel
token checked between steps, and a structured result (``engine.results``) that both
front ends read. Models are loaded once per ``Restorer`` and cached per device and
fast-path setting. ``recompose`` re-pastes with changed per-face ``accepted`` /
``strength`` without running a network (the GUI's toggles and sliders); ``rerun_face``
restores one face again (e.g. with another model).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import os
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from . import face_identity
from .device import OomFallback, autocast_dtype, resolve_device
from .errors import NoFaceError, WeightsError
from .face_engines import (
    Engine,
    EngineSet,
    ModelCache,
    PreparedFace,
    RestoredFace,
    RunSettings,
    build_engines,
)
from .faces.crops import (
    DETAIL_FROM,
    NATIVE_MAX_SIDE,
    AlignedCrop,
    CropPlan,
    RegionCrop,
    add_correction,
    native_crop,
    native_side,
)
from .faces.detect import DetectedFace, FaceDetector
from .faces.grain import match_grain
from .faces.paste import (
    PasteItem,
    keep_luminance_only,
    looks_monochrome,
    match_colors,
    paste_faces,
)
from .io import DEFAULT_MAX_MEGAPIXELS, Photo, load_photo
from .model_choice import ModelPlan, plan_models
from .options import DetectionOptions, PhotoOptions, RestoreOptions, RuntimeOptions
from .pixels import to_uint8
from .progress import CancelToken, ProgressCallback, ProgressEvent, Stage, check, report
from .results import FaceRecord, RestoreResult
from .scale_choice import resolve_scale

__all__ = [
    "DetectionOptions",
    "PhotoOptions",
    "RestoreOptions",
    "Restorer",
    "RuntimeOptions",
    "as_photo",
    "recompose",
    "upscale",
]


# --- inputs ----------------------------------------------------------------------------------


def as_photo(image: Any, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS) -> Photo:
    """A ``Photo`` from a Photo, a path, or an array (H x W, H x W x 3 or 4; uint8 / uint16)."""
    if isinstance(image, Photo):
        return image
    if isinstance(image, (str, os.PathLike)):
        return load_photo(Path(image), max_megapixels=max_megapixels)
    array = np.asarray(image)
    if array.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"images must be uint8 or uint16 arrays, not {array.dtype}")
    alpha = None
    gray = array.ndim == 2
    if gray:
        array = np.repeat(array[..., None], 3, axis=2)
    elif array.ndim == 3 and array.shape[2] == 4:
        array, alpha = array[..., :3], np.ascontiguousarray(array[..., 3])
    if array.ndim != 3 or array.shape[2] != 3:
        raise TypeError(f"expected an H x W x 3 image, got shape {array.shape}")
    return Photo(
        np.ascontiguousarray(array),
        alpha=alpha,
        bit_depth=8 if array.dtype == np.uint8 else 16,
        is_grayscale=gray,
    )


def upscale(image: np.ndarray, scale: int, rows_per_strip: int = 1024) -> np.ndarray:
    """``image`` enlarged ``scale`` times (Lanczos), in strips so big photos stay in memory.

    Integer scales map pixel centres the same way in a strip as in the whole image, so
    strips with an 8-pixel margin give exactly the whole-image result.
    """
    if scale == 1:
        return image
    h, w = image.shape[:2]
    out = np.empty((h * scale, w * scale, *image.shape[2:]), image.dtype)
    margin = 8
    for r0 in range(0, h, rows_per_strip):
        r1 = min(h, r0 + rows_per_strip)
        a, b = max(0, r0 - margin), min(h, r1 + margin)
        strip = cv2.resize(
            image[a:b], (w * scale, (b - a) * scale), interpolation=cv2.INTER_LANCZOS4
        )
        out[r0 * scale : r1 * scale] = strip[(r0 - a) * scale : (r1 - a) * scale].reshape(
            -1, w * scale, *image.shape[2:]
        )
    return out


def _small_copy(pixels: np.ndarray, side: int = 512) -> np.ndarray:
    h, w = pixels.shape[:2]
    f = min(1.0, side / max(h, w))
    if f >= 1.0:
        return pixels
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA))


def _auto_batch(device: torch.device, size: int) -> int:
    """Faces per network call. GPUs want big batches; a CPU core is fastest with one
    face at a time once a face's activations outgrow its caches (256 px and up)."""
    budget = 2**21 if device.type == "cuda" else 2**16  # pixels per call
    return int(max(1, min(16 if device.type == "cuda" else 8, budget // max(1, size * size))))


# --- the Restorer ---------------------------------------------------------------------------


def _run_settings(
    r: RuntimeOptions,
    device: torch.device,
    batch: int,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
) -> RunSettings:
    """How the engines run this time: device, precision, batch (shrunk on OOM), tiles."""
    return RunSettings(
        fallback=OomFallback(device, batch),
        dtype=autocast_dtype(device, r.precision),
        attention=r.attention,
        masks=r.masks,
        channels_last=r.channels_last,
        inference_mode=r.inference_mode,
        cpu_workers=r.cpu_workers or torch.get_num_threads(),
        tile_size=r.tile_size,
        tile_overlap=r.tile_overlap,
        progress=progress,
        cancel=cancel,
    )


class Restorer:
    """One object per app / CLI run: detects, aligns, restores and pastes faces.

    Thread-safe for one restoration at a time per object (the GUI's single worker).
    """

    def __init__(self, options: RestoreOptions | None = None) -> None:
        self.options = options or RestoreOptions()
        self.models = ModelCache()
        self._plans: dict[str, ModelPlan] = {}  # by the ``model`` setting, made once each
        self._detectors: dict[tuple, FaceDetector] = {}
        self._found: dict[tuple, list[DetectedFace]] = {}  # recent detections, oldest first
        self._lock = threading.Lock()

    @classmethod
    def from_store(cls, options: RestoreOptions | None = None) -> Restorer:
        """A restorer with its model plan made from the installed weights, once.

        The plan (which weights restore, which enlarge tiny faces, which find face parts)
        is kept for the restorer's life: the app makes a new restorer when weights are
        installed or removed; another ``model`` setting gets a plan of its own. Without
        weights the one-line error comes with the first restoration, as before.
        """
        restorer = cls(options)
        with contextlib.suppress(WeightsError):
            restorer.model_plan()
        return restorer

    def model_plan(self, options: RestoreOptions | None = None) -> ModelPlan:
        """The installed weights that restore with these options (planned once per model)."""
        model = (options or self.options).runtime.model
        with self._lock:
            plan = self._plans.get(model)
        if plan is None:
            plan = plan_models(model)
            with self._lock:
                self._plans[model] = plan
        return plan

    def forget_detections(self) -> None:
        """Drop the remembered detections (benchmarks time detection every run)."""
        with self._lock:
            self._found.clear()

    # -- pieces ---------------------------------------------------------------------------
    def detector(self, options: RestoreOptions | None = None) -> FaceDetector:
        """MTCNN with these thresholds; on the GPU when the restoration runs there."""
        o = options or self.options
        d = o.detection
        device = "cuda" if resolve_device(o.runtime.device).type == "cuda" else "cpu"
        key = (d, device)
        if key not in self._detectors:
            self._detectors[key] = FaceDetector(
                d.min_face_size, d.min_score, d.max_side, device=device
            )
        return self._detectors[key]

    def warm_up(self, options: RestoreOptions | None = None) -> None:
        """Load the face detector ahead of the first photo (see ``FaceDetector.load``)."""
        self.detector(options).load()

    def detect(self, image: Any, options: RestoreOptions | None = None) -> list[DetectedFace]:
        """The faces of a photo (a Photo, path or array), left to right.

        The last few answers are remembered by the pixels' hash and the detector's
        settings, so restoring the same photo again (another model, another scale)
        does not search it again.
        """
        o = options or self.options
        pixels = np.ascontiguousarray(as_photo(image, o.photo.max_megapixels).pixels)
        digest = hashlib.blake2b(pixels.data.cast("B"), digest_size=16).hexdigest()
        key = (digest, pixels.shape, str(pixels.dtype), o.detection)
        with self._lock:
            found = self._found.pop(key, None)
        if found is None:
            found = self.detector(o).detect(pixels)
        with self._lock:
            self._found[key] = found
            while len(self._found) > 4:
                self._found.pop(next(iter(self._found)))
        return [dataclasses.replace(f) for f in found]

    @staticmethod
    def _crop_plan(engine: Engine, photo: PhotoOptions) -> CropPlan:
        plan = engine.preset.crop
        if isinstance(plan, RegionCrop):
            plan = dataclasses.replace(plan, region=photo.cagface_region)
        if isinstance(plan, AlignedCrop):  # the working side follows the output's size
            plan = dataclasses.replace(plan, scale=photo.output_scale)
        assert plan is not None, f"{engine.preset.name} restores no faces"
        return plan

    def check(self, options: RestoreOptions | None = None) -> None:
        """Raise the one-line error a restoration would hit at once (weights, device)."""
        o = options or self.options
        self.model_plan(o)
        autocast_dtype(resolve_device(o.runtime.device), o.runtime.precision)

    # -- the whole photo ----------------------------------------------------------------------
    def restore(
        self,
        image: Any,
        options: RestoreOptions | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> RestoreResult:
        """Restore every face of ``image`` (a ``Photo``, a path, or a uint8/uint16 array).

        decode -> detect -> align (the preset's crop plan) -> network -> paste.
        """
        o = options or self.options
        timings: dict[str, float] = {}
        start = time.perf_counter()
        check(cancel)
        report(progress, Stage.DECODE, 0, 1)
        photo = as_photo(image, o.photo.max_megapixels)
        timings["decode"] = time.perf_counter() - start
        report(progress, Stage.DECODE, 1, 1)
        check(cancel)
        engines = build_engines(
            self.model_plan(o), o, self.models
        )  # fails early, before detection, without weights

        t = time.perf_counter()
        report(progress, Stage.DETECT, 0, 1)
        faces = self.detect(photo, o)
        timings["detect"] = time.perf_counter() - t
        report(progress, Stage.DETECT, 1, 1, f"{len(faces)} faces")
        if not faces and not o.photo.allow_no_faces:
            raise NoFaceError(
                f"no face found (faces smaller than {o.detection.min_face_size:g} px are ignored)"
            )
        if o.photo.scale == "auto":  # now the faces are known
            size = (photo.pixels.shape[1], photo.pixels.shape[0])
            o = o.replace(scale=resolve_scale("auto", [f.box for f in faces], size))
        check(cancel)

        device = resolve_device(o.runtime.device)
        batch = o.runtime.batch_size or _auto_batch(device, engines.main.preset.size)
        run = _run_settings(o.runtime, device, batch, progress, cancel)
        keep_chroma = self._keep_chroma(photo, o.photo)
        records = self._restore_faces(photo, faces, engines, run, o, keep_chroma, timings)
        if o.runtime.identity:
            t = time.perf_counter()
            for n, record in enumerate(records, 1):
                check(cancel)
                face_identity.measure(record)
                report(progress, Stage.IDENTITY, n, len(records))
            timings["identity"] = time.perf_counter() - t

        t = time.perf_counter()
        base = upscale(photo.pixels, o.photo.output_scale)
        result = RestoreResult(
            image=base,
            faces=records,
            scale=o.photo.output_scale,
            device=self._device_text(run),
            warnings=list(run.fallback.warnings),
            alpha=self._alpha(photo, o.photo.output_scale),
            base=base,
            keep_chroma=keep_chroma,
            options=o,
        )
        result = recompose(result, progress=progress, cancel=cancel)
        timings["paste"] = time.perf_counter() - t
        paste_each = timings["paste"] / max(1, len(records))
        for record in result.faces:
            record.timings["paste"] = paste_each
        timings["total"] = time.perf_counter() - start
        result.timings = timings
        return result

    def _restore_faces(
        self,
        photo: Photo,
        faces: list[DetectedFace],
        engines: EngineSet,
        run: RunSettings,
        o: RestoreOptions,
        keep_chroma: bool,
        timings: dict[str, float],
        indices: list[int] | None = None,
    ) -> list[FaceRecord]:
        """Align, run and post-process faces; FaceRecords in the order of ``faces``."""
        indices = indices if indices is not None else list(range(len(faces)))
        t = time.perf_counter()
        prepared: list[tuple[Engine, PreparedFace]] = []
        for n, face in enumerate(faces, 1):
            check(run.cancel)
            engine = engines.pick(face, o.photo)
            crop = self._crop_plan(engine, o.photo).cut(photo.pixels, face, o.photo.feather)
            prepared.append((engine, PreparedFace(face, crop)))
            report(run.progress, Stage.ALIGN, n, len(faces))
        timings["align"] = time.perf_counter() - t

        t = time.perf_counter()
        outputs: list[RestoredFace | None] = [None] * len(faces)
        progress, offset = run.progress, 0
        for engine in engines.all():
            mine = [i for i, (e, _) in enumerate(prepared) if e is engine]
            if not mine:
                continue

            def counted(event: ProgressEvent, offset: int = offset) -> None:
                if progress is not None:  # one count over both engines' faces
                    progress(
                        ProgressEvent(Stage.RESTORE, offset + event.done, len(faces), event.message)
                    )

            run.progress = counted
            outs = engine.restore([prepared[i][1] for i in mine], run)
            for i, out in zip(mine, outs, strict=True):
                outputs[i] = out
            offset += len(mine)
        run.progress = progress
        timings["network"] = time.perf_counter() - t

        records = []
        for index, (engine, prep), output in zip(indices, prepared, outputs, strict=True):
            assert output is not None
            records.append(
                self._record(index, engine, prep, output, photo.pixels, o.photo, keep_chroma)
            )
        return records

    def _record(
        self,
        index: int,
        engine: Engine,
        prep: PreparedFace,
        out: RestoredFace,
        pixels: np.ndarray,
        o: PhotoOptions,
        keep_chroma: bool,
    ) -> FaceRecord:
        crop, before, to_crop, mask = out.crop, prep.crop.pixels, prep.crop.to_crop, prep.crop.mask
        masks, note = out.masks, ""
        plan = self._crop_plan(engine, o)
        size = engine.preset.size
        if (
            isinstance(plan, AlignedCrop)
            and native_side(prep.crop, o.output_scale) > DETAIL_FROM * size
        ):
            # Larger in the output than the network's side: keep the photo's own detail
            # and add what the network corrected (engine.faces.crops).
            side = int(min(NATIVE_MAX_SIDE, round(native_side(prep.crop, o.output_scale))))
            native = native_crop(plan, pixels, prep.face, o.feather, side)
            crop = add_correction(native.pixels, before, crop)
            before, to_crop, mask = native.pixels, native.to_crop, native.mask
            if masks is not None:  # the same square, at the crop's new resolution
                masks = {
                    k: np.asarray(cv2.resize(v, (side, side), interpolation=cv2.INTER_LINEAR))
                    for k, v in masks.items()
                }
            note = (
                f"this face is {side} px in the result, larger than the "
                f"{prep.crop.output_side} px the network worked at: its own detail was "
                "kept and the network's repair added"
            )
        h, w = crop.shape[:2]
        original = before
        if original.shape[:2] != (h, w):  # CAGFace: the region at the photo's resolution
            original = cv2.resize(original, (w, h), interpolation=cv2.INTER_CUBIC)
        if keep_chroma:
            crop = keep_luminance_only(crop, original)
        pasted = match_colors(crop, before, mask) if o.color_match else crop
        return FaceRecord(
            index=index,
            box=prep.face.box,
            landmarks=prep.face.landmarks,
            score=prep.face.score,
            crop_before=to_uint8(before),
            crop_after=to_uint8(crop),
            to_crop=to_crop,
            model=engine.preset.name,
            attention=out.attention,
            masks=masks,
            timings={"align": prep.crop.seconds, "network": out.seconds},
            strength=o.strength,
            weights=engine.name,
            restored=pasted.astype(np.float32),
            paste_mask=np.asarray(mask, np.float32),
            note=note,
        )

    @staticmethod
    def _keep_chroma(photo: Photo, o: PhotoOptions) -> bool:
        if o.keep_chroma != "auto":
            return bool(o.keep_chroma)
        return photo.is_grayscale or looks_monochrome(_small_copy(photo.pixels))

    @staticmethod
    def _alpha(photo: Photo, scale: int) -> np.ndarray | None:
        if photo.alpha is None:
            return None
        return upscale(photo.alpha, scale)

    @staticmethod
    def _device_text(run: RunSettings) -> str:
        device = run.fallback.device
        if device.type == "cuda" and run.dtype is not None:
            name = {torch.float16: "fp16", torch.bfloat16: "bf16"}[run.dtype]
            return f"{device} ({name})"
        return str(device)

    # -- after the fact ---------------------------------------------------------------------
    def recompose(self, result: RestoreResult, progress: ProgressCallback | None = None,
                  cancel: CancelToken | None = None) -> RestoreResult:  # fmt: skip
        """Paste again with the faces' current ``accepted`` / ``strength``; no network runs."""
        return recompose(result, progress=progress, cancel=cancel)

    def rerun_face(
        self,
        photo: Any,
        result: RestoreResult,
        index: int,
        options: RestoreOptions | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> RestoreResult:
        """Restore face ``index`` of ``result`` again with ``options`` (the scale stays)."""
        o = (options or result.options or self.options).replace(scale=result.scale)
        photo = as_photo(photo, o.photo.max_megapixels)
        old = result.faces[index]
        face = DetectedFace(np.asarray(old.box), float(old.score), np.asarray(old.landmarks))
        engines = build_engines(self.model_plan(o), o, self.models)
        device = resolve_device(o.runtime.device)
        run = _run_settings(o.runtime, device, 1, progress, cancel)
        timings: dict[str, float] = {}
        record = self._restore_faces(
            photo, [face], engines, run, o, result.keep_chroma, timings, [old.index]
        )[0]
        record.accepted, record.strength = old.accepted, old.strength
        if o.runtime.identity:
            face_identity.measure(record)
        faces = [record if i == index else f for i, f in enumerate(result.faces)]
        fresh = dataclasses.replace(
            result,
            faces=faces,
            warnings=[*result.warnings, *run.fallback.warnings],
        )
        return recompose(fresh, progress=progress, cancel=cancel)


def _match_grain(image: np.ndarray, faces: list[FaceRecord], result: RestoreResult) -> np.ndarray:
    """At 2x / 4x, the pasted faces get the grain of the photo around them (faces.grain)."""
    for face in faces:
        face.grain = None
    o = result.options
    if result.scale == 1 or o is None or not o.photo.grain_match:
        return image
    pasted = [f for f in faces if f.accepted and f.strength > 0 and f.restored is not None]
    if not pasted:
        return image
    boxes = [np.asarray(f.box, np.float64) * result.scale for f in pasted]
    image, found = match_grain(image, boxes, result.scale, seeds=[f.index for f in pasted])
    for face, match in zip(pasted, found, strict=True):
        face.grain = match
    return image


def recompose(
    result: RestoreResult,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> RestoreResult:
    """A new result whose image is the base with the faces pasted as they now stand.

    Rejected faces (``accepted`` False) and strength 0 leave the base untouched there.
    The face records are copied, so the new result can be changed independently.
    """
    if result.base is None:
        raise ValueError("this result keeps no base image to paste onto")
    faces = [copy.copy(f) for f in result.faces]
    face_identity.refresh(faces)  # figures follow the strengths (no-op when unchanged)
    items = [
        PasteItem(f.restored, f.paste_mask, f.to_crop, f.strength if f.accepted else 0.0)
        for f in faces
        if f.restored is not None and f.paste_mask is not None
    ]
    image = paste_faces(
        result.base,
        items,
        result.scale,
        keep_chroma=result.keep_chroma,
        progress=progress,
        cancel=cancel,
    )
    image = _match_grain(image, faces, result)
    return dataclasses.replace(
        result,
        image=image,
        faces=faces,
        timings=dict(result.timings),
    )
