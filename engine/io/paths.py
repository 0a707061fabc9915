"""Which files to process and where their results go.

``collect_photos`` expands what a user typed or dropped (files, folders,
globs) into photo paths, in a stable, natural order (IMG_2 before IMG_10).
Folders contribute their supported files, not recursively unless asked, and
skip hidden files and earlier results (``*_revived.*``), so running Revive
twice over a folder does not restore its own outputs; so do glob patterns
(``'*.jpg'`` quoted, which Revive expands). A file named explicitly is always
kept, whatever its name. One file named twice (``a.jpg dir/../a.jpg``, a link)
is restored once.

Output names always fit the file system's limit on one name (255 bytes): the
stem of a long input name is shortened to make room for ``_revived``.
"""

from __future__ import annotations

import errno
import glob
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

from engine.atomic import fit_name, name_bytes, name_max
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
    return folder / fitted_name(source.stem, f"{suffix}{ext}", name_max(_existing(folder)))


def fitted_name(stem: str, tail: str, limit: int) -> str:
    """``stem + tail``, the stem shortened so the whole name takes at most ``limit`` bytes."""
    room = limit - name_bytes(tail)
    return f"{fit_name(stem, max(1, room))}{tail}"


def numbered(path: Path, n: int) -> Path:
    """``path`` with ``-n`` before its suffix (``x_revived-2.jpg``), still a legal name."""
    tail = f"-{n}{path.suffix}"
    return path.with_name(fitted_name(path.stem, tail, name_max(_existing(path.parent))))


def _existing(folder: Path) -> Path:
    """``folder`` or its nearest existing parent (an output folder may not exist yet)."""
    for candidate in (folder, *folder.parents):
        try:
            if candidate.is_dir():
                return candidate
        except OSError:
            continue
    return Path(".")


def is_output_name(path: Path, suffix: str = OUTPUT_SUFFIX) -> bool:
    return path.stem.endswith(suffix)


def _natural_key(path: Path) -> tuple:
    parts = re.split(r"(\d+)", str(path).casefold())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def _kind(path: Path, text: str) -> str | None:
    """'folder', 'file' (anything else that exists) or None (nothing by that name)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return "file" if path.is_symlink() else None  # a dangling link: load_photo says so
    except NotADirectoryError:
        return None
    except OSError as err:
        name = path.name or text
        if err.errno == errno.ENAMETOOLONG:
            raise ImageReadError(f"{fit_name(name, 60)}...: the name is too long") from None
        raise ImageReadError(f"{name}: cannot be read ({err.strerror or err})") from None
    return "folder" if stat.S_ISDIR(info.st_mode) else "file"


def file_key(path: Path) -> tuple:
    """What makes two paths one file: device and inode where the file exists (links,
    ``..``), else the normalised absolute path."""
    try:
        info = path.stat()
    except OSError:
        return ("path", os.path.normcase(os.path.abspath(path)))
    return ("inode", info.st_dev, info.st_ino)


def _hidden(path: Path, base: Path | None = None) -> bool:
    parts = path.relative_to(base).parts if base is not None else (path.name,)
    return any(part.startswith(".") for part in parts)


def _folder_photos(folder: Path, recursive: bool) -> list[Path]:
    found = []
    walker = folder.rglob("*") if recursive else folder.iterdir()
    for path in walker:
        if _hidden(path, folder):
            continue
        if (
            path.suffix.lower() in SUPPORTED_SUFFIXES
            and not is_output_name(path)
            and path.is_file()
        ):
            found.append(path)
    return sorted(found, key=_natural_key)


def collect_photos(
    args: Iterable[str | os.PathLike[str]],
    *,
    recursive: bool = False,
    seen: set[tuple] | None = None,
) -> list[Path]:
    """Photo paths named by ``args`` (files, folders, glob patterns), without duplicates.

    Raises ImageReadError for an argument that names nothing (a missing file,
    or a pattern that matches no photo). ``seen`` (file keys, see ``file_key``) is
    shared between calls that must not return one file twice.
    """
    result: list[Path] = []
    seen = set() if seen is None else seen

    def add(path: Path) -> None:
        key = file_key(path)
        if key not in seen:
            seen.add(key)
            result.append(path)

    for arg in args:
        text = os.fspath(arg)
        path = Path(text).expanduser()
        kind = _kind(path, text)
        if kind == "folder":
            try:
                photos = _folder_photos(path, recursive)
            except OSError as err:
                reason = err.strerror or type(err).__name__
                raise ImageReadError(f"{path.name or text}: cannot be read ({reason})") from None
            for photo in photos:
                add(photo)
        elif kind == "file":
            add(path)
        elif _GLOB_CHARS.search(text):
            # Like a folder: earlier results (``*_revived``) and hidden files are left out.
            matches = [
                Path(m)
                for m in glob.glob(os.path.expanduser(text), recursive=recursive)
                if Path(m).suffix.lower() in SUPPORTED_SUFFIXES
                and not is_output_name(Path(m))
                and not _hidden(Path(m))
                and Path(m).is_file()
            ]
            if not matches:
                raise ImageReadError(f"{text}: no photo matches this pattern")
            for match in sorted(matches, key=_natural_key):
                add(match)
        else:
            raise ImageReadError(f"{path.name or text}: file not found")
    return result
