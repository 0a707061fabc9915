"""Exponential moving average of a network's weights (the copy SPARNetHD exports)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """``shadow = decay * shadow + (1 - decay) * weights`` after every step; buffers copied.

    With ``warmup`` the decay of update ``n`` is ``min(decay, (1 + n) / (10 + n))``: the
    copy follows a young network closely instead of averaging in its random start
    (a short CPU run would otherwise export mostly the initial weights).
    """

    def __init__(self, net: nn.Module, decay: float = 0.999, warmup: bool = False) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError("EMA decay must lie in (0, 1)")
        self.decay = decay
        self.warmup = warmup
        self.updates = 0
        self.shadow = copy.deepcopy(net).eval().requires_grad_(False)

    def current_decay(self) -> float:
        if not self.warmup:
            return self.decay
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        decay = self.current_decay()
        self.updates += 1
        params = dict(net.named_parameters())
        for name, p in self.shadow.named_parameters():
            p.lerp_(params[name].detach(), 1.0 - decay)
        buffers = dict(net.named_buffers())
        for name, b in self.shadow.named_buffers():
            b.copy_(buffers[name])
