"""What ``revive restore`` and ``revive detect`` share: which files the arguments name."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...errors import ReviveError


def collect(args: argparse.Namespace) -> tuple[list[Path], int]:
    """Photos named by the arguments, each file once, and how many arguments named none.

    Each argument that names nothing (a missing file, a pattern matching no photo, a
    folder without photos) is reported in one line, and the others go on.
    """
    from ...io import collect_photos
    from ...io.paths import file_key

    paths: list[Path] = []
    seen: set[tuple] = set()  # one file named twice (a.jpg dir/../a.jpg, a link) counts once
    bad = 0
    for arg in args.paths:
        try:
            found = collect_photos([arg], recursive=getattr(args, "recursive", False))
        except ReviveError as err:
            print(f"revive: {err}", file=sys.stderr)
            bad += 1
            continue
        if not found:
            print(f"revive: {arg}: no photos in this folder", file=sys.stderr)
            bad += 1
        for path in found:
            key = file_key(path)
            if key not in seen:
                seen.add(key)
                paths.append(path)
    return paths, bad


def device_name(text: str) -> str:
    """An argparse type: auto | cuda | cuda:N | mps | cpu (whether it is there: on use)."""
    name = text.strip().lower()
    kind, _, index = name.partition(":")
    if kind not in ("auto", "cuda", "mps", "cpu") or (index and not index.isdigit()):
        raise argparse.ArgumentTypeError(
            f"unknown device {text!r}; choose auto, cuda, cuda:N, mps or cpu"
        )
    return name
