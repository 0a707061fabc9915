"""What a GPU lease trains: the three restorers, their batches, time shares and data.

One lease is one command of at most 10 minutes on one H200 (16 CPU cores). The three
trainings run at the same time, each in its own process, and stop at their own
deadline, given as a fraction of the lease's seconds (``LEASE_SECONDS``, 540: every
training, export and evaluation ends within 9 minutes of the command's start). The
GPU time-slices between the processes while they all run, so the default restorer,
which trains longest, gets the largest share (about 60 %: a third while all three
run, then the GPU alone).

Each lease continues the last: a model starts from the shipped default of its role
when that default is of the plan's preset (with a learning-rate warm-up), and the
lease counter (``card["leases"]`` of the shipped weights) picks the part of the
training faces it sees: the 22,707 UTKFace training faces are split by a seeded
permutation into ``PARTS`` parts, and lease ``n`` trains on part ``(n - 1) % PARTS``.

Every number here is a starting point, recorded in the model card and the lease's
log (samples/s, GPU memory and utilisation, losses), to be tuned from lease to lease.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

LEASE_SECONDS = 540.0  # the whole command: training, export, evaluation, archive
PARTS = 3  # the training faces are split in this many parts; a lease carries one
MAX_PARTS = 8  # ... or in more (smaller) parts when the tracked files leave less room
PART_SEED = 0
FULL_PACK = "packs/utk128-train"  # every UTKFace training face, aligned, 128 px
VAL_PACK = "packs/utk128-val"  # the 1,000 validation faces (utkface-val.txt)
LEASE_PACK = "packs/gpu-train"  # the part the next lease carries (``make gpu-data``)
STATE_DIR = "tools/gpu_lease/state"  # the kit's own carried state: the discriminator
ROLES = ("restorer", "tiny", "cagface")
EVAL_METRICS = ("psnr", "ssim")
MAX_RETURNED_FILES = 8
MAX_FILE_BYTES = 16 * 2**20
BUDGET_MIB = 60.0  # tracked files + carried data (the device takes 64 MiB)
WEIGHTS_BUDGET_MIB = 24.0  # the shipped restorers together, fp16


@dataclass(frozen=True)
class ModelPlan:
    """One of the lease's trainings."""

    role: str  # the registry role it ships as (restorer | tiny | cagface)
    preset: str
    export_name: str
    batch: int
    lr: float
    train_until: float  # fraction of the lease's seconds when its training stops
    ema: float | None = 0.999
    workers: int = 4  # threads preparing samples (16 cores for three trainings)
    options: dict[str, Any] = field(default_factory=dict)  # trainer options, always
    fresh: dict[str, Any] = field(default_factory=dict)  # ... when it starts from scratch
    continued: dict[str, Any] = field(default_factory=dict)  # ... from the shipped weights
    overrides: dict[str, Any] = field(default_factory=dict)  # preset arguments (tests)
    size: int | None = None  # face side (default: the preset's)
    stage1_fraction: float = 0.4  # CAGFace from scratch: stage 1 alone for this share
    d_warmup_steps: int = 200  # SPARNetHD recipe, trained G without a saved D
    val_count: int = 64  # faces validated inside the run (the full evaluation follows)

    @property
    def gan(self) -> bool:
        return bool(self.options.get("gan"))


PLANS: dict[str, ModelPlan] = {
    # The default restorer: SPARNetHD's recipe (FAU generator, Eq. 14 inputs, pixel L1 +
    # hinge GAN + feature matching against a 2-scale patch discriminator, EMA) on the
    # residual 128 px preset that fits the CPU budget (docs/gpu-training.md).
    "restorer": ModelPlan(
        "restorer",
        "sparnet_blind128_l",
        "sparnet_blind128_l-gpu",
        batch=64,
        lr=2e-4,
        train_until=0.82,
        workers=6,
        options={"gpu_degrade": True, "gan": True, "betas": [0.5, 0.99], "patch": 0},
        continued={"warmup_steps": 300},
    ),
    # SPARNet x8, the paper's L2 on bicubic x8 with flips, rescaling and rotations.
    "tiny": ModelPlan(
        "tiny",
        "sparnet_x8_lite",
        "sparnet_x8_lite-gpu",
        batch=128,
        lr=5e-4,
        train_until=0.52,
        workers=5,
        options={"gpu_degrade": True},
        continued={"warmup_steps": 200},
    ),
    # CAGFace x4 lite: stage 1 alone first when it starts from scratch, then both stages.
    "cagface": ModelPlan(
        "cagface",
        "cagface_x4_lite",
        "cagface_x4_lite-gpu",
        batch=64,
        lr=2e-4,
        train_until=0.52,
        workers=5,
        continued={"stage1_steps": 0, "warmup_steps": 200},
    ),
}


def plans(overrides: dict[str, dict[str, Any]] | None = None) -> dict[str, ModelPlan]:
    """The plans, with per-role changes (``{"tiny": {"batch": 64}}``; tests make nets tiny)."""
    out = dict(PLANS)
    for role, changes in (overrides or {}).items():
        if role not in out:
            raise ValueError(f"unknown role {role!r}; the lease trains {', '.join(PLANS)}")
        out[role] = replace(out[role], **changes)
    return out


def load_overrides(text: str | None) -> dict[str, dict[str, Any]]:
    """``--plan``: a JSON object, or the path of a JSON file."""
    if not text:
        return {}
    if text.lstrip().startswith("{"):
        return json.loads(text)
    return json.loads(Path(text).read_text(encoding="utf-8"))


# --- the lease counter -------------------------------------------------------------------


def shipped_cards() -> dict[str, dict[str, Any]]:
    """The model cards of the shipped defaults of the three roles (absent ones left out)."""
    from engine.weights import default_weights

    cards = {}
    for role in ROLES:
        info = default_weights(role)
        if info is not None:
            cards[role] = {"name": info.name, "preset": info.preset, **info.card}
    return cards


def next_lease(cards: dict[str, dict[str, Any]] | None = None) -> int:
    """1 + the most leases any shipped restorer records (all three train in each lease)."""
    cards = shipped_cards() if cards is None else cards
    return 1 + max((len(c.get("leases", [])) for c in cards.values()), default=0)


def part_of(lease: int, parts: int = PARTS) -> int:
    """The part of the training faces lease ``lease`` (1, 2, ...) trains on."""
    return (lease - 1) % parts


def part_pack(part: int, parts: int = PARTS) -> str:
    return f"packs/utk128-part{part + 1}of{parts}"


__all__ = [
    "LEASE_SECONDS",
    "MAX_PARTS",
    "PARTS",
    "PLANS",
    "ModelPlan",
    "next_lease",
    "part_of",
    "plans",
    "shipped_cards",
]
