"""``revive restore`` / ``revive detect``: outputs, round trips, bad inputs, exit codes."""

from __future__ import annotations

import argparse
import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from engine.app.cli.main import main
from engine.app.cli.restore_cmd import EXIT_INTERRUPTED, restore_paths
from engine.io import load_photo
from engine.io import png as png_chunks
from engine.pipeline import Restorer
from engine.progress import CancelToken
from tests.conftest import shared_path
from tests.io_samples import DATE_TAKEN, SRGB_ICC, sha256
from tests.tiny_models import tiny_user_folder

pytestmark = pytest.mark.shared
FAST = ["--min-face-size", "40"]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    with tiny_user_folder(tmp_path_factory.mktemp("user-data"), ("hd",)) as folder:
        yield folder


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    """Real faces in every layout the round trips must keep, plus a zoo of bad files."""
    folder = tmp_path_factory.mktemp("photos")
    with Image.open(shared_path("real", "sparnet", "test_hzgg.jpg")) as im:
        group = np.asarray(im.convert("RGB").resize((540, 220), Image.Resampling.LANCZOS))
    files = {}

    def path(name: str) -> Path:
        files[name] = folder / name
        return files[name]

    exif = Image.Exif()
    exif[0x0132] = DATE_TAKEN  # DateTime
    exif.get_ifd(0x8769)[0x9003] = DATE_TAKEN  # DateTimeOriginal
    Image.fromarray(group).save(
        path("group.jpg"), quality=92, icc_profile=SRGB_ICC, exif=exif.tobytes()
    )
    deep = group.astype(np.uint16) * 257 + np.uint16(129)
    cv2.imwrite(str(path("deep.png")), cv2.cvtColor(deep, cv2.COLOR_RGB2BGR))
    alpha = np.full(group.shape[:2], 255, np.uint8)
    alpha[:, :60] = 0
    Image.fromarray(np.dstack([group, alpha])).save(path("alpha.png"))
    Image.fromarray(cv2.cvtColor(group, cv2.COLOR_RGB2GRAY)).save(path("gray.png"))

    path("empty.jpg").write_bytes(b"")
    data = files["group.jpg"].read_bytes()
    path("truncated.jpg").write_bytes(data[: len(data) // 3])
    path("notes.png").write_text("this is not a picture\n")
    Image.fromarray(group).save(path("odd.ppm"))
    header = struct.pack(">IIBBBBB", 0, 0, 8, 2, 0, 0, 0)
    path("zero.png").write_bytes(
        png_chunks.SIGNATURE
        + png_chunks.chunk(b"IHDR", header)
        + png_chunks.chunk(b"IDAT", zlib.compress(b""))
        + png_chunks.chunk(b"IEND", b"")
    )
    header = struct.pack(">IIBBBBB", 12_000, 9_000, 8, 2, 0, 0, 0)
    path("giant.png").write_bytes(
        png_chunks.SIGNATURE + png_chunks.chunk(b"IHDR", header) + png_chunks.chunk(b"IEND", b"")
    )
    rng = np.random.default_rng(0)
    sky = np.linspace(40, 220, 320)[None, :, None].repeat(200, 0).repeat(3, 2)
    Image.fromarray(np.clip(sky + rng.normal(0, 4, sky.shape), 0, 255).astype(np.uint8)).save(
        path("landscape.png")
    )
    return files


@pytest.fixture(scope="module")
def checksums(photos) -> dict[str, str]:
    return {name: sha256(p) for name, p in photos.items()}


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["restore", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_restores_and_keeps_icc_exif_date(weights, photos, checksums, tmp_path, capsys):
    report = tmp_path / "report.json"
    code, out, err = run(
        capsys, str(photos["group.jpg"]), "-o", str(tmp_path), "--report", str(report), *FAST
    )
    assert code == 0, err
    assert "group.jpg: 3 face(s) restored in" in out and out.count("\n") == 1
    result = load_photo(tmp_path / "group_revived.jpg")
    source = load_photo(photos["group.jpg"])
    assert result.pixels.shape == source.pixels.shape
    assert result.icc_profile == SRGB_ICC
    exif = Image.Exif()
    exif.load(result.exif)
    assert exif[0x0132] == DATE_TAKEN and exif.get_ifd(0x8769)[0x9003] == DATE_TAKEN
    data = json.loads(report.read_text())
    (entry,) = data["photos"]
    assert entry["status"] == "ok" and len(entry["faces"]) == 3
    assert entry["output"] == str(tmp_path / "group_revived.jpg")
    assert {"detect", "network", "paste", "encode"} <= set(entry["timings"])
    assert sha256(photos["group.jpg"]) == checksums["group.jpg"]


def test_sixteen_bit_png_in_is_sixteen_bit_out(weights, photos, tmp_path, capsys):
    code, _, err = run(capsys, str(photos["deep.png"]), "-o", str(tmp_path), *FAST)
    assert code == 0, err
    out = cv2.imread(str(tmp_path / "deep_revived.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and out.shape == (220, 540, 3)
    assert (out % 257 != 0).any()  # real 16-bit values, not 8-bit ones scaled
    assert load_photo(tmp_path / "deep_revived.png").bit_depth == 16


def test_alpha_and_grayscale_are_kept(weights, photos, tmp_path, capsys):
    code, _, err = run(
        capsys, str(photos["alpha.png"]), str(photos["gray.png"]), "-o", str(tmp_path), *FAST
    )
    assert code == 0, err
    with Image.open(tmp_path / "alpha_revived.png") as im:
        assert im.mode == "RGBA"
        alpha = np.asarray(im)[..., 3]
    assert alpha[:, :60].max() == 0 and alpha[:, 60:].min() == 255
    with Image.open(tmp_path / "gray_revived.png") as im:
        assert im.mode == "L" and im.size == (540, 220)
        restored = np.asarray(im)
    assert np.abs(restored.astype(int) - np.asarray(Image.open(photos["gray.png"]))).max() > 0


def test_scale_two_doubles_the_size(weights, photos, tmp_path, capsys):
    code, _, err = run(capsys, str(photos["group.jpg"]), "-o", str(tmp_path), "--scale", "2", *FAST)
    assert code == 0, err
    with Image.open(tmp_path / "group_revived.jpg") as im:
        assert im.size == (1080, 440)


@pytest.mark.parametrize(
    "name,words",
    [
        ("empty.jpg", "empty"),
        ("truncated.jpg", "truncated"),
        ("notes.png", "not"),
        ("odd.ppm", "ppm"),
        ("zero.png", "0x0"),
        ("giant.png", "megapixel"),
        ("landscape.png", "no face"),
    ],
)
def test_bad_input_is_one_line_and_a_failure(
    weights, photos, checksums, tmp_path, capsys, name, words
):
    code, out, err = run(capsys, str(photos[name]), "-o", str(tmp_path), *FAST)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"revive: {name}") and words.lower() in lines[0].lower(), lines
    assert "Traceback" not in err + out
    assert list(tmp_path.iterdir()) == []  # nothing written
    assert sha256(photos[name]) == checksums[name]


def test_a_batch_goes_on_after_a_bad_photo_and_reports_it(weights, photos, tmp_path, capsys):
    report = tmp_path / "report.json"
    code, out, err = run(
        capsys,
        str(photos["empty.jpg"]),
        str(photos["group.jpg"]),
        str(tmp_path / "missing.jpg"),
        "-o",
        str(tmp_path / "out"),
        "--report",
        str(report),
        *FAST,
    )
    assert code == 1
    assert (tmp_path / "out" / "group_revived.jpg").is_file()
    assert "1 of 2 photo(s) restored, 1 failed" in out
    assert err.count("\n") == 2 and "missing.jpg" in err and "empty.jpg" in err
    statuses = [e["status"] for e in json.loads(report.read_text())["photos"]]
    assert statuses == ["error", "ok"]


def test_save_faces_and_attention(weights, photos, tmp_path, capsys):
    code, _, err = run(
        capsys,
        str(photos["group.jpg"]),
        "-o",
        str(tmp_path),
        "--save-faces",
        "--save-attention",
        *FAST,
    )
    assert code == 0, err
    folder = tmp_path / "group_revived_faces"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(
        f"face{i:02d}_{kind}.png" for i in (1, 2, 3) for kind in ("before", "after", "attention")
    )
    with Image.open(folder / "face01_attention.png") as im:
        assert im.width >= 6 * 128  # before, after and the five attention maps


def test_a_failed_side_file_keeps_the_saved_photo(weights, photos, tmp_path, capsys):
    (tmp_path / "group_revived_faces").write_text("a file where the faces folder would go")
    report = tmp_path / "report.json"
    code, _, err = run(
        capsys,
        str(photos["group.jpg"]),
        "-o",
        str(tmp_path),
        "--save-faces",
        "--report",
        str(report),
        *FAST,
    )
    assert code == 0, err
    assert (tmp_path / "group_revived.jpg").is_file()
    (entry,) = json.loads(report.read_text())["photos"]
    assert entry["status"] == "ok"
    assert any("extra files were not written" in n for n in entry["notes"])


def test_missing_weights_is_one_line(
    photos, tmp_path, monkeypatch, capsys, without_shipped_restorer
):
    monkeypatch.setenv("REVIVE_DATA_DIR", str(tmp_path / "nothing"))
    code, out, err = run(capsys, str(photos["group.jpg"]), "-o", str(tmp_path / "o"))
    assert code == 1 and err.count("\n") == 1
    assert "revive models import" in err and "revive train" in err
    assert not (tmp_path / "o").exists()


def test_cancel_keeps_finished_photos_and_leaves_no_partial_file(weights, photos, tmp_path):
    token = CancelToken()

    class CancelOnSecond(Restorer):
        calls = 0

        def restore(self, *args, **kwargs):
            CancelOnSecond.calls += 1
            if CancelOnSecond.calls == 2:
                token.cancel()  # as if the user pressed Ctrl+C during the second photo
            return super().restore(*args, **kwargs)

    args = argparse.Namespace(
        **{
            **vars(
                _parse(["restore", "x", "-o", str(tmp_path), "--report", str(tmp_path / "r.json")])
            ),
            "min_face_size": 40.0,
        }
    )
    paths = [photos["group.jpg"], photos["alpha.png"], photos["gray.png"]]
    code = restore_paths(paths, args, cancel=token, restorer=CancelOnSecond())
    assert code == EXIT_INTERRUPTED
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["group_revived.jpg", "r.json"]  # no .part file, nothing half-done
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["interrupted"] and [e["status"] for e in report["photos"]] == ["ok"]


def _parse(argv: list[str]) -> argparse.Namespace:
    from engine.app.cli.main import build_parser

    return build_parser().parse_args(argv)


def test_detect_prints_one_line_per_face(photos, capsys):
    code = main(["detect", str(photos["group.jpg"]), "--min-face-size", "40"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 4 and lines[-1] == "group.jpg: 3 face(s)"
    assert lines[0].startswith("group.jpg\tface 1\tbox ")
    assert float(lines[0].split("\tscore ")[1].split("\t")[0]) >= 0.9
    assert len(lines[0].split("landmarks ")[1].split()) == 5
    code = main(["detect", str(photos["landscape.png"]), str(photos["empty.jpg"])])
    out, err = capsys.readouterr()
    assert code == 1 and "landscape.png: 0 face(s)" in out
    assert err.count("\n") == 2 and "Traceback" not in err
