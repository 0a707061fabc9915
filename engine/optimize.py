"""Inference fast paths: BatchNorm folded into convolutions, channels-last, torch.compile.

All of them compute the same function as the eager fp32 model (folding changes only the
rounding); ``tests/test_optimize.py`` proves it, ``bench/bench_pipeline.py`` measures
what each is worth.
"""

from __future__ import annotations

import copy
import logging

import torch
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


def count_batchnorms(model: nn.Module) -> int:
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def prepare_for_inference(
    model: nn.Module,
    device: torch.device,
    *,
    fold: bool = True,
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
    model = model.to(device)
    for p in model.parameters():
        p.requires_grad_(False)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if compile:
        try:
            model = torch.compile(model, dynamic=False)
        except Exception as err:  # pragma: no cover - depends on the platform's toolchain
            log.warning("torch.compile unavailable (%s); running eager", err)
    return model
