"""A run's logs: CSV files (always), TensorBoard (when importable), PNG plots (matplotlib).

``train_log.csv`` has one row per logged step (step, wall seconds, samples per
second, every loss); ``val_log.csv`` one row per validation. On resume the rows
after the checkpoint's step are dropped, so the logs read as one uninterrupted run.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from engine.atomic import write_text_atomic

TRAIN_LOG = "train_log.csv"
VAL_LOG = "val_log.csv"


def read_csv(path: Path) -> tuple[list[str], list[dict[str, float]]]:
    """Columns and rows (values as floats; empty cells skipped) of a log file."""
    if not path.is_file():
        return [], []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in reader]
        return list(reader.fieldnames or []), rows


class CsvLog:
    """Append rows to a CSV whose columns are fixed by its first row (or its header)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.columns: list[str] = read_csv(path)[0]

    def truncate_after(self, step: int) -> None:
        columns, rows = read_csv(self.path)
        if not columns:
            return
        kept = [r for r in rows if r.get("step", 0) <= step]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns)
        writer.writeheader()
        for r in kept:
            writer.writerow({k: _fmt(r[k]) for k in columns if k in r})
        write_text_atomic(self.path, buf.getvalue())

    def write(self, row: Mapping[str, float]) -> None:
        new = not self.columns
        if new:
            self.columns = ["step", *[k for k in row if k != "step"]]
        extra = [k for k in row if k not in self.columns]
        if extra:  # a column appears late (rare): rewrite the file with it
            columns, rows = read_csv(self.path)
            self.columns = [*self.columns, *extra]
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=self.columns)
            writer.writeheader()
            for r in rows:
                writer.writerow({k: _fmt(v) for k, v in r.items()})
            write_text_atomic(self.path, buf.getvalue())
            new = False
        with open(self.path, "a", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns)
            if new:
                writer.writeheader()
            writer.writerow({k: _fmt(v) for k, v in row.items()})


def _fmt(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}"


class RunLog:
    """CSV logs of one run, mirrored to TensorBoard when it can be imported."""

    def __init__(self, run_dir: Path, tensorboard: bool = True) -> None:
        self.run_dir = run_dir
        self.train = CsvLog(run_dir / TRAIN_LOG)
        self.val = CsvLog(run_dir / VAL_LOG)
        self.notes: list[str] = []
        self.tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(run_dir / "tensorboard"))
            except Exception as err:  # tensorboard is optional
                self.notes.append(f"TensorBoard log off ({type(err).__name__}: {err})")

    def truncate_after(self, step: int) -> None:
        self.train.truncate_after(step)
        self.val.truncate_after(step)

    def log_train(self, step: int, values: Mapping[str, float]) -> None:
        self.train.write({"step": step, **values})
        if self.tb is not None:
            for k, v in values.items():
                self.tb.add_scalar(f"train/{k}", v, step)

    def log_val(self, step: int, values: Mapping[str, float]) -> None:
        self.val.write({"step": step, **values})
        if self.tb is not None:
            for k, v in values.items():
                self.tb.add_scalar(f"val/{k}", v, step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def note_lines(notes: Sequence[str]) -> str:
    return "".join(f"note: {n}\n" for n in notes)
