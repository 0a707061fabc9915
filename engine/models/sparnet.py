"""SPARNet and SPARNetHD generators: a stack of Face Attention Units (paper 001, Fig. 2).

Encoder: a stem conv, then one down-scaling FAU per halving down to the bottleneck
feature size. Body: FAUs at the bottleneck. Decoder: one up-scaling FAU per
doubling up to the output size. Then an output conv. The hourglass in each FAU
gets shallower as the features get smaller (its bottleneck stays ``bottleneck_size``
pixels at the native input size), which is why its depth depends on position.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .blocks import ActType, AttentionType, ConvLayer, FaceAttentionUnit, NormType, Scale


class SPARNet(nn.Module):
    """Fully convolutional face SR generator; input and output at the same size.

    Inputs are RGB in [-1, 1], NCHW, already up-sampled to the output size (bicubic,
    as in the paper), with height and width divisible by ``2 ** down_steps``.
    """

    def __init__(
        self,
        min_channels: int = 32,
        max_channels: int = 128,
        in_size: int = 128,
        out_size: int = 128,
        min_feat_size: int = 16,
        res_blocks: int = 10,
        norm_type: NormType = "bn",
        attention: AttentionType = "spar",
        bottleneck_size: int = 4,
        act_type: ActType = "leakyrelu",
        attention_channels: int = 64,
        residual: bool = False,
    ) -> None:
        super().__init__()
        self.in_size, self.out_size = in_size, out_size
        # Revive's blind restorers add the input to the output (a global skip): the
        # network learns only the correction, not the face itself, which on a CPU
        # budget is the difference between beating its input and not. The papers'
        # presets (and the released checkpoints) have no skip.
        self.residual = residual
        if residual and in_size != out_size:
            raise ValueError("a residual SPARNet needs the same input and output size")

        def clip(c: int) -> int:
            return max(min_channels, min(c, max_channels))

        down_steps = int(math.log2(in_size // min_feat_size))
        up_steps = int(math.log2(out_size // min_feat_size))
        self.down_steps = down_steps

        def unit(c_in: int, c_out: int, scale: Scale, depth: int) -> FaceAttentionUnit:
            return FaceAttentionUnit(
                clip(c_in), clip(c_out), scale, depth, attention, norm_type, act_type,
                attention_channels,
            )  # fmt: skip

        channels = clip(max_channels // (down_steps + 1))
        depth = int(math.log2(64 / bottleneck_size))

        encoder: list[nn.Module] = [ConvLayer(3, channels, 3)]
        for _ in range(down_steps):
            encoder.append(unit(channels, channels * 2, "down", depth))
            channels, depth = channels * 2, depth - 1
        depth += 1
        self.encoder = nn.Sequential(*encoder)
        self.res_layers = nn.Sequential(
            *(unit(channels, channels, "none", depth) for _ in range(res_blocks))
        )
        decoder: list[nn.Module] = []
        for _ in range(up_steps):
            depth += 1
            decoder.append(unit(channels, channels // 2, "up", depth))
            channels //= 2
        self.decoder = nn.Sequential(*decoder)
        self.out_conv = ConvLayer(clip(channels), 3, 3)
        if residual:  # start close to "return the input": a small first correction
            conv = self.out_conv.conv2d
            with torch.no_grad():
                conv.weight.mul_(0.1)
                if conv.bias is not None:
                    conv.bias.zero_()

    @property
    def attention_units(self) -> list[FaceAttentionUnit]:
        """Every FAU in module order: encoder, body, decoder."""
        return [m for m in self.modules() if isinstance(m, FaceAttentionUnit)]

    def attention_stages(self) -> list[str]:
        """Stage label of each FAU, in the order of the attention maps."""
        n_enc = len(self.encoder) - 1
        return (
            ["encoder"] * n_enc + ["body"] * len(self.res_layers) + ["decoder"] * len(self.decoder)
        )

    def forward(
        self, x: torch.Tensor, return_attention: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        maps: list[torch.Tensor] | None = [] if return_attention else None
        out = self.encoder[0](x)
        for unit in (*list(self.encoder)[1:], *self.res_layers, *self.decoder):
            out = unit(out, maps)
        out = self.out_conv(out)
        if self.residual:
            out = out + x
        if maps is not None:
            return out, maps
        return out
