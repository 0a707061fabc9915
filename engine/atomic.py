"""Atomic file writes: a temp file in the target folder, then one rename.

A reader (or a crash) never sees a half-written output; a cancelled or failed
write leaves the previous file, if any, untouched.

The temporary file is hidden and named after its target and the writing process:
``.<name>.<pid>.<random>.part``, shortened so that it is a legal name whenever the
target's name is. A process killed outright (SIGKILL, a power cut) cannot remove its
temporary file; the next write into that folder removes it (its process is gone, or
it is more than a day old).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

PART_SUFFIX = ".part"
NAME_MAX = 255  # bytes in one file name (ext4, APFS, NTFS in UTF-16 units); pathconf may say
_RANDOM = 8  # characters mkstemp adds (the {8} of the patterns below)
_PART = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[A-Za-z0-9_]{8}\.part$")
_LEGACY_PART = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.part$")
_STALE_AGE_S = 24 * 3600  # no write takes a day: an older temp file is stale whoever made it
_LEGACY_STALE_AGE_S = 3600
_swept: set[str] = set()
_swept_lock = threading.Lock()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_parts(target.parent)
    prefix = f".{fit_name(target.name, name_max(target.parent) - _overhead())}.{os.getpid()}."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=PART_SUFFIX, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, _final_mode(target))
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def _overhead() -> int:
    """Bytes a temporary name adds to its target's: dots, the pid, mkstemp's part, .part."""
    return len(f"..{os.getpid()}.") + _RANDOM + len(PART_SUFFIX)


def name_max(folder: str | os.PathLike[str]) -> int:
    """The longest file name, in bytes, that ``folder``'s file system takes (255 if unknown)."""
    try:
        value = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return NAME_MAX
    return value if isinstance(value, int) and 14 <= value <= NAME_MAX else NAME_MAX


def name_bytes(name: str) -> int:
    """The length of a file name as the file system counts it."""
    return len(os.fsencode(name))


def fit_name(name: str, limit: int) -> str:
    """``name`` cut to at most ``limit`` bytes (whole characters where the name is text)."""
    raw = os.fsencode(name)
    if len(raw) <= limit:
        return name
    cut = raw[: max(1, limit)]
    for drop in range(4):  # a UTF-8 name: do not split its last character
        try:
            return cut[: len(cut) - drop].decode("utf-8") if drop < len(cut) else os.fsdecode(cut)
        except UnicodeDecodeError:
            continue
    return os.fsdecode(cut)  # not UTF-8: keep the bytes as they are


def sweep_stale_parts(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files that killed writers left in ``folder``; once per process.

    A temporary file is stale when the process named in it no longer runs, or when it
    is more than a day old. Files of running writers are never touched.
    """
    folder = Path(folder)
    key = os.path.normcase(os.path.abspath(folder))
    with _swept_lock:
        if key in _swept:
            return []
        _swept.add(key)
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    now = time.time()
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(PART_SUFFIX)):
            continue
        match = _PART.match(entry.name)
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if match is not None:
            stale = age > _STALE_AGE_S or not _alive(int(match.group("pid")))
        else:  # written before temporary names carried their writer's pid
            stale = _LEGACY_PART.match(entry.name) is not None and age > _LEGACY_STALE_AGE_S
        if stale:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # Windows' os.kill would end the process
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # someone else's process, or cannot tell: leave its file alone
    return True


def _final_mode(target: Path) -> int:
    """The mode a plain ``open(target, "w")`` would give: the old file's, else 0666 - umask.

    ``mkstemp`` creates its file readable by the owner alone; without this, every
    output would end up private to its writer.
    """
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_bytes_atomic(target: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(target: str | os.PathLike[str], text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))
