"""Inference fast paths: folded BatchNorm, sub-pixel up-convolutions, channels-last, compile.

All of them compute the same function as the eager fp32 model (folding changes only the
rounding); ``tests/test_optimize.py`` proves it, ``bench/bench_pipeline.py`` measures
what each is worth.
"""

from __future__ import annotations

import copy
import logging
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .models.blocks import ConvLayer

log = logging.getLogger(__name__)


def fold_batchnorm(model: nn.Module, inplace: bool = False) -> nn.Module:
    """Fold every BatchNorm that directly follows a convolution into that convolution.

    ``y = gamma * (conv(x) - mean) / sqrt(var + eps) + beta`` is again a convolution,
    with scaled weights and a bias; the BatchNorm becomes an identity. Covered: SPARNet's
    ``ConvLayer`` (conv -> norm -> act) and ``nn.Sequential`` runs of Conv2d, BatchNorm2d
    (the component network). A BatchNorm *before* an activation and a conv (SPARNet's
    pre-activation) cannot be folded and stays. Only for eval: the statistics freeze.
    """
    if model.training:
        raise ValueError("fold_batchnorm is for eval-mode models (running statistics)")
    if not inplace:
        model = copy.deepcopy(model)
    for module in model.modules():
        if isinstance(module, ConvLayer) and isinstance(module.norm.norm, nn.BatchNorm2d):
            module.conv2d = fuse_conv_bn_eval(module.conv2d, module.norm.norm)
            module.norm.norm = nn.Identity()
        elif isinstance(module, nn.Sequential):
            children = list(module._modules.items())
            for (_, first), (bn_key, second) in zip(children, children[1:], strict=False):
                if isinstance(first, nn.Conv2d) and isinstance(second, nn.BatchNorm2d):
                    fused = fuse_conv_bn_eval(first, second)
                    first.weight, first.bias = fused.weight, fused.bias
                    module._modules[bn_key] = nn.Identity()
    return model


class SubpixelUpConv(nn.Module):
    """``ConvLayer(scale="up")`` computed at the low resolution: same function, 2.25x fewer FLOPs.

    Nearest x2 up-sampling, reflection padding and a 3x3 convolution give, for each of
    the four output pixel parities, a 2x2 convolution of the *low-resolution* input
    with replicate padding (the reflected border of a nearest-up-sampled image repeats
    its edge pixel). In 1D, with taps ``w0 w1 w2``: even outputs see ``w0, w1 + w2`` on
    input pixels ``m - 1, m``; odd ones ``w0 + w1, w2`` on ``m, m + 1``. One 2x2
    convolution with 4x the output channels computes all four parities; a pixel shuffle
    interleaves them. 16 multiply-adds per input pixel and channel pair instead of 36, and
    the 4x larger up-sampled and padded copies are never made. SPARNet spends ~42% of its
    FLOPs in such layers (every hourglass's up path and the decoder).
    """

    def __init__(self, layer: ConvLayer) -> None:
        super().__init__()
        conv = layer.conv2d
        if layer.scale != "up" or conv.kernel_size != (3, 3) or conv.stride != (1, 1):
            raise ValueError("only 3x3 up-scaling ConvLayers can be rewritten")
        w = conv.weight.detach()  # out, in, 3, 3
        rows = self._split(w, dim=2)  # (even, odd) along y, each ..., 2, 3
        kernels = [self._split(r, dim=3) for r in rows]  # [py][px]: out, in, 2, 2
        weight = torch.stack([kernels[py][px] for py in (0, 1) for px in (0, 1)], dim=1)
        c_out, c_in = w.shape[:2]
        self.conv = nn.Conv2d(c_in, 4 * c_out, 2, bias=conv.bias is not None)
        self.conv.weight.data.copy_(weight.reshape(4 * c_out, c_in, 2, 2))
        if conv.bias is not None and self.conv.bias is not None:
            self.conv.bias.data.copy_(conv.bias.detach().repeat_interleave(4))
        self.norm = layer.norm
        self.relu = layer.relu

    @staticmethod
    def _split(w: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
        a, b, c = w.unbind(dim)
        return torch.stack([a, b + c], dim), torch.stack([a + b, c], dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        y = self.conv(F.pad(x, (1, 1, 1, 1), mode="replicate"))  # B, 4C, h+1, w+1
        b, c4 = y.shape[:2]
        y = y.view(b, c4 // 4, 4, h + 1, w + 1)
        # Parity (py, px) reads the window shifted by (py, px).
        parts = [y[:, :, 2 * py + px, py : py + h, px : px + w] for py in (0, 1) for px in (0, 1)]
        y = F.pixel_shuffle(torch.stack(parts, dim=2).reshape(b, c4, h, w), 2)
        return self.relu(self.norm(y))


def rewrite_up_convolutions(model: nn.Module, inplace: bool = False) -> nn.Module:
    """Replace every 3x3 up-scaling ``ConvLayer`` by its :class:`SubpixelUpConv`."""
    if not inplace:
        model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, ConvLayer) and child.scale == "up":
                setattr(parent, name, SubpixelUpConv(child))
    return model


def count_batchnorms(model: nn.Module) -> int:
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def prepare_for_inference(
    model: nn.Module,
    device: torch.device,
    *,
    fold: bool = True,
    subpixel: bool = True,
    channels_last: bool = False,
    compile: bool = False,
) -> nn.Module:
    """A copy of ``model`` on ``device``, eval mode, with the requested fast paths.

    ``compile`` uses ``torch.compile`` when it works here (it needs a C compiler on the
    CPU); if building it fails the eager model is returned and a log line says why.
    """
    model = model.eval()
    if fold:
        model = fold_batchnorm(model)
    if subpixel:
        model = rewrite_up_convolutions(model, inplace=fold)  # fold already made a copy
    model = model.to(device)
    for p in model.parameters():
        p.requires_grad_(False)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload, unused-ignore]  # torch < 2.14 stubs omit it
    if compile:
        try:
            model = cast(nn.Module, torch.compile(model, dynamic=False))
        except Exception as err:  # pragma: no cover - depends on the platform's toolchain
            log.warning("torch.compile unavailable (%s); running eager", err)
    return model
