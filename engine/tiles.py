"""Overlapping tiles with smooth blending, for any image size (CAGFace's patch-wise inference).

An image is cut into equal tiles that overlap by at least ``overlap`` pixels; each tile
goes through ``fn`` (tile -> tile x ``scale``), and the outputs are blended back. In each
overlap the weights cross-fade with a raised cosine, after a *guard band* of
``overlap // 4`` pixels at every inner tile edge where a tile's weight is exactly zero:
the pixels nearest a cut, which a network sees with a truncated context, never reach the
output. Weights are separable and divided by their sum, so they add up to exactly 1 and
the order of tiles does not matter. Consequence, tested: a function whose receptive field
reaches at most the guard band gives the same result tiled as whole.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .progress import CancelToken, ProgressCallback, Stage, check, report

TileFn = Callable[[torch.Tensor], torch.Tensor]


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of side ``tile`` covering ``length``, spread evenly.

    Neighbours overlap by at least ``overlap`` (more when the length does not divide
    evenly); the first tile starts at 0 and the last ends at ``length``.
    """
    if tile >= length:
        return [0]
    if not 0 <= overlap < tile:
        raise ValueError("overlap must be in [0, tile)")
    steps = math.ceil((length - tile) / (tile - overlap))
    return [round(i * (length - tile) / steps) for i in range(steps + 1)]


def blend_weights_1d(starts: list[int], tile: int, scale: int, guard: int) -> list[np.ndarray]:
    """Per tile, its weights along one axis at the output resolution (``tile * scale`` long).

    Between tiles ``i`` and ``i + 1`` the overlap ``[a, b)`` (output pixels) keeps a guard
    of ``guard * scale`` pixels (at most a quarter of the overlap) on both sides; over the
    rest the left tile's weight falls from 1 to 0 along a raised cosine while the right
    tile's rises, so that the two add up to 1.
    """
    out = tile * scale
    weights = [np.ones(out, np.float64) for _ in starts]
    centres = np.arange(out) + 0.5
    for i in range(len(starts) - 1):
        a = starts[i + 1] * scale
        b = (starts[i] + tile) * scale
        g = min(guard * scale, (b - a) // 4)
        lo, hi = a + g, b - g
        # Rise of the right tile over [lo, hi], in each tile's own coordinates.
        for j, sign in ((i, -1), (i + 1, 1)):
            x = centres + starts[j] * scale
            t = np.clip((x - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
            rise = 0.5 - 0.5 * np.cos(np.pi * t)
            weights[j] *= rise if sign > 0 else 1.0 - rise
    return weights


def process_tiled(
    image: torch.Tensor,
    fn: TileFn,
    *,
    tile: int,
    overlap: int,
    scale: int,
    multiple: int = 1,
    batch: int = 4,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    stage: Stage = Stage.RESTORE,
) -> torch.Tensor:
    """Apply ``fn`` to ``image`` (N x C x H x W) tile by tile; return N x C' x H*scale x W*scale.

    ``multiple``: tile sides are made a multiple of it, and the image is reflect-padded to
    a multiple of it (CAGFace needs even sides); the padding is cropped from the output.
    Tiles go through ``fn`` ``batch`` at a time (all tiles have the same size). The
    cancel token is checked between batches; progress counts tiles.
    """
    n, _, h, w = image.shape
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    if pad_h or pad_w:
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        image = F.pad(image, (0, pad_w, 0, pad_h), mode=mode)
    hp, wp = image.shape[-2:]
    tile = max(multiple, tile - tile % multiple)
    th, tw = min(tile, hp), min(tile, wp)
    overlap = min(overlap, tile // 2)
    guard = overlap // 4
    ys, xs = tile_starts(hp, th, overlap), tile_starts(wp, tw, overlap)
    wy = blend_weights_1d(ys, th, scale, guard)
    wx = blend_weights_1d(xs, tw, scale, guard)
    boxes = [(i, j) for i in range(len(ys)) for j in range(len(xs))]

    acc: torch.Tensor | None = None
    norm = torch.zeros(1, 1, hp * scale, wp * scale, dtype=torch.float32, device=image.device)
    done = 0
    for first in range(0, len(boxes), batch):
        check(cancel)
        group = boxes[first : first + batch]
        for k in range(n):
            tiles = torch.cat(
                [image[k : k + 1, :, ys[i] : ys[i] + th, xs[j] : xs[j] + tw] for i, j in group]
            )
            outs = fn(tiles).float()
            if acc is None:
                acc = torch.zeros(
                    n,
                    outs.shape[1],
                    hp * scale,
                    wp * scale,
                    dtype=torch.float32,
                    device=outs.device,
                )
            for out, (i, j) in zip(outs, group, strict=True):
                weight = torch.from_numpy(np.outer(wy[i], wx[j])).to(out.device, torch.float32)
                y0, x0 = ys[i] * scale, xs[j] * scale
                region = (slice(y0, y0 + th * scale), slice(x0, x0 + tw * scale))
                acc[k, :, region[0], region[1]] += out * weight
                if k == 0:
                    norm[0, 0, region[0], region[1]] += weight.to(norm.device)
        done += len(group)
        report(progress, stage, done, len(boxes), "tiles")
    assert acc is not None
    result = acc / norm.to(acc.device)
    return result[..., : h * scale, : w * scale]
