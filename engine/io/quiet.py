"""Silence the C libraries under the decoders and encoders (libpng, libtiff, OpenCV).

They print their own warnings straight to the process's stderr (``libpng warning: ...``,
``ZIPDecode: ...``, ``[ WARN:0@0.2] global grfmt_tiff.cpp ...``), around Revive's one
line about the same file. While a photo is decoded or encoded, file descriptor 2 points
at the null device; what the libraries had to say reaches the user as Revive's own
message (the file is damaged, truncated ...). Nested and concurrent uses share one
redirection, which ends when the last one does.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_depth = 0
_saved_fd: int | None = None


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    global _depth, _saved_fd
    with _lock:
        if _depth == 0:
            _saved_fd = _redirect()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved_fd is not None:
                with contextlib.suppress(OSError):
                    os.dup2(_saved_fd, 2)
                with contextlib.suppress(OSError):
                    os.close(_saved_fd)
                _saved_fd = None


def _redirect() -> int | None:
    """Point fd 2 at the null device; the saved original, or None where there is no fd 2."""
    with contextlib.suppress(Exception):
        if sys.stderr is not None:
            sys.stderr.flush()  # Python's own pending output goes out first
    try:
        saved = os.dup(2)
    except OSError:
        return None
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
        finally:
            os.close(null)
    except OSError:
        os.close(saved)
        return None
    return saved
