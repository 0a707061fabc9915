"""What one restored face becomes after the network: the record that is pasted and shown.

A large face gets the network's repair on its own native crop (``engine.faces.native``,
cut before the network); every face then takes the photo's colours
(``engine.faces.colour``) and becomes a :class:`engine.results.FaceRecord`, which
holds everything ``recompose`` needs to paste it again without a network.
"""

from __future__ import annotations

import numpy as np

from ..face_engines import RestoredFace
from ..options import PhotoOptions
from ..pixels import to_uint8
from ..results import FaceRecord
from .colour import keep_luminance_only, match_colors
from .crops import FaceCrop
from .detect import DetectedFace
from .native import keep_own_detail


def finish_face(
    index: int,
    face: DetectedFace,
    crop: FaceCrop,
    out: RestoredFace,
    model: str,
    weights: str,
    o: PhotoOptions,
    keep_chroma: bool,
) -> FaceRecord:
    """Face ``index`` of the photo, restored by ``model`` (``weights``), ready to paste."""
    before, after, to_crop, mask = crop.pixels, out.crop, crop.to_crop, crop.mask
    masks, note = out.masks, ""
    if crop.native is not None:  # larger in the result than the network's side
        kept = keep_own_detail(crop.native, before, after, masks)
        before, after, to_crop, mask = kept.before, kept.after, kept.to_crop, kept.mask
        masks, note = kept.masks, kept.note
    if keep_chroma:  # a gray or toned photo: the luminance change only
        after = keep_luminance_only(after, before)
    pasted = match_colors(after, before, mask) if o.color_match else after
    return FaceRecord(
        index=index,
        box=face.box,
        landmarks=face.landmarks,
        score=face.score,
        crop_before=to_uint8(before),
        crop_after=to_uint8(after),
        to_crop=to_crop,
        model=model,
        attention=out.attention,
        masks=masks,
        timings={"align": crop.seconds, "network": out.seconds},
        strength=o.strength,
        weights=weights,
        restored=pasted.astype(np.float32),
        paste_mask=np.asarray(mask, np.float32),
        note=note,
    )
