"""Checkpoint exactness: our SPARNet / SPARNetHD compute the released networks' function.

The goldens were computed from the released architectures with deterministic
float64 weights in the release's key layout; reproducing output and every FAU
attention map within 1e-6 relative error proves that the published checkpoints
load key for key and compute the same function.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.models import create_model, get_preset, load_official_state_dict
from tests.reference import OFFICIAL_PRESETS, golden, make_input, reference_state_dict, summary

REL_TOL = 1e-6


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(actual - expected).max() / max(np.abs(expected).max(), 1e-12))


@pytest.fixture(scope="module", params=OFFICIAL_PRESETS)
def official_net(request):
    name = request.param
    net = create_model(name).double()
    load_official_state_dict(net, reference_state_dict(name))
    return name, net


def test_output_and_every_attention_map_match_the_golden(official_net):
    name, net = official_net
    ref = golden(name)
    with torch.no_grad():
        out, maps = net(torch.from_numpy(ref["input"]), return_attention=True)
    assert relative_error(out.numpy(), ref["output"]) < REL_TOL
    golden_maps = sorted(k for k in ref if k.startswith("att"))
    assert len(maps) == len(golden_maps) == summary()[name]["n_att"]
    for i, key in enumerate(golden_maps):
        assert maps[i].shape == ref[key].shape, key
        assert relative_error(maps[i].numpy(), ref[key].astype(np.float64)) < REL_TOL, key


def test_plain_call_returns_the_same_output_without_attention(official_net):
    name, net = official_net
    x = torch.from_numpy(golden(name)["input"])
    with torch.no_grad():
        plain = net(x)
        with_maps, _ = net(x, return_attention=True)
    assert isinstance(plain, torch.Tensor)
    assert torch.equal(plain, with_maps)


def test_input_size_not_a_power_of_two(official_net):
    """144 px: the hourglass meets odd sizes (9 -> 5 -> 10) and resizes nearest to 9."""
    name, net = official_net
    x = make_input(seed=7, size=144)
    with torch.no_grad():
        out, maps = net(x, return_attention=True)
    assert out.shape == (1, 3, 144, 144)
    assert torch.isfinite(out).all()
    sides = [m.shape[-1] for m in maps]
    assert 144 // 2**net.down_steps in sides  # the bottleneck: 9 (HD) or 18 (x8)
    for m in maps:
        assert m.shape[:2] == (1, 1)
        assert m.min().item() >= 0.0 and m.max().item() <= 1.0
    # Fully convolutional: the same weights on the centre 128 crop give a different
    # but same-shaped result, so nothing in the network is tied to 128.
    with torch.no_grad():
        assert net(x[..., 8:136, 8:136]).shape == (1, 3, 128, 128)


@pytest.mark.parametrize("name", OFFICIAL_PRESETS)
def test_parameter_count_is_what_the_layout_implies(name):
    net = create_model(name)
    assert sum(p.numel() for p in net.parameters()) == summary()[name]["params"]


def test_paper_parameter_counts_of_the_sparnet_family():
    # Paper 001: SPARNet about 10.5 M, SPARNetHD about 85.8 M parameters.
    assert (
        round(sum(p.numel() for p in create_model("sparnet_x8_attn2d").parameters()), -5)
        == 10_500_000
    )
    assert (
        round(sum(p.numel() for p in create_model("sparnethd_attn2d").parameters()), -5)
        == 85_800_000
    )


def test_cagface_paper_preset_within_two_percent_of_table_1():
    stage1, stage2 = create_model("cagface_x4").stage_parameter_counts()
    assert abs(stage1 / 21_881_859 - 1) < 0.02
    assert abs(stage2 / 38_952_791 - 1) < 0.02


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("sparnethd_lite256", 21_245_928),
        ("sparnet_x8_lite", 1_931_789),
        ("cagface_x4_lite", 780_739 + 1_855_895),
        ("components_bisenet", 1_424_748),
    ],
)
def test_revive_preset_parameter_counts(name, params):
    assert sum(p.numel() for p in create_model(name).parameters()) == params


def test_official_presets_name_their_release_files():
    assert get_preset("sparnethd_attn2d").official_file == "SPARNetHD_V4_Attn2D_net_H-epoch10.pth"
    assert get_preset("sparnethd_attn2d").template == "ffhq512"
