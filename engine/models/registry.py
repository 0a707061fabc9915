"""Building a preset's network: the one place that turns a preset name into a module.

The descriptors themselves (names, kinds, labels, capabilities) are plain data in
``presets.py``, readable without torch.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .presets import PRESETS, ModelKind, Preset, get_preset, list_presets

__all__ = ["PRESETS", "ModelKind", "Preset", "create_model", "get_preset", "list_presets"]


def create_model(name: str, **overrides: Any) -> nn.Module:
    """Build a preset's network (random weights, eval mode); ``overrides`` change kwargs."""
    return get_preset(name).build(**overrides)
