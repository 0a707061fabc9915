"""The identity figure of each restored face: did the restoration keep the person?

Glue between the pipeline's face records and ``engine.identity`` (dlib's face
descriptors, the optional ``identity`` extra): the face as it is pasted, at its
current strength, against the original the network was given, on the same square.
Without the extra every figure is None and nothing else changes.
"""

from __future__ import annotations

import functools
import logging
import math

import cv2
import numpy as np

from .faces.align import transform_points
from .pixels import to_float01
from .results import FaceRecord

log = logging.getLogger("engine.identity")


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


def measure(record: FaceRecord, strength: float | None = None) -> None:
    """Set ``record.identity`` for the face at ``strength`` (default: its own)."""
    if record.restored is None or identity_reason() is not None:
        return
    from .identity import compare_faces

    strength = record.strength if strength is None else strength
    face, original = blended_face(record, strength)
    points = transform_points(record.to_crop, record.landmarks)
    try:
        record.identity = compare_faces(face, original, points)
    except Exception as err:  # a diagnostic must never fail a restoration
        log.warning("identity check skipped: %s", err)
        record.identity = None
        return
    record.identity_strength = float(strength)


def refresh(records: list[FaceRecord]) -> None:
    """Measure again the faces whose strength changed since they were measured."""
    for record in records:
        shown = record.strength if record.accepted else 0.0
        if record.identity is not None and abs(shown - record.identity_strength) > 1e-6:
            measure(record, shown)


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
