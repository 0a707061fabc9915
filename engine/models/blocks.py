"""Building blocks of SPARNet / SPARNetHD (paper 001, Sec. III-B).

Module and parameter names follow the authors' Face-SPARNet release so that its
checkpoints load key for key: ``ConvLayer.conv2d``, ``ConvLayer.norm.norm``,
``FaceAttentionUnit.{shortcut_func, preact_func, conv1, conv2, att_func}`` and the
hourglass's ``b1_<level>`` / ``b2_<level>`` / ``b2_plus_1`` / ``b3_<level>``.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

NormType = Literal["bn", "in", "none"]
ActType = Literal["leakyrelu", "prelu", "relu", "none"]
Scale = Literal["none", "down", "up"]
AttentionType = Literal["spar", "spar3d"]

LEAKY_SLOPE = 0.2


class NormLayer(nn.Module):
    """BatchNorm (SPARNet), affine InstanceNorm (SPARNetHD) or identity, under ``.norm``."""

    def __init__(self, channels: int, norm_type: NormType = "bn") -> None:
        super().__init__()
        self.norm: nn.Module
        if norm_type == "bn":
            self.norm = nn.BatchNorm2d(channels)
        elif norm_type == "in":
            self.norm = nn.InstanceNorm2d(channels, affine=True)
        elif norm_type == "none":
            self.norm = nn.Identity()
        else:
            raise ValueError(f"unknown norm type {norm_type!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)


def make_activation(channels: int, act_type: ActType) -> nn.Module:
    """The activation after a norm; PReLU keeps one slope per channel under ``.func``."""
    if act_type == "leakyrelu":
        return nn.LeakyReLU(LEAKY_SLOPE)
    if act_type == "prelu":
        return nn.PReLU(channels)
    if act_type == "relu":
        return nn.ReLU()
    if act_type == "none":
        return nn.Identity()
    raise ValueError(f"unknown activation {act_type!r}")


class ActLayer(nn.Module):
    """Wraps the activation under ``.func`` (the release's key layout for PReLU slopes)."""

    def __init__(self, channels: int, act_type: ActType) -> None:
        super().__init__()
        self.func = make_activation(channels, act_type)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.func(x)


class ConvLayer(nn.Module):
    """[nearest x2] -> reflection pad -> conv (stride 2 when down-scaling) -> norm -> act.

    Up-scaling by nearest-neighbour + conv avoids the checkerboard of transposed
    convolutions (paper 001, Sec. III-B); reflection padding avoids dark borders.
    A conv followed by a norm has no bias, as in the release.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        scale: Scale = "none",
        norm_type: NormType = "none",
        act_type: ActType = "none",
    ) -> None:
        super().__init__()
        self.scale = scale
        self.pad = nn.ReflectionPad2d(kernel_size // 2)
        stride = 2 if scale == "down" else 1
        self.conv2d = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride, bias=norm_type == "none"
        )
        self.norm = NormLayer(out_channels, norm_type)
        self.relu = ActLayer(out_channels, act_type)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale == "up":
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.relu(self.norm(self.conv2d(self.pad(x))))


class HourglassAttention(nn.Module):
    """Attention branch F_att: an hourglass of ``depth`` levels, then conv + sigmoid.

    Every conv has ``mid_channels`` filters (64 in the paper). The map has one
    channel (2D attention) or ``out_channels`` (3D attention). When an up-sampled
    lower level and its upper level differ in size (odd input sizes), the lower one
    is resized nearest-neighbour to the upper one's size before they are added.
    """

    def __init__(
        self,
        depth: int,
        in_channels: int,
        out_channels: int,
        mid_channels: int = 64,
        norm_type: NormType = "bn",
        act_type: ActType = "leakyrelu",
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError("hourglass depth must be at least 1")
        self.depth = depth

        def conv(c_in: int, scale: Scale = "none") -> ConvLayer:
            return ConvLayer(c_in, mid_channels, 3, scale, norm_type, act_type)

        for level in range(depth, 0, -1):  # registration order = the release's key order
            c_in = in_channels if level == depth else mid_channels
            self.add_module(f"b1_{level}", conv(c_in))
            self.add_module(f"b2_{level}", conv(c_in, "down"))
        self.b2_plus_1 = conv(mid_channels)
        for level in range(1, depth + 1):
            self.add_module(f"b3_{level}", conv(mid_channels, "up"))
        self.out_block = nn.Sequential(ConvLayer(mid_channels, out_channels), nn.Sigmoid())

    def _conv(self, name: str) -> nn.Module:
        return self.get_submodule(name)

    def _level(self, level: int, x: torch.Tensor) -> torch.Tensor:
        upper = self._conv(f"b1_{level}")(x)
        lower = self._conv(f"b2_{level}")(x)
        lower = self._level(level - 1, lower) if level > 1 else self.b2_plus_1(lower)
        lower = self._conv(f"b3_{level}")(lower)
        # Traced for ONNX, the resize is always recorded (an identity where the sizes
        # match): an export made at one side then runs at every working side.
        if torch.jit.is_tracing() or lower.shape[-2:] != upper.shape[-2:]:
            lower = F.interpolate(lower, size=upper.shape[-2:], mode="nearest")
        return upper + lower

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the attention map alpha in [0, 1] (not yet multiplied with the features)."""
        return self.out_block(self._level(self.depth, x))


class FaceAttentionUnit(nn.Module):
    """x_j = scale(x_{j-1}) + alpha_j * f_j  (paper 001, Eq. 4 and 5).

    Feature branch f: pre-activation residual unit (norm -> act -> conv -> norm -> act
    -> conv -> norm), the conv pair carrying the down / up scaling. Shortcut: identity,
    or a scale conv when the size or channel count changes.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        scale: Scale = "none",
        hourglass_depth: int = 2,
        attention: AttentionType = "spar",
        norm_type: NormType = "bn",
        act_type: ActType = "leakyrelu",
        attention_channels: int = 64,
    ) -> None:
        super().__init__()
        if scale == "none" and in_channels == out_channels:
            self.shortcut_func: nn.Module = nn.Identity()
        else:
            self.shortcut_func = ConvLayer(in_channels, out_channels, 3, scale)
        self.preact_func = nn.Sequential(
            NormLayer(in_channels, norm_type), ActLayer(in_channels, act_type)
        )
        first: Scale = "up" if scale == "up" else "none"
        second: Scale = "down" if scale == "down" else "none"
        self.conv1 = ConvLayer(in_channels, out_channels, 3, first, norm_type, act_type)
        self.conv2 = ConvLayer(out_channels, out_channels, 3, second, norm_type=norm_type)
        if attention == "spar":
            map_channels = 1
        elif attention == "spar3d":
            map_channels = out_channels
        else:
            raise ValueError(f"unknown attention type {attention!r}")
        self.att_func = HourglassAttention(
            hourglass_depth, out_channels, map_channels, attention_channels, norm_type, act_type
        )

    def forward(
        self, x: torch.Tensor, attention_maps: list[torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Apply the unit; when ``attention_maps`` is a list, append this unit's map to it."""
        features = self.conv2(self.conv1(self.preact_func(x)))
        alpha = self.att_func(features)
        if attention_maps is not None:
            attention_maps.append(alpha if alpha.shape[1] == 1 else alpha.mean(1, keepdim=True))
        return self.shortcut_func(x) + alpha * features
