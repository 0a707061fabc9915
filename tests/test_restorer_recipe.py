"""The restorer's recipe options: old-photo damage and the detail / identity terms."""

from __future__ import annotations

import csv
import json

import pytest

from engine.identity import IdentityUnavailable, model_file
from tests.training_util import TINY_SPARNET, make_pack, tiny_config
from training.errors import ConfigError
from training.loop import train


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    return make_pack(tmp_path_factory.mktemp("pack") / "p", n=8, size=32)


def test_detail_and_identity_terms_train_and_reach_the_card(pack, tmp_path):
    try:
        model_file("recognition")
    except IdentityUnavailable as err:
        pytest.skip(str(err))
    options = {
        "degradation_preset": "old_photo",
        "edge_weight": 1.0,
        "spectrum_weight": 0.5,
        "identity_weight": 0.05,
        "patch": 0,
    }
    config = tiny_config("sparnet_blind128_s", pack, tmp_path / "run", size=32, steps=2,
                         model_overrides=TINY_SPARNET, options=options)  # fmt: skip
    train(config)
    with open(tmp_path / "run" / "train_log.csv") as f:
        rows = list(csv.DictReader(f))
    assert {"pix", "edge", "spectrum", "identity"} <= set(rows[-1])
    assert all(float(rows[-1][k]) > 0 for k in ("edge", "spectrum", "identity"))
    manifest = next((tmp_path / "run" / "export").glob("*.weights.json"))
    card = json.loads(manifest.read_text())["card"]
    assert "high-pass" in card["loss"] and "dlib ResNet" in card["loss"]
    assert card["degradation_preset"] == "old_photo"
    assert card["eq14"]["p_grain"] > 0 and card["eq14"]["p_fade"] > 0


def test_the_identity_term_refuses_crops(pack, tmp_path):
    config = tiny_config("sparnet_blind128_s", pack, tmp_path / "run", size=32,
                         model_overrides=TINY_SPARNET,
                         options={"identity_weight": 0.05, "patch": 16})  # fmt: skip
    with pytest.raises((ConfigError, ValueError), match="whole faces"):
        train(config)
