"""The identity figure of each restored face: did the restoration keep the person?

Glue between the pipeline's face records and ``engine.identity`` (dlib's face
descriptors, the optional ``identity`` extra): the face as it is pasted, at its
current strength, against the original the network was given, on the same square.
Without the extra every figure is None and nothing else changes.

The figures follow the photo: a restoration pastes its faces first and leaves its
result ``Likeness.PENDING``; ``measure_result`` then measures the faces, a few per call
into dlib (``FACES_PER_CALL``: one call per group, and a cancel lands between groups),
from the aligned crops the faces already have (nothing is cut from the photo again).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import time

import cv2
import numpy as np

from .faces.align import transform_points
from .pixels import to_float01
from .progress import CancelToken, ProgressCallback, Stage, check, report
from .results import FaceRecord, Likeness, RestoreResult

log = logging.getLogger("engine.identity")

# Faces measured per call into dlib's network: one call for a small group photo, and
# a cancel waits for at most this many faces (dlib's CPU batch costs what its faces do).
FACES_PER_CALL = 8


@functools.lru_cache(maxsize=1)
def identity_reason() -> str | None:
    """Why the identity check cannot run here (one line), or None when it can."""
    from .identity import identity_available

    return identity_available()


def blended_face(record: FaceRecord, strength: float) -> tuple[np.ndarray, np.ndarray]:
    """(the face as pasted at ``strength``, the original), float [0, 1], same size."""
    assert record.restored is not None
    restored = record.restored
    h, w = restored.shape[:2]
    original = to_float01(record.crop_before)
    if original.shape[:2] != (h, w):  # CAGFace: the region at the photo's resolution
        original = cv2.resize(original, (w, h), interpolation=cv2.INTER_CUBIC)
    return original + float(strength) * (restored - original), original


def likeness_state(identity: bool) -> Likeness:
    """What a new result's figures will be: OFF, UNAVAILABLE, or PENDING (to measure)."""
    if not identity:
        return Likeness.OFF
    return Likeness.UNAVAILABLE if identity_reason() is not None else Likeness.PENDING


def shown_strength(record: FaceRecord) -> float:
    """The strength the face is pasted at (a face not used is the original: 0)."""
    return record.strength if record.accepted else 0.0


def measure(record: FaceRecord, strength: float | None = None) -> None:
    """Set ``record.identity`` for the face at ``strength`` (default: its own)."""
    measure_faces([record], [record.strength if strength is None else strength])


def measure_faces(
    records: list[FaceRecord],
    strengths: list[float] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> None:
    """Set ``identity`` of each record at its strength (default: as pasted), in place.

    ``FACES_PER_CALL`` faces per call into dlib (in the helper process when there is
    one); ``cancel`` is checked between calls, so the faces measured so far keep their
    figures. A face that cannot be measured gets None: a diagnostic never fails a photo.
    """
    records = [r for r in records if r.restored is not None]
    if not records or identity_reason() is not None:
        return
    from .identity import FacePair, compare_face_pairs

    if strengths is None:
        strengths = [shown_strength(r) for r in records]
    jobs = list(zip(records, strengths, strict=True))
    report(progress, Stage.IDENTITY, 0, len(jobs))
    for start in range(0, len(jobs), FACES_PER_CALL):
        check(cancel)
        group = jobs[start : start + FACES_PER_CALL]
        pairs: list[FacePair] = []
        for record, strength in group:
            face, original = blended_face(record, strength)
            pairs.append((face, original, transform_points(record.to_crop, record.landmarks)))
        try:
            scores = compare_face_pairs(pairs)
        except Exception as err:  # a diagnostic must never fail a restoration
            log.warning("identity check skipped: %s", err)
            scores = [None] * len(group)
        for (record, strength), score in zip(group, scores, strict=True):
            record.identity = score
            if score is not None:
                record.identity_strength = float(strength)
        report(progress, Stage.IDENTITY, start + len(group), len(jobs))


def is_stale(record: FaceRecord) -> bool:
    """The face has a figure, measured at another strength than it is pasted at now."""
    if record.identity is None:
        return False
    return abs(shown_strength(record) - record.identity_strength) > 1e-6


def to_measure(result: RestoreResult) -> list[FaceRecord]:
    """The faces of ``result`` whose figure is due: missing while the result's figures
    are pending (or were cut short), or measured at another strength than pasted now."""
    due = result.likeness in (Likeness.PENDING, Likeness.MISSING)
    return [
        f
        for f in result.faces
        if f.restored is not None and ((due and f.identity is None) or is_stale(f))
    ]


def measure_result(
    result: RestoreResult,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> RestoreResult:
    """Measure the figures ``result`` is due (``to_measure``), in place; returns it.

    A pending result becomes MEASURED; cancelled on the way it becomes MISSING (the
    faces done so far keep their figures) and ``Cancelled`` is raised.
    """
    pending = result.likeness in (Likeness.PENDING, Likeness.MISSING)
    faces = to_measure(result)
    start = time.perf_counter()
    try:
        measure_faces(faces, progress=progress, cancel=cancel)
    except BaseException:  # Cancelled, or Ctrl+C in a terminal
        if pending:
            result.likeness = Likeness.MISSING
        raise
    finally:
        if faces:
            spent = time.perf_counter() - start
            result.timings["identity"] = result.timings.get("identity", 0.0) + spent
    if pending:
        result.likeness = Likeness.MEASURED
    return result


def with_figures(result: RestoreResult, source: RestoreResult) -> RestoreResult:
    """``result`` with the figures ``source`` measured for the same faces (the same
    restored crop), where ``result`` has none or one measured at another strength than
    the face is pasted at now; the records are copied, ``result`` is left as it was
    (and comes back itself when ``source`` adds nothing).

    Figures measured on one version of a photo's faces reach a newer one (the app pastes
    a face again while its figure is being measured). The result's figures are MEASURED
    once every face of it was in ``source`` and ``source``'s are.
    """
    found = {id(f.restored): f for f in source.faces if f.restored is not None}
    faces = []
    for face in result.faces:
        other = found.get(id(face.restored))
        if other is not None and other.identity is not None:
            fits = abs(other.identity_strength - shown_strength(face)) <= 1e-6
            if face.identity is None or (is_stale(face) and fits):
                face = dataclasses.replace(
                    face, identity=other.identity, identity_strength=other.identity_strength
                )
        faces.append(face)
    likeness = result.likeness
    every = all(id(f.restored) in found for f in result.faces)
    if likeness is Likeness.PENDING and every and source.likeness is not Likeness.PENDING:
        likeness = source.likeness
    same = all(a is b for a, b in zip(faces, result.faces, strict=True))
    if same and likeness is result.likeness:
        return result
    return dataclasses.replace(result, faces=faces, likeness=likeness)


def strength_keeping_likeness(record: FaceRecord, steps: int = 6) -> float:
    """The highest strength, up to the face's own, whose identity figure passes.

    A bisection over the blend of original and restored face (each step one dlib
    descriptor pair, about 0.1-0.2 s on a CPU). At strength 0 the face is the original
    itself, so some strength always passes; without the identity check the face's own
    strength is returned unchanged.
    """
    import copy

    current = record.strength
    if identity_reason() is not None or record.restored is None:
        return current
    probe = copy.copy(record)
    measure(probe, current)
    if probe.identity is None or not probe.identity.flagged:
        return current
    low, high = 0.0, current  # low passes (the original), high does not
    for _ in range(steps):
        mid = (low + high) / 2
        measure(probe, mid)
        if probe.identity is not None and not probe.identity.flagged:
            low = mid
        else:
            high = mid
    return math.floor(low * 100) / 100  # down: rounding up could cross the line again
