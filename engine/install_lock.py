"""One writer at a time per weights folder, across processes (the app, `revive models
download`, `revive models import`, `revive train --install`).

A lock file (``.install.lock`` in the folder, ``filelock``: an OS lock, so a process
that is killed releases it at once) is held while a weight set is written or moved in,
and by a catalogue download from its "already installed?" check to its end. A second
writer waits its turn; readers never wait (a set appears whole, by its manifest, or not
at all).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

LOCK_NAME = ".install.lock"


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str], name: str = LOCK_NAME) -> Iterator[None]:
    """Hold ``folder``'s lock file (made if missing) for the ``with`` block; waits for it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / name, is_singleton=True):
        yield
