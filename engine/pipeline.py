"""The Restorer: a whole photo in, the same photo out with every face restored.

It only orchestrates ``decode -> detect -> plan crops -> networks -> finish faces ->
paste``, with a progress callback, a cancel token checked between steps, and a
structured result (``engine.results``) that both front ends read. Each step's work is
elsewhere: ``engine.faces.plan`` (engine and crop per face, cut once),
``engine.face_engines`` (the networks), ``engine.faces.finish`` (a restored face's
record), ``engine.faces.recompose`` (paste, grain). Models are loaded once per
``Restorer`` and cached per device and fast-path setting. ``recompose`` re-pastes with
changed per-face ``accepted`` / ``strength`` without running a network (the GUI's
toggles and sliders); ``rerun_face`` restores one face again (e.g. with another model).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import threading
import time
from functools import partial
from typing import Any

import numpy as np

from . import face_identity
from .device import autocast_dtype, resolve_device
from .enlarge import upscale
from .errors import NoFaceError, WeightsError
from .face_engines import EngineSet, ModelCache, RunSettings, build_engines
from .faces.colour import keeps_chroma
from .faces.detect import DetectedFace, FaceDetector
from .faces.finish import finish_face
from .faces.plan import plan_faces
from .faces.recompose import recompose
from .io import Photo, as_photo
from .model_choice import ModelPlan, plan_models
from .networks import auto_batch, device_text, run_networks, run_settings
from .options import DetectionOptions, PhotoOptions, RestoreOptions, RuntimeOptions
from .progress import CancelToken, ProgressCallback, Stage, check, report
from .results import FaceRecord, Likeness, RestoreResult
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


# --- the Restorer ---------------------------------------------------------------------------


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
        runtime = o.runtime.network_runtime
        key = (d, device, runtime)
        if key not in self._detectors:
            prepare = None
            if runtime != "torch":
                from .runtimes.mtcnn import use_runtime

                prepare = partial(use_runtime, choice=runtime)
            self._detectors[key] = FaceDetector(
                d.min_face_size, d.min_score, d.max_side, device=device, prepare=prepare
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
        measure_likeness: bool = True,
    ) -> RestoreResult:
        """Restore every face of ``image`` (a ``Photo``, a path, or a uint8/uint16 array).

        decode -> detect -> align (the preset's crop plan) -> network -> paste, then the
        likeness figures (``options.runtime.identity``). Without ``measure_likeness`` the
        result comes back with its figures PENDING, for the caller to measure once the
        photo is written or shown (``face_identity.measure_result``).
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
        batch = o.runtime.batch_size or auto_batch(device, engines.main.preset.size)
        run = run_settings(o.runtime, device, batch, progress, cancel)
        keep_chroma = keeps_chroma(photo.pixels, photo.is_grayscale, o.photo.keep_chroma)
        records = self._restore_faces(photo, faces, engines, run, o, keep_chroma, timings)

        t = time.perf_counter()
        base = upscale(photo.pixels, o.photo.output_scale)
        result = RestoreResult(
            image=base,
            faces=records,
            scale=o.photo.output_scale,
            device=device_text(run),
            warnings=list(run.fallback.warnings),
            alpha=self._alpha(photo, o.photo.output_scale),
            base=base,
            keep_chroma=keep_chroma,
            options=o,
            likeness=face_identity.likeness_state(o.runtime.identity),
        )
        result = recompose(result, progress=progress, cancel=cancel, likeness=False)
        timings["paste"] = time.perf_counter() - t
        paste_each = timings["paste"] / max(1, len(records))
        for record in result.faces:
            record.timings["paste"] = paste_each
        timings["total"] = time.perf_counter() - start  # the photo, pasted
        result.timings = timings
        if measure_likeness:  # the figures follow the pasted photo
            face_identity.measure_result(result, progress, cancel)
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
        """Plan and cut, run the networks, finish; FaceRecords in the order of ``faces``."""
        indices = indices if indices is not None else list(range(len(faces)))
        t = time.perf_counter()
        planned = plan_faces(photo.pixels, faces, engines, o.photo, run.progress, run.cancel)
        timings["align"] = time.perf_counter() - t
        t = time.perf_counter()
        outputs = run_networks(planned, engines, run)
        timings["network"] = time.perf_counter() - t
        return [
            finish_face(
                index,
                p.prepared.face,
                p.prepared.crop,
                out,
                p.engine.preset.name,
                p.engine.name,
                o.photo,
                keep_chroma,
            )
            for index, p, out in zip(indices, planned, outputs, strict=True)
        ]

    @staticmethod
    def _alpha(photo: Photo, scale: int) -> np.ndarray | None:
        if photo.alpha is None:
            return None
        return upscale(photo.alpha, scale)

    # -- after the fact ---------------------------------------------------------------------
    def recompose(
        self,
        result: RestoreResult,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        likeness: bool = True,
    ) -> RestoreResult:
        """Paste again with the faces' current ``accepted`` / ``strength``; no network runs.
        The figures of faces whose strength changed follow (unless ``likeness`` is False)."""
        return recompose(result, progress=progress, cancel=cancel, likeness=likeness)

    def rerun_face(
        self,
        photo: Any,
        result: RestoreResult,
        index: int,
        options: RestoreOptions | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        measure_likeness: bool = True,
    ) -> RestoreResult:
        """Restore face ``index`` of ``result`` again with ``options`` (the scale stays);
        its likeness figure follows the paste (PENDING without ``measure_likeness``)."""
        o = (options or result.options or self.options).replace(scale=result.scale)
        photo = as_photo(photo, o.photo.max_megapixels)
        old = result.faces[index]
        face = DetectedFace(np.asarray(old.box), float(old.score), np.asarray(old.landmarks))
        engines = build_engines(self.model_plan(o), o, self.models)
        device = resolve_device(o.runtime.device)
        run = run_settings(o.runtime, device, 1, progress, cancel)
        timings: dict[str, float] = {}
        record = self._restore_faces(
            photo, [face], engines, run, o, result.keep_chroma, timings, [old.index]
        )[0]
        record.accepted, record.strength = old.accepted, old.strength
        faces = [record if i == index else f for i, f in enumerate(result.faces)]
        fresh = dataclasses.replace(
            result,
            faces=faces,
            warnings=[*result.warnings, *run.fallback.warnings],
        )
        if face_identity.likeness_state(o.runtime.identity) is Likeness.PENDING:
            fresh.likeness = Likeness.PENDING  # the new face's figure is due
        return recompose(fresh, progress=progress, cancel=cancel, likeness=measure_likeness)
