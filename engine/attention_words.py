"""Where a network looked on one face, as one plain sentence.

Attention maps are numbers in [0, 1] per position of the face as it went in; most
people cannot read a grid of heat maps. ``attention_sentence`` compares the mean of
all the units' maps (``combined_attention``) over the face's parts: the features
(eyes, nose, mouth), the skin, the hair and the rest, using the face-parts masks when
they were found, else the centre of the crop against its border. It says where the
network worked hardest, or that it spread its work evenly, and what to conclude.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from .results import AttentionMap

EVEN_SPREAD = 0.08  # highest minus lowest of the combined map under this: evenly spread
CLEAR_LEAD = 1.15  # a part whose mean is this many times the face's is "hardest"
PART_WORDS = {
    "other": "the eyes, nose and mouth",
    "skin": "the skin",
    "hair": "the hair",
    "background": "the background around the face",
    "centre": "the middle of the face",
    "border": "the edges of the picture, around the face",
}
GOOD_PARTS = ("other", "skin", "centre")


def combined_attention(maps: Sequence[AttentionMap], side: int = 128) -> np.ndarray:
    """Every unit's map resized to ``side`` and averaged: where the network looked overall.

    Maps are in [0, 1], so their mean is too: it stays on the same fixed scale.
    """
    if not maps:
        return np.zeros((side, side), np.float32)
    total = np.zeros((side, side), np.float32)
    for amap in maps:
        values = np.asarray(amap.values, np.float32)
        total += cv2.resize(values, (side, side), interpolation=cv2.INTER_LINEAR)
    return np.clip(total / len(maps), 0.0, 1.0)


def _regions(masks: Mapping[str, np.ndarray] | None, side: int) -> dict[str, np.ndarray]:
    """Weights of each part over a ``side`` square (masks, else centre and border)."""
    if masks:
        parts = {
            name: cv2.resize(np.asarray(m, np.float32), (side, side), interpolation=cv2.INTER_AREA)
            for name, m in masks.items()
        }
        parts["background"] = np.clip(1.0 - sum(parts.values()), 0.0, 1.0)
        return parts
    centre = np.zeros((side, side), np.float32)
    quarter = side // 4
    centre[quarter : side - quarter, quarter : side - quarter] = 1.0
    return {"centre": centre, "border": 1.0 - centre}


def part_means(
    maps: Sequence[AttentionMap], masks: Mapping[str, np.ndarray] | None
) -> dict[str, float]:
    """The combined attention's mean over each part that covers some of the face."""
    combined = combined_attention(maps)
    means = {}
    for name, weight in _regions(masks, combined.shape[0]).items():
        if weight.sum() > 0.02 * weight.size:
            means[name] = float((combined * weight).sum() / weight.sum())
    return means


def attention_sentence(
    index: int, maps: Sequence[AttentionMap], masks: Mapping[str, np.ndarray] | None
) -> str:
    """One sentence on where the network looked on face ``index`` (0-based) and what it means."""
    name = f"Face {index + 1}"
    if not maps:
        return f"{name}: this model has no attention units, so there is nothing to show."
    combined = combined_attention(maps)
    spread = float(combined.max() - combined.min())
    if spread < EVEN_SPREAD:
        return (
            f"{name}: the network spread its work evenly over the picture (its attention "
            f"varies by only {spread:.2f}), a light clean-up of the whole face rather than "
            "a repair of one part."
        )
    means = part_means(maps, masks)
    overall = float(combined.mean())
    part, value = max(means.items(), key=lambda kv: kv[1])
    if value < CLEAR_LEAD * overall:
        return (
            f"{name}: the network worked on every part of the face about equally, "
            "without singling one out."
        )
    where = PART_WORDS.get(part, part)
    lead = f"{name}: the network worked hardest on {where} ({value / overall:.1f}× its average)"
    if part in GOOD_PARTS:
        return f"{lead}, where a face's detail is: as it should."
    return f"{lead}: it found little face to work with, so check this face closely."
