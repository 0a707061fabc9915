"""Which files Revive reads and writes, named by suffix and by Pillow format name."""

from __future__ import annotations

# Suffix -> format. GIF is read (first frame) but written as PNG: a restored
# photo does not fit in GIF's 256 colours.
READ_SUFFIXES: dict[str, str] = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".jfif": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".dib": "BMP",
    ".gif": "GIF",
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(READ_SUFFIXES)

WRITABLE_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "TIFF", "WEBP", "BMP")
FORMAT_SUFFIX: dict[str, str] = {
    "JPEG": ".jpg",
    "PNG": ".png",
    "TIFF": ".tif",
    "WEBP": ".webp",
    "BMP": ".bmp",
}
_ALIASES = {"JPG": "JPEG", "TIF": "TIFF", "MPO": "JPEG", "DIB": "BMP"}

# Pillow plugins allowed to open a file: anything else is refused by name. (The
# JPEG plugin also opens MPO, the JPEGs of cameras that embed a second picture.)
PILLOW_OPEN_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "TIFF", "WEBP", "BMP", "DIB", "GIF")

# Camera raw files are TIFF-like: Pillow would open the small preview inside
# and pass it off as the photo. They are refused by suffix and by content.
RAW_SUFFIXES: frozenset[str] = frozenset(
    {
        ".3fr", ".arw", ".cr2", ".cr3", ".crw", ".dcr", ".dng", ".erf", ".iiq", ".k25",
        ".kdc", ".mef", ".mos", ".mrw", ".nef", ".nrw", ".orf", ".pef", ".raf", ".raw",
        ".rw2", ".rwl", ".sr2", ".srf", ".srw", ".x3f",
    }
)  # fmt: skip


def normalize_format(name: str) -> str:
    """'jpg' / '.JPG' / 'jpeg' -> 'JPEG'; raises ValueError for a format Revive cannot write."""
    key = name.strip().lstrip(".").upper()
    key = _ALIASES.get(key, key)
    if key not in WRITABLE_FORMATS:
        raise ValueError(
            f"cannot write {name!r}: choose one of {', '.join(f.lower() for f in WRITABLE_FORMATS)}"
        )
    return key


def format_for_suffix(suffix: str) -> str | None:
    """The writable format a file suffix names, or None."""
    fmt = READ_SUFFIXES.get(suffix.lower())
    return fmt if fmt in WRITABLE_FORMATS else None


def output_format_for(source_format: str) -> str:
    """Outputs keep the input's format, except GIF which becomes PNG."""
    fmt = _ALIASES.get(source_format.upper(), source_format.upper())
    return fmt if fmt in WRITABLE_FORMATS else "PNG"
