"""The shipped default restorer: verified, carded, better than its input on held-out
faces, and what a fresh install restores a real photo with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.app.cli.main import main
from engine.weights import default_weights, verify_weights
from tests.conftest import shared_path
from training.evaluate import EvalOptions, evaluate


@pytest.fixture(scope="module")
def shipped():
    info = default_weights("restorer")
    assert info is not None, "no default restorer ships in resources/weights"
    return info


def test_the_shipped_restorer_is_the_verified_carded_default(shipped):
    assert shipped.source == "shipped" and shipped.preset == "sparnet_blind128_s"
    assert verify_weights(shipped) == []
    card = shipped.card
    assert card["degradation"] == "eq14" and card["steps"] >= 5000
    assert card["cpu_time_s"] > 0 and "UTKFace" in card["data"]["licence"]
    assert card["validation"]["psnr_y"] > 30.0  # over 200 held-out faces (input: 29.95 dB)


@pytest.mark.shared
def test_the_shipped_restorer_beats_its_input_on_held_out_faces(shipped):
    report = evaluate(
        EvalOptions(
            data=str(shared_path("faces", "utkface")),
            list_file=str(shared_path("faces", "utkface-val.txt")),
            weights=shipped.name,
            metrics=("psnr", "ssim"),
            limit=64,
            device="cpu",
        )
    )
    gain = report.rows[shipped.name]["psnr_y"] - report.rows["bicubic"]["psnr_y"]
    # +0.8 dB and more over all 1,000 faces (README); a zero correction gains nothing
    assert gain > 0.5, report.table()
    assert report.rows[shipped.name]["ssim_y"] > report.rows["bicubic"]["ssim_y"] + 0.02


@pytest.mark.shared
def test_a_fresh_install_restores_a_real_photo(shipped, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REVIVE_DATA_DIR", str(tmp_path / "empty-user-folder"))
    report = tmp_path / "report.json"
    photo = shared_path("real", "sparnet", "test_hzgg.jpg")
    code = main(["restore", str(photo), "-o", str(tmp_path / "out"), "--report", str(report)])
    assert code == 0, capsys.readouterr().err
    (entry,) = json.loads(report.read_text())["photos"]
    assert entry["status"] == "ok" and Path(entry["output"]).is_file()
    assert len(entry["faces"]) >= 3
    assert {face["weights"] for face in entry["faces"]} == {shipped.name}


def test_no_shipped_card_names_a_path_of_the_machine_that_trained_it():
    """Cards name their data by dataset and licence, never by a folder of the build machine."""
    import json

    from engine.model_card_words import is_absolute_path
    from engine.paths import shipped_weights_dir

    def strings(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from strings(v)
        elif isinstance(value, list):
            for v in value:
                yield from strings(v)
        elif isinstance(value, str):
            yield value

    manifests = sorted(shipped_weights_dir().glob("*.weights.json"))
    assert manifests
    for manifest in manifests:
        card = json.loads(manifest.read_text())["card"]
        paths = [s for s in strings(card) if is_absolute_path(s)]
        assert paths == [], f"{manifest.name}: {paths}"
