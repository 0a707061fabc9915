"""Loading the authors' released Face-SPARNet checkpoints (``*.pth`` state dicts).

The release saved models through ``DataParallel`` (keys prefixed ``module.``) and,
for SPARNetHD, with the old-style spectral-norm parametrisation on every conv
(``weight_orig``, ``weight_u``, ``weight_v``). In eval mode the effective weight is
``weight_orig / sigma`` with ``sigma = u . (W v)``: we fold it into a plain
``weight`` once, here, so inference never pays for spectral norm.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from ..errors import WeightsError
from .fit import load_fitting

_SN_SUFFIXES = ("weight_orig", "weight_u", "weight_v")


def strip_data_parallel_prefix(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the ``module.`` prefix that ``DataParallel`` adds to every key."""
    return {
        (k[len("module.") :] if k.startswith("module.") else k): v for k, v in state_dict.items()
    }


def fold_spectral_norm(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Replace every (weight_orig, weight_u, weight_v) triple by the eval-mode weight."""
    folded: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if key.endswith(("weight_u", "weight_v")):
            continue
        if key.endswith("weight_orig"):
            base = key[: -len("weight_orig")]
            try:
                u, v = state_dict[base + "weight_u"], state_dict[base + "weight_v"]
            except KeyError as err:
                raise WeightsError(f"spectral-norm vector {err.args[0]!r} is missing") from None
            matrix = value.reshape(value.shape[0], -1)
            sigma = torch.dot(u.to(matrix.dtype), matrix @ v.to(matrix.dtype))
            folded[base + "weight"] = value / sigma
        else:
            folded[key] = value
    return folded


def convert_official_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Release layout -> Revive layout (prefix stripped, spectral norm folded)."""
    return fold_spectral_norm(strip_data_parallel_prefix(state_dict))


def load_official_state_dict(net: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> nn.Module:
    """Load a Face-SPARNet release state dict (as from ``torch.load(weights_only=True)``).

    Strips ``module.``, folds spectral norm, checks every key and shape (naming the
    first problem), and loads strictly. Returns ``net`` for chaining.
    """
    if not isinstance(state_dict, Mapping) or not state_dict:
        raise WeightsError("checkpoint holds no state dict")
    converted = convert_official_state_dict(state_dict)
    return load_fitting(net, converted)
