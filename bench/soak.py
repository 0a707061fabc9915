"""A long batch in one process: does memory or the open-file count creep up?

Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/soak.py [--photos 500] [--every 50]
[--folder runs/soak]``

It composes ``--photos`` group photos from the shared UTKFace faces (``../shared/data``;
two to four faces on a textured background, JPEG, written once into
``FOLDER/in``, never committed), then restores all of them in this one process through
``engine.batch.restore_batch``, the loop behind ``revive restore``, with the default
options and the shipped weights, into ``FOLDER/out``. Every ``--every`` photos it prints
the resident memory (RSS), the open file descriptors and the seconds per photo since the
last row. After the warm-up row (the first ``--every`` photos: weights, detector, caches)
RSS should grow by no more than 10 % and the descriptor count not at all; the last lines
say whether it did. A benchmark, not a test: it exits 1 when either limit is broken.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("REVIVE_SHARED_DATA", REPO.parent / "shared" / "data"))
FACES = SHARED / "faces" / "utkface"
RSS_GROWTH_LIMIT = 0.10


def rss_mib() -> float:
    """Resident memory now (not the peak), from /proc where there is one."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def open_fds() -> int:
    for folder in ("/proc/self/fd", "/dev/fd"):
        if os.path.isdir(folder):
            return len(os.listdir(folder)) - 1  # listdir's own descriptor
    return -1


def compose_photos(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """``count`` group photos of 2-4 UTKFace faces each (made once, reused afterwards)."""
    import numpy as np
    from PIL import Image, ImageFilter

    folder.mkdir(parents=True, exist_ok=True)
    wanted = [folder / f"group-{i:04d}.jpg" for i in range(count)]
    if all(p.is_file() for p in wanted):
        return wanted
    faces = sorted(FACES.glob("*.jpg"))
    if not faces:
        raise SystemExit(f"no faces in {FACES}: the soak needs ../shared/data")
    rng = random.Random(seed)
    for i, path in enumerate(wanted):
        n = rng.randint(2, 4)
        side = rng.randint(110, 170)
        width, height = n * (side + 40) + 40, side + 120
        noise = np.random.default_rng(seed + i).integers(60, 200, (height // 8, width // 8, 3))
        canvas = Image.fromarray(noise.astype(np.uint8)).resize((width, height))
        canvas = canvas.filter(ImageFilter.GaussianBlur(3))
        for k, face_path in enumerate(rng.sample(faces, n)):
            with Image.open(face_path) as face:
                face = face.convert("RGB").resize((side, side), Image.Resampling.BICUBIC)
            canvas.paste(face, (40 + k * (side + 40), 60))
        small = canvas.resize((width // 2, height // 2), Image.Resampling.BICUBIC)
        degraded = small.resize((width, height), Image.Resampling.BICUBIC)
        degraded.save(path, "JPEG", quality=rng.randint(40, 80))
    return wanted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=500)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--folder", default=str(REPO / "runs" / "soak"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from engine.batch import BatchItem, SaveOptions, restore_batch
    from engine.options import RestoreOptions
    from engine.pipeline import Restorer

    folder = Path(args.folder)
    photos = compose_photos(folder / "in", args.photos, args.seed)
    options = RestoreOptions.of()  # the defaults, as `revive restore` has them
    restorer = Restorer(options)
    restorer.check(options)
    rows: list[tuple[int, float, int, float]] = []
    clock = [time.perf_counter()]
    done = [0, 0]  # photos, of which failed

    print(f"{'photos':>6}  {'RSS MiB':>8}  {'open fds':>8}  {'s/photo':>7}", flush=True)

    def on_photo(outcome) -> None:
        done[0] += 1
        done[1] += outcome.status != "ok"
        if done[0] % args.every == 0:
            now = time.perf_counter()
            rows.append((done[0], rss_mib(), open_fds(), (now - clock[0]) / args.every))
            clock[0] = now
            print(f"{rows[-1][0]:>6}  {rows[-1][1]:>8.0f}  {rows[-1][2]:>8}  {rows[-1][3]:>7.2f}",
                  flush=True)  # fmt: skip

    restore_batch(
        restorer,
        [BatchItem.of(p) for p in photos],
        options,
        SaveOptions(folder=folder / "out"),
        on_photo=on_photo,
    )
    if len(rows) < 2:
        print("too few rows to judge growth")
        return 0
    warm, last = rows[0], rows[-1]
    growth = (last[1] - warm[1]) / warm[1]
    fd_change = last[2] - warm[2]
    print(f"{done[0]} photos, {done[1]} refused; after the warm-up ({warm[0]} photos):")
    print(f"RSS {warm[1]:.0f} -> {last[1]:.0f} MiB ({growth:+.1%}, limit +{RSS_GROWTH_LIMIT:.0%})")
    print(f"open fds {warm[2]} -> {last[2]} ({fd_change:+d}, limit 0)")
    return 0 if growth <= RSS_GROWTH_LIMIT and fd_change <= 0 else 1


if __name__ == "__main__":
    sys.exit(main())
