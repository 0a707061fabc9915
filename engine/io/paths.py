"""Which files to process and where their results go.

``collect_photos`` expands what a user typed or dropped (files, folders,
globs) into photo paths, in a stable, natural order (IMG_2 before IMG_10).
Folders contribute their supported files, not recursively unless asked, and
skip hidden files and earlier results (``*_revived.*``), so running Revive
twice over a folder does not restore its own outputs. A file named
explicitly is always kept, whatever its name.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable
from pathlib import Path

from engine.errors import ImageReadError
from engine.io.formats import FORMAT_SUFFIX, SUPPORTED_SUFFIXES, format_for_suffix

OUTPUT_SUFFIX = "_revived"
_GLOB_CHARS = re.compile(r"[*?\[]")


def output_path_for(
    input_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    suffix: str = OUTPUT_SUFFIX,
    ext: str | None = None,
) -> Path:
    """``<stem><suffix>.<ext>`` in ``out_dir`` (default: beside the input).

    ``ext`` defaults to the input's own extension (same case), except for
    formats Revive does not write (GIF), which become ``.png``.
    """
    source = Path(input_path)
    folder = Path(out_dir) if out_dir is not None else source.parent
    if ext is None:
        ext = source.suffix if format_for_suffix(source.suffix) else FORMAT_SUFFIX["PNG"]
    elif ext and not ext.startswith("."):
        ext = "." + ext
    return folder / f"{source.stem}{suffix}{ext}"


def is_output_name(path: Path, suffix: str = OUTPUT_SUFFIX) -> bool:
    return path.stem.endswith(suffix)


def _natural_key(path: Path) -> tuple:
    parts = re.split(r"(\d+)", str(path).casefold())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def _folder_photos(folder: Path, recursive: bool) -> list[Path]:
    found = []
    walker = folder.rglob("*") if recursive else folder.iterdir()
    for path in walker:
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if (
            path.suffix.lower() in SUPPORTED_SUFFIXES
            and not is_output_name(path)
            and path.is_file()
        ):
            found.append(path)
    return sorted(found, key=_natural_key)


def collect_photos(
    args: Iterable[str | os.PathLike[str]], *, recursive: bool = False
) -> list[Path]:
    """Photo paths named by ``args`` (files, folders, glob patterns), without duplicates.

    Raises ImageReadError for an argument that names nothing (a missing file,
    or a pattern that matches no photo).
    """
    result: list[Path] = []
    seen: set[str] = set()

    def add(path: Path) -> None:
        key = os.path.normcase(os.path.abspath(path))
        if key not in seen:
            seen.add(key)
            result.append(path)

    for arg in args:
        text = os.fspath(arg)
        path = Path(text).expanduser()
        if path.is_dir():
            for photo in _folder_photos(path, recursive):
                add(photo)
        elif path.exists():
            add(path)
        elif _GLOB_CHARS.search(text):
            matches = [
                Path(m)
                for m in glob.glob(os.path.expanduser(text), recursive=recursive)
                if Path(m).suffix.lower() in SUPPORTED_SUFFIXES and Path(m).is_file()
            ]
            if not matches:
                raise ImageReadError(f"{text}: no photo matches this pattern")
            for match in sorted(matches, key=_natural_key):
                add(match)
        else:
            raise ImageReadError(f"{path.name or text}: file not found")
    return result
