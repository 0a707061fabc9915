"""Image loading and saving that loses nothing a photographer cares about.

Read: JPEG, PNG, TIFF, WebP, BMP (and GIF, first frame) at 8 or 16 bits, gray,
alpha, palette, CMYK, 1-bit; EXIF orientation applied; ICC profile, EXIF and
XMP kept. Write: the input's format, bit depth, gray/colour and alpha where the
format can hold them, atomically, never over an input. Every failure a user can
cause is one ImageReadError / ImageWriteError line. No Qt here.
"""

from engine.io.formats import (
    SUPPORTED_SUFFIXES,
    WRITABLE_FORMATS,
    normalize_format,
    output_format_for,
)
from engine.io.paths import collect_photos, is_output_name, output_path_for
from engine.io.photo import (
    DEFAULT_MAX_MEGAPIXELS,
    MIN_SIDE_PX,
    Photo,
    from_float_rgb,
    to_float_rgb,
)
from engine.io.read import as_photo, load_photo
from engine.io.write import same_file, save_photo

__all__ = [
    "DEFAULT_MAX_MEGAPIXELS",
    "MIN_SIDE_PX",
    "SUPPORTED_SUFFIXES",
    "WRITABLE_FORMATS",
    "Photo",
    "as_photo",
    "collect_photos",
    "from_float_rgb",
    "is_output_name",
    "load_photo",
    "normalize_format",
    "output_format_for",
    "output_path_for",
    "same_file",
    "save_photo",
    "to_float_rgb",
]
