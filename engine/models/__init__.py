"""Networks of the two papers, their presets, and the official-checkpoint loader.

Public API::

    from engine.models import create_model, load_official_state_dict
    net = create_model("sparnethd_attn2d")
    load_official_state_dict(net, state_dict)
    out, attention = net(x, return_attention=True)

The presets' descriptors (``engine.models.presets``) need no torch; the names that do
are imported on first use, so the app can read presets before torch is loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .presets import PRESETS, ModelKind, Preset, get_preset, list_presets

if TYPE_CHECKING:
    from .official import convert_official_state_dict, load_official_state_dict
    from .registry import create_model

_LAZY = {
    "convert_official_state_dict": ".official",
    "load_official_state_dict": ".official",
    "create_model": ".registry",
}

__all__ = [
    "PRESETS",
    "ModelKind",
    "Preset",
    "convert_official_state_dict",
    "create_model",
    "get_preset",
    "list_presets",
    "load_official_state_dict",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
