"""CAGFace: component-attention guided x4 face super-resolution (paper 003).

Stage 1 turns the 6-channel attention block (LR image + three component-weighted
gray maps) into a x2 image. Stage 2 re-reads that x2 estimate as 12 LR-sized
channels (space-to-depth), adds the stage-1 stem features through a stage-wise
skip just before its up-sampling layers, and produces the x4 image. Every layer
before up-sampling runs at the LR size, which makes patch-wise inference cheap.

Table 1 of the paper gives F=256 features and L=16 residual units per stage
(21.9 M and 39.0 M parameters); both are arguments here for lighter presets.
Each stage also adds the bicubic up-sampling of its input image to its output, so
the network learns only the missing detail (our choice; it adds no parameters).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Rec. 601 luma weights, for the gray-level component maps.
_LUMA = (0.299, 0.587, 0.114)


def conv3x3(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1)


def component_attention_block(lr: torch.Tensor, components: torch.Tensor) -> torch.Tensor:
    """Stack the LR image with its three component-weighted gray maps: B x 6 x h x w.

    ``lr`` is RGB in [-1, 1]; ``components`` are the smoothed hair / skin / other-part
    maps in [0, 1] (``engine.models.parsing.ComponentSmoothing``). The gray maps are
    formed in [0, 1] and scaled back to [-1, 1] like the image.
    """
    weights = lr.new_tensor(_LUMA).view(1, 3, 1, 1)
    gray01 = ((lr + 1) * 0.5 * weights).sum(1, keepdim=True)
    maps = gray01 * components.to(lr.dtype)
    return torch.cat([lr, maps * 2 - 1], dim=1)


class ResidualUnit(nn.Module):
    """conv -> ReLU -> conv, plus the unit's input (paper 003, Sec. 3.3)."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv1 = conv3x3(features, features)
        self.conv2 = conv3x3(features, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class ResidualBackbone(nn.Module):
    """L residual units with a direct skip from the backbone input to its output."""

    def __init__(self, features: int, blocks: int) -> None:
        super().__init__()
        self.units = nn.Sequential(*(ResidualUnit(features) for _ in range(blocks)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.units(x)


class PixelShuffleUp(nn.Module):
    """conv to 4x the channels, then pixel shuffle: x2 without deconvolution."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = conv3x3(c_in, c_out * 4)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


class CAGFaceStage1(nn.Module):
    """6-channel block -> x2 image (or x4 when ``upscale=4``, the one-stage variant)."""

    def __init__(self, features: int = 256, blocks: int = 16, upscale: int = 2) -> None:
        super().__init__()
        if upscale not in (2, 4):
            raise ValueError("stage 1 up-scales by 2 (two stages) or 4 (one stage)")
        self.upscale = upscale
        self.stem = conv3x3(6, features)
        self.backbone = ResidualBackbone(features, blocks)
        self.pre_up = conv3x3(features, features)
        self.up = nn.Sequential(*(PixelShuffleUp(features, features) for _ in range(upscale // 2)))
        self.to_image = conv3x3(features, 3)

    def forward(self, block: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (image, stem features); the stem features feed stage 2's skip."""
        stem = self.stem(block)
        x = F.relu(self.pre_up(self.backbone(stem)))
        image = self.to_image(self.up(x))
        base = F.interpolate(
            block[:, :3], scale_factor=self.upscale, mode="bicubic", align_corners=False
        )
        return image + base, stem


class CAGFaceStage2(nn.Module):
    """Space-to-depth x2 estimate (12 ch) + stage-1 stem features -> x4 image."""

    def __init__(self, features: int = 256, blocks: int = 16) -> None:
        super().__init__()
        self.stem = nn.Sequential(conv3x3(12, features), conv3x3(features, features))
        self.backbone = ResidualBackbone(features, blocks)
        self.pre_up = conv3x3(features, features)
        wide = 2 * features  # backbone features + stage-wise skip of stage-1 stem
        self.up = nn.Sequential(PixelShuffleUp(wide, wide), PixelShuffleUp(wide, wide))
        self.to_image = conv3x3(wide, 3)
        self.mix = conv3x3(3, 3)

    def forward(self, x2: torch.Tensor, stage1_stem: torch.Tensor) -> torch.Tensor:
        x = self.stem(F.pixel_unshuffle(x2, 2))
        x = F.relu(self.pre_up(self.backbone(x)))
        x = self.up(torch.cat([x, stage1_stem], dim=1))
        image = self.mix(self.to_image(x))
        return image + F.interpolate(x2, scale_factor=2, mode="bicubic", align_corners=False)


class CAGFace(nn.Module):
    """Two-stage (or one-stage) x4 CAGFace over a 6-channel component-attention block.

    ``forward(block)`` returns the x4 image; with ``return_intermediate=True`` it
    returns ``(x4, x2)`` so training can put a loss on both (the paper's Huber loss).
    Input height and width must be even (stage 2 works on 2x2 pixel blocks).
    """

    def __init__(self, features: int = 256, blocks: int = 16, stages: int = 2) -> None:
        super().__init__()
        if stages not in (1, 2):
            raise ValueError("CAGFace has one or two stages")
        self.stages = stages
        self.stage1 = CAGFaceStage1(features, blocks, upscale=2 if stages == 2 else 4)
        self.stage2 = CAGFaceStage2(features, blocks) if stages == 2 else None

    def forward(
        self, block: torch.Tensor, return_intermediate: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]:
        first, stem = self.stage1(block)
        if self.stage2 is None:
            return (first, None) if return_intermediate else first
        out = self.stage2(first, stem)
        return (out, first) if return_intermediate else out

    def init_stage2_from_stage1(self) -> None:
        """Initialise stage 2 from a trained stage 1 (paper 003, end of Sec. 3.4).

        The residual backbones and the pre-up-sampling convs have the same shapes, so
        they are copied; the rest of stage 2 keeps its fresh initialisation.
        """
        if self.stage2 is None:
            raise ValueError("a one-stage CAGFace has no stage 2")
        self.stage2.backbone.load_state_dict(self.stage1.backbone.state_dict())
        self.stage2.pre_up.load_state_dict(self.stage1.pre_up.state_dict())

    def stage_parameter_counts(self) -> tuple[int, int]:
        """(stage 1, stage 2) trainable parameter counts, as in the paper's Table 1."""
        count = lambda m: sum(p.numel() for p in m.parameters()) if m is not None else 0  # noqa: E731
        return count(self.stage1), count(self.stage2)
