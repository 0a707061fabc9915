"""Architecture behaviour on tiny configurations (milliseconds on a CPU)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from engine.errors import ModelNotFoundError
from engine.models import create_model
from engine.models.blocks import ConvLayer, FaceAttentionUnit, HourglassAttention
from engine.models.cagface import CAGFace, component_attention_block
from engine.models.discriminator import MultiScaleDiscriminator
from engine.models.parsing import COMPONENT_NAMES, ComponentNet, ComponentSmoothing
from engine.models.sparnet import SPARNet

TINY = {
    "min_channels": 8,
    "max_channels": 16,
    "in_size": 32,
    "out_size": 32,
    "min_feat_size": 8,
    "res_blocks": 2,
    "attention_channels": 8,
    "bottleneck_size": 16,
}


def test_conv_layer_pads_by_reflection():
    conv = ConvLayer(1, 1, 3)
    with torch.no_grad():
        conv.conv2d.weight.zero_()
        conv.conv2d.weight[0, 0, 1, 0] = 1.0  # picks the left neighbour
        conv.conv2d.bias.zero_()
    x = torch.arange(9.0).view(1, 1, 3, 3)
    y = conv(x)
    # Reflection: the left neighbour of column 0 is column 1 (zero padding would give 0).
    assert torch.equal(y[0, 0, :, 0], x[0, 0, :, 1])


def test_scale_convs_halve_and_double():
    x = torch.randn(1, 4, 16, 16)
    assert ConvLayer(4, 4, scale="down")(x).shape[-1] == 8
    up = ConvLayer(4, 4, scale="up")
    assert up(x).shape[-1] == 32
    # Nearest x2 then conv: a constant image stays constant away from nothing.
    const = torch.ones(1, 4, 4, 4)
    assert torch.allclose(up(const), up(const)[..., :1, :1].expand(1, 4, 8, 8))


def test_fau_is_scale_plus_attention_times_features():
    unit = FaceAttentionUnit(
        8, 16, "down", hourglass_depth=2, norm_type="none", attention_channels=8
    ).eval()
    x = torch.randn(2, 8, 16, 16)
    maps: list[torch.Tensor] = []
    y = unit(x, maps)
    features = unit.conv2(unit.conv1(unit.preact_func(x)))
    expected = unit.shortcut_func(x) + maps[0] * features
    assert torch.allclose(y, expected, atol=1e-6)
    assert maps[0].shape == (2, 1, 8, 8)


def test_3d_attention_is_averaged_over_channels_for_display():
    unit = FaceAttentionUnit(
        8, 8, attention="spar3d", hourglass_depth=1, attention_channels=8
    ).eval()
    x = torch.randn(1, 8, 8, 8)
    maps: list[torch.Tensor] = []
    unit(x, maps)
    alpha = unit.att_func(unit.conv2(unit.conv1(unit.preact_func(x))))
    assert alpha.shape == (1, 8, 8, 8)
    assert torch.allclose(maps[0], alpha.mean(1, keepdim=True))


def test_hourglass_handles_odd_sizes_and_stays_in_unit_interval():
    hg = HourglassAttention(3, 8, 1, mid_channels=8).eval()
    for side in (9, 13, 18):
        alpha = hg(torch.randn(1, 8, side, side))
        assert alpha.shape == (1, 1, side, side)
        assert alpha.min() >= 0 and alpha.max() <= 1


def test_hourglass_depth_follows_position_in_the_network():
    net = SPARNet(**TINY)
    depths = [u.att_func.depth for u in net.attention_units]
    # 32 -> 8: two down steps (depth 2, 1), body at depth 1, decoder 2, 3: the
    # hourglass bottleneck stays 4 px wherever the unit sits.
    assert depths == [2, 1, 1, 1, 2, 3]
    assert net.attention_stages() == ["encoder"] * 2 + ["body"] * 2 + ["decoder"] * 2


def test_tiny_sparnet_trains_one_step():
    net = SPARNet(**TINY).train()
    x, target = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    loss0 = nn.functional.mse_loss(net(x), target)
    loss0.backward()
    opt.step()
    assert all(p.grad is not None for p in net.parameters())
    with torch.no_grad():
        assert nn.functional.mse_loss(net(x), target) < loss0


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(ModelNotFoundError, match="sparnethd_attn2d"):
        create_model("sparnet_xl")


def test_cagface_shapes_and_intermediate():
    net = CAGFace(features=8, blocks=2).eval()
    lr = torch.rand(2, 3, 12, 20) * 2 - 1
    comps = torch.rand(2, 3, 12, 20)
    block = component_attention_block(lr, comps)
    assert block.shape == (2, 6, 12, 20)
    x4, x2 = net(block, return_intermediate=True)
    assert x4.shape == (2, 3, 48, 80) and x2.shape == (2, 3, 24, 40)
    assert torch.equal(net(block), x4)


def test_cagface_learns_the_bicubic_residual():
    """With its last layers zeroed, each stage returns the bicubic up-sampling of its input."""
    net = CAGFace(features=8, blocks=1).eval()
    for conv in (net.stage1.to_image, net.stage2.mix):
        nn.init.zeros_(conv.weight)
        nn.init.zeros_(conv.bias)
    lr = torch.rand(1, 3, 8, 8) * 2 - 1
    x4, x2 = net(component_attention_block(lr, torch.zeros(1, 3, 8, 8)), return_intermediate=True)
    bicubic2 = nn.functional.interpolate(lr, scale_factor=2, mode="bicubic", align_corners=False)
    assert torch.allclose(x2, bicubic2, atol=1e-6)


def test_cagface_one_stage_variant_and_stage2_initialisation():
    one = CAGFace(features=8, blocks=2, stages=1)
    block = torch.randn(1, 6, 8, 8)
    x4, x2 = one(block, return_intermediate=True)
    assert x4.shape == (1, 3, 32, 32) and x2 is None
    two = CAGFace(features=8, blocks=2)
    two.init_stage2_from_stage1()
    for a, b in zip(
        two.stage1.backbone.parameters(), two.stage2.backbone.parameters(), strict=True
    ):
        assert torch.equal(a, b)


def test_component_attention_block_weights_gray_by_each_component():
    lr = torch.full((1, 3, 4, 4), 1.0)  # white: gray 1.0
    comps = torch.zeros(1, 3, 4, 4)
    comps[:, 1] = 1.0  # all skin
    block = component_attention_block(lr, comps)
    assert torch.allclose(block[:, 4], torch.ones(4, 4))  # skin map = white
    assert torch.allclose(block[:, 3], -torch.ones(4, 4))  # hair map = black


def test_component_net_and_smoothing():
    net = ComponentNet(width=8).eval()
    x = torch.rand(2, 3, 64, 48) * 2 - 1
    logits = net(x)
    assert logits.shape == (2, 4, 64, 48)
    maps = ComponentSmoothing(sigma=1.5)(logits)
    assert maps.shape == (2, len(COMPONENT_NAMES), 64, 48)
    assert maps.min() >= 0 and (maps.sum(1) <= 1 + 1e-5).all()
    net.train()
    main, aux16, aux32 = net(x, return_aux=True)
    assert main.shape == aux16.shape == aux32.shape
    assert not any(p.requires_grad for p in ComponentSmoothing().parameters())


def test_smoothing_spreads_a_sharp_edge():
    logits = torch.full((1, 4, 16, 16), -10.0)
    logits[:, 2, :, :8] = 10.0  # hair on the left
    logits[:, 1, :, 8:] = 10.0  # skin on the right
    hair = ComponentSmoothing(sigma=1.5)(logits)[0, 0]
    assert hair[8, 0] > 0.99 and hair[8, 15] < 0.01
    assert 0.2 < hair[8, 7] < 0.8 and 0.2 < hair[8, 8] < 0.8  # soft transition


def test_multiscale_discriminator_features():
    disc = MultiScaleDiscriminator(scales=3, base_channels=8, layers=2)
    outputs = disc(torch.randn(2, 3, 64, 64))
    assert len(outputs) == 3
    assert all(len(f) == 4 for f in outputs)  # 2 strided + 1 + score
    assert outputs[0][-1].shape[1] == 1
    assert outputs[1][0].shape[-1] < outputs[0][0].shape[-1]
    names = [n for n, _ in disc.named_parameters()]
    assert any("parametrizations.weight.original" in n for n in names)  # spectral norm
