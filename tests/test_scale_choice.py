"""Auto scale: the smallest of 1x / 2x / 4x at which the median face is 96 px, under 60 MP."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.app.cli.restore_cmd import register
from engine.options import OptionError, RestoreOptions
from engine.scale_choice import MIN_FACE_SIDE, choose_scale, face_widths, parse_scale
from tests.conftest import shared_path


def test_large_faces_stay_at_1x_and_small_ones_are_enlarged() -> None:
    assert choose_scale([120, 100, 200], (800, 600)).scale == 1
    assert choose_scale([50, 60, 70], (800, 600)).scale == 2  # 60 px -> 120 px
    assert choose_scale([20, 30, 40], (800, 600)).scale == 4  # 30 px -> 120 px
    assert choose_scale([10, 12], (800, 600)).scale == 4  # the most there is
    # The median decides, not the smallest face nor the largest.
    assert choose_scale([30, 100, 110], (800, 600)).scale == 1


def test_without_faces_nothing_is_enlarged() -> None:
    choice = choose_scale([], (800, 600))
    assert (choice.scale, choice.median_face) == (1, None)
    assert "no face" in choice.describe()


def test_the_result_stays_under_60_megapixels() -> None:
    # 5000 x 4000 is 20 MP: 2x would be 80 MP, so small faces get 1x and say why.
    choice = choose_scale([30, 30], (5000, 4000))
    assert choice.scale == 1 and choice.capped
    assert "60 MP" in choice.describe()
    # 3000 x 2000 (6 MP): 4x would be 96 MP, 2x (24 MP) fits.
    choice = choose_scale([20], (3000, 2000))
    assert (choice.scale, choice.width, choice.height) == (2, 6000, 4000)
    assert choice.megapixels <= 60


def test_the_choice_names_the_result_size() -> None:
    choice = choose_scale(face_widths([[10, 10, 60, 70]]), (640, 480))
    assert choice.scale == 2
    assert choice.describe() == "Auto: 2× → 1280 × 960 (faces 50 px → 100 px)"


def test_scale_auto_is_a_valid_option_and_the_cli_keeps_1x() -> None:
    assert RestoreOptions.of(scale="auto").photo.scale == "auto"
    with pytest.raises(OptionError, match="auto"):
        RestoreOptions.of(scale=3)
    assert parse_scale("AUTO") == "auto" and parse_scale("4") == 4
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    assert parser.parse_args(["restore", "a.jpg"]).scale == 1
    assert parser.parse_args(["restore", "a.jpg", "--scale", "auto"]).scale == "auto"
    with pytest.raises(SystemExit):
        parser.parse_args(["restore", "a.jpg", "--scale", "3"])


@pytest.mark.shared
def test_auto_on_real_photos_with_small_and_large_faces() -> None:
    """The detector's faces decide: a group photo's small faces are enlarged, a portrait not."""
    from engine.pipeline import Restorer

    restorer = Restorer()
    with Image.open(shared_path("real", "sparnet", "test_hzgg.jpg")) as im:
        group = np.asarray(im.convert("RGB").resize((540, 220), Image.Resampling.LANCZOS))
    ffhq = sorted(shared_path("paired", "ffhq10").iterdir())[0]
    with Image.open(ffhq) as im:
        portrait = np.asarray(im.convert("RGB").resize((512, 512), Image.Resampling.LANCZOS))
    chosen = {}
    for name, pixels in (("group", group), ("portrait", portrait)):
        boxes = [f.box for f in restorer.detect(pixels)]
        assert boxes, name
        widths = face_widths(boxes)
        choice = choose_scale(widths, (pixels.shape[1], pixels.shape[0]))
        assert np.median(widths) * choice.scale >= MIN_FACE_SIDE
        chosen[name] = choice.scale
    assert chosen["portrait"] == 1
    assert chosen["group"] > 1


@pytest.mark.shared
def test_restore_with_auto_scale_enlarges_by_the_choice(tmp_path) -> None:
    from engine.pipeline import Restorer
    from tests.tiny_models import tiny_user_folder

    with Image.open(shared_path("real", "sparnet", "test_hzgg.jpg")) as im:
        group = np.asarray(im.convert("RGB").resize((540, 220), Image.Resampling.LANCZOS))
    with tiny_user_folder(tmp_path / "user", ("hd",)):
        restorer = Restorer()
        options = RestoreOptions.of(scale="auto", identity=False, min_face_size=20)
        result = restorer.restore(group, options)
        boxes = [f.box for f in restorer.detect(group, options)]
    expected = choose_scale(face_widths(boxes), (540, 220)).scale
    assert expected > 1
    assert result.scale == expected and result.options.photo.scale == expected
    assert result.image.shape[:2] == (220 * expected, 540 * expected)


@pytest.mark.shared
def test_the_cli_says_which_scale_auto_chose(tmp_path, capsys) -> None:
    from engine.app.cli.main import main
    from tests.tiny_models import tiny_user_folder

    with Image.open(shared_path("real", "sparnet", "test_hzgg.jpg")) as im:
        im.convert("RGB").resize((540, 220), Image.Resampling.LANCZOS).save(tmp_path / "g.png")
    with tiny_user_folder(tmp_path / "user", ("hd",)):
        code = main(["restore", str(tmp_path / "g.png"), "-o", str(tmp_path / "out"),
                     "--scale", "auto", "--no-identity", "--min-face-size", "40"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "restored at 2x (auto)" in out
    with Image.open(tmp_path / "out" / "g_revived.png") as saved:
        assert saved.size == (1080, 440)
