"""What the three face-SR trainers share: faces in memory, online pairs, PSNR/SSIM checks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.model_card_words import dataset_name
from engine.models import get_preset

from ..augment import AugmentConfig
from ..data import train_val_split
from ..degrade import Degradation, Eq14Config, epoch_rng, sample_rng
from ..errors import ConfigError
from ..gpu_degrade import DeviceDegradation
from ..metrics import psnr_y, ssim_y
from ..pack import FaceSet
from ..task import Task, to_unit

VAL_SEED_OFFSET = 1_000_003  # validation draws never coincide with training draws


class PairSampler:
    """Sample ``i`` of a run: face ``perm_epoch[i % N]``, augmented, then degraded.

    Everything is drawn from ``sample_rng(seed, i)``, the epoch permutation from
    ``epoch_rng(seed, epoch)``: a sample depends on nothing but ``(seed, i)``.
    """

    def __init__(
        self,
        faces: np.ndarray,
        degradation: Degradation,
        augment: AugmentConfig,
        seed: int,
        workers: int = 4,
    ) -> None:
        self.faces = faces
        self.degradation = degradation
        self.augment = augment
        self.seed = seed
        self._perms: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="pairs")

    def face_index(self, position: int) -> int:
        n = len(self.faces)
        epoch, i = divmod(int(position), n)
        with self._lock:
            perm = self._perms.get(epoch)
            if perm is None:
                perm = epoch_rng(self.seed, epoch).permutation(n)
                self._perms = {e: p for e, p in self._perms.items() if e >= epoch - 1}
                self._perms[epoch] = perm
        return int(perm[i])

    def sample(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        from ..augment import augment_face

        rng = sample_rng(self.seed, position)
        face = self.faces[self.face_index(position)]
        hq = augment_face(face, rng, self.augment)
        lq, hq = self.degradation(hq, rng)
        return lq, hq

    def clean(self, position: int, draw: Callable[[np.random.Generator, int], Any]) -> tuple:
        """Sample ``position`` augmented but not degraded, and ``draw`` of its generator.

        ``draw`` takes the generator where the degradation would (``gpu_degrade``), so
        the degradation's choices are those the CPU path makes for the same sample.
        """
        from ..augment import augment_face

        rng = sample_rng(self.seed, position)
        hq = augment_face(self.faces[self.face_index(position)], rng, self.augment)
        return hq, draw(rng, hq.shape[0])

    def batch_clean(
        self, positions: np.ndarray, draw: Callable[[np.random.Generator, int], Any]
    ) -> tuple[torch.Tensor, list[Any]]:
        """uint8 N x H x W x 3 clean faces and the draws (degraded on the device later)."""
        items = list(self._pool.map(lambda p: self.clean(p, draw), positions.tolist()))
        return torch.from_numpy(np.stack([i[0] for i in items])), [i[1] for i in items]

    def batch(self, positions: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 tensors N x H x W x 3: (network input, target)."""
        pairs = list(self._pool.map(self.sample, positions.tolist()))
        lq = torch.from_numpy(np.stack([p[0] for p in pairs]))
        hq = torch.from_numpy(np.stack([p[1] for p in pairs]))
        return lq, hq


def fixed_pairs(faces: FaceSet, degradation: Degradation, seed: int) -> tuple[np.ndarray, ...]:
    """Validation pairs: the same degradation draws every time, no augmentation."""
    lq, hq = [], []
    for i, face in enumerate(faces.images):
        a, b = degradation(face, sample_rng(seed + VAL_SEED_OFFSET, i))
        lq.append(a)
        hq.append(b)
    return np.stack(lq), np.stack(hq)


def mean_quality(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """Mean PSNR / SSIM on Y over a set of uint8 images."""
    psnr = [psnr_y(o, t) for o, t in zip(outputs, targets, strict=True)]
    ssim = [ssim_y(o, t) for o, t in zip(outputs, targets, strict=True)]
    finite = [p for p in psnr if np.isfinite(p)] or [float("inf")]
    return {"psnr_y": float(np.mean(finite)), "ssim_y": float(np.mean(ssim))}


class FaceSRTask(Task):
    """Common data handling of SPARNet, SPARNetHD and CAGFace training."""

    default_degradation = "bicubic8x"
    default_augment = AugmentConfig()

    def face_size(self) -> int:
        size = self.config.size or get_preset(self.preset).size
        if not size:
            raise ConfigError(f"give the face size for {self.preset} with --size")
        return int(size)

    def degradation(self) -> Degradation:
        name = self.config.degradation or self.default_degradation
        eq14 = Eq14Config.from_dict(self.config.eq14) if self.config.eq14 else None
        if eq14 is None:
            eq14 = Eq14Config().for_size(self.face_size())
        try:
            return Degradation(name, eq14)
        except ValueError as err:
            raise ConfigError(str(err)) from None

    def augment_config(self) -> AugmentConfig:
        if self.config.augment is None:
            return self.default_augment
        return AugmentConfig.from_dict(self.config.augment)

    def prepare_data(self, progress: Any = None, cancel: Any = None) -> None:
        c = self.config
        size = self.face_size()
        split = train_val_split(
            c.data,
            size=size,
            template=c.template,
            val_data=c.val_data,
            val_list=c.val_list,
            exclude_list=c.exclude_list,
            val_count=c.val_count,
            max_faces=c.max_faces,
            progress=progress,
            cancel=cancel,
        )
        self.train_faces, self.val_faces = split.train, split.val
        self.deg = self.degradation()
        if self.deg.factor and size % self.deg.factor:
            raise ConfigError(f"{size} px faces do not divide by the factor {self.deg.factor}")
        self.pairs = PairSampler(
            self.train_faces.images, self.deg, self.augment_config(), c.seed, c.workers
        )
        self.on_device = DeviceDegradation(self.deg, size) if self.degrade_on_device() else None
        self.val_lq, self.val_hq = fixed_pairs(self.val_faces, self.deg, c.seed)
        self.baseline = mean_quality(self.val_lq, self.val_hq)
        self.notes.append(
            f"{len(self.train_faces)} training faces at {size} px; {split.how}; "
            f"degradation {self.deg.name}; bicubic baseline PSNR-Y "
            f"{self.baseline['psnr_y']:.2f} dB, SSIM-Y {self.baseline['ssim_y']:.4f}"
        )
        meta = self.train_faces.meta
        source = str(meta.get("source") or c.data)
        self.data_card = {
            "data": {
                # the dataset by name, never the path of this machine's copy
                "name": dataset_name({"licence": meta.get("licence"), "source": source}),
                "source": Path(source).name,
                "pack": Path(str(meta.get("path") or "")).name or None,
                "faces": len(self.train_faces),
                "size": size,
                "template": meta.get("template", c.template),
                "licence": meta.get("licence", "unknown"),
                "validation": split.how,
            },
            "degradation": self.deg.name,
            "eq14": self.deg.eq14.to_dict() if self.deg.name == "eq14" else None,
            "augment": self.augment_config().to_dict(),
            "bicubic_baseline": {k: round(v, 5) for k, v in self.baseline.items()},
        }

    def degrade_on_device(self) -> bool:
        """Whether training pairs are degraded on the device (option ``gpu_degrade``)."""
        return False

    def quality(self, outputs: np.ndarray, targets: np.ndarray | None = None) -> dict[str, float]:
        """PSNR / SSIM on Y against the validation targets; at the final validation also
        the identity figures (dlib, when installed: about 0.1 s a face)."""
        targets = self.val_hq if targets is None else targets
        values = mean_quality(outputs, targets)
        if self.final_validation:
            values.update(self.identity_of(outputs, targets))
            baseline: dict[str, float] = self.data_card.get("bicubic_baseline") or {}
            first = bool(baseline) and "identity_cos" not in baseline
            if first and targets is self.val_hq and "identity_cos" in values:
                found = self.identity_of(self.val_lq, targets)  # the network's input, alike
                baseline.update({k: round(v, 5) for k, v in found.items()})
        return values

    def identity_of(self, outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        if not hasattr(self, "_identity_metric"):
            from ..optional_metrics import make_identity

            template = self.train_faces.meta.get("template", self.config.template)
            self._identity_metric, note = make_identity(None, template)
            if self._identity_metric is None:
                self.notes.append(note)
        if self._identity_metric is None:
            return {}
        return self._identity_metric(outputs, targets)

    def make_batch(self, step: int) -> dict[str, Any]:
        if self.on_device is not None:
            hq, draws = self.pairs.batch_clean(self.positions(step), self.on_device.draw)
            return {"hq": hq, "draws": self.on_device.collate(draws)}
        lq, hq = self.pairs.batch(self.positions(step))
        return {"lq": lq, "hq": hq}

    def device_pair(self, batch: dict[str, Any], step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(input, target) of a batch on the device, in [-1, 1], channels-last when set.

        Batches of ``gpu_degrade`` are degraded here, with noise drawn from a generator
        seeded by (seed, step, rank): the run is reproducible on its device.
        """
        rt = self.rt
        if "draws" in batch:
            assert self.on_device is not None
            generator = torch.Generator(device=rt.device)
            generator.manual_seed((self.config.seed * 0x9E3779B1 + step * 4099 + rt.rank) % 2**62)
            hq = batch["hq"].to(rt.device, non_blocking=True)
            lq, target = self.on_device(hq, batch["draws"], generator)
            return rt.to_device(lq), rt.to_device(target)
        lq = rt.to_device(to_unit(batch["lq"].to(rt.device)))
        hq = rt.to_device(to_unit(batch["hq"].to(rt.device)))
        return lq, hq

    def card(self) -> dict[str, Any]:
        return dict(self.data_card)
