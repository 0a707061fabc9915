"""The three valid files Revive refused (issue 27, item 6), and a decoder's own fault.

A multi-page TIFF whose pages differ in mode, a PNG with a 2 MiB compressed text chunk
and a palette-with-alpha TIFF all restore; an exception no damaged file causes is one
line that calls it Revive's fault, with its traceback in the fault log, never "damaged".
"""

from __future__ import annotations

import hashlib
import logging
import logging.handlers

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from engine.errors import ImageReadError
from engine.fault_log import fault_log_path
from engine.io import load_photo, read, save_photo
from engine.io.png import chunks

RGB = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_multipage_tiff_of_mixed_modes_restores_its_first_page(tmp_path):
    first = Image.fromarray(RGB)
    path = tmp_path / "scan.tif"
    first.save(path, save_all=True, append_images=[first.convert("L"), first.convert("P")])
    before = _digest(path)
    photo = load_photo(path)
    assert np.array_equal(photo.pixels, RGB) and photo.frames == 3
    assert any("2 pages left out" in note for note in photo.notes), photo.notes
    out = save_photo(photo, tmp_path / "out.tif")
    assert np.array_equal(load_photo(out).pixels, RGB) and _digest(path) == before


@pytest.mark.parametrize("kind", ["zTXt", "iTXt"])
def test_a_png_with_a_huge_text_chunk_restores_without_it(tmp_path, kind):
    info = PngImagePlugin.PngInfo()
    text = "A long comment. " * (2 * 1024 * 1024 // 16)  # 2 MiB, compressed to a few kB
    if kind == "zTXt":
        info.add_text("Comment", text, zip=True)
    else:
        info.add_itxt("Comment", text, zip=True)
    info.add_text("Author", "kept")
    path = tmp_path / "big-text.png"
    Image.fromarray(RGB).save(path, pnginfo=info)
    assert kind.encode() in {k for k, _ in chunks(path.read_bytes())}
    before = _digest(path)
    photo = load_photo(path)
    assert np.array_equal(photo.pixels, RGB)
    assert photo.notes == [f"the {kind} text chunk 'Comment' is larger than 1 MiB and was left out"]
    out = save_photo(photo, tmp_path / "out.png")
    assert kind.encode() not in {k for k, _ in chunks(out.read_bytes())}
    assert _digest(path) == before


def test_a_palette_with_alpha_tiff_restores(tmp_path):
    palette_image = Image.fromarray(RGB).quantize(16)
    # two alpha levels: few (index, alpha) pairs, as in Pillow's own PA test image
    alpha = Image.fromarray(np.tile(np.repeat(np.uint8([255, 128]), 32), (48, 1)))
    pa = palette_image.convert("PA")
    pa.putalpha(alpha)
    path = tmp_path / "pa.tif"
    pa.save(path)
    with Image.open(path) as check:
        assert check.mode == "PA"
    photo = load_photo(path)
    expected = np.asarray(palette_image.convert("RGB"))
    assert np.array_equal(photo.pixels, expected)
    assert photo.alpha is not None and np.array_equal(photo.alpha, np.asarray(alpha))


@pytest.mark.parametrize("error", [TypeError("boom"), AttributeError("no attribute 'x'")])
def test_an_unexpected_decoder_exception_is_revives_fault_not_damage(
    tmp_path, monkeypatch, user_data_dir, error
):
    path = tmp_path / "fine.png"
    Image.fromarray(RGB).save(path)

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(read, "decode_pillow", broken)
    with pytest.raises(ImageReadError) as err:
        load_photo(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith("fine.png: ")
    assert "fault of its own" in message and "damaged" not in message
    assert str(fault_log_path()) in message
    log = fault_log_path().read_text(encoding="utf-8")
    assert "Traceback" in log and f"{type(error).__name__}: {error}" in log
    assert "fine.png" in log
    handlers = logging.getLogger("revive.faults").handlers
    assert not any(isinstance(h, logging.FileHandler) and "revive" in h.baseFilename
                   for h in handlers)  # fmt: skip


def test_the_fault_reaches_the_command_line_as_one_line(tmp_path, monkeypatch, capsys):
    from engine.app.cli.main import main

    monkeypatch.setenv("REVIVE_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "fine.png"
    Image.fromarray(RGB).save(path)
    monkeypatch.setattr(
        read, "decode_pillow", lambda *a, **k: (_ for _ in ()).throw(TypeError("x"))
    )
    assert main(["restore", str(path), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "fault of its own" in lines[0] and "Traceback" not in err
