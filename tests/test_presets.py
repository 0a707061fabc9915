"""The contract every preset keeps: it builds, runs, stores and names itself.

A new preset is one row of ``engine/models/presets.py``; this test covers it at once.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from engine.models.presets import PRESETS, CallStyle, Preset, restoring_presets
from engine.weights import load_model, read_manifest, save_weights


def _input(preset: Preset) -> torch.Tensor:
    """A small input of the shape the preset is called with (SPARNets are convolutional:
    a 512 px SPARNetHD runs on 128 px in seconds rather than minutes)."""
    side = min(preset.kwargs.get("in_size", 16), 128)
    channels = preset.capabilities.in_channels
    return torch.rand(1, channels, side, side, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_contract(name, tmp_path):
    preset = PRESETS[name]
    assert preset.label.strip() and preset.label != name, "a preset needs a label for people"
    assert preset.description.strip()

    net = preset.build()
    assert not net.training
    x = _input(preset)
    with torch.no_grad():
        out = net(x)
        call = preset.capabilities.call
        if call is CallStyle.IMAGE:
            assert out.shape == x.shape
        elif call is CallStyle.COMPONENT_BLOCK:
            assert out.shape == (1, 3, x.shape[2] * preset.scale, x.shape[3] * preset.scale)
        elif call is CallStyle.SEGMENTS:
            assert out.shape[0] == 1 and out.shape[2:] == x.shape[2:]
        else:
            assert all(scale[-1].ndim == 4 for scale in out)
        if preset.capabilities.returns_attention:
            y, maps = net(x, return_attention=True)
            assert torch.equal(y, out) and len(maps) > 0

    manifest = save_weights(net.state_dict(), tmp_path, "contract", name, dtype="float32")
    info = read_manifest(manifest)
    assert info.preset == name
    restored = load_model(info)
    for key, value in net.state_dict().items():
        assert torch.equal(restored.state_dict()[key], value), key


def test_restoring_presets_follow_their_kinds():
    assert restoring_presets() == {n for n, p in PRESETS.items() if p.kind.restores_faces}
    assert "components_bisenet" not in restoring_presets()


def test_descriptors_load_without_torch():
    code = (
        "import sys, engine.models.presets as p, engine.installed; "
        "assert p.PRESETS; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
