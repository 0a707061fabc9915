"""The bundle's entry point: set up what a frozen app needs, then run ``revive``.

PyInstaller runs ``engine/__main__.py``, which calls :func:`main`. In a bundle:
worker processes (multiprocessing) must re-enter through here; a windowed app may
have no stdout / stderr to print to; and a CPU-only bundle (built without the GPU
kernels, see ``engine.app.bundle``) must hide the GPUs from torch before torch loads,
or torch would try to use kernels that are not there.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Sequence

from .bundle import bundle_info


def prepare_frozen_process() -> None:
    """Streams, worker processes and GPU visibility for a frozen app (no-op otherwise)."""
    if not getattr(sys, "frozen", False):
        return
    multiprocessing.freeze_support()
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:  # a windowed app on Windows has no console
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115
    if bundle_info().get("cuda") is False:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # this bundle carries no GPU kernels


def main(argv: Sequence[str] | None = None) -> int:
    prepare_frozen_process()
    from .cli.main import main as cli_main

    return cli_main(argv)
