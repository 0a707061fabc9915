"""SPARNetHD (paper 001, Sec. III-C, III-D, IV-C): Eq. 12 and 13 with online Eq. 14 inputs.

G loss = 100 * L1 + 1 * hinge GAN + 10 * feature matching + 1 * VGG19 perceptual;
D loss = hinge over the multi-scale discriminators. G lr 1e-4, D lr 4e-4, Adam
betas (0.5, 0.99); an exponential moving average of G is exported. Without a VGG19
weights file (option ``vgg19``) the perceptual weight is 0 and the log says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.models import create_model

from ..augment import AugmentConfig
from ..ema import EMA
from ..losses import VGGPerceptual, feature_matching_loss, hinge_d_loss, hinge_g_loss
from ..options import TrainerOptions
from ..task import Task, to_unit
from .sparnet import run_in_batches
from .sr_base import FaceSRTask

DEFAULT_WEIGHTS = {"pix": 100.0, "adv": 1.0, "fm": 10.0, "pcp": 1.0}


def adversarial_step(
    task: Task,
    lq: torch.Tensor,
    hq: torch.Tensor,
    w: dict[str, float],
    pixel: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    vgg: nn.Module | None = None,
) -> dict[str, torch.Tensor]:
    """One step of Eq. 12 / 13: G on pixel + hinge GAN + feature matching (+ VGG), then D.

    ``task`` has networks ``G`` and ``D`` and their optimisers; ``w`` the loss weights.
    """
    rt, opt_g, d_raw = task.rt, task.optimizers["G"], task.nets["D"]
    # Generator step; D is used unwrapped and frozen so no D gradient is reduced.
    d_raw.requires_grad_(False)
    opt_g.zero_grad(set_to_none=True)
    with rt.autocast():
        sr = task.net("G")(lq)
        fake = d_raw(sr)
        with torch.no_grad():
            real = d_raw(hq)
    sr32 = sr.float()
    pix = pixel(sr32, hq)
    adv = hinge_g_loss([f[-1].float() for f in fake])
    fm = feature_matching_loss(
        [[t.float() for t in f] for f in fake], [[t.float() for t in r] for r in real]
    )
    pcp = vgg(sr32, hq) if vgg is not None else sr32.new_zeros(())
    g_total = w["pix"] * pix + w["adv"] * adv + w["fm"] * fm + w["pcp"] * pcp
    rt.backward(g_total)
    rt.step(opt_g)
    d_raw.requires_grad_(True)
    d_loss = discriminator_step(task, hq, sr.detach())
    return {
        "pix": pix.detach(),
        "adv": adv.detach(),
        "fm": fm.detach(),
        "pcp": pcp.detach(),
        "g_total": g_total.detach(),
        "d": d_loss.detach(),
    }


def discriminator_step(task: Task, hq: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Eq. 13: one hinge step of D on real faces and (detached) restored ones."""
    rt, opt_d = task.rt, task.optimizers["D"]
    opt_d.zero_grad(set_to_none=True)
    with rt.autocast():
        both = task.net("D")(torch.cat([hq, fake]))
    n = hq.shape[0]
    d_loss = hinge_d_loss([s[-1][:n].float() for s in both], [s[-1][n:].float() for s in both])
    rt.backward(d_loss)
    rt.step(opt_d)
    rt.update_scaler()
    return d_loss


@dataclass(frozen=True)
class SPARNetHDOptions(TrainerOptions):
    betas: tuple[float, float] = (0.5, 0.99)  # Adam, G and D (the paper's)
    d_lr: float = 4e-4
    loss_weights: dict[str, float] = field(default_factory=dict)  # over DEFAULT_WEIGHTS
    vgg19: str | None = None  # VGG19 weights for the perceptual loss
    disc_overrides: dict[str, Any] = field(default_factory=dict)  # discriminator kwargs

    def __post_init__(self) -> None:
        if unknown := set(self.loss_weights) - set(DEFAULT_WEIGHTS):
            raise ValueError(f"unknown loss weights {sorted(unknown)}")


class SPARNetHDTask(FaceSRTask):
    name = "sparnethd"
    default_batch = 2
    default_degradation = "eq14"
    default_augment = AugmentConfig(flip=True, rescale=(1.0, 1.0))
    Options = SPARNetHDOptions
    opts: SPARNetHDOptions

    def build(self) -> None:
        c, o = self.config, self.opts
        g = create_model(self.preset, **c.model_overrides).train()
        d = create_model("sparnethd_discriminator", **o.disc_overrides).train()
        self.nets["G"], self.nets["D"] = self.place(g), self.place(d)
        self.optimizers["G"] = torch.optim.Adam(g.parameters(), lr=c.lr or 1e-4, betas=o.betas)
        self.optimizers["D"] = torch.optim.Adam(d.parameters(), lr=o.d_lr, betas=o.betas)
        self.emas["G"] = EMA(self.nets["G"], c.ema_decay or 0.999)
        self.weights = {**DEFAULT_WEIGHTS, **o.loss_weights}
        self.vgg = None
        if o.vgg19:
            self.vgg = VGGPerceptual.from_file(o.vgg19).to(self.rt.device)
        elif self.weights["pcp"]:
            self.notes.append(
                "no VGG19 weights given (options vgg19=PATH / --vgg19): perceptual loss weight 0"
            )
            self.weights["pcp"] = 0.0

    def train_step(self, batch: dict[str, Any], step: int) -> dict[str, torch.Tensor]:
        lq = self.rt.to_device(to_unit(batch["lq"].to(self.rt.device)))
        hq = self.rt.to_device(to_unit(batch["hq"].to(self.rt.device)))
        return adversarial_step(self, lq, hq, self.weights, F.l1_loss, self.vgg)

    def export_module(self) -> nn.Module:
        return self.emas["G"].shadow

    def validate(self) -> dict[str, float]:
        out = run_in_batches(self.export_module(), self.val_lq, self.rt.device, batch=4)
        return self.quality(out)

    def sample_rows(self) -> list[list[np.ndarray]]:
        k = min(3, len(self.val_lq))
        out = run_in_batches(self.export_module(), self.val_lq[:k], self.rt.device, batch=4)
        return [[self.val_lq[i], out[i], self.val_hq[i]] for i in range(k)]

    def card(self) -> dict[str, Any]:
        return {
            **super().card(),
            "loss": "Eq. 12: pixel L1 + hinge GAN + D feature matching + VGG19 perceptual",
            "loss_weights": self.weights,
            "vgg19": bool(self.vgg),
            "optimizer": {
                "name": "Adam",
                "g_lr": self.config.lr or 1e-4,
                "d_lr": self.opts.d_lr,
                "betas": list(self.opts.betas),
            },
            "ema_decay": self.emas["G"].decay,
            "exported": "EMA of G",
        }
