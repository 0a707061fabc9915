"""The shipped component segmenter: verified, carded, and as good as its card says."""

from __future__ import annotations

import pytest

from engine.weights import default_weights, load_model, verify_weights
from tests.conftest import shared_path


def test_shipped_components_weights_are_the_default_and_carded():
    info = default_weights("components")
    assert info is not None and info.preset == "components_bisenet" and info.source == "shipped"
    assert verify_weights(info) == []
    card = info.card
    assert "FASSEG" in card["data"]["licence"] and card["steps"] > 0 and card["wall_time_s"] > 0
    assert card["validation"]["miou"] >= 0.70
    assert set(card["validation"]) >= {"iou_background", "iou_skin", "iou_hair", "iou_other"}


@pytest.mark.shared
@pytest.mark.slow
def test_shipped_components_reach_their_iou_on_the_fasseg_test_splits():
    from training.tasks.components import evaluate_segmentation, load_fasseg

    info = default_weights("components")
    net = load_model(info)
    samples = load_fasseg(shared_path("parsing", "fasseg"), "test", 256)
    metrics, _ = evaluate_segmentation(net, samples, int(info.card["input_size"]))
    assert metrics["miou"] >= 0.70
    assert metrics["miou"] == pytest.approx(info.card["validation"]["miou"], abs=0.005)
