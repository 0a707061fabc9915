"""The one check that a state dict fits a network, and the strict load after it.

Used for Revive's weight sets, the Face-SPARNet release checkpoints, training
checkpoints and warm starts alike, so every path names the first problem the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from ..errors import WeightsError


def misfit(expected: Mapping[str, torch.Tensor], given: Mapping[str, torch.Tensor]) -> str | None:
    """The first missing, mis-shaped or unexpected key, in words; None when it fits."""
    for key, tensor in expected.items():
        if key not in given:
            return f"key {key!r} is missing"
        if tuple(given[key].shape) != tuple(tensor.shape):
            return (
                f"{key!r} has shape {tuple(given[key].shape)}, "
                f"the model expects {tuple(tensor.shape)}"
            )
    for key in given:
        if key not in expected:
            return f"unexpected key {key!r}"
    return None


def load_fitting(
    net: nn.Module,
    state: Mapping[str, torch.Tensor],
    what: str = "checkpoint does not fit this model",
    error: type[Exception] = WeightsError,
) -> nn.Module:
    """Check with :func:`misfit` (raising ``error(f"{what}: {problem}")``), then load
    strictly, each tensor cast to the network's own dtype. Returns ``net``."""
    expected = net.state_dict()
    problem = misfit(expected, state)
    if problem is not None:
        raise error(f"{what}: {problem}")
    net.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=True)
    return net
