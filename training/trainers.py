"""The one list of trainers: name, task class, default preset, one line for a picker.

``resolve_model`` maps what a user types (a trainer name or a preset name) to the
trainer and preset; a preset names its own trainer (``engine.models.Preset.trainer``).
Listed in code, not discovered: a PyInstaller bundle cannot scan for modules.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import ModelNotFoundError
from engine.models import Preset, get_preset, list_presets

from .task import Task
from .tasks.cagface import CAGFaceTask
from .tasks.components import ComponentsTask
from .tasks.restorer import RestorerTask
from .tasks.sparnet import SPARNetTask
from .tasks.sparnethd import SPARNetHDTask


@dataclass(frozen=True)
class Trainer:
    name: str
    task: type[Task]
    default_preset: str
    description: str  # one line for ``revive train --help``
    label: str  # what it trains, in a photographer's words (the app's picker)


TRAINERS: dict[str, Trainer] = {
    t.name: t
    for t in (
        Trainer(
            "restorer",
            RestorerTask,
            "sparnet_blind128_s",
            "Blind face restorer: degraded faces restored at 128 px (pixel loss; CPU-friendly)",
            "Face restorer (128 px faces; trains on a CPU in minutes to hours)",
        ),
        Trainer(
            "sparnet_x8",
            SPARNetTask,
            "sparnet_x8_attn2d",
            "SPARNet x8: 16 px faces to 128 px (pixel loss)",
            "Tiny-face enlarger ×8 (16 px faces to 128 px)",
        ),
        Trainer(
            "sparnethd",
            SPARNetHDTask,
            "sparnethd_attn2d",
            "SPARNetHD: degraded faces restored at full size (GAN, multi-scale D)",
            "SPARNetHD for large faces (needs a GPU; days on a CPU)",
        ),
        Trainer(
            "cagface",
            CAGFaceTask,
            "cagface_x4",
            "CAGFace x4: component-attention super-resolution (needs component weights)",
            "CAGFace ×4 (needs the face parts finder)",
        ),
        Trainer(
            "components",
            ComponentsTask,
            "components_bisenet",
            "Face components (background / skin / hair / other), for CAGFace",
            "Face parts finder (hair, skin, features)",
        ),
    )
}


def resolve_model(model: str) -> tuple[Trainer, str]:
    """(trainer, preset name) for a trainer name or a preset name."""
    if model in TRAINERS:
        trainer = TRAINERS[model]
        return trainer, trainer.default_preset
    try:
        preset = get_preset(model)
    except ModelNotFoundError:
        known = ", ".join([*TRAINERS, "or a preset of `revive models presets`"])
        raise ModelNotFoundError(f"unknown model {model!r}; train one of {known}") from None
    if preset.trainer is None:
        raise ModelNotFoundError(f"{model!r} is not trained on its own (it is part of SPARNetHD)")
    return TRAINERS[preset.trainer], preset.name


def trainable_presets(tag: str = "revive") -> list[Preset]:
    """Presets with a trainer and ``tag`` (Revive's own lighter ones, for a picker)."""
    return [p for p in list_presets() if p.trainer and tag in p.tags]
