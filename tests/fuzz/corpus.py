"""Broken and unusual photo files, made in memory from a seed (no download, no GPU).

``base_files()`` gives valid files of every layout Revive reads (8/16-bit, gray, alpha,
palette, CMYK, 1-bit, 32-bit TIFFs, animations, EXIF orientation, ICC profiles), tiny
and very thin ones among them. ``MUTATIONS`` break them the ways files break in real
life or at a hostile user's hands: cut short, bit flips, zeroed runs, header sizes
rewritten, junk ICC / EXIF, the wrong extension. ``write_corpus`` lays out a folder of
them under odd names (long, non-UTF-8, spaces, a leading dash, glob characters, names
that look like outputs), plus links to inputs, so a run over it proves the promises of
the README: one line per bad file, no traceback, no input changed, no stray file.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms

from engine.io.quiet import native_stderr_silenced

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
FACES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real" / "sparnet"


def _pil(array: np.ndarray, fmt: str, mode: str | None = None, **options) -> bytes:
    image = Image.fromarray(array)
    if mode:
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _cv(suffix: str, array: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(suffix, array)
    assert ok, suffix
    return buffer.tobytes()


def _exif(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Fuzz"
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = "1927:10:24 10:30:00"
    return exif.tobytes()


def gradient(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 // max(1, w - 1), y * 255 // max(1, h - 1), (x + y) % 256], -1)
    return np.clip(base + rng.integers(-15, 16, base.shape), 0, 255).astype(np.uint8)


def face_photo() -> np.ndarray | None:
    """The 3-face group photo of the shared data, small (None where it is absent)."""
    path = FACES / "test_hzgg.jpg"
    if not path.is_file():
        return None
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB").resize((270, 110), Image.Resampling.LANCZOS))


def base_files(seed: int = 0, *, faces: bool = True) -> list[tuple[str, bytes]]:
    """(name, bytes) of valid files in every layout Revive reads, small enough to be fast."""
    rgb = gradient(48, 64, seed)
    gray = rgb[..., 0]
    alpha = np.dstack([rgb, np.linspace(0, 255, 64, dtype=np.uint8)[None, :].repeat(48, 0)])
    rng = np.random.default_rng(seed)
    deep = rng.integers(0, 65536, (40, 56, 3), dtype=np.uint16)
    files = [
        ("plain.jpg", _pil(rgb, "JPEG", quality=90)),
        ("progressive.jpg", _pil(rgb, "JPEG", progressive=True)),
        ("gray.jpg", _pil(gray, "JPEG")),
        ("cmyk.jpg", _pil(rgb, "JPEG", "CMYK")),
        ("exif6.jpg", _pil(rgb, "JPEG", exif=_exif(6), icc_profile=SRGB)),
        ("plain.png", _pil(rgb, "PNG")),
        ("alpha.png", _pil(alpha, "PNG")),
        ("gray.png", _pil(gray, "PNG")),
        ("grayalpha.png", _pil(alpha, "PNG", "LA")),
        ("palette.png", _pil(rgb, "PNG", "P")),
        ("bits1.png", _pil(gray, "PNG", "1")),
        ("deep16.png", _cv(".png", deep)),
        ("deep16gray.png", _cv(".png", deep[..., 0])),
        ("exif3.png", _pil(rgb, "PNG", exif=_exif(3))),
        ("plain.tif", _pil(rgb, "TIFF", compression="tiff_adobe_deflate")),
        ("deep16.tif", _cv(".tif", deep)),
        ("gray.tif", _pil(gray, "TIFF")),
        ("cmyk.tif", _pil(rgb, "TIFF", "CMYK")),
        ("float.tif", _pil(gray.astype(np.float32), "TIFF")),
        ("float01.tif", _pil(gray.astype(np.float32) / 255, "TIFF")),
        ("uint32.tif", _cv(".tif", gray.astype(np.uint32) * 16_843_009)),
        ("int32.tif", _pil(gray.astype(np.int32) - 100, "TIFF")),
        ("bits1.tif", _pil(gray, "TIFF", "1")),
        ("lossy.webp", _pil(rgb, "WEBP", quality=80)),
        ("lossless.webp", _pil(alpha, "WEBP", lossless=True)),
        ("plain.bmp", _pil(rgb, "BMP")),
        ("palette.bmp", _pil(rgb, "BMP", "P")),
        ("bits1.bmp", _pil(gray, "BMP", "1")),
        ("still.gif", _pil(rgb, "GIF")),
        ("animated.gif", _animated_gif(rgb)),
        ("pages.tif", _pages_tiff(rgb)),
        ("small8.png", _pil(gradient(8, 8, seed), "PNG")),
        ("small12.jpg", _pil(gradient(12, 40, seed), "JPEG")),
        ("short15.png", _pil(gradient(15, 200, seed), "PNG")),
        ("thin8.png", _pil(gradient(8, 4000, seed), "PNG")),
        ("thin20.png", _pil(gradient(3000, 20, seed), "PNG")),
        ("wide.webp", _pil(gradient(8, 16383, seed), "WEBP", quality=50)),
        ("tiny7.png", _pil(gradient(7, 7, seed), "PNG")),
    ]
    photo = face_photo() if faces else None
    if photo is not None:
        files += [
            ("faces.jpg", _pil(photo, "JPEG", quality=90, exif=_exif(1), icc_profile=SRGB)),
            ("faces.png", _pil(photo, "PNG")),
        ]
    return files


def _animated_gif(rgb: np.ndarray) -> bytes:
    frames = [Image.fromarray(np.roll(rgb, 8 * i, axis=1)) for i in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=50)
    return buffer.getvalue()


def _pages_tiff(rgb: np.ndarray) -> bytes:
    pages = [Image.fromarray(rgb), Image.fromarray(rgb[::-1])]
    buffer = io.BytesIO()
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:])
    return buffer.getvalue()


# ------------------------------------------------------------------ mutations


Mutation = Callable[[bytes, np.random.Generator], bytes]


def cut_end(data: bytes, rng: np.random.Generator) -> bytes:
    """The last 1 to 24 bytes missing (an end marker, a trailer, a CRC)."""
    return data[: -int(rng.integers(1, 25))]


def cut_anywhere(data: bytes, rng: np.random.Generator) -> bytes:
    return data[: int(rng.integers(1, max(2, len(data))))]


def flip_bits(data: bytes, rng: np.random.Generator) -> bytes:
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 8))):
        pos = int(rng.integers(0, len(out)))
        out[pos] ^= 1 << int(rng.integers(0, 8))
    return bytes(out)


def flip_header(data: bytes, rng: np.random.Generator) -> bytes:
    """Bit flips in the first 64 bytes, where the header and the sizes are."""
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        pos = int(rng.integers(0, min(64, len(out))))
        out[pos] ^= 1 << int(rng.integers(0, 8))
    return bytes(out)


def zero_run(data: bytes, rng: np.random.Generator) -> bytes:
    start = int(rng.integers(0, len(data)))
    length = int(rng.integers(1, 256))
    return data[:start] + bytes(min(length, len(data) - start)) + data[start + length :]


def random_bytes_run(data: bytes, rng: np.random.Generator) -> bytes:
    start = int(rng.integers(0, len(data)))
    length = int(rng.integers(1, 64))
    return data[:start] + rng.bytes(length) + data[start + length :]


def duplicate_tail(data: bytes, rng: np.random.Generator) -> bytes:
    """Junk after the end (a second copy of part of the file)."""
    return data + data[int(rng.integers(0, len(data))) :]


def huge_size(data: bytes, rng: np.random.Generator) -> bytes:
    """The header's width / height rewritten to huge or zero values (PNG CRC fixed)."""
    width, height = (int(rng.choice([0, 1, 65_535, 100_000, 2**31 - 1, 2**32 - 1])) for _ in "wh")
    out = bytearray(data)
    if data.startswith(PNG_SIGNATURE) and len(data) >= 33:
        out[16:24] = struct.pack(">II", width, height)
        out[29:33] = struct.pack(">I", zlib.crc32(bytes(out[12:29])) & 0xFFFFFFFF)
    elif data[:2] == b"BM" and len(data) >= 26:
        out[18:26] = struct.pack("<ii", width & 0x7FFFFFFF, height & 0x7FFFFFFF)
    elif data[:3] == b"GIF" and len(data) >= 10:
        out[6:10] = struct.pack("<HH", width & 0xFFFF, height & 0xFFFF)
    elif data[:2] == b"\xff\xd8":
        at = data.find(b"\xff\xc0")
        at = at if at >= 0 else data.find(b"\xff\xc2")
        if at >= 0 and at + 9 <= len(data):
            out[at + 5 : at + 9] = struct.pack(">HH", height & 0xFFFF, width & 0xFFFF)
    else:
        return flip_header(data, rng)
    return bytes(out)


def junk_icc(data: bytes, rng: np.random.Generator) -> bytes:
    """The photo re-saved with a random (or 19-byte) 'ICC profile'."""
    profile = rng.bytes(int(rng.choice([19, 128, 300, 4000])))
    return _resave(data, icc_profile=profile)


def junk_exif(data: bytes, rng: np.random.Generator) -> bytes:
    """The photo re-saved with EXIF that is random, or valid but odd (orientation 9)."""
    choice = int(rng.integers(0, 3))
    if choice == 0:
        exif = b"Exif\x00\x00" + rng.bytes(int(rng.integers(4, 400)))
    elif choice == 1:
        exif = b"Exif\x00\x00II*\x00" + rng.bytes(int(rng.integers(4, 400)))
    else:
        exif = _exif(9)
    return _resave(data, exif=exif)


def _resave(data: bytes, **options) -> bytes:
    """Re-encoded with odd metadata (libtiff complains about some: silenced)."""
    try:
        with (
            warnings.catch_warnings(),
            native_stderr_silenced(),
            Image.open(io.BytesIO(data)) as image,
        ):
            warnings.simplefilter("ignore")
            fmt = image.format if image.format in ("JPEG", "PNG", "WEBP", "TIFF") else "PNG"
            image.load()
            if fmt == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
                image = image.convert("RGB")
            buffer = io.BytesIO()
            image.save(buffer, fmt, **options)
            return buffer.getvalue()
    except Exception:
        return data


MUTATIONS: dict[str, Mutation] = {
    "cut_end": cut_end,
    "cut_anywhere": cut_anywhere,
    "flip_bits": flip_bits,
    "flip_header": flip_header,
    "zero_run": zero_run,
    "random_run": random_bytes_run,
    "tail_junk": duplicate_tail,
    "huge_size": huge_size,
    "junk_icc": junk_icc,
    "junk_exif": junk_exif,
}

OTHER_SUFFIXES = (".jpg", ".png", ".tif", ".webp", ".bmp", ".gif", ".jpeg", ".TIFF", ".JPG")


def odd_files(rng: np.random.Generator) -> list[tuple[str, bytes]]:
    """Files that are not photos, or barely: empty, text, noise, other formats, raw."""
    rgb = gradient(32, 32)
    return [
        ("empty.jpg", b""),
        ("text.png", b"These are my holiday notes, not a photo.\n"),
        ("noise.jpg", rng.bytes(2048)),
        ("zeros.tif", bytes(4096)),
        ("heic.jpg", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)),
        ("pdf.png", b"%PDF-1.4\n" + rng.bytes(200)),
        ("icon.png", _pil(rgb, "ICO")),
        ("portable.bmp", _pil(rgb, "PPM")),
        ("raw.nef", _pil(rgb, "TIFF")),
        ("dot.gif", _pil(gradient(1, 1), "GIF")),
        ("signature_only.png", PNG_SIGNATURE),
        ("soi_only.jpg", b"\xff\xd8\xff"),
    ]


def odd_name(base: str, index: int, rng: np.random.Generator) -> str | bytes:
    """A file name as users make them: long, non-UTF-8, spaces, dashes, glob characters."""
    stem, suffix = os.path.splitext(base)
    kind = index % 9
    if kind == 0:
        return f"{stem}-{index}{suffix}"
    if kind == 1:  # as long as a name can be
        return (f"{stem}-{index}-" + "x" * 255)[: 255 - len(suffix)] + suffix
    if kind == 2:  # Latin-1 bytes: not UTF-8
        return os.fsencode(f"{stem}-{index}-") + b"\xe9t\xe9" + os.fsencode(suffix)
    if kind == 3:
        return f"{stem} {index} (copy){suffix}"
    if kind == 4:
        return f"-{stem}-{index}{suffix}"
    if kind == 5:
        return f"{stem}[{index}]*?{suffix}"
    if kind == 6:
        return f"{stem}-{index}_revived{suffix}"
    if kind == 7:
        return f"ünïcødé-{stem}-{index}{suffix}"
    return f"{stem}.{index}{suffix.upper()}"


def write_corpus(folder: Path, count: int, seed: int = 0, *, faces: bool = True) -> list[Path]:
    """At least ``count`` files in ``folder``: base files, their mutations, odd files."""
    with warnings.catch_warnings(), native_stderr_silenced():  # making them is noisy too
        warnings.simplefilter("ignore")
        return _write_corpus(folder, count, seed, faces)


def _write_corpus(folder: Path, count: int, seed: int, faces: bool) -> list[Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    bases = base_files(seed, faces=faces)
    made: list[Path] = []

    def put(name: str | bytes, data: bytes) -> None:
        raw = name if isinstance(name, bytes) else os.fsencode(name)
        path = Path(os.fsdecode(os.path.join(os.fsencode(folder), raw)))
        if path.exists():
            return
        path.write_bytes(data)
        made.append(path)

    for name, data in bases:
        put(name, data)
    for name, data in odd_files(rng):
        put(name, data)
    names = list(MUTATIONS)
    index = 0
    while len(made) < count:
        name, data = bases[int(rng.integers(0, len(bases)))]
        mutation = names[index % len(names)]
        mutated = MUTATIONS[mutation](data, rng)
        stem, suffix = os.path.splitext(name)
        if index % 13 == 5:  # the wrong extension for the content
            suffix = OTHER_SUFFIXES[int(rng.integers(0, len(OTHER_SUFFIXES)))]
        put(odd_name(f"{stem}.{mutation}{suffix}", index, rng), mutated)
        index += 1
    return made


def add_links(folder: Path, inputs: list[Path]) -> list[Path]:
    """Traps for never-overwrite: a symlink and a hard link to inputs, under output names."""
    made = []
    pngs = [p for p in inputs if p.suffix == ".png" and p.name.isascii() and len(p.name) < 60]
    if len(pngs) >= 2:
        first, second = pngs[0], pngs[1]
        trap = first.with_name(f"{first.stem}_revived.png")
        if not trap.exists():
            os.link(first, trap)  # writing "first"'s output would change "first" itself
            made.append(trap)
        alias = folder / f"alias-of-{second.name}"
        if not alias.exists():
            alias.symlink_to(second.name)
            made.append(alias)
    return made
