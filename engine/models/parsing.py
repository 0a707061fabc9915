"""Face component segmentation for CAGFace (paper 003, Sec. 3.1).

A small BiSeNet-style network: a spatial path (three stride-2 convs keep detail at
1/8 size) and a context path (a light residual backbone down to 1/32 with attention
refinement and a global-pooling tail) fused by a feature-fusion module. It is
small enough to train from scratch on FASSEG on a CPU: no ImageNet weights exist
here. Classes: background, skin, hair (with eyebrows), other facial parts.

``ComponentSmoothing`` is the fixed Gaussian pooling layer that turns the class
probabilities into CAGFace's three soft attention maps (hair, skin, other).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

CLASS_NAMES = ("background", "skin", "hair", "other")
BACKGROUND, SKIN, HAIR, OTHER = range(4)
# CAGFace's attention maps, in the order they are stacked after the image.
COMPONENT_NAMES = ("hair", "skin", "other")
COMPONENT_CLASSES = (HAIR, SKIN, OTHER)


class ConvBNReLU(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        )


class BasicBlock(nn.Module):
    """Residual block of the context backbone; strided when it halves the size."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = ConvBNReLU(c_in, c_out, 3, stride)
        self.conv2 = nn.Sequential(
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out)
        )
        self.shortcut = (
            nn.Identity()
            if stride == 1 and c_in == c_out
            else nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.shortcut(x) + self.conv2(self.conv1(x)))


class AttentionRefinement(nn.Module):
    """BiSeNet's ARM: re-weight channels by a global-pooled gate."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = ConvBNReLU(c_in, c_out)
        self.gate = nn.Sequential(nn.Conv2d(c_out, c_out, 1, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return x * torch.sigmoid(self.gate(F.adaptive_avg_pool2d(x, 1)))


class FeatureFusion(nn.Module):
    """BiSeNet's FFM: concatenate both paths, then channel attention with a residual."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.blend = ConvBNReLU(c_in, c_out, 1)
        self.attention = nn.Sequential(
            nn.Conv2d(c_out, c_out // 4, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out // 4, c_out, 1),
            nn.Sigmoid(),
        )

    def forward(self, spatial: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = self.blend(torch.cat([spatial, context], dim=1))
        return x + x * self.attention(F.adaptive_avg_pool2d(x, 1))


class ComponentNet(nn.Module):
    """RGB face in [-1, 1] -> per-pixel logits of the four component classes."""

    def __init__(self, width: int = 32, num_classes: int = len(CLASS_NAMES)) -> None:
        super().__init__()
        w = width
        self.spatial_path = nn.Sequential(
            ConvBNReLU(3, w, 3, 2), ConvBNReLU(w, 2 * w, 3, 2), ConvBNReLU(2 * w, 2 * w, 3, 2)
        )
        self.stem = ConvBNReLU(3, w, 3, 2)  # 1/2
        self.stage4 = nn.Sequential(BasicBlock(w, w, 2), BasicBlock(w, w))  # 1/4
        self.stage8 = nn.Sequential(BasicBlock(w, 2 * w, 2), BasicBlock(2 * w, 2 * w))  # 1/8
        self.stage16 = nn.Sequential(BasicBlock(2 * w, 3 * w, 2), BasicBlock(3 * w, 3 * w))
        self.stage32 = nn.Sequential(BasicBlock(3 * w, 4 * w, 2), BasicBlock(4 * w, 4 * w))
        self.global_tail = ConvBNReLU(4 * w, 2 * w, 1)
        self.arm32 = AttentionRefinement(4 * w, 2 * w)
        self.arm16 = AttentionRefinement(3 * w, 2 * w)
        self.refine32 = ConvBNReLU(2 * w, 2 * w)
        self.refine16 = ConvBNReLU(2 * w, 2 * w)
        self.fusion = FeatureFusion(4 * w, 4 * w)
        self.head = nn.Sequential(ConvBNReLU(4 * w, 2 * w), nn.Conv2d(2 * w, num_classes, 1))
        self.aux16 = nn.Conv2d(2 * w, num_classes, 1)
        self.aux32 = nn.Conv2d(2 * w, num_classes, 1)

    def forward(
        self, x: torch.Tensor, return_aux: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        size = x.shape[-2:]
        spatial = self.spatial_path(x)
        f16 = self.stage16(self.stage8(self.stage4(self.stem(x))))
        f32 = self.stage32(f16)
        ctx32 = self.arm32(f32) + self.global_tail(F.adaptive_avg_pool2d(f32, 1))
        ctx32 = self.refine32(F.interpolate(ctx32, size=f16.shape[-2:], mode="nearest"))
        ctx16 = self.refine16(
            F.interpolate(self.arm16(f16) + ctx32, size=spatial.shape[-2:], mode="nearest")
        )
        logits = self.head(self.fusion(spatial, ctx16))
        logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
        if not return_aux:
            return logits
        up = lambda t: F.interpolate(t, size=size, mode="bilinear", align_corners=False)  # noqa: E731
        return logits, up(self.aux16(ctx16)), up(self.aux32(ctx32))


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """Normalised 2D Gaussian, side 2 * ceil(3 sigma) + 1."""
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g).float()


class ComponentSmoothing(nn.Module):
    """Fixed Gaussian pooling: class logits -> smoothed (hair, skin, other) maps in [0, 1].

    Smoothing lowers the cost of segmentation errors and gives confidently labelled
    pixels the highest attention (paper 003, Sec. 3.1). The kernel is a buffer, not
    a parameter: it is never trained.
    """

    def __init__(self, sigma: float = 1.5) -> None:
        super().__init__()
        kernel = gaussian_kernel(sigma)
        self.radius = kernel.shape[-1] // 2
        self.kernel: torch.Tensor
        self.register_buffer("kernel", kernel.expand(3, 1, *kernel.shape).clone())

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        probs = logits.softmax(dim=1)[:, list(COMPONENT_CLASSES)]
        pad = min(self.radius, probs.shape[-1] - 1, probs.shape[-2] - 1)
        if pad < self.radius:  # tiny inputs: reflect needs pad < size
            probs = F.pad(probs, (self.radius,) * 4, mode="replicate")
        else:
            probs = F.pad(probs, (self.radius,) * 4, mode="reflect")
        return F.conv2d(probs, self.kernel.to(probs.dtype), groups=3).clamp(0, 1)


DEFAULT_PARSE_SIZE = 128  # the shipped component network's training size


def parse_size_of(card: dict) -> int:
    """The input size a component network was trained at (its weights card), else 128."""
    try:
        return int(card.get("input_size", DEFAULT_PARSE_SIZE))
    except (TypeError, ValueError):
        return DEFAULT_PARSE_SIZE


def component_maps(
    segmenter: nn.Module,
    smoothing: ComponentSmoothing,
    face: torch.Tensor,
    work_size: int = DEFAULT_PARSE_SIZE,
) -> torch.Tensor:
    """CAGFace's smoothed (hair, skin, other) maps of faces in [-1, 1]: N x 3 x H x W in [0, 1].

    The one function training and inference share, so the restorer is trained on the
    maps it will see: the face is resized (bicubic, anti-aliased when shrinking) to
    the segmenter's training size, segmented, and the logits are resized back to the
    face's own size before smoothing.
    """
    h, w = face.shape[-2:]
    small = F.interpolate(
        face.float(),
        size=(work_size, work_size),
        mode="bicubic",
        align_corners=False,
        antialias=True,
    ).clamp(-1, 1)
    logits = segmenter(small.to(face.dtype))
    logits = F.interpolate(logits.float(), size=(h, w), mode="bilinear", align_corners=False)
    return smoothing.to(logits.device)(logits)
