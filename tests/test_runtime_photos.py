"""A whole photo restored with ``--runtime onnx`` is torch's: the same faces, at least
50 dB PSNR apart, likeness figures within 0.01 (issue 26). ``bench/bench_runtime.py
--photos`` runs the same comparison on every photo of ../shared/data/real."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.app.selftest import psnr
from engine.pipeline import RestoreOptions, Restorer
from engine.runtimes.export import onnx_cache_dir
from tests.conftest import shared_path

pytest.importorskip("onnxruntime")


@dataclass
class Comparison:
    faces: tuple[int, int]  # found by torch's run, by ONNX Runtime's
    box_shift: float  # px, largest
    psnr_db: float  # of the two results
    likeness_gap: float  # largest |cosine difference| over the faces (0: no check here)
    seconds: tuple[float, float]


def compare_runtimes(photo: Path, **settings) -> Comparison:
    """Restore ``photo`` on torch, then on ONNX Runtime (shipped models, default options)."""
    import time

    results = []
    seconds = []
    for runtime in ("torch", "onnx"):
        start = time.perf_counter()
        results.append(Restorer().restore(photo, RestoreOptions.of(network_runtime=runtime,
                                                                    **settings)))  # fmt: skip
        seconds.append(time.perf_counter() - start)
    a, b = results
    shift = max(
        (float(np.abs(f.box - g.box).max()) for f, g in zip(a.faces, b.faces, strict=False)),
        default=0,
    )
    pairs = zip(a.faces, b.faces, strict=False)
    gaps = [abs(f.identity.cosine - g.identity.cosine) for f, g in pairs
            if f.identity is not None and g.identity is not None]  # fmt: skip
    peak = 65535.0 if a.image.dtype == np.uint16 else 255.0
    db = psnr(a.image.astype(np.float64) / peak, b.image.astype(np.float64) / peak)
    return Comparison((len(a.faces), len(b.faces)), shift, db, max(gaps, default=0.0),
                      (seconds[0], seconds[1]))  # fmt: skip


@pytest.mark.shared
@pytest.mark.slow
def test_a_whole_photo_on_onnx_runtime_is_torch_s(user_data_dir):
    photo = shared_path("real", "sparnet", "test_hzgg.jpg")
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        found = compare_runtimes(photo, min_face_size=40)
    finally:
        torch.set_num_threads(threads)
    assert any(onnx_cache_dir().glob("sparnet_blind128_s-*.onnx"))  # ONNX Runtime did run
    assert any(onnx_cache_dir().glob("mtcnn-pnet-*.onnx"))  # detection ran on it too
    # the same faces; MTCNN's nets on ONNX Runtime move a box by float rounding only
    assert found.faces == (3, 3) and found.box_shift < 1.0
    assert found.psnr_db >= 50
    assert found.likeness_gap <= 0.01
