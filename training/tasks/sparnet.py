"""SPARNet x8 (paper 001, Sec. III-A and III-D): pixel L2 loss, Adam 2e-4, betas (0.9, 0.99).

The 16 px face is bicubic-up-sampled to 128 px before it enters the network; the
training faces are flipped, rescaled by 1.0-1.3 and rotated by 90/180/270 degrees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.models import create_model

from ..augment import AugmentConfig
from ..ema import EMA
from ..options import TrainerOptions
from ..runtime import eval_mode
from ..task import to_uint8, to_unit
from .sr_base import FaceSRTask


def run_in_batches(net: nn.Module, images: np.ndarray, device: torch.device, batch: int = 16):
    """uint8 N x H x W x 3 through a network (eval, no grad) -> uint8 outputs."""
    outs = []
    with eval_mode(net):
        for i in range(0, len(images), batch):
            x = to_unit(torch.from_numpy(images[i : i + batch]).to(device))
            y = net(x)
            outs.append(to_uint8(y[0] if isinstance(y, tuple) else y))
    return np.concatenate(outs)


@dataclass(frozen=True)
class SPARNetOptions(TrainerOptions):
    betas: tuple[float, float] = (0.9, 0.99)  # Adam (the paper's)
    gpu_degrade: bool = False  # degrade the training faces on the device (training.gpu_degrade)
    warmup_steps: int = 0  # linear learning-rate warm-up (a run that starts from weights)
    # Step decay: the learning rate is multiplied by lr_gamma at each of these steps. A
    # running job takes it on --resume (a CPU run decides when its curve flattens).
    lr_milestones: tuple[int, ...] = ()
    lr_gamma: float = 0.5

    def __post_init__(self) -> None:
        if self.warmup_steps < 0:
            raise ValueError("warmup_steps must be zero or more")
        if any(m < 0 for m in self.lr_milestones):
            raise ValueError("lr_milestones must be steps, zero or more")
        if not 0.0 < self.lr_gamma <= 1.0:
            raise ValueError("lr_gamma must be in (0, 1]")


class SPARNetTask(FaceSRTask):
    name = "sparnet_x8"
    default_batch = 64
    default_degradation = "bicubic8x"
    default_augment = AugmentConfig(flip=True, rescale=(1.0, 1.3), rotate90=True)
    Options = SPARNetOptions
    opts: SPARNetOptions

    def build(self) -> None:
        c = self.config
        net = create_model(self.preset, **c.model_overrides).train()
        self.nets["G"] = self.place(net)
        self.optimizers["G"] = torch.optim.Adam(
            self.nets["G"].parameters(), lr=c.lr or 2e-4, betas=self.opts.betas
        )
        if c.ema_decay:  # a fresh network's copy follows it closely at first (EMA warm-up)
            self.emas["G"] = EMA(self.nets["G"], c.ema_decay, warmup=not c.init_weights)
        self.base_lr = self.optimizers["G"].param_groups[0]["lr"]

    def degrade_on_device(self) -> bool:
        return self.opts.gpu_degrade

    def lr_factor(self, step: int) -> float:
        """The share of the base learning rate at ``step``: warm-up, then step decay."""
        warmup = self.opts.warmup_steps
        factor = min(1.0, (step + 1) / warmup) if warmup else 1.0
        passed = sum(1 for m in self.opts.lr_milestones if step >= m)
        return factor * self.opts.lr_gamma**passed

    def on_step_start(self, step: int) -> None:
        """Linear warm-up over the run's first steps (fresh Adam moments on old weights)."""
        factor = self.lr_factor(step)
        for group in self.optimizers["G"].param_groups:
            group["lr"] = self.base_lr * factor

    def train_step(self, batch: dict[str, Any], step: int) -> dict[str, torch.Tensor]:
        rt, opt = self.rt, self.optimizers["G"]
        lq, hq = self.device_pair(batch, step)
        opt.zero_grad(set_to_none=True)
        with rt.autocast():
            out = self.net("G")(lq)
        loss = F.mse_loss(out.float(), hq)
        rt.backward(loss)
        rt.step(opt)
        rt.update_scaler()
        return {"l2": loss.detach()}

    def export_module(self) -> nn.Module:
        return self.emas["G"].shadow if "G" in self.emas else self.nets["G"]

    def validate(self) -> dict[str, float]:
        out = run_in_batches(self.export_module(), self.val_lq, self.rt.device)
        return self.quality(out)

    def sample_rows(self) -> list[list[np.ndarray]]:
        k = min(4, len(self.val_lq))
        out = run_in_batches(self.export_module(), self.val_lq[:k], self.rt.device)
        return [[self.val_lq[i], out[i], self.val_hq[i]] for i in range(k)]

    def card(self) -> dict[str, Any]:
        return {
            **super().card(),
            "loss": "pixel L2",
            "optimizer": {
                "name": "Adam",
                "lr": self.config.lr or 2e-4,
                "betas": list(self.opts.betas),
                "warmup_steps": self.opts.warmup_steps,
                "lr_milestones": list(self.opts.lr_milestones),
                "lr_gamma": self.opts.lr_gamma,
            },
            "degraded_on": "device" if self.on_device is not None else "cpu",
        }
