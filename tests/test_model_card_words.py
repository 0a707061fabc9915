"""Model cards in plain words, honest names for built-in restorers, no machine paths."""

from __future__ import annotations

import copy
import json

import torch

from engine.model_card_words import (
    built_in_label,
    card_summary,
    is_absolute_path,
    shipped_cards,
    shipped_label,
    without_paths,
)
from engine.models import create_model
from engine.paths import shipped_weights_dir
from engine.weights import read_manifest, save_weights


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_the_built_in_restorer_is_named_for_what_its_card_measured() -> None:
    card = shipped_cards()["sparnet_blind128_s"]
    gain = card["validation"]["psnr_y"] - card["bicubic_baseline"]["psnr_y"]
    assert 0.5 <= gain < 1.5  # the shipped card's measured gain over its input
    assert shipped_label("sparnet_blind128_s") == "Light clean-up, built in (128 px faces)"
    # A stronger shipped model gets stronger words; a weaker one weaker words.
    stronger = copy.deepcopy(card)
    stronger["validation"]["psnr_y"] = card["bicubic_baseline"]["psnr_y"] + 3.2
    assert built_in_label(stronger, 128).startswith("Strong restoration")
    weaker = copy.deepcopy(card)
    weaker["validation"]["psnr_y"] = card["bicubic_baseline"]["psnr_y"] + 0.2
    assert built_in_label(weaker, 128).startswith("Very light clean-up")
    assert shipped_label("sparnethd_attn2d") is None  # not built in: no such label


def test_the_card_in_plain_words_names_the_data_and_never_a_path() -> None:
    card = shipped_cards()["sparnet_blind128_s"]
    rows = dict(card_summary(card))
    assert rows["What it restores"].startswith("Faces that are blurred")
    assert "JPEG" in rows["What it restores"]  # from the card's recorded degradation
    assert "PSNR 31.21 vs 29.95 dB (+1.26 dB)" in rows["How well"]
    assert rows["Trained on"].startswith("UTKFace")
    assert "non-commercial" in rows["Licence of that data"]
    shown = " ".join(rows.values()) + " ".join(_strings(without_paths(card)))
    assert not any(is_absolute_path(s) for s in _strings(without_paths(card)))
    assert "/work/" not in shown and "/home/" not in shown


def test_no_card_written_contains_an_absolute_path(tmp_path) -> None:
    torch.manual_seed(0)
    card = {
        "data": {"source": "/home/trainer/datasets/utkface", "pack": "C:\\packs\\utk128"},
        "notes": ["~/runs/a", "relative/stays"],
        "source": "https://example.org/x.pth",
    }
    manifest = save_weights(
        create_model("sparnethd_tiny").state_dict(), tmp_path, "t", "sparnethd_tiny", card=card
    )
    written = json.loads(manifest.read_text(encoding="utf-8"))["card"]
    assert written["data"] == {"source": "utkface", "pack": "utk128"}
    assert written["notes"] == ["a", "relative/stays"]
    assert written["source"] == "https://example.org/x.pth"


def test_the_app_shows_the_shipped_card_without_its_build_path(qapp) -> None:
    from gui.engine_calls import ModelRow
    from gui.model_manager import card_html

    info = read_manifest(shipped_weights_dir() / "revive-restorer-s128.weights.json", "shipped")
    text = card_html(ModelRow(info))
    assert "UTKFace" in text and "Closer to the undamaged face" in text
    raw = [s for s in _strings(info.card) if is_absolute_path(s)]
    for path in raw:  # whatever the shipped card still carries is not shown
        assert path not in text
