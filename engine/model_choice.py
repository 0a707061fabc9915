"""Which installed weights restore a photo: ``--model auto | sparnethd | sparnet | cagface | NAME``.

``auto`` takes a SPARNetHD-family set (x1, aligned faces) for normal faces and, when one
is installed, a SPARNet x8 set for tiny faces; with only an x8 set it restores every
face with it. ``cagface`` also needs the face-component network. A preset name takes
the best set installed for it; anything else is a weights name or a manifest path.
A released Face-SPARNet model the user installed comes first, then the shipped default
of the role, then the user's most recent set; the test-only presets come last.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import WeightsError
from .models import PRESETS, ModelKind, get_preset
from .options import MODEL_CHOICES
from .weights import (
    WeightsInfo,
    default_weights,
    find_weights,
    installed_weights,
    shards_look_whole,
)

HOW_TO_GET = (
    "download one with `revive models download NAME` (`revive models available` lists "
    "them), import released weights with `revive models import FILE.pth`, or train your "
    "own with `revive train`"
)


@dataclass(frozen=True)
class ModelPlan:
    """The weight sets one restoration uses."""

    main: WeightsInfo  # restores every face (except tiny ones when ``tiny`` is set)
    tiny: WeightsInfo | None = None  # SPARNet x8 for tiny faces (auto only)
    # The component network: CAGFace's attention input; for SPARNet, the inspector's masks.
    components: WeightsInfo | None = None

    @property
    def kind(self) -> ModelKind:
        return get_preset(self.main.preset).kind


def _rank(infos: list[WeightsInfo], role: str) -> list[WeightsInfo]:
    default = default_weights(role)

    def key(info: WeightsInfo) -> tuple:
        preset = PRESETS.get(info.preset)
        is_test = preset is None or preset.is_test_only
        is_default = default is not None and info.manifest == default.manifest
        try:
            mtime = info.manifest.stat().st_mtime
        except OSError:
            mtime = 0.0
        # a released full-size model the user downloaded or imported beats what ships;
        # then the shipped default of the role; then the user's own newest (a quick
        # retrain is picked by name, not silently); test-only nets last of all
        released = bool(info.card.get("released")) and info.source == "user"
        return (is_test, not released, not is_default, -mtime)

    return sorted(infos, key=key)


def installed_of_kind(kind: ModelKind) -> WeightsInfo | None:
    """The best installed set of a kind (see ``_rank``)."""
    found = []
    for info in installed_weights():
        preset = PRESETS.get(info.preset)
        # a set with a shard missing or cut short (an interrupted copy) is passed over,
        # so the next in rank (the shipped default) restores instead of failing
        if preset is not None and preset.kind is kind and shards_look_whole(info):
            found.append(info)
    ranked = _rank(found, kind.value)
    return ranked[0] if ranked else None


def sparnethd_weights() -> WeightsInfo | None:
    return installed_of_kind(ModelKind.RESTORER)


def sparnethd_family_weights() -> WeightsInfo | None:
    """The best installed SPARNetHD (a preset its trainer makes), never another restorer.

    Asking for SPARNetHD by name must get SPARNetHD or an error: Revive's own blind
    restorer is also a ``RESTORER``, but restoring with it while the user's choice
    says SPARNetHD would pass one model off as another.
    """
    found = [
        info
        for info in installed_weights()
        if (preset := PRESETS.get(info.preset)) is not None
        and preset.kind is ModelKind.RESTORER
        and preset.trainer == "sparnethd"
    ]
    ranked = _rank(found, ModelKind.RESTORER.value)
    return ranked[0] if ranked else None


def tiny_weights() -> WeightsInfo | None:
    return installed_of_kind(ModelKind.TINY_FACE)


def cagface_weights() -> WeightsInfo | None:
    return installed_of_kind(ModelKind.REGION)


def component_weights() -> WeightsInfo | None:
    return installed_of_kind(ModelKind.COMPONENTS)


def _with_components(main: WeightsInfo) -> ModelPlan:
    components = component_weights()
    if components is None:
        raise WeightsError(
            "CAGFace needs the face-component network, whose weights are not installed: "
            "reinstall Revive or train it with `revive train components`"
        )
    return ModelPlan(main, components=components)


def plan_models(model: str = "auto") -> ModelPlan:
    """Resolve a ``--model`` value to installed weights, or raise a one-line ``WeightsError``."""
    model = (model or "auto").strip()
    key = model.lower()
    if key == "auto":
        main, tiny = sparnethd_weights(), tiny_weights()
        if main is None:
            if tiny is None:
                raise WeightsError(f"no face restoration weights are installed: {HOW_TO_GET}")
            return ModelPlan(tiny, components=component_weights())
        return ModelPlan(main, tiny, components=component_weights())
    if key == "sparnethd":
        if (main := sparnethd_family_weights()) is None:
            raise WeightsError(
                "SPARNetHD is not installed (no other model is used in its place): "
                "download it with `revive models download sparnethd_attn2d` or Models ▸ "
                "Manage Models ▸ Download"
            )
        return ModelPlan(main, components=component_weights())
    if key == "sparnet":
        if (main := tiny_weights()) is None:
            raise WeightsError(f"no SPARNet x8 (tiny face) weights are installed: {HOW_TO_GET}")
        return ModelPlan(main, components=component_weights())
    if key == "cagface":
        if (main := cagface_weights()) is None:
            raise WeightsError(f"no CAGFace weights are installed: {HOW_TO_GET}")
        return _with_components(main)
    if model in PRESETS:
        candidates = [w for w in installed_weights() if w.preset == model]
        if not candidates:
            raise WeightsError(f"no weights are installed for model {model!r}: {HOW_TO_GET}")
        info = _rank(candidates, "")[0]
    else:
        if Path(model).suffix != ".json" and not any(w.name == model for w in installed_weights()):
            known = ", ".join(MODEL_CHOICES)
            raise WeightsError(
                f"unknown model {model!r}: use {known}, a model preset "
                "(`revive models presets`) or installed weights (`revive models list`)"
            )
        info = find_weights(model)
    preset = get_preset(info.preset)
    if not preset.kind.restores_faces:
        raise WeightsError(f"{info.name!r} ({info.preset}) is not a face restoration model")
    if preset.needs_components:
        return _with_components(info)
    return ModelPlan(info, components=component_weights())
