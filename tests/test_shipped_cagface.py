"""The shipped CAGFace: verified, carded, clearly better than bicubic x4 on held-out faces,
and seamless when a face larger than its training size is restored tile by tile."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from engine.app.demo import astronaut
from engine.models.cagface import component_attention_block
from engine.models.parsing import ComponentSmoothing, component_maps, parse_size_of
from engine.tiles import process_tiled, tile_starts
from engine.weights import default_weights, load_model, verify_weights
from tests.eval_gain import gain_over_bicubic

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def shipped():
    info = default_weights("cagface")
    assert info is not None, "no CAGFace ships in resources/weights"
    return info


def test_the_shipped_cagface_is_the_verified_carded_default(shipped):
    assert shipped.source == "shipped" and shipped.preset == "cagface_x4_lite"
    assert verify_weights(shipped) == []
    assert shipped.dtype == "float16" and shipped.total_bytes <= 6 * MIB
    card = shipped.card
    assert card["degradation"] == "bicubic4x" and "UTKFace" in card["data"]["licence"]
    # over the run's 200 held-out faces, at least +1.2 dB over bicubic x4
    assert card["validation"]["psnr_y"] > card["bicubic_baseline"]["psnr_y"] + 1.2
    assert card["total"]["steps"] == sum(run["steps"] for run in card["history"])
    # the card says how it compares with the default restorer on the same x4 faces
    compared = card["compared_with_default_restorer"]
    assert compared["degradation"] == "bicubic4x" and compared["faces"] >= 1000


def test_cagface_is_offered_as_an_installed_choice(shipped):
    from engine.model_choice import cagface_weights

    found = cagface_weights()
    assert found is not None and found.name == shipped.name


@pytest.mark.shared
def test_the_shipped_cagface_beats_bicubic_and_the_default_restorer_at_x4(shipped):
    cagface, default = (
        gain_over_bicubic(w, "bicubic4x") for w in (shipped.name, "revive-restorer-s128")
    )
    assert cagface > 1.2  # +3.22 dB over the 1,000 faces (docs/training.md, "CAGFace x4")
    assert cagface > default + 0.5


def _face_block(side: int) -> torch.Tensor:
    """The astronaut's face region at ``side`` px, with its component attention maps."""
    photo = astronaut()[20:276, 90:346]  # the face and some helmet around it
    small = cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA)
    x = torch.from_numpy(small).permute(2, 0, 1)[None].float() / 127.5 - 1
    parser_info = default_weights("components")
    assert parser_info is not None
    parser = load_model(parser_info).eval()
    maps = component_maps(parser, ComponentSmoothing(), x, parse_size_of(parser_info.card))
    return component_attention_block(x, maps)


def test_a_face_four_times_the_training_size_is_seamless_tiled(shipped):
    net = load_model(shipped).eval()
    side, tile, overlap = 128, 48, 16  # trained on 32 px inputs: this face is 4x that
    block = _face_block(side)
    with torch.inference_mode():
        whole = net(block)
        tiled = process_tiled(block, net, tile=tile, overlap=overlap, scale=4, multiple=2)
    assert tiled.shape == whole.shape == (1, 3, 4 * side, 4 * side)
    whole_y = whole[0].mean(0).numpy() * 127.5
    tiled_y = tiled[0].mean(0).numpy() * 127.5
    gap = np.abs(tiled_y - whole_y)
    # every place where one tile's output meets the next, in output pixels
    starts = tile_starts(side, tile, overlap)
    borders = sorted({4 * s for s in starts[1:]} | {4 * (s + tile) for s in starts[:-1]})
    near = np.zeros(gap.shape, bool)
    for b in borders:
        near[:, max(0, b - 4) : b + 4] = True
        near[max(0, b - 4) : b + 4, :] = True

    # a seam is a step across the border: the tiled picture's steps there are those of
    # the whole picture, and the two pictures differ no more there than inside the tiles
    def steps(y: np.ndarray) -> float:
        cols = [np.abs(y[:, b] - y[:, b - 1]).mean() for b in borders if 0 < b < y.shape[1]]
        rows = [np.abs(y[b, :] - y[b - 1, :]).mean() for b in borders if 0 < b < y.shape[0]]
        return float(np.mean(cols + rows))

    assert steps(tiled_y) <= steps(whole_y) * 1.01 + 0.01
    assert gap[near].mean() <= gap[~near].mean() + 0.002
    # grey levels: tiling moves no pixel visibly (tiles that do not overlap: 4 levels)
    assert gap.max() < 0.5


def test_a_photo_restored_with_cagface_keeps_its_component_masks(shipped):
    from engine.pipeline import RestoreOptions, Restorer

    photo = cv2.resize(astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    options = RestoreOptions.of(model="cagface", scale=4, identity=False)
    result = Restorer(options).restore(photo, options)
    assert result.image.shape[:2] == (1024, 1024)
    (face,) = result.faces
    assert face.model == "cagface_x4_lite" and face.weights == shipped.name
    assert face.masks is not None and set(face.masks) >= {"hair", "skin", "other"}
    skin = face.masks["skin"]
    assert 0.1 < float(skin.mean()) < 0.9  # a face region: skin, and more than skin
