"""Multi-scale patch discriminator for SPARNetHD training (paper 001, Sec. III-C).

As in Pix2PixHD, D_1..D_k judge the image at full, half, quarter... resolution
(512, 256, 128 for the paper's three). Every conv carries spectral norm. Each
discriminator returns its intermediate features too, for the feature-matching
loss (Eq. 10); its last entry is the patch score map.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class PatchDiscriminator(nn.Module):
    """Strided 4x4 convs with LeakyReLU, ending in a one-channel patch score map."""

    def __init__(self, in_channels: int = 3, base_channels: int = 64, layers: int = 3) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        c_prev, c = in_channels, base_channels
        for i in range(layers + 1):
            stride = 2 if i < layers else 1
            blocks.append(
                nn.Sequential(
                    spectral_norm(nn.Conv2d(c_prev, c, 4, stride, 2)), nn.LeakyReLU(0.2, True)
                )
            )
            c_prev, c = c, min(c * 2, 512)
        blocks.append(spectral_norm(nn.Conv2d(c_prev, 1, 4, 1, 2)))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return features


class MultiScaleDiscriminator(nn.Module):
    """``scales`` patch discriminators, the k-th on the image down-sampled 2^k times."""

    def __init__(
        self, scales: int = 3, in_channels: int = 3, base_channels: int = 64, layers: int = 3
    ) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            PatchDiscriminator(in_channels, base_channels, layers) for _ in range(scales)
        )

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        """Per scale, the list of features; ``[-1]`` of each is the score map."""
        outputs = []
        for i, disc in enumerate(self.discriminators):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            outputs.append(disc(x))
        return outputs
