"""Real weight sets of the test-only tiny presets, saved into a per-user folder.

Restoration needs installed weights; tests install randomly initialised (seeded) tiny
networks through ``engine.weights.save_weights``, so the pipeline loads them by the real
path (manifest, sha256 check, preset). They restore nothing useful, which is fine for
geometry, blending, colour and plumbing tests.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from engine.models import create_model
from engine.paths import resources_without_restorers
from engine.weights import save_weights

REPO = Path(__file__).resolve().parent.parent

TINY = {
    "hd": "sparnethd_tiny",
    "x8": "sparnet_x8_tiny",
    "cagface": "cagface_tiny",
    "components": "components_tiny",
}


def install_tiny_weights(data_dir: Path, which: tuple[str, ...] = tuple(TINY)) -> None:
    """Save seeded tiny weight sets (named ``test-<preset>``) under ``data_dir/weights``."""
    for key in which:
        preset = TINY[key]
        torch.manual_seed(sum(map(ord, preset)))
        net = create_model(preset)
        save_weights(net.state_dict(), data_dir / "weights", f"test-{preset}", preset)


IDENTITY_RESTORER = "identity128"


def install_identity_restorer(
    data_dir: Path, offset: float = 0.0, name: str = IDENTITY_RESTORER
) -> str:
    """``sparnet_blind128_s`` with a zero last convolution: its output is its input
    exactly (a residual preset), so tests can tell the pipeline's effects from the
    network's. ``offset`` (in the network's [-1, 1] range) makes its correction a known
    constant instead of zero. Saved as ``name``; returns it."""
    net = create_model("sparnet_blind128_s")
    with torch.no_grad():
        net.out_conv.conv2d.weight.zero_()
        net.out_conv.conv2d.bias.fill_(offset)
    save_weights(net.state_dict(), data_dir / "weights", name, "sparnet_blind128_s")
    return name


@contextlib.contextmanager
def identity_user_folder(folder: Path) -> Iterator[Path]:
    """Point REVIVE_DATA_DIR at ``folder`` holding the identity restorer, one torch thread."""
    install_identity_restorer(folder)
    with one_torch_thread(), pytest.MonkeyPatch.context() as mp:
        mp.setenv("REVIVE_DATA_DIR", str(folder))
        yield folder


@contextlib.contextmanager
def tiny_user_folder(folder: Path, which: tuple[str, ...] = tuple(TINY)) -> Iterator[Path]:
    """Point REVIVE_DATA_DIR at ``folder`` holding the tiny sets, for a module's tests.

    Torch runs one thread meanwhile: tiny networks gain nothing from two, and on a
    shared, busy CPU two OpenMP threads of many small ops can run 50x slower than one.
    """
    install_tiny_weights(folder, which)
    resources = resources_without_restorers(folder.parent / f"{folder.name}-resources")
    with one_torch_thread(), pytest.MonkeyPatch.context() as mp:
        mp.setenv("REVIVE_DATA_DIR", str(folder))
        mp.setenv("REVIVE_RESOURCES", str(resources))
        yield folder


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch on one thread meanwhile (tiny networks: see ``tiny_user_folder``)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
