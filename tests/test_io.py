"""engine.io: what goes in comes out — pixels, orientation, bit depth, alpha, gray, metadata."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from engine.errors import ImageReadError, ImageWriteError
from engine.io import (
    SUPPORTED_SUFFIXES,
    Photo,
    collect_photos,
    from_float_rgb,
    load_photo,
    output_path_for,
    save_photo,
    to_float_rgb,
)
from engine.io import png as png_chunks
from engine.io.formats import WRITABLE
from tests.conftest import shared_path
from tests.io_samples import (
    DATE_TAKEN,
    MAKE,
    MODEL,
    SRGB_ICC,
    blocks8,
    cmyk_profile,
    exif_bytes,
    exif_of,
    rgb8,
    rgb16,
    sha256,
)

# Pillow transpose that turns an upright picture into what a camera stores
# with this EXIF orientation (the inverse of the display transform).
STORE_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def stored(upright: np.ndarray, orientation: int) -> np.ndarray:
    op = STORE_AS[orientation]
    if op is None:
        return upright.copy()
    if upright.dtype == np.uint16:  # Pillow has no 16-bit RGB: transpose a plane at a time
        planes = [np.asarray(Image.fromarray(upright[..., c]).transpose(op)) for c in range(3)]
        return np.stack(planes, -1)
    return np.asarray(Image.fromarray(upright).transpose(op))


def write_cv(path: Path, rgb: np.ndarray) -> Path:
    """Write RGB / RGBA / gray with OpenCV (the only common writer of 16-bit colour)."""
    array = rgb
    if rgb.ndim == 3 and rgb.shape[2] in (3, 4):
        array = rgb[..., [2, 1, 0, 3][: rgb.shape[2]]]
    assert cv2.imwrite(str(path), np.ascontiguousarray(array))
    return path


def png_with(path: Path, array: np.ndarray, **metadata) -> Path:
    """A 16-bit PNG written by OpenCV with metadata chunks added (as a scanner would)."""
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(array[..., ::-1]))
    assert ok
    path.write_bytes(
        png_chunks.with_metadata(buf.tobytes(), png_chunks.metadata_chunks(**metadata))
    )
    return path


# ------------------------------------------------------------------------------ orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_gives_upright_pixels_png(tmp_path, orientation):
    upright = rgb8(30, 50)
    path = tmp_path / f"o{orientation}.png"
    Image.fromarray(stored(upright, orientation)).save(path, exif=exif_bytes(orientation))

    photo = load_photo(path)

    assert photo.pixels.shape == upright.shape
    np.testing.assert_array_equal(photo.pixels, upright)
    # Pillow's own exif_transpose agrees (an independent reference).
    with Image.open(path) as image:
        np.testing.assert_array_equal(np.asarray(ImageOps.exif_transpose(image)), upright)
    # The tag is reset, everything else in the EXIF is kept.
    parsed = Image.Exif()
    parsed.load(photo.exif)
    assert parsed.get(0x0112) == 1
    assert parsed.get(0x010F) == MAKE
    assert parsed.get_ifd(0x8769).get(0x9003) == DATE_TAKEN


@pytest.mark.parametrize("orientation", [2, 5, 6, 7, 8])
def test_orientation_on_jpeg_and_sixteen_bit_paths(tmp_path, orientation):
    blocks = blocks8()
    jpg = tmp_path / "o.jpg"
    Image.fromarray(stored(blocks, orientation)).save(
        jpg, quality=98, subsampling=0, exif=exif_bytes(orientation)
    )
    photo = load_photo(jpg)
    assert photo.pixels.shape == blocks.shape
    assert np.abs(photo.pixels.astype(int) - blocks).mean() < 2

    upright16 = rgb16(20, 36)
    png16 = png_with(
        tmp_path / "o16.png", stored(upright16, orientation), exif=exif_bytes(orientation)
    )
    photo16 = load_photo(png16)
    assert photo16.bit_depth == 16
    np.testing.assert_array_equal(photo16.pixels, upright16)

    # TIFF: the orientation is a tag of the TIFF itself (our writer carries EXIF tags there).
    tif16 = tmp_path / "o16.tif"
    raw = Photo(stored(upright16, orientation), bit_depth=16, exif=exif_bytes(orientation))
    save_photo(raw, tif16)  # save_photo writes what it is given; the tag says "turn me"
    np.testing.assert_array_equal(load_photo(tif16).pixels, upright16)
    tif8 = tmp_path / "o8.tif"
    save_photo(Photo(stored(blocks, orientation), exif=exif_bytes(orientation)), tif8)
    np.testing.assert_array_equal(load_photo(tif8).pixels, blocks)


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])  # Pillow turns TIFFs itself
def test_rotation_swaps_dpi(tmp_path, suffix):
    path = tmp_path / f"dpi{suffix}"
    Image.fromarray(rgb8(32, 48)).save(path, dpi=(300, 150), exif=exif_bytes(6))
    photo = load_photo(path)
    assert photo.pixels.shape[:2] == (48, 32)
    assert photo.dpi == pytest.approx((150, 300))


# ------------------------------------------------------------------------------ metadata


@pytest.mark.parametrize(
    ("fmt", "suffix", "options"),
    [
        ("JPEG", ".jpg", {"quality": 95}),
        ("PNG", ".png", {}),
        ("TIFF", ".tif", {}),
        ("WEBP", ".webp", {"lossless": True}),
    ],
)
def test_icc_and_exif_survive_load_save_load(tmp_path, fmt, suffix, options):
    source = tmp_path / f"in{suffix}"
    upright = rgb8(40, 56)
    Image.fromarray(stored(upright, 6)).save(
        source, fmt, exif=exif_bytes(6), icc_profile=SRGB_ICC, **options
    )
    before = sha256(source)

    photo = load_photo(source)
    assert photo.format == fmt
    assert photo.icc_profile == SRGB_ICC
    out = save_photo(photo, output_path_for(source))

    assert out == tmp_path / f"in_revived{suffix}"
    with Image.open(out) as written:
        assert written.format == fmt
        assert written.info.get("icc_profile") == SRGB_ICC
    ifd0, exif_ifd = exif_of(out)
    assert ifd0.get(0x010F) == MAKE and ifd0.get(0x0110) == MODEL
    assert exif_ifd.get(0x9003) == DATE_TAKEN
    assert ifd0.get(0x0112, 1) == 1  # pixels are upright now
    again = load_photo(out)
    assert again.pixels.shape == upright.shape
    assert again.icc_profile == SRGB_ICC
    if fmt in ("PNG", "TIFF"):
        np.testing.assert_array_equal(again.pixels, upright)
    assert sha256(source) == before


def test_exif_block_is_patched_not_rebuilt(tmp_path):
    """Maker notes and unknown tags survive byte for byte; the thumbnail link is cut."""
    exif = Image.Exif()
    exif[0x010F] = MAKE
    exif[0x0112] = 8
    exif.get_ifd(0x8769)[0x9003] = DATE_TAKEN
    exif.get_ifd(0x8769)[0x927C] = b"VENDOR\x00\x01\x02opaque maker note"
    source = tmp_path / "in.jpg"
    Image.fromarray(rgb8()).save(source, exif=exif.tobytes())
    with Image.open(source) as image:
        original = image.info["exif"]

    photo = load_photo(source)

    assert len(photo.exif) == len(original)
    changed = [i for i, (a, b) in enumerate(zip(photo.exif, original, strict=True)) if a != b]
    assert changed and len(changed) <= 3  # the orientation value (8 -> 1) and the IFD1 link
    out = save_photo(photo, tmp_path / "out.jpg")
    assert exif_of(out)[1][0x927C] == b"VENDOR\x00\x01\x02opaque maker note"


def test_xmp_is_carried_with_its_orientation_reset(tmp_path):
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description tiff:Orientation="6" '
        b'xmp:Rating="5"/></rdf:RDF></x:xmpmeta>'
    )
    source = tmp_path / "in.jpg"
    Image.fromarray(rgb8()).save(source, xmp=xmp, exif=exif_bytes(6))
    photo = load_photo(source)
    assert b'tiff:Orientation="1"' in photo.xmp and b'xmp:Rating="5"' in photo.xmp
    for suffix in (".jpg", ".png", ".tif", ".webp"):
        out = save_photo(photo, tmp_path / f"out{suffix}")
        assert load_photo(out).xmp.strip(b"\x00") == photo.xmp, suffix


# ------------------------------------------------------------------------------ 16 bit


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("channels", [3, 4])
def test_sixteen_bit_colour_in_is_sixteen_bit_out_exactly(tmp_path, suffix, channels):
    values = rgb16(channels=channels)
    source = write_cv(tmp_path / f"in{suffix}", values)
    before = sha256(source)

    photo = load_photo(source)

    assert photo.bit_depth == 16 and photo.pixels.dtype == np.uint16
    assert not photo.is_grayscale
    np.testing.assert_array_equal(photo.pixels, values[..., :3])
    if channels == 4:
        np.testing.assert_array_equal(photo.alpha, values[..., 3])
    else:
        assert photo.alpha is None

    out = save_photo(photo, output_path_for(source))
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and back.shape[2] == channels
    np.testing.assert_array_equal(load_photo(out).pixels, values[..., :3])
    assert sha256(source) == before


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_sixteen_bit_gray_stays_sixteen_bit_gray(tmp_path, suffix):
    gray = rgb16(channels=1)[..., 0]
    source = write_cv(tmp_path / f"in{suffix}", gray)

    photo = load_photo(source)

    assert photo.is_grayscale and photo.bit_depth == 16
    for c in range(3):
        np.testing.assert_array_equal(photo.pixels[..., c], gray)
    out = save_photo(photo, output_path_for(source))
    with Image.open(out) as written:
        assert written.mode.startswith("I;16")
        np.testing.assert_array_equal(np.asarray(written).astype(np.uint16), gray)


def test_sixteen_bit_gray_with_alpha_png(tmp_path):
    values = rgb16(channels=2)
    source = tmp_path / "la16.png"
    source.write_bytes(png_chunks.encode_16bit(values))

    photo = load_photo(source)

    assert photo.is_grayscale and photo.bit_depth == 16
    np.testing.assert_array_equal(photo.pixels[..., 1], values[..., 0])
    np.testing.assert_array_equal(photo.alpha, values[..., 1])
    out = save_photo(photo, tmp_path / "out.png")
    assert png_chunks.ihdr(out.read_bytes())[2:] == (16, 4)  # 16-bit gray + alpha
    again = load_photo(out)
    np.testing.assert_array_equal(again.pixels, photo.pixels)
    np.testing.assert_array_equal(again.alpha, photo.alpha)
    tif = save_photo(photo, tmp_path / "out.tif")  # written as RGBA: nothing reads LA16 TIFF
    np.testing.assert_array_equal(load_photo(tif).alpha, values[..., 1])


def test_sixteen_bit_png_written_by_opencv_carries_icc_and_exif(tmp_path):
    source = png_with(tmp_path / "in.png", rgb16(), icc_profile=SRGB_ICC, exif=exif_bytes(1))
    photo = load_photo(source)
    assert photo.icc_profile == SRGB_ICC
    out = save_photo(photo, tmp_path / "out.png")
    kinds = [kind for kind, _ in png_chunks.chunks(out.read_bytes())]
    assert kinds.index(b"iCCP") < kinds.index(b"IDAT") and kinds.index(b"eXIf") < kinds.index(
        b"IDAT"
    )
    with Image.open(out) as written:
        assert written.info["icc_profile"] == SRGB_ICC
    assert exif_of(out)[1][0x9003] == DATE_TAKEN


def test_sixteen_bit_to_eight_bit_formats_rounds(tmp_path):
    values = np.full((16, 16, 3), 257 * 100 + 128, np.uint16)  # 100.5 in 8-bit terms
    values[0, 0] = (0, 65535, 257 * 7)
    out = save_photo(Photo(values, bit_depth=16), tmp_path / "out.bmp", format="bmp")
    with Image.open(out) as written:
        assert written.format == "BMP"
        pixels = np.asarray(written)
    assert tuple(pixels[0, 0]) == (0, 255, 7)
    assert pixels[5, 5, 0] == 100


# ------------------------------------------------------------------------- alpha, gray, palette


@pytest.mark.parametrize(("fmt", "suffix"), [("PNG", ".png"), ("TIFF", ".tif"), ("WEBP", ".webp")])
def test_alpha_is_kept(tmp_path, fmt, suffix):
    rgba = np.dstack([rgb8(), rgb8(seed=3)[..., 0]])
    source = tmp_path / f"in{suffix}"
    webp = {"lossless": True, "exact": True} if fmt == "WEBP" else {}
    Image.fromarray(rgba, "RGBA").save(source, fmt, **webp)

    photo = load_photo(source)
    np.testing.assert_array_equal(photo.alpha, rgba[..., 3])
    out = save_photo(photo, output_path_for(source), quality=100)  # 100 = lossless WebP
    with Image.open(out) as written:
        assert written.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(written), rgba)


def test_gray_with_alpha_png(tmp_path):
    la = np.dstack([rgb8()[..., 0], rgb8(seed=5)[..., 1]])
    source = tmp_path / "la.png"
    Image.fromarray(la, "LA").save(source)
    photo = load_photo(source)
    assert photo.is_grayscale and photo.bit_depth == 8
    out = save_photo(photo, tmp_path / "out.png")
    with Image.open(out) as written:
        assert written.mode == "LA"
        np.testing.assert_array_equal(np.asarray(written), la)


def test_rgba_saved_as_jpeg_is_flattened_on_white(tmp_path, caplog):
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:8, ..., 3] = 255  # top half opaque red-ish, bottom half fully transparent
    photo = Photo(rgba[..., :3].copy(), alpha=rgba[..., 3].copy())
    out = save_photo(photo, tmp_path / "flat.jpg")
    pixels = np.asarray(Image.open(out))
    assert np.abs(pixels[12, 8].astype(int) - 255).max() <= 3  # white where transparent
    assert np.abs(pixels[3, 8].astype(int) - (200, 0, 0)).max() <= 6
    assert "flattened on white" in caplog.text


@pytest.mark.parametrize(("fmt", "suffix"), [("JPEG", ".jpg"), ("PNG", ".png"), ("TIFF", ".tif")])
def test_eight_bit_gray_stays_gray(tmp_path, fmt, suffix):
    gray = rgb8()[..., 0]
    source = tmp_path / f"in{suffix}"
    Image.fromarray(gray, "L").save(source, fmt, **({"quality": 100} if fmt == "JPEG" else {}))
    photo = load_photo(source)
    assert photo.is_grayscale and photo.bit_depth == 8 and photo.pixels.shape[2] == 3
    assert np.array_equal(photo.pixels[..., 0], photo.pixels[..., 2])
    out = save_photo(photo, output_path_for(source))
    with Image.open(out) as written:
        assert written.mode == "L"
    if fmt != "JPEG":
        np.testing.assert_array_equal(load_photo(out).pixels, photo.pixels)


def test_gray_photo_whose_channels_drifted_is_saved_as_luma(tmp_path):
    pixels = rgb8()
    photo = Photo(pixels, is_grayscale=True)
    out = save_photo(photo, tmp_path / "gray.png")
    with Image.open(out) as written:
        assert written.mode == "L"
        np.testing.assert_array_equal(np.asarray(written), cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY))


def test_palette_images(tmp_path):
    rgb = rgb8()
    colour = tmp_path / "p.png"
    Image.fromarray(rgb).quantize(64).save(colour)
    with Image.open(colour) as image:
        expected = np.asarray(image.convert("RGB"))
    photo = load_photo(colour)
    assert not photo.is_grayscale and photo.alpha is None
    np.testing.assert_array_equal(photo.pixels, expected)

    transparent = tmp_path / "pt.png"
    pal = Image.fromarray(rgb).quantize(16)
    pal.info["transparency"] = 3
    pal.save(transparent, transparency=3)
    photo = load_photo(transparent)
    index = np.asarray(pal)
    np.testing.assert_array_equal(photo.alpha, np.where(index == 3, 0, 255).astype(np.uint8))

    grays = tmp_path / "pg.gif"
    Image.fromarray(rgb[..., 1]).convert("P").save(grays)
    photo = load_photo(grays)
    assert photo.is_grayscale and photo.format == "GIF"
    np.testing.assert_array_equal(photo.pixels[..., 0], rgb[..., 1])


def test_animated_gif_reads_first_frame_and_writes_png(tmp_path):
    first, second = rgb8(seed=1)[..., 0], rgb8(seed=2)[..., 0]
    path = tmp_path / "anim.gif"
    frames = [Image.fromarray(f).convert("P") for f in (first, second)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    photo = load_photo(path)
    assert photo.frames == 2 and any("first frame" in note for note in photo.notes)
    np.testing.assert_array_equal(photo.pixels[..., 0], first)
    target = output_path_for(path)
    assert target.name == "anim_revived.png"
    with Image.open(save_photo(photo, target)) as written:
        assert written.format == "PNG"


def test_one_bit_image(tmp_path):
    bits = (rgb8()[..., 0] > 128).astype(np.uint8) * 255
    for suffix in (".png", ".tif", ".bmp"):
        path = tmp_path / f"bw{suffix}"
        Image.fromarray(bits).convert("1").save(path)
        photo = load_photo(path)
        assert photo.is_grayscale and photo.bit_depth == 8
        np.testing.assert_array_equal(photo.pixels[..., 0], bits)


def test_32_bit_integer_and_float_tiffs_become_16_bit_gray(tmp_path):
    ramp = np.linspace(0.0, 1.0, 48 * 64, dtype=np.float32).reshape(48, 64)
    Image.fromarray(ramp, "F").save(tmp_path / "f.tif")
    photo = load_photo(tmp_path / "f.tif")
    assert photo.is_grayscale and photo.bit_depth == 16 and not photo.notes
    assert np.abs(photo.pixels[..., 0].astype(int) - np.rint(ramp * 65535)).max() <= 1

    counts = np.arange(48 * 64, dtype=np.int32).reshape(48, 64) * 20  # fits 16 bits: kept
    Image.fromarray(counts, "I").save(tmp_path / "i.tif")
    np.testing.assert_array_equal(load_photo(tmp_path / "i.tif").pixels[..., 0], counts)
    Image.fromarray(counts - 1000, "I").save(tmp_path / "neg.tif")  # does not fit: rescaled
    photo = load_photo(tmp_path / "neg.tif")
    assert photo.pixels.min() == 0 and photo.pixels.max() == 65535 and photo.notes
    with Image.open(save_photo(photo, tmp_path / "out.tif")) as written:
        assert written.mode == "I;16"


def test_float_tiffs_a_little_over_one_are_stretched_not_blackened(tmp_path):
    ramp = np.linspace(0.0, 1.2, 48 * 64, dtype=np.float32).reshape(48, 64)
    Image.fromarray(ramp, "F").save(tmp_path / "hdr.tif")
    photo = load_photo(tmp_path / "hdr.tif")
    assert photo.pixels.max() == 65535 and photo.pixels.min() == 0 and photo.notes
    np.testing.assert_allclose(photo.pixels[..., 0] / 65535.0, ramp / 1.2, atol=1 / 65535 + 1e-6)
    levels = np.rint(np.linspace(0, 200, 48 * 64)).astype(np.float32).reshape(48, 64)
    Image.fromarray(levels, "F").save(tmp_path / "levels.tif")  # 8-bit levels as floats
    photo = load_photo(tmp_path / "levels.tif")
    np.testing.assert_array_equal(photo.pixels[..., 0], levels.astype(np.uint16) * 257)
    assert not photo.notes


def test_mpo_camera_jpeg_reads_as_jpeg(tmp_path):
    path = tmp_path / "camera.jpg"
    Image.fromarray(stored(blocks8(), 3)).save(
        path,
        "MPO",
        quality=95,
        save_all=True,
        append_images=[Image.fromarray(rgb8())],
        exif=exif_bytes(3),
    )
    photo = load_photo(path)
    assert photo.format == "JPEG"
    with Image.open(path) as image:
        assert image.format == "MPO"
        np.testing.assert_array_equal(photo.pixels, np.asarray(ImageOps.exif_transpose(image)))
    assert save_photo(photo, output_path_for(path)).suffix == ".jpg"


# Every writable row of the format table, round-tripped: what the row says the format
# holds comes back, what it does not is changed as documented, lossless pixels exactly.
@pytest.mark.parametrize("fmt", WRITABLE, ids=lambda f: f.name)
@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("gray", [False, True])
@pytest.mark.parametrize("with_alpha", [False, True])
def test_every_format_writes_every_kind_of_photo(tmp_path, fmt, bits, gray, with_alpha):
    base = rgb8(24, 40) if bits == 8 else rgb16(24, 40)
    pixels = base[:, ::-1]  # a view, as a pipeline step may hand over
    alpha = base[::-1, :, 0] if with_alpha else None
    photo = Photo(pixels, alpha=alpha, bit_depth=bits, is_grayscale=gray)

    notes: list[str] = []
    out = save_photo(photo, tmp_path / f"out{fmt.suffix}", quality=100, notes=notes)
    back = load_photo(out)

    assert back.format == fmt.name
    assert back.bit_depth == (bits if fmt.bits16 else 8)
    gray_alpha16_tiff = fmt.name == "TIFF" and bits == 16 and gray and with_alpha  # as RGBA
    assert back.is_grayscale == (gray and fmt.gray and not gray_alpha16_tiff)
    assert (back.alpha is not None) == (with_alpha and fmt.alpha)
    assert any("cannot hold transparency" in n for n in notes) == (with_alpha and not fmt.alpha)
    assert any("8 bits" in n for n in notes) == (bits == 16 and not fmt.bits16)
    if not fmt.lossy and (bits == 8 or fmt.bits16) and (with_alpha <= fmt.alpha):
        expected = pixels
        if gray:
            luma = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2GRAY)
            expected = np.repeat(luma[..., None], 3, axis=2)
        np.testing.assert_array_equal(back.pixels, expected)
        if with_alpha:
            np.testing.assert_array_equal(back.alpha, alpha)


@pytest.mark.parametrize("fmt", WRITABLE, ids=lambda f: f.name)
def test_every_format_keeps_the_metadata_its_row_promises(tmp_path, fmt):
    photo = Photo(rgb8(24, 40), icc_profile=SRGB_ICC, exif=exif_bytes())
    notes: list[str] = []
    back = load_photo(save_photo(photo, tmp_path / f"out{fmt.suffix}", notes=notes))
    assert (back.icc_profile == SRGB_ICC) == fmt.metadata
    assert (back.exif is not None) == fmt.metadata
    assert any("left out" in n for n in notes) == (not fmt.metadata)


# ------------------------------------------------------------------------------ CMYK


@pytest.mark.parametrize(("fmt", "suffix"), [("JPEG", ".jpg"), ("TIFF", ".tif")])
def test_cmyk_without_profile_uses_pillow_conversion(tmp_path, fmt, suffix):
    cmyk = Image.new("CMYK", (24, 16), (10, 20, 30, 40))
    path = tmp_path / f"cmyk{suffix}"
    cmyk.save(path, fmt, **({"quality": 100} if fmt == "JPEG" else {}))
    photo = load_photo(path)
    with Image.open(path) as image:
        expected = np.asarray(image.convert("RGB"))
    np.testing.assert_array_equal(photo.pixels, expected)
    assert photo.icc_profile is None and any("CMYK" in note for note in photo.notes)


@pytest.mark.parametrize(("fmt", "suffix"), [("JPEG", ".jpg"), ("TIFF", ".tif")])
def test_cmyk_with_profile_is_colour_managed_and_tagged_srgb(tmp_path, fmt, suffix):
    path = tmp_path / f"cmyk{suffix}"
    Image.new("CMYK", (24, 16), (10, 20, 30, 40)).save(
        path, fmt, icc_profile=cmyk_profile(), **({"quality": 100} if fmt == "JPEG" else {})
    )
    photo = load_photo(path)
    red, green, blue = photo.pixels[8, 12].astype(int)
    # The test profile maps every ink mix to red; the plain formula gives a light gray.
    assert red > 200 and green < 60 and blue < 60
    profile = ImageCms.ImageCmsProfile(io.BytesIO(photo.icc_profile))
    assert "sRGB" in ImageCms.getProfileDescription(profile)
    out = save_photo(photo, tmp_path / f"out{suffix}")
    with Image.open(out) as written:
        assert written.mode == "RGB"


# ------------------------------------------------------------------------------ float pair


def test_float_round_trip_is_exact_at_both_depths():
    for photo in (Photo(rgb8()), Photo(rgb16(), bit_depth=16, alpha=rgb16(channels=1)[..., 0])):
        as_float = to_float_rgb(photo)
        assert as_float.dtype == np.float32 and as_float.min() >= 0.0 and as_float.max() <= 1.0
        back = from_float_rgb(as_float, photo)
        assert back.pixels.dtype == photo.pixels.dtype and back.bit_depth == photo.bit_depth
        np.testing.assert_array_equal(back.pixels, photo.pixels)
        assert back.alpha is photo.alpha


def test_from_float_clips_and_resizes_alpha():
    like = Photo(rgb8(8, 10), alpha=np.full((8, 10), 200, np.uint8), exif=exif_bytes(1))
    bigger = np.full((16, 20, 3), 1.5, np.float32)
    bigger[0, 0] = -0.2
    photo = from_float_rgb(bigger, like)
    assert photo.pixels.max() == 255 and photo.pixels.min() == 0
    assert photo.alpha.shape == (16, 20) and photo.alpha[5, 5] == 200
    assert photo.exif == like.exif


def test_sixteen_bit_survives_float_processing_and_saving(tmp_path):
    values = rgb16()
    source = write_cv(tmp_path / "in.tif", values)
    photo = load_photo(source)
    out = save_photo(from_float_rgb(to_float_rgb(photo), photo), tmp_path / "out.tif")
    np.testing.assert_array_equal(load_photo(out).pixels, values)


# ------------------------------------------------------------------------------ never overwrite


def test_refuses_to_overwrite_the_input(tmp_path):
    source = tmp_path / "in.png"
    Image.fromarray(rgb8()).save(source)
    before = sha256(source)
    photo = load_photo(source)
    twin = tmp_path / "twin.png"
    os.link(source, twin)
    alias = tmp_path / "alias.png"
    alias.symlink_to(source)
    (tmp_path / "sub").mkdir()
    for target in (
        source,
        twin,
        alias,
        tmp_path / "sub" / ".." / "in.png",
        Path(os.path.relpath(source)),
    ):
        with pytest.raises(ImageWriteError, match="refusing to overwrite"):
            save_photo(photo, target)
    other = Photo(rgb8())  # no source: the caller names its inputs
    with pytest.raises(ImageWriteError, match="refusing to overwrite"):
        save_photo(other, alias, protected=[source])
    assert sha256(source) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.png", "in.png", "sub", "twin.png"]


# ------------------------------------------------------------------------------ failed writes


def test_failed_write_leaves_nothing_behind(tmp_path):
    wide = Photo(np.zeros((8, 20000, 3), np.uint8))  # WebP holds at most 16383 px a side
    with pytest.raises(ImageWriteError, match="16383") as err:
        save_photo(wide, tmp_path / "wide.webp")
    assert "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_keeps_previous_output_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "out.tif"
    target.write_bytes(b"previous result")

    def disk_full(fp, *args, **kwargs):
        fp.write(b"half a TIFF")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("engine.io.write.write_tiff", disk_full)
    with pytest.raises(ImageWriteError, match="disk is full"):
        save_photo(Photo(rgb8()), target)

    def cancelled(fp, *args, **kwargs):
        fp.write(b"half a TIFF")
        raise KeyboardInterrupt

    monkeypatch.setattr("engine.io.write.write_tiff", cancelled)
    with pytest.raises(KeyboardInterrupt):
        save_photo(Photo(rgb8()), target)
    assert target.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]


def test_permission_errors_leave_nothing_behind(tmp_path, monkeypatch):
    import engine.atomic

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as patch:  # a folder where no file may be created
        patch.setattr(engine.atomic.tempfile, "mkstemp", denied)
        with pytest.raises(ImageWriteError, match="permission denied"):
            save_photo(Photo(rgb8()), tmp_path / "out.png")
    with monkeypatch.context() as patch:  # a target locked by another program (Windows)
        patch.setattr(engine.atomic.os, "replace", denied)
        with pytest.raises(ImageWriteError, match="permission denied"):
            save_photo(Photo(rgb8()), tmp_path / "out.png")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ImageWriteError, match="permission denied"):
            save_photo(Photo(rgb8()), folder / "out.png")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_bad_save_arguments(tmp_path):
    with pytest.raises(ImageWriteError, match="cannot write 'gif'"):
        save_photo(Photo(rgb8()), tmp_path / "x.gif", format="gif")
    with pytest.raises(ImageWriteError, match="says JPEG but PNG was asked for"):
        save_photo(Photo(rgb8()), tmp_path / "x.jpg", format="png")
    with pytest.raises(ImageWriteError, match="does not write GIF"):
        save_photo(Photo(rgb8()), tmp_path / "x.gif")
    assert save_photo(Photo(rgb8(), format="TIFF"), tmp_path / "x.out").read_bytes()[:2] == b"II"
    (tmp_path / "x.out").unlink()
    with pytest.raises(ImageWriteError, match="quality"):
        save_photo(Photo(rgb8()), tmp_path / "x.jpg", quality=0)
    assert list(tmp_path.iterdir()) == []


def test_jpeg_quality_and_subsampling(tmp_path):
    photo = Photo(rgb8(64, 64))
    high = save_photo(photo, tmp_path / "high.jpg", quality=95)
    low = save_photo(photo, tmp_path / "low.jpg", quality=60)
    from PIL import JpegImagePlugin

    with Image.open(high) as a, Image.open(low) as b:
        assert JpegImagePlugin.get_sampling(a) == 0  # 4:4:4
        assert JpegImagePlugin.get_sampling(b) == 2  # 4:2:0
    assert low.stat().st_size < high.stat().st_size


# ------------------------------------------------------------------------------ paths


def test_output_path_for():
    assert output_path_for("/a/b/IMG_1.JPG") == Path("/a/b/IMG_1_revived.JPG")
    assert output_path_for("/a/b/scan.tiff", "/out") == Path("/out/scan_revived.tiff")
    assert output_path_for("x.png", ext="jpg") == Path("x_revived.jpg")
    assert output_path_for("x.png", ext=".webp", suffix="_v2") == Path("x_v2.webp")
    assert output_path_for("old.gif") == Path("old_revived.png")


def test_collect_photos(tmp_path):
    for name in ("IMG_10.jpg", "IMG_2.JPG", "a.png", "a_revived.png", ".hidden.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.tif").write_bytes(b"x")
    (tmp_path / "folder.jpg").mkdir()  # a folder with a photo's name is not a photo

    names = [p.name for p in collect_photos([tmp_path])]
    assert names == ["a.png", "IMG_2.JPG", "IMG_10.jpg"]
    deep = collect_photos([tmp_path], recursive=True)
    assert [p.name for p in deep][-1] == "deep.tif" or "deep.tif" in [p.name for p in deep]
    # Explicit files are kept (even outputs); duplicates are dropped; order follows the arguments.
    explicit = collect_photos([tmp_path / "a_revived.png", tmp_path / "IMG_10.jpg", tmp_path])
    assert [p.name for p in explicit] == ["a_revived.png", "IMG_10.jpg", "a.png", "IMG_2.JPG"]
    assert [p.name for p in collect_photos([str(tmp_path / "IMG_*")])] == [
        "IMG_2.JPG",
        "IMG_10.jpg",
    ]
    with pytest.raises(ImageReadError, match="no photo matches"):
        collect_photos([str(tmp_path / "*.webp")])
    with pytest.raises(ImageReadError, match="missing.jpg: file not found"):
        collect_photos([tmp_path / "missing.jpg"])
    assert {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"} <= SUPPORTED_SUFFIXES


# ------------------------------------------------------------------------------ a real photo


@pytest.mark.shared
def test_real_photo_round_trip_leaves_the_original_untouched(tmp_path):
    source = shared_path("real", "sparnet", "Solvay_conference_1927.jpg")
    before = sha256(source)

    photo = load_photo(source)

    assert photo.format == "JPEG" and photo.bit_depth == 8 and photo.source == source
    assert photo.pixels.ndim == 3 and min(photo.pixels.shape[:2]) > 100
    with Image.open(source) as image:
        reference = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    np.testing.assert_array_equal(photo.pixels, reference)
    with pytest.raises(ImageWriteError, match="refusing to overwrite"):
        save_photo(photo, source)
    out_png = save_photo(photo, output_path_for(source, tmp_path, ext="png"))
    np.testing.assert_array_equal(load_photo(out_png).pixels, photo.pixels)
    out_jpg = save_photo(
        from_float_rgb(to_float_rgb(photo), photo), output_path_for(source, tmp_path)
    )
    assert out_jpg.name == "Solvay_conference_1927_revived.jpg"
    again = load_photo(out_jpg)
    assert again.pixels.shape == photo.pixels.shape and again.is_grayscale == photo.is_grayscale
    assert np.abs(again.pixels.astype(int) - photo.pixels).mean() < 2
    assert sha256(source) == before


def test_png_chunk_helpers_roundtrip():
    data = png_chunks.encode_16bit(rgb16(4, 5, channels=1))
    with_meta = png_chunks.with_metadata(data, png_chunks.metadata_chunks(dpi=(300, 300)))
    kinds = [kind for kind, _ in png_chunks.chunks(with_meta)]
    assert kinds == [b"IHDR", b"pHYs", b"IDAT", b"IEND"]
    with Image.open(io.BytesIO(with_meta)) as image:
        assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    crc_ok = struct.unpack(">I", with_meta[-4:])[0]
    assert crc_ok == 0xAE426082  # the well-known CRC of an empty IEND chunk
