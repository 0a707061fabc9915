"""The one table of image formats: what Revive reads and writes, and what each holds.

Every other list is generated from ``FORMATS``: the suffixes the file pickers and
folder scans accept, the writers' dispatch (``engine.io.write``), the CLI's
``--format`` help, the app's format choices and file-dialog filters, and the
diagnostics' "Revive reads ..." line. A new output format is one row here plus its
encoder in ``write.py``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageFormat:
    """One format: Pillow's name for it, people's, its suffixes and what it can hold."""

    name: str  # Pillow's format name
    label: str  # for people: "JPEG", "WebP"
    suffixes: tuple[str, ...]  # the first is the one written
    write: bool  # Revive writes it (all listed formats are read)
    lossy: bool = False  # a quality setting applies
    max_side: int | None = None  # the most pixels on a side the format can hold
    bits16: bool = False  # 16 bits per channel
    alpha: bool = False  # transparency
    gray: bool = False  # a gray mode (else gray is written as RGB)
    metadata: bool = False  # EXIF, XMP and an ICC profile
    aliases: tuple[str, ...] = ()  # other names for it (user input, Pillow's variants)
    plugins: tuple[str, ...] = ()  # other Pillow plugins that open it

    @property
    def suffix(self) -> str:
        """The suffix an output in this format gets."""
        return self.suffixes[0]


FORMATS: tuple[ImageFormat, ...] = (
    ImageFormat(
        "JPEG",
        "JPEG",
        (".jpg", ".jpeg", ".jpe", ".jfif"),
        write=True,
        lossy=True,
        max_side=65_500,
        gray=True,
        metadata=True,
        aliases=("JPG", "MPO"),
    ),
    ImageFormat(
        "PNG", "PNG", (".png",), write=True, bits16=True, alpha=True, gray=True, metadata=True
    ),
    ImageFormat(
        "TIFF",
        "TIFF",
        (".tif", ".tiff"),
        write=True,
        bits16=True,
        alpha=True,
        gray=True,
        metadata=True,
        aliases=("TIF",),
    ),
    ImageFormat(
        "WEBP",
        "WebP",
        (".webp",),
        write=True,
        lossy=True,
        max_side=16_383,
        alpha=True,
        metadata=True,
    ),  # fmt: skip
    # BMP: Pillow's 32-bit BMPs are read back as "no alpha" by most readers (Pillow
    # included), so transparency is flattened, as a photographer would see it anyway.
    ImageFormat(
        "BMP", "BMP", (".bmp", ".dib"), write=True, gray=True, aliases=("DIB",), plugins=("DIB",)
    ),
    # GIF is read (first frame) but written as PNG: a restored photo does not fit in
    # GIF's 256 colours.
    ImageFormat("GIF", "GIF", (".gif",), write=False),
)

BY_NAME: dict[str, ImageFormat] = {f.name: f for f in FORMATS}
_ALIASES: dict[str, str] = {alias: f.name for f in FORMATS for alias in f.aliases}

# Suffix -> format, for every format read.
READ_SUFFIXES: dict[str, str] = {s: f.name for f in FORMATS for s in f.suffixes}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(READ_SUFFIXES)

WRITABLE: tuple[ImageFormat, ...] = tuple(f for f in FORMATS if f.write)
WRITABLE_FORMATS: tuple[str, ...] = tuple(f.name for f in WRITABLE)
FORMAT_SUFFIX: dict[str, str] = {f.name: f.suffix for f in WRITABLE}

# Pillow plugins allowed to open a file: anything else is refused by name. (The
# JPEG plugin also opens MPO, the JPEGs of cameras that embed a second picture.)
PILLOW_OPEN_FORMATS: tuple[str, ...] = tuple(n for f in FORMATS for n in (f.name, *f.plugins))

# Camera raw files are TIFF-like: Pillow would open the small preview inside
# and pass it off as the photo. They are refused by suffix and by content.
RAW_SUFFIXES: frozenset[str] = frozenset(
    {
        ".3fr", ".arw", ".cr2", ".cr3", ".crw", ".dcr", ".dng", ".erf", ".iiq", ".k25",
        ".kdc", ".mef", ".mos", ".mrw", ".nef", ".nrw", ".orf", ".pef", ".raf", ".raw",
        ".rw2", ".rwl", ".sr2", ".srf", ".srw", ".x3f",
    }
)  # fmt: skip


def _listed(names: list[str]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


# The diagnostics' words for what is read, e.g. "Revive reads JPEG, PNG, ... and GIF".
READS = "Revive reads " + _listed([f.label for f in FORMATS])
WRITES_HELP = ", ".join(f.name.lower() for f in WRITABLE)  # the CLI's --format help


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


def format_choices() -> list[tuple[str, str]]:
    """(value, label) for an app's output-format picker; "" keeps the original's format."""
    return [("", "Same as original"), *((f.name, f.label) for f in WRITABLE)]


def dialog_filter(formats: tuple[ImageFormat, ...] = FORMATS, title: str = "Photos") -> str:
    """A Qt file-dialog filter, e.g. "Photos (*.jpg *.jpeg ...);;All files (*)"."""
    patterns = " ".join(f"*{s}" for f in formats for s in f.suffixes)
    return f"{title} ({patterns});;All files (*)"
