"""PNG plots of a run's losses and validation metrics, drawn from its CSV logs.

matplotlib is optional (the GPU machine has none): without it ``plot_run`` returns
a note and the CSVs stay the record; ``revive plot RUN`` redraws the PNGs later on
a machine that has it.
"""

from __future__ import annotations

from pathlib import Path

from engine.atomic import atomic_path

from .runlog import TRAIN_LOG, VAL_LOG, read_csv

SKIP = {"step", "wall_s", "cpu_s", "samples_per_s", "lr"}


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot_run(run_dir: str | Path) -> tuple[list[Path], str | None]:
    """Write ``losses.png`` and ``validation.png``; return (written files, note or None)."""
    run_dir = Path(run_dir)
    if not matplotlib_available():
        return [], "matplotlib is not installed: plots skipped (`revive plot RUN` draws them later)"
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    written = []
    for csv_name, png_name, title in (
        (TRAIN_LOG, "losses.png", "training losses"),
        (VAL_LOG, "validation.png", "validation metrics"),
    ):
        columns, rows = read_csv(run_dir / csv_name)
        series = [c for c in columns if c not in SKIP]
        if not rows or not series:
            continue
        fig, axes = plt.subplots(
            len(series), 1, figsize=(7, 2.2 * len(series)), sharex=True, squeeze=False
        )
        for ax, name in zip(axes[:, 0], series, strict=True):
            pts = [(r["step"], r[name]) for r in rows if name in r]
            if pts:
                xs, ys = zip(*pts, strict=True)
                ax.plot(xs, ys, lw=1.2, marker="o" if len(pts) < 30 else None, ms=3)
            ax.set_ylabel(name, fontsize=8)
            ax.grid(alpha=0.3)
        axes[-1, 0].set_xlabel("step")
        fig.suptitle(f"{run_dir.name}: {title}", fontsize=10)
        fig.tight_layout()
        target = run_dir / png_name
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format="png", dpi=90)
        plt.close(fig)
        written.append(target)
    return written, None
