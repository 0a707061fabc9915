"""PSNR-Y gain of a weight set over bicubic on held-out UTKFace faces (shipped-model tests)."""

from __future__ import annotations

from tests.conftest import shared_path
from training.evaluate import EvalOptions, evaluate


def gain_over_bicubic(weights: str, degradation: str, limit: int = 48) -> float:
    """dB over bicubic on the first ``limit`` validation faces (``shared`` data needed)."""
    report = evaluate(
        EvalOptions(
            data=str(shared_path("faces", "utkface")),
            list_file=str(shared_path("faces", "utkface-val.txt")),
            weights=weights,
            degradation=degradation,
            metrics=("psnr",),
            limit=limit,
            device="cpu",
        )
    )
    return report.rows[weights]["psnr_y"] - report.rows["bicubic"]["psnr_y"]
