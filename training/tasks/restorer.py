"""Blind face restoration at the preset's size: a pixel loss, or SPARNetHD's GAN recipe.

The input is the face after Eq. 14 with the photo ranges of ``degrade.RESTORER_EQ14``
(blur, down-sampling by 2 to 8, noise, JPEG, some gray faces) brought back to the
face size; the target is the clean face. The network is a SPARNet (Face Attention
Units). By default it trains on the pixel loss alone: on a CPU a GAN step costs about
three generator steps and buys nothing in PSNR. Adam with an optional linear warm-up
(a run that starts from earlier weights) and an EMA copy that is exported.

``gan`` trains it as SPARNetHD (paper 001, Eq. 12 and 13; ``sparnethd.adversarial_step``):
100 x pixel loss + hinge GAN + 10 x feature matching against a multi-scale patch
discriminator (two scales of 32 base channels for 128 px faces by default), D with
Adam 4e-4, betas (0.5, 0.99). A run that continues trained weights starts D from a
saved discriminator (``disc_weights``) or trains D alone for its first
``d_warmup_steps`` (the generator's learning-rate warm-up follows).

``patch`` trains on random square crops of each (input, target) pair: the networks
are fully convolutional, so the same weights restore whole faces afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from engine.models import create_model

from ..augment import AugmentConfig
from ..degrade import RESTORER_EQ14
from ..errors import ConfigError
from ..runtime import eval_mode
from .sparnet import SPARNetOptions, SPARNetTask
from .sparnethd import adversarial_step, discriminator_step

LOSSES = ("l1", "l2", "charbonnier")
GAN_WEIGHTS = {"pix": 100.0, "adv": 1.0, "fm": 10.0, "pcp": 0.0}  # SPARNetHD's, no VGG19
DISC_128 = {"scales": 2, "base_channels": 32, "layers": 3}  # D for 128 px faces (1.4 M)


def pixel_loss(kind: str, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if kind == "l1":
        return F.l1_loss(out, target)
    if kind == "l2":
        return F.mse_loss(out, target)
    if kind == "charbonnier":
        return torch.sqrt((out - target) ** 2 + 1e-6).mean()
    raise ConfigError(f"unknown loss {kind!r}; use one of {', '.join(LOSSES)}")


def random_crops(
    lq: torch.Tensor, hq: torch.Tensor, side: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same random ``side`` x ``side`` window of every (input, target) pair (N H W C)."""
    n, h, w = lq.shape[:3]
    if side >= min(h, w):
        return lq, hq
    ys = rng.integers(0, h - side + 1, n)
    xs = rng.integers(0, w - side + 1, n)
    windows = [(slice(y, y + side), slice(x, x + side)) for y, x in zip(ys, xs, strict=True)]
    a = torch.stack([lq[i, rows, cols] for i, (rows, cols) in enumerate(windows)])
    b = torch.stack([hq[i, rows, cols] for i, (rows, cols) in enumerate(windows)])
    return a, b


@dataclass(frozen=True)
class RestorerOptions(SPARNetOptions):
    loss: str = "l1"  # l1 | l2 | charbonnier
    # Random square crops of this side (0: whole faces). On a CPU, 64 px crops learn
    # about five times faster per CPU-minute than whole 128 px faces (docs/training.md).
    patch: int = 64
    gan: bool = False  # SPARNetHD's adversarial training (pixel + hinge GAN + feature matching)
    loss_weights: dict[str, float] = field(default_factory=dict)  # over GAN_WEIGHTS
    d_lr: float = 4e-4
    d_betas: tuple[float, float] = (0.5, 0.99)
    disc_overrides: dict[str, Any] = field(default_factory=lambda: dict(DISC_128))
    disc_weights: str | None = None  # start D from this discriminator weight set
    d_warmup_steps: int = 0  # train D alone first (G frozen), e.g. a fresh D on trained G

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; use one of {', '.join(LOSSES)}")
        if self.patch < 0 or self.patch % 16:
            raise ValueError("the patch side must be a multiple of 16")
        if unknown := set(self.loss_weights) - set(GAN_WEIGHTS):
            raise ValueError(f"unknown loss weights {sorted(unknown)}")
        if self.d_warmup_steps < 0:
            raise ValueError("d_warmup_steps must be zero or more")


class RestorerTask(SPARNetTask):
    name = "restorer"
    default_batch = 16
    default_degradation = "eq14"
    default_augment = AugmentConfig(flip=True, rescale=(1.0, 1.1))
    Options = RestorerOptions
    opts: RestorerOptions

    def degradation(self):
        if not self.config.eq14:
            self.config.eq14 = RESTORER_EQ14.for_size(self.face_size()).to_dict()
        return super().degradation()

    def build(self) -> None:
        self.loss_kind, self.patch = self.opts.loss, self.opts.patch
        if self.config.lr is None:  # measured on a CPU: 1e-3 learns fastest (docs/training.md)
            self.config.lr = 1e-3
        if self.config.ema_decay is None:
            self.config.ema_decay = 0.999
        super().build()
        self.emas["G"].warmup = not self.config.init_weights  # a trained start needs none
        self.disc_from: str | None = None
        if self.opts.gan:
            o = self.opts
            disc = create_model("sparnethd_discriminator", **o.disc_overrides).train()
            self.nets["D"] = self.place(disc)
            self.optimizers["D"] = torch.optim.Adam(
                self.nets["D"].parameters(), lr=o.d_lr, betas=o.d_betas
            )
            self.weights = {**GAN_WEIGHTS, **o.loss_weights}
            if o.disc_weights:
                self.load_discriminator(o.disc_weights)

    def load_discriminator(self, name_or_path: str) -> None:
        from engine.models.fit import load_fitting
        from engine.weights import find_weights, load_state_dict

        info = find_weights(name_or_path)
        if info.preset != "sparnethd_discriminator":
            raise ConfigError(f"{info.name} is a {info.preset} weight set, not a discriminator")
        load_fitting(self.nets["D"], load_state_dict(info), f"{info.name} does not fit D")
        self.disc_from = info.name
        self.notes.append(f"discriminator started from {info.name}")

    def make_batch(self, step: int) -> dict[str, Any]:
        batch = super().make_batch(step)
        if self.patch:
            rng = np.random.default_rng([self.config.seed, step, 0x9A7C])
            if "draws" in batch:  # cut after the degradation, on the device
                side = batch["hq"].shape[1] - self.patch + 1
                batch["windows"] = rng.integers(0, max(1, side), (batch["hq"].shape[0], 2))
            else:
                batch["lq"], batch["hq"] = random_crops(batch["lq"], batch["hq"], self.patch, rng)
        return batch

    def d_warmup(self) -> int:
        return self.opts.d_warmup_steps if self.opts.gan else 0

    def lr_factor(self, step: int) -> float:
        """No generator step while D warms up; then the linear warm-up."""
        if step < self.d_warmup():
            return 0.0
        return super().lr_factor(step - self.d_warmup())

    def train_step(self, batch: dict[str, Any], step: int) -> dict[str, torch.Tensor]:
        lq, hq = self.device_pair(batch, step)
        if "windows" in batch:
            p = self.patch
            rows = [(int(y), int(x)) for y, x in batch["windows"]]
            lq = torch.stack([lq[i, :, y : y + p, x : x + p] for i, (y, x) in enumerate(rows)])
            hq = torch.stack([hq[i, :, y : y + p, x : x + p] for i, (y, x) in enumerate(rows)])
        pixel = lambda out, target: pixel_loss(self.loss_kind, out, target)  # noqa: E731
        if self.opts.gan:
            if step < self.d_warmup():
                with torch.no_grad(), eval_mode(self.nets["G"]), self.rt.autocast():
                    fake = self.net("G")(lq)
                d_loss = discriminator_step(self, hq, fake)
                return {"pix": pixel(fake.float(), hq).detach(), "d": d_loss.detach()}
            return adversarial_step(self, lq, hq, self.weights, pixel)
        rt, opt = self.rt, self.optimizers["G"]
        opt.zero_grad(set_to_none=True)
        with rt.autocast():
            out = self.net("G")(lq)
        loss = pixel(out.float(), hq)
        rt.backward(loss)
        rt.step(opt)
        rt.update_scaler()
        return {"pix": loss.detach()}

    def card(self) -> dict[str, Any]:
        card = {
            **super().card(),
            "loss": f"pixel {self.loss_kind}",
            "patch": self.patch or None,
            "optimizer": {
                "name": "Adam",
                "lr": self.base_lr,
                "betas": list(self.optimizers["G"].param_groups[0]["betas"]),
                "warmup_steps": self.opts.warmup_steps,
                "lr_milestones": list(self.opts.lr_milestones),
                "lr_gamma": self.opts.lr_gamma,
            },
            "ema_decay": self.emas["G"].decay,
            "exported": "EMA of G",
            "task": "blind restoration of aligned faces (Eq. 14 photo ranges)",
        }
        if self.opts.gan:
            card["loss"] = (
                f"SPARNetHD Eq. 12: pixel {self.loss_kind} + hinge GAN + D feature matching"
            )
            card["loss_weights"] = self.weights
            card["discriminator"] = {
                "preset": "sparnethd_discriminator",
                "overrides": dict(self.opts.disc_overrides),
                "lr": self.opts.d_lr,
                "betas": list(self.opts.d_betas),
                "started_from": self.disc_from,
                "warmup_steps": self.opts.d_warmup_steps,
            }
        return card


__all__ = ["RestorerOptions", "RestorerTask", "pixel_loss", "random_crops"]
