"""Networks of the two papers, their presets, and the official-checkpoint loader.

Public API::

    from engine.models import create_model, load_official_state_dict
    net = create_model("sparnethd_attn2d")
    load_official_state_dict(net, state_dict)
    out, attention = net(x, return_attention=True)
"""

from .official import convert_official_state_dict, load_official_state_dict
from .registry import PRESETS, ModelKind, Preset, create_model, get_preset, list_presets

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
