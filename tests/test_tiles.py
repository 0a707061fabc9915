"""Overlapping tiles: weights add up to 1, local functions are seamless, any size works."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.errors import Cancelled
from engine.progress import CancelToken
from engine.tiles import blend_weights_1d, process_tiled, tile_starts
from tests.tiny_models import one_torch_thread


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with one_torch_thread():
        yield


@pytest.mark.parametrize("length", [37, 64, 100, 129, 257, 300, 513])
@pytest.mark.parametrize("scale", [1, 4])
def test_weights_cover_every_pixel_and_add_up_to_one(length, scale):
    tile, overlap = 64, 16
    starts = tile_starts(length, min(tile, length), overlap)
    t = min(tile, length)
    assert starts[0] == 0 and starts[-1] + t == length
    assert all(b - a <= t - overlap for a, b in zip(starts, starts[1:], strict=False))
    total = np.zeros(length * scale)
    for s, w in zip(starts, blend_weights_1d(starts, t, scale, overlap // 4), strict=True):
        total[s * scale : (s + t) * scale] += w
    np.testing.assert_allclose(total, 1.0, atol=1e-12)


def test_a_pointwise_function_is_the_same_tiled_and_whole():
    x = torch.rand(2, 3, 75, 131)

    def fn(t):
        return F.interpolate(torch.tanh(3 * t) - t, scale_factor=4, mode="nearest")

    tiled = process_tiled(x, fn, tile=32, overlap=8, scale=4, batch=3)
    assert tiled.shape == (2, 3, 300, 524)
    torch.testing.assert_close(tiled, fn(x), atol=1e-6, rtol=0)


def test_a_local_network_is_seamless_when_its_reach_fits_the_guard_band():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(6, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(8, 3 * 4, 3, padding=1),  # reach: 2 px
        torch.nn.PixelShuffle(2),
    ).eval()
    x = torch.rand(1, 6, 90, 70)
    with torch.inference_mode():
        whole = net(x)
        tiled = process_tiled(x, net, tile=32, overlap=12, scale=2, multiple=2)  # guard 3 px
    assert tiled.shape == whole.shape == (1, 3, 180, 140)
    torch.testing.assert_close(tiled, whole, atol=1e-5, rtol=0)


def test_per_tile_offsets_fade_smoothly_instead_of_making_steps():
    x = torch.zeros(1, 1, 96, 96)
    offsets = iter(np.linspace(-1, 1, 100))

    def fn(t):  # every tile shifted differently: the worst case for seams
        return t + float(next(offsets))

    out = process_tiled(x, fn, tile=32, overlap=16, scale=1, batch=1)[0, 0].numpy()
    steps = max(np.abs(np.diff(out, axis=0)).max(), np.abs(np.diff(out, axis=1)).max())
    jump = 2 / 99 * 9  # largest offset difference between neighbouring tiles (3x3 grid)
    assert steps < jump / 3  # spread over the cross-fade, not a step


def test_odd_sizes_are_padded_to_the_multiple_and_cropped_back():
    x = torch.rand(1, 3, 31, 45)
    seen = []

    def fn(t):
        seen.append(tuple(t.shape[-2:]))
        return F.interpolate(t, scale_factor=4, mode="nearest")

    out = process_tiled(x, fn, tile=20, overlap=6, scale=4, multiple=2)
    assert out.shape == (1, 3, 124, 180)
    assert all(h % 2 == 0 and w % 2 == 0 for h, w in seen)
    torch.testing.assert_close(out, F.interpolate(x, scale_factor=4, mode="nearest"))


def test_cancel_stops_between_tiles():
    token = CancelToken()
    calls = []

    def fn(t):
        calls.append(1)
        token.cancel()
        return t

    with pytest.raises(Cancelled):
        process_tiled(
            torch.rand(1, 3, 64, 64), fn, tile=16, overlap=4, scale=1, batch=1, cancel=token
        )
    assert len(calls) == 1
