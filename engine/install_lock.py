"""One writer at a time per weights folder, across processes (the app, `revive models
download`, `revive models import`, `revive train --install`, `revive export`).

A lock file (``filelock``: an OS lock, so a process that is killed releases it at once)
is held while a weight set is written or moved into a folder, and by a catalogue
download from its "already installed?" check to its end. A second writer waits its
turn; readers never wait (a set appears whole, by its manifest, or not at all). The lock
files live in the per-user data folder (``locks/``, named after the folder they guard),
so no folder the user picked gets a stray file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

from .paths import user_data_dir


def lock_path(folder: str | os.PathLike[str], topic: str = "") -> Path:
    """The lock file guarding ``folder`` (and ``topic`` in it, e.g. one model's download)."""
    key = f"{os.path.realpath(folder)}\0{topic}".encode("utf-8", "surrogateescape")
    return user_data_dir() / "locks" / f"{hashlib.sha256(key).hexdigest()[:32]}.lock"


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str], topic: str = "") -> Iterator[None]:
    """Hold ``folder``'s lock for the ``with`` block, waiting for another holder."""
    path = lock_path(folder, topic)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path, is_singleton=True):
        yield
