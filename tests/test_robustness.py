"""Issue 15: every bad input gets one clear line, the batch goes on, no input is ever
overwritten. One test (or a few) per class of failure the fuzz campaign found; each
failed on the code before the fix (commit 840c533)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from engine.app.cli import main as cli_main
from engine.app.cli.main import main
from engine.atomic import atomic_path, write_bytes_atomic
from engine.errors import ImageReadError
from engine.faces.detect import FaceDetector
from engine.io import load_photo, save_photo
from tests.conftest import REPO, shared_path
from tests.io_samples import rgb8, sha256
from tests.tiny_models import tiny_user_folder

TRUNCATED = "the file is truncated (it may not have finished downloading)"
FAST = ["--min-face-size", "40"]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    with tiny_user_folder(tmp_path_factory.mktemp("user-data"), ("hd",)) as folder:
        yield folder


@pytest.fixture(scope="module")
def group() -> np.ndarray:
    """The 3-face group photo, small: every restore test needs a photo with faces."""
    with Image.open(shared_path("real", "sparnet", "test_hzgg.jpg")) as im:
        return np.asarray(im.convert("RGB").resize((270, 110), Image.Resampling.LANCZOS))


def save(array: np.ndarray, path: Path, **options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **options)
    return path


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([os.fspath(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_each(err: str, names: list[str]) -> None:
    """stderr holds exactly one ``revive: NAME: ...`` line per name, and nothing else."""
    lines = err.strip().splitlines()
    assert len(lines) == len(names), err
    for line, name in zip(lines, names, strict=True):
        assert line.startswith(f"revive: {name}: ") and line.count(f"{name}:") == 1, line
    assert "Traceback" not in err


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# ---------------------------------------------------------------- 1. tiny and thin photos


@pytest.mark.parametrize(
    "shape",
    [(8, 300), (15, 15), (12, 40), (8, 100_000), (20, 60_000), (16_383, 8), (200, 300)],
)
def test_detector_finds_nothing_where_no_face_fits(shape):
    """MTCNN's pyramid is empty when the short side is under its minimum: no face, no error."""
    image = np.full((*shape, 3), 128, np.uint8)
    detector = FaceDetector(min_face_size=1000 if shape == (200, 300) else 16)
    assert detector.detect(image) == []


@pytest.mark.shared
def test_tiny_and_thin_photos_do_not_stop_the_batch(weights, group, tmp_path, capsys):
    thin = save(rgb8(10, 300), tmp_path / "short10.png")
    strip = save(rgb8(8, 3000), tmp_path / "strip.png")
    wide = save(rgb8(8, 16383), tmp_path / "wide.webp", quality=50)
    photo = save(group, tmp_path / "group.jpg")
    code, out, err = run(capsys, "restore", thin, strip, wide, photo, "-o", tmp_path / "out", *FAST)
    assert code == 1
    one_line_each(err, ["short10.png", "strip.png", "wide.webp"])
    assert "no face found" in err
    assert "group.jpg: 3 face(s) restored" in out and (tmp_path / "out/group_revived.jpg").is_file()
    code, out, err = run(capsys, "restore", photo, "-o", tmp_path / "big", "--min-face-size", "500")
    assert code == 1
    one_line_each(err, ["group.jpg"])
    code, out, err = run(capsys, "detect", thin, strip, photo, "--min-face-size", "40")
    assert code == 1 and "group.jpg: 3 face(s)" in out
    one_line_each(err, ["short10.png", "strip.png"])


# ---------------------------------------------------------------- 2. the report


@pytest.mark.shared
def test_the_report_never_replaces_a_photo(weights, group, tmp_path, capsys):
    photo = save(group, tmp_path / "r.jpg")
    before = sha256(photo)
    code, out, err = run(capsys, "restore", "-o", tmp_path / "out", "--report", photo, photo)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "r.jpg" in err and "report" in err
    assert sha256(photo) == before
    assert not (tmp_path / "out").exists()  # refused before any work

    code, out, err = run(capsys, "restore", photo, *FAST)
    assert code == 0, err
    output = tmp_path / "r_revived.jpg"
    restored = sha256(output)
    code, out, err = run(capsys, "restore", photo, "--report", output, *FAST)
    assert code == 1 and "report" in err and err.count("\n") == 1
    assert sha256(output) == restored and sha256(photo) == before


# ---------------------------------------------------------------- 3. long names


def test_temporary_names_never_make_a_legal_name_too_long(tmp_path):
    target = tmp_path / ("n" * 251 + ".png")  # 255 bytes: the longest legal name
    write_bytes_atomic(target, b"data")
    assert target.read_bytes() == b"data"
    assert files_in(tmp_path) == [target.name]


@pytest.mark.shared
def test_a_254_byte_name_without_o_is_restored(weights, group, tmp_path, capsys):
    long = save(group, tmp_path / ("p" * 250 + ".jpg"))  # 254 bytes
    twin = save(group, tmp_path / ("p" * 250 + ".png"))
    code, out, err = run(capsys, "restore", long, twin, *FAST)
    assert code == 0, err
    outputs = [p for p in tmp_path.iterdir() if p not in (long, twin)]
    assert len(outputs) == 2 and all(len(os.fsencode(p.name)) <= 255 for p in outputs)
    assert all("_revived" in p.name for p in outputs)
    for path in outputs:
        assert load_photo(path).pixels.shape == (110, 270, 3)


# ---------------------------------------------------------------- 4. names that are not UTF-8


@pytest.mark.shared
def test_a_latin1_name_prints_under_a_strict_utf8_stdout(weights, group, tmp_path, monkeypatch):
    name = os.fsdecode(b"latin1-\xe9t\xe9.jpg")
    photo = save(group, tmp_path / name)
    raw_out, raw_err = io.BytesIO(), io.BytesIO()
    strict_out = io.TextIOWrapper(raw_out, encoding="utf-8", errors="strict", write_through=True)
    strict_err = io.TextIOWrapper(raw_err, encoding="utf-8", errors="strict", write_through=True)
    monkeypatch.setattr(sys, "stdout", strict_out)
    monkeypatch.setattr(sys, "stderr", strict_err)
    code = main(["restore", str(photo), "-o", str(tmp_path / "out"), *FAST])
    assert code == 0, raw_err.getvalue()
    output = os.fsencode(tmp_path / "out") + b"/latin1-\xe9t\xe9_revived.jpg"
    assert os.path.isfile(output)
    assert raw_out.getvalue().startswith(b"latin1-\xe9t\xe9.jpg: 3 face(s) restored")
    assert output in raw_out.getvalue()  # the name as the file system has it
    assert strict_out.errors == "strict"  # the caller's stream is given back as it was


# ---------------------------------------------------------------- 5. silent collisions


@pytest.mark.shared
def test_every_photo_gets_its_own_output(weights, group, tmp_path, capsys):
    one = save(group, tmp_path / "d1" / "same.png")
    two = save(group[:, ::-1], tmp_path / "d2" / "same.png")
    report = tmp_path / "report.json"
    code, out, err = run(
        capsys, "restore", "-o", tmp_path / "out", one, two, "--report", report, *FAST
    )
    assert code == 0, err
    assert files_in(tmp_path / "out") == ["same_revived-2.png", "same_revived.png"]
    assert "2 of 2 photo(s) restored" in out and "saved as same_revived-2.png" in out
    outputs = [e["output"] for e in json.loads(report.read_text())["photos"]]
    assert len(set(outputs)) == 2
    first = load_photo(tmp_path / "out/same_revived.png").pixels
    second = load_photo(tmp_path / "out/same_revived-2.png").pixels
    assert not np.array_equal(first, second)  # each photo's own result, none lost

    gif = save(group, tmp_path / "pics" / "pic.gif")
    png = save(group, tmp_path / "pics" / "pic.png")
    code, out, err = run(capsys, "restore", gif, png, *FAST)
    assert code == 0, err
    assert files_in(tmp_path / "pics") == [
        "pic.gif", "pic.png", "pic_revived-2.png", "pic_revived.png"
    ]  # fmt: skip


@pytest.mark.shared
def test_an_output_name_that_is_a_link_to_an_input_is_not_written(weights, group, tmp_path, capsys):
    photo = save(group, tmp_path / "a.png")
    os.link(photo, tmp_path / "a_revived.png")  # writing a's output would change a itself
    before = sha256(photo)
    code, out, err = run(capsys, "restore", photo, *FAST)
    assert code == 0, err
    assert sha256(photo) == before and (tmp_path / "a_revived-2.png").is_file()


# ---------------------------------------------------------------- 6. the file name once


def test_a_file_name_is_printed_once(tmp_path, capsys):
    path = tmp_path / "x.png"
    path.write_bytes((REPO / "resources" / "icons" / "revive.png").read_bytes()[:200])
    for command in ("restore", "detect"):
        code, out, err = run(capsys, command, path)
        assert code == 1
        assert err == f"revive: x.png: {TRUNCATED}\n"


# ---------------------------------------------------------------- 7. library chatter


def damaged_files(folder: Path) -> list[Path]:
    """Files whose decoders (libtiff in Pillow, libpng and libtiff in OpenCV) print warnings."""
    rng = np.random.default_rng(1)
    deep = rng.integers(0, 65535, (64, 80, 3), dtype=np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(rgb8(64, 80)).save(buffer, "TIFF", compression="tiff_adobe_deflate")
    sources = {
        "zip.tif": buffer.getvalue(),
        "deep.png": cv2.imencode(".png", deep)[1].tobytes(),
        "deep.tif": cv2.imencode(".tif", deep)[1].tobytes(),
    }
    paths = []
    for name, data in sources.items():
        broken = bytearray(data)
        broken[len(data) // 3] ^= 0xFF
        if name == "deep.tif":
            broken[len(data) // 3 + 37] ^= 0xFF
        paths.append(folder / name)
        paths[-1].write_bytes(bytes(broken))
    return paths


def test_no_library_chatter_on_stderr(tmp_path, capfd):
    paths = damaged_files(tmp_path)
    code = main(["restore", *map(str, paths), "-o", str(tmp_path / "out")])
    out, err = capfd.readouterr()
    assert code == 1
    one_line_each(err, [p.name for p in paths])
    for path in paths:
        assert "damaged" in err.split(path.name)[1].splitlines()[0]


@pytest.mark.shared
def test_odd_exif_and_formats_leave_no_warnings(weights, group, tmp_path, capfd):
    photo = tmp_path / "exif.jpg"
    exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x02\x00\x0f\x01\x02\x00\xff\x00\x00\x00"
    Image.fromarray(group).save(photo, exif=exif + bytes(8))
    alpha = save(np.dstack([group, np.full(group.shape[:2], 128, np.uint8)]), tmp_path / "a.png")
    code = main(["restore", str(photo), str(alpha), "-o", str(tmp_path / "out"), "--format", "tif",
                 *FAST])  # fmt: skip
    out, err = capfd.readouterr()
    assert code == 0, err
    assert err == ""


# ---------------------------------------------------------------- 8. junk colour profiles


@pytest.mark.shared
@pytest.mark.parametrize("size", [19, 300])
def test_a_junk_colour_profile_is_dropped_with_a_plain_note(weights, group, tmp_path, capfd, size):
    photo = save(group, tmp_path / "icc.jpg", icc_profile=np.random.default_rng(size).bytes(size))
    code = main(["restore", str(photo), "-o", str(tmp_path / "out"), *FAST])
    out, err = capfd.readouterr()
    assert code == 0 and err == ""
    assert "the embedded colour profile is damaged and was left out" in out
    assert out.isascii() and "\x1f" not in out
    assert load_photo(tmp_path / "out/icc_revived.jpg").icc_profile is None


# ---------------------------------------------------------------- 9. truncated files


@pytest.mark.parametrize(
    ("name", "cut"),
    [("end.jpg", 1), ("end.jpg", 2), ("end.png", 12), ("end.png", 5), ("end.gif", 1),
     ("end.gif", 2)],
)  # fmt: skip
def test_files_missing_their_last_bytes_are_refused(tmp_path, name, cut):
    buffer = io.BytesIO()
    Image.fromarray(rgb8(60, 80)).save(buffer, Image.registered_extensions()[name[-4:]])
    path = tmp_path / name
    path.write_bytes(buffer.getvalue()[:-cut])
    with pytest.raises(ImageReadError) as caught:
        load_photo(path)
    assert str(caught.value) == f"{name}: {TRUNCATED}"


def test_a_camera_mpo_whose_second_picture_is_cut_is_refused(tmp_path):
    frames = [Image.fromarray(rgb8(60, 80)), Image.fromarray(rgb8(60, 80, seed=3))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "MPO", save_all=True, append_images=frames[1:])
    path = tmp_path / "camera.jpg"
    path.write_bytes(buffer.getvalue()[:-100])
    with pytest.raises(ImageReadError, match="truncated"):
        load_photo(path)
    path.write_bytes(buffer.getvalue())
    assert load_photo(path).format == "JPEG"


# ---------------------------------------------------------------- 10. 32-bit TIFFs


def test_unsigned_32_bit_tiff_is_not_read_as_signed(tmp_path):
    ramp = np.linspace(0, 2**32 - 1, 48 * 64).reshape(48, 64).astype(np.uint32)
    assert cv2.imwrite(str(tmp_path / "u32.tif"), ramp)
    photo = load_photo(tmp_path / "u32.tif")
    gray = photo.pixels[..., 0].astype(np.int64).ravel()
    assert photo.bit_depth == 16 and gray[0] == 0 and gray[-1] == 65535
    assert np.all(np.diff(gray) >= 0)  # brighter stays brighter: no wrap at 2**31


def test_float_tiff_holding_8_bit_levels_is_not_black(tmp_path):
    levels = rgb8(48, 64)[..., 0].astype(np.float32)  # 0-255 as floats
    Image.fromarray(levels, "F").save(tmp_path / "f.tif")
    photo = load_photo(tmp_path / "f.tif")
    np.testing.assert_array_equal(photo.pixels[..., 0], levels.astype(np.uint16) * 257)
    assert photo.notes == []  # nothing was rescaled


# ---------------------------------------------------------------- 11. signals


_WRITE_AND_WAIT = """
import sys, time
import engine.io.write as write
from engine.app.cli.main import main

def slow(fh, *args):
    fh.write(b"half a PNG")
    fh.flush()
    open(sys.argv[2], "w").close()  # tell the test: an output is being written
    time.sleep(60)
write._ENCODERS["PNG"] = slow
sys.exit(main(["restore", sys.argv[1], "-o", sys.argv[3], "--allow-no-faces"]))
"""


def _env(data: Path) -> dict:
    return {**os.environ, "REVIVE_DATA_DIR": str(data), "OMP_NUM_THREADS": "1"}


def _wait_for(path: Path, proc: subprocess.Popen, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the writer never started"
        time.sleep(0.05)


def test_sigterm_while_writing_cleans_up_like_ctrl_c(weights, tmp_path):
    photo = save(rgb8(64, 80), tmp_path / "in.png")
    ready, out = tmp_path / "ready", tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITE_AND_WAIT, str(photo), str(ready), str(out)],
        cwd=REPO, env=_env(weights), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    _wait_for(ready, proc)
    assert [p.name for p in out.iterdir()][0].endswith(".part")  # caught mid-write
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert "Traceback" not in err.decode() and err.decode().startswith("revive: interrupted")
    assert list(out.iterdir()) == []  # no half-written file, no temporary file


_KILLED_WRITER = """
import sys, time
from engine.atomic import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_bytes(b"half")
    open(sys.argv[2], "w").close()
    time.sleep(60)
"""


def test_a_later_run_removes_what_a_killed_writer_left(tmp_path):
    target, ready = tmp_path / "out" / "x_revived.png", tmp_path / "ready"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(target), str(ready)], cwd=REPO
    )
    _wait_for(ready, proc)
    proc.kill()  # SIGKILL: nothing can clean up
    proc.wait()
    (left,) = (tmp_path / "out").iterdir()
    assert left.name.startswith(".x_revived.png.") and left.name.endswith(".part")
    write_bytes_atomic(tmp_path / "out" / "other.png", b"next run")
    assert files_in(tmp_path / "out") == ["other.png"]


def test_a_running_writers_temporary_file_is_left_alone(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    mine = folder / f".x.png.{os.getppid()}.abcd1234.part"  # the test runner's parent: alive
    mine.write_bytes(b"in progress")
    with atomic_path(folder / "y.png") as tmp:
        tmp.write_bytes(b"y")
    assert mine.exists()


def test_ctrl_c_while_starting_is_one_line(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main, "build_parser", interrupted)
    code = main(["--version"])
    out, err = capsys.readouterr()
    assert code == 130 and err == "revive: interrupted\n"


def test_the_command_line_does_not_import_torch_to_parse(tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo\n")
    script = textwrap.dedent(
        f"""
        import sys
        from engine.app.cli.main import build_parser, main
        build_parser().parse_args(["restore", "x.jpg"])
        assert "torch" not in sys.modules, "parsing imported torch"
        codes = main(["restore", {str(bad)!r}, "-o", {str(tmp_path / "o")!r}]), main(
            ["detect", {str(bad)!r}])
        assert codes == (1, 1), codes
        assert "torch" not in sys.modules, "a refused file imported torch"
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr.decode().count("notes.jpg: not an image") == 2


# ---------------------------------------------------------------- 12. empty folders


def test_detect_says_a_folder_holds_no_photos(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for command in ("detect", "restore"):
        code, out, err = run(capsys, command, tmp_path / "empty")
        assert code == 1 and out == ""
        assert err == f"revive: {tmp_path / 'empty'}: no photos in this folder\n"


# ---------------------------------------------------------------- 13. options, checked first


@pytest.mark.parametrize(
    ("option", "words"),
    [
        (["-o", "FILE"], "is a file"),
        (["--quality", "0"], "quality"),
        (["--format", "gif"], "gif"),
        (["--min-face-size", "-1"], "minimum face size"),
        (["--batch-size", "-1"], "batch size"),
        (["--tile-size", "0"], "tile size"),
        (["--report", "DIR"], "folder"),
    ],
)
def test_bad_options_are_refused_before_any_photo(tmp_path, capsys, monkeypatch, option, words):
    photo = save(rgb8(64, 80), tmp_path / "in.png")
    (tmp_path / "file.txt").write_text("x")
    option = [{"FILE": str(tmp_path / "file.txt"), "DIR": str(tmp_path)}.get(o, o) for o in option]

    def never(*args, **kwargs):
        raise AssertionError("a photo was read before the options were checked")

    monkeypatch.setattr("engine.batch.load_photo", never)
    code, out, err = run(capsys, "restore", photo, *option)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and words in err, err
    assert files_in(tmp_path) == ["file.txt", "in.png"]


@pytest.mark.shared
def test_one_photo_named_twice_is_restored_once(weights, group, tmp_path, capsys, monkeypatch):
    photo = save(group, tmp_path / "a.jpg")
    (tmp_path / "dir").mkdir()
    (tmp_path / "link.jpg").symlink_to(photo)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "restore", "a.jpg", "dir/../a.jpg", "link.jpg", "-o", "out", *FAST)
    assert code == 0, err
    assert out.count("restored in") == 1 and files_in(tmp_path / "out") == ["a_revived.jpg"]


@pytest.mark.shared
def test_a_quoted_glob_leaves_earlier_outputs_out(weights, group, tmp_path, capsys):
    save(group, tmp_path / "a.jpg")
    save(group, tmp_path / "a_revived.jpg")  # an earlier run's result
    save(group, tmp_path / ".hidden.jpg")
    code, out, err = run(capsys, "restore", str(tmp_path / "*.jpg"), "-o", tmp_path / "out", *FAST)
    assert code == 0, err
    assert files_in(tmp_path / "out") == ["a_revived.jpg"]
    assert "a_revived_revived" not in out


# ---------------------------------------------------------------- photos without faces


def test_allow_no_faces_saves_them_as_they_are(weights, tmp_path, capsys):
    photo = save(rgb8(64, 80), tmp_path / "landscape.png")
    code, out, err = run(capsys, "restore", photo, "-o", tmp_path / "out", "--allow-no-faces")
    assert code == 0, err
    assert "0 face(s) restored" in out
    np.testing.assert_array_equal(load_photo(tmp_path / "out/landscape_revived.png").pixels,
                                  load_photo(photo).pixels)  # fmt: skip


def test_save_notes_are_returned_not_only_logged(tmp_path):
    alpha = np.dstack([rgb8(), np.full((48, 64), 100, np.uint8)])
    from engine.io import Photo

    notes: list[str] = []
    save_photo(Photo(alpha[..., :3], alpha=alpha[..., 3]), tmp_path / "x.jpg", notes=notes)
    assert notes == ["JPEG cannot hold transparency: flattened on white"]
