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
from ..degrade import PRESETS
from ..errors import ConfigError
from ..runtime import eval_mode
from .sparnet import SPARNetOptions, SPARNetTask
from .sparnethd import adversarial_step, discriminator_step

LOSSES = ("l1", "l2", "charbonnier")
DEGRADATION_PRESETS = tuple(PRESETS)
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


def high_pass(x: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """``x`` minus its Gaussian blur (per channel, reflect padding): edges and fine detail."""
    radius = max(1, round(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    c = x.shape[1]
    pad = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    blurred = F.conv2d(pad, g.view(1, 1, 1, -1).expand(c, 1, 1, -1).contiguous(), groups=c)
    blurred = F.conv2d(blurred, g.view(1, 1, -1, 1).expand(c, 1, -1, 1).contiguous(), groups=c)
    return x - blurred


def edge_loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between the high-pass bands: a blurred edge costs as much as a shifted one."""
    return F.l1_loss(high_pass(out), high_pass(target))


def spectrum_loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between log amplitude spectra (phase left out): the output must carry the
    clean face's energy at every frequency, even where the exact detail is uncertain,
    which a pixel loss alone answers with a blur."""
    a = torch.fft.rfft2(out.float(), norm="ortho").abs()
    b = torch.fft.rfft2(target.float(), norm="ortho").abs()
    return F.l1_loss(torch.log1p(a), torch.log1p(b))


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
    # The degradation ranges (training.degrade.PRESETS): Eq. 14's photo ranges, or those
    # plus what old prints add (fading, casts, grain, dots), measured on real old photos.
    degradation_preset: str = "eq14"
    # Extra terms beside the pixel loss, for detail one can see (docs/training.md):
    edge_weight: float = 0.0  # x L1 of the high-pass bands
    spectrum_weight: float = 0.0  # x L1 of the log amplitude spectra
    # x the distance of dlib face-recognition ResNet features (training.identity_loss);
    # whole faces only (patch 0): the chip is cut by the template's geometry.
    identity_weight: float = 0.0
    identity_layers: tuple[str, ...] = ("level4", "level3", "level2")
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
        if self.degradation_preset not in PRESETS:
            raise ValueError(
                f"unknown degradation preset {self.degradation_preset!r}; "
                f"use one of {', '.join(DEGRADATION_PRESETS)}"
            )
        if min(self.edge_weight, self.spectrum_weight, self.identity_weight) < 0:
            raise ValueError("loss weights must be zero or more")
        if self.identity_weight and self.patch:
            raise ValueError("the identity loss needs whole faces: set patch=0")
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
            preset = PRESETS[self.opts.degradation_preset]
            self.config.eq14 = preset.for_size(self.face_size()).to_dict()
        return super().degradation()

    def build(self) -> None:
        self.loss_kind, self.patch = self.opts.loss, self.opts.patch
        if self.config.lr is None:  # measured on a CPU: 1e-3 learns fastest (docs/training.md)
            self.config.lr = 1e-3
        if self.config.ema_decay is None:
            self.config.ema_decay = 0.999
        super().build()
        self.emas["G"].warmup = not self.config.init_weights  # a trained start needs none
        self.identity_loss: torch.nn.Module | None = None
        if self.opts.identity_weight:
            from ..identity_loss import IdentityFeatureLoss

            loss = IdentityFeatureLoss(self.opts.identity_layers, size=self.face_size())
            self.identity_loss = loss.to(self.rt.device)
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

    def loss_text(self) -> str:
        text = f"pixel {self.loss_kind}"
        if self.opts.edge_weight:
            text += f" + {self.opts.edge_weight:g} x high-pass L1"
        if self.opts.spectrum_weight:
            text += f" + {self.opts.spectrum_weight:g} x log-spectrum L1"
        if self.opts.identity_weight:
            layers = ", ".join(self.opts.identity_layers)
            text += f" + {self.opts.identity_weight:g} x dlib ResNet features ({layers})"
        return text

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
        pixel = self.pixel_terms
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
        terms = self.loss_terms(out.float(), hq)
        loss = sum(terms.values(), torch.zeros((), device=hq.device))
        rt.backward(loss)
        rt.step(opt)
        rt.update_scaler()
        return {k: v.detach() for k, v in terms.items()}

    def loss_terms(self, out: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """The weighted terms of the generator's reconstruction loss, by name."""
        terms = {"pix": pixel_loss(self.loss_kind, out, target)}
        if self.opts.edge_weight:
            terms["edge"] = self.opts.edge_weight * edge_loss(out, target)
        if self.opts.spectrum_weight:
            terms["spectrum"] = self.opts.spectrum_weight * spectrum_loss(out, target)
        if self.identity_loss is not None:
            terms["identity"] = self.opts.identity_weight * self.identity_loss(out, target)
        return terms

    def pixel_terms(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The reconstruction loss as one number (the GAN recipe weighs it as "pix")."""
        return sum(self.loss_terms(out, target).values(), torch.zeros((), device=out.device))

    def card(self) -> dict[str, Any]:
        card = {
            **super().card(),
            "loss": self.loss_text(),
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
            "task": "blind restoration of aligned faces "
            + (
                "(Eq. 14 photo ranges)"
                if self.opts.degradation_preset == "eq14"
                else "(Eq. 14 photo ranges and old-print damage)"
            ),
            "degradation_preset": self.opts.degradation_preset,
        }
        if self.opts.gan:
            card["loss"] = f"SPARNetHD Eq. 12: {self.loss_text()} + hinge GAN + D feature matching"
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


__all__ = [
    "RestorerOptions",
    "RestorerTask",
    "edge_loss",
    "high_pass",
    "pixel_loss",
    "random_crops",
    "spectrum_loss",
]
