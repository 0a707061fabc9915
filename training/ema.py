"""Exponential moving average of a network's weights (the copy SPARNetHD exports)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """``shadow = decay * shadow + (1 - decay) * weights`` after every step; buffers copied."""

    def __init__(self, net: nn.Module, decay: float = 0.999) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError("EMA decay must lie in (0, 1)")
        self.decay = decay
        self.shadow = copy.deepcopy(net).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        params = dict(net.named_parameters())
        for name, p in self.shadow.named_parameters():
            p.lerp_(params[name].detach(), 1.0 - self.decay)
        buffers = dict(net.named_buffers())
        for name, b in self.shadow.named_buffers():
            b.copy_(buffers[name])
