"""Access to the copied Face-SPARNet reference fixtures (tests/data/sparnet-reference)."""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path

import numpy as np
import torch

FIXTURES = Path(__file__).resolve().parent / "data" / "sparnet-reference"
OFFICIAL_PRESETS = (
    "sparnet_light_attn3d",
    "sparnet_x8_attn2d",
    "sparnethd_attn2d",
    "sparnethd_attn3d",
)
WEIGHT_SEED = 1234


@cache
def _maker():
    spec = importlib.util.spec_from_file_location(
        "make_state_dict", FIXTURES / "make_state_dict.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def layout(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.layout.json").read_text())


def reference_state_dict(name: str, seed: int = WEIGHT_SEED) -> dict[str, torch.Tensor]:
    """The float64 release-layout state dict the goldens were computed with."""
    return _maker().make_state_dict(layout(name)["keys"], seed)


def make_input(seed: int, size: int) -> torch.Tensor:
    return _maker().make_input(seed, size)


def golden(name: str) -> dict[str, np.ndarray]:
    with np.load(FIXTURES / f"{name}.golden.npz") as data:
        return {k: data[k] for k in data.files}


def summary() -> dict:
    return json.loads((FIXTURES / "summary.json").read_text())
