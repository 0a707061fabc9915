"""Paste the faces as they now stand: restore's last step, and every change after it.

The GUI's accept toggles and strength sliders call this with no network run: each
``FaceRecord`` keeps the crop as pasted and its mask. At 2x / 4x the pasted faces then
get the grain of the photo around them (``engine.faces.grain``).
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np

from .. import face_identity
from ..progress import CancelToken, ProgressCallback
from ..results import FaceRecord, RestoreResult
from .grain import match_grain
from .paste import PasteItem, paste_faces


def paste_items(faces: list[FaceRecord]) -> list[PasteItem]:
    """What paste-back needs of each face; a rejected face is pasted at strength 0."""
    return [
        PasteItem(f.restored, f.paste_mask, f.to_crop, f.strength if f.accepted else 0.0)
        for f in faces
        if f.restored is not None and f.paste_mask is not None
    ]


def recompose(
    result: RestoreResult,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    likeness: bool = True,
) -> RestoreResult:
    """A new result whose image is the base with the faces pasted as they now stand.

    Rejected faces (``accepted`` False) and strength 0 leave the base untouched there.
    The face records are copied, so the new result can be changed independently.
    Then, with ``likeness``, the figures the faces are due follow (measured again where
    the strength changed; ``face_identity.measure_result``); without, the caller
    measures them later (the app, once the new picture is shown).
    """
    if result.base is None:
        raise ValueError("this result keeps no base image to paste onto")
    faces = [copy.copy(f) for f in result.faces]
    image = paste_faces(
        result.base,
        paste_items(faces),
        result.scale,
        keep_chroma=result.keep_chroma,
        progress=progress,
        cancel=cancel,
    )
    image = _match_grain(image, faces, result)
    fresh = dataclasses.replace(result, image=image, faces=faces, timings=dict(result.timings))
    if likeness:
        face_identity.measure_result(fresh)  # a few faces at most: not cancelled
    return fresh


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
