"""Before any network: which engine takes each face, and the one crop it is cut to.

The preset's crop plan (``engine.faces.crops``) is fitted to the photo's settings
(CAGFace's region, the output scale that sets an aligned face's working side) and
cuts each face once; a face large in the result is cut at its native side here too,
so nothing after the network goes back to the photo.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..face_engines import Engine, EngineSet, PreparedFace
from ..models import Preset
from ..options import PhotoOptions
from ..progress import CancelToken, ProgressCallback, Stage, check, report
from .crops import AlignedCrop, CropPlan, RegionCrop
from .detect import DetectedFace


@dataclasses.dataclass
class PlannedFace:
    """One face, the engine that restores it, and its cut crop."""

    engine: Engine
    prepared: PreparedFace


def crop_plan(preset: Preset, photo: PhotoOptions) -> CropPlan:
    """The preset's crop plan with this photo's settings."""
    plan = preset.crop
    if isinstance(plan, RegionCrop):
        plan = dataclasses.replace(plan, region=photo.cagface_region)
    if isinstance(plan, AlignedCrop):  # the working side follows the output's size
        plan = dataclasses.replace(plan, scale=photo.output_scale)
    assert plan is not None, f"{preset.name} restores no faces"
    return plan


def plan_faces(
    pixels: np.ndarray,
    faces: list[DetectedFace],
    engines: EngineSet,
    photo: PhotoOptions,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> list[PlannedFace]:
    """Every face picked an engine and cut by its plan, in the order of ``faces``."""
    planned = []
    for n, face in enumerate(faces, 1):
        check(cancel)
        engine = engines.pick(face, photo)
        crop = crop_plan(engine.preset, photo).cut(pixels, face, photo.feather)
        planned.append(PlannedFace(engine, PreparedFace(face, crop)))
        report(progress, Stage.ALIGN, n, len(faces))
    return planned
