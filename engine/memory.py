"""Give the memory a finished photo freed back to the system (glibc), between photos.

Each photo allocates and frees large, differently sized arrays (decode, detector
pyramid, pastes). glibc keeps such freed blocks in its heaps instead of returning
them, so a long batch's resident size climbs although nothing is live (``bench/soak.py``
measured it). ``malloc_trim(0)`` hands the free pages back; elsewhere (macOS, Windows,
musl) there is nothing to do and this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Callable


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_freed_memory() -> None:
    """Return the heap's free pages to the system, where the C library allows it."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
