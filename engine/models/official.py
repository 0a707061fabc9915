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


def check_state_dict_matches(net: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Raise ``WeightsError`` naming the first missing, unexpected or mis-shaped key."""
    expected = net.state_dict()
    for key, tensor in expected.items():
        if key not in state_dict:
            raise WeightsError(f"checkpoint does not fit this model: key {key!r} is missing")
        if tuple(state_dict[key].shape) != tuple(tensor.shape):
            raise WeightsError(
                f"checkpoint does not fit this model: {key!r} has shape "
                f"{tuple(state_dict[key].shape)}, the model expects {tuple(tensor.shape)}"
            )
    for key in state_dict:
        if key not in expected:
            raise WeightsError(f"checkpoint does not fit this model: unexpected key {key!r}")


def load_official_state_dict(net: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> nn.Module:
    """Load a Face-SPARNet release state dict (as from ``torch.load(weights_only=True)``).

    Strips ``module.``, folds spectral norm, checks every key and shape (naming the
    first problem), and loads strictly. Returns ``net`` for chaining.
    """
    if not isinstance(state_dict, Mapping) or not state_dict:
        raise WeightsError("checkpoint holds no state dict")
    converted = convert_official_state_dict(state_dict)
    check_state_dict_matches(net, converted)
    net.load_state_dict(converted, strict=True)
    return net
