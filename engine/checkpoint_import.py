"""Import a released Face-SPARNet ``.pth`` checkpoint into the user's weights store.

The file is read with ``torch.load(weights_only=True)`` (no pickle code runs), the
preset is recognised from its key layout (never guessed from the file name), the
weights are loaded through ``load_official_state_dict`` to prove they fit, and the
result is saved as a safetensors set in the per-user data folder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch

from .errors import WeightsError
from .install_lock import folder_lock
from .models import create_model, list_presets, load_official_state_dict
from .paths import user_weights_dir
from .weights import WeightsInfo, read_manifest, save_weights, sha256_file


def _unwrap(obj: object) -> Mapping[str, torch.Tensor]:
    """Find the state dict inside common checkpoint wrappers."""
    for _ in range(3):
        if (
            isinstance(obj, Mapping)
            and obj
            and all(isinstance(v, torch.Tensor) for v in obj.values())
        ):
            return obj
        if isinstance(obj, Mapping):
            inner = next(
                (
                    obj[k]
                    for k in ("state_dict", "params_ema", "params", "model", "netG")
                    if k in obj
                ),
                None,
            )
            if inner is None:
                break
            obj = inner
    raise WeightsError("the file holds no model state dict")


def _layout(state_dict: Mapping[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    """Key -> shape after the release-to-Revive renaming, without touching values."""
    layout = {}
    for key, value in state_dict.items():
        key = key.removeprefix("module.")
        if key.endswith(("weight_u", "weight_v")):
            continue
        layout[re.sub(r"weight_orig$", "weight", key)] = tuple(value.shape)
    return layout


def identify_official_preset(state_dict: Mapping[str, torch.Tensor]) -> str:
    """Name the official preset whose architecture has exactly this key layout."""
    layout = _layout(state_dict)
    for preset in official_presets():
        with torch.device("meta"):
            expected = {
                k: tuple(v.shape) for k, v in create_model(preset.name).state_dict().items()
            }
        if expected == layout:
            return preset.name
    raise WeightsError(
        "not a Face-SPARNet release checkpoint: its layout matches none of "
        + ", ".join(p.name for p in official_presets())
    )


def official_presets() -> list:
    """The presets of the Face-SPARNet release checkpoints."""
    return [p for p in list_presets() if p.official_file]


def import_official_checkpoint(
    path: str | Path,
    name: str | None = None,
    directory: str | Path | None = None,
    dtype: str = "float32",
) -> WeightsInfo:
    """Convert ``path`` into a weight set in ``directory`` (default: the user's store)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such file")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle / zip errors of every kind
        raise WeightsError(f"{path.name}: not a readable PyTorch checkpoint ({err})") from None
    state_dict = _unwrap(raw)
    preset = identify_official_preset(state_dict)
    net = create_model(preset)
    load_official_state_dict(net, state_dict)
    card = {
        "title": f"{preset} (imported Face-SPARNet release)",
        "released": True,  # the authors' published weights (engine.model_choice ranks them)
        "source": path.name,
        "source_sha256": sha256_file(path),
        "data": "Face-SPARNet authors' training data (see the release)",
        "licence": "as published by the Face-SPARNet authors",
        "notes": "spectral norm folded into plain weights at import",
    }
    folder = Path(directory or user_weights_dir())
    with folder_lock(folder):  # read back before another writer may replace it
        manifest = save_weights(
            net.state_dict(), folder, name or path.stem, preset, dtype=dtype, card=card
        )
        return read_manifest(manifest)
