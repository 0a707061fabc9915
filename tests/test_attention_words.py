"""Attention in one plain sentence per face, and where the checkerboard map comes from."""

from __future__ import annotations

import numpy as np

from engine.attention_words import attention_sentence, part_means
from engine.results import AttentionMap


def _map(values: np.ndarray) -> AttentionMap:
    return AttentionMap("decoder", 0, np.asarray(values, np.float32))


def _masks(side: int = 32) -> dict[str, np.ndarray]:
    hair = np.zeros((side, side), np.float32)
    hair[: side // 4] = 1.0
    other = np.zeros((side, side), np.float32)
    other[side // 2 : 3 * side // 4, side // 4 : 3 * side // 4] = 1.0
    skin = np.clip(1.0 - hair - other, 0, 1)
    skin[:, : side // 8] = 0  # some background at the sides
    skin[:, -side // 8 :] = 0
    return {"hair": hair, "skin": skin, "other": other}


def test_even_attention_says_so() -> None:
    flat = _map(np.full((16, 16), 0.3) + np.linspace(0, 0.02, 16)[None, :])
    assert "evenly" in attention_sentence(0, [flat], _masks())
    assert attention_sentence(2, [], None).startswith("Face 3: this model has no attention")


def test_the_sentence_names_the_part_that_got_the_work() -> None:
    masks = _masks()
    on_features = np.full((32, 32), 0.1, np.float32)
    on_features[masks["other"] > 0] = 0.9
    sentence = attention_sentence(0, [_map(on_features)], masks)
    assert "eyes, nose and mouth" in sentence and "as it should" in sentence
    on_hair = np.full((32, 32), 0.1, np.float32)
    on_hair[masks["hair"] > 0] = 0.9
    sentence = attention_sentence(0, [_map(on_hair)], masks)
    assert "the hair" in sentence and "check this face closely" in sentence
    # Without face parts: the middle of the crop against its border.
    centre = np.full((32, 32), 0.1, np.float32)
    centre[10:22, 10:22] = 0.9
    assert "middle of the face" in attention_sentence(0, [_map(centre)], None)
    assert set(part_means([_map(centre)], None)) == {"centre", "border"}


def _period_two(values: np.ndarray) -> float:
    """The share of a map's variation that alternates between neighbouring pixels."""
    v = values.astype(np.float64) - values.mean()
    h, w = v.shape
    y, x = np.mgrid[0:h, 0:w]
    waves = [(-1.0) ** x, (-1.0) ** y, (-1.0) ** (x + y)]
    return float(sum(abs((v * wave).mean()) for wave in waves) / max(v.std(), 1e-9))


def test_the_checkerboard_map_is_the_networks_first_up_scaling_unit() -> None:
    """The shipped restorer's first decoder unit alternates pixel by pixel (it follows a
    nearest-neighbour doubling and a 3x3 convolution); it is the network's own map,
    the same without the fast paths, and no other unit nor the restored face has it."""
    from engine.app.demo import demo_photo
    from engine.options import RestoreOptions
    from engine.pipeline import Restorer

    restorer = Restorer()
    fast, plain = (
        restorer.restore(
            demo_photo(),
            RestoreOptions.of(attention=True, identity=False, subpixel_upconv=sub),
        ).faces[0]
        for sub in (True, False)
    )
    shares = {m.index: _period_two(m.values) for m in fast.attention}
    first_up = next(m.index for m in fast.attention if m.stage == "decoder")
    assert shares[first_up] > 0.5  # most of its variation alternates: a checkerboard
    assert all(share < 0.1 for index, share in shares.items() if index != first_up)
    for a, b in zip(fast.attention, plain.attention, strict=True):
        assert np.allclose(a.values, b.values, atol=1e-3)  # not the fast path's doing
    luma = fast.crop_after.astype(np.float64).mean(axis=2)
    assert _period_two(luma) < 0.05  # the restored face shows no checkerboard
    sentence = attention_sentence(fast.index, fast.attention, fast.masks)
    assert sentence.startswith("Face 1:")
