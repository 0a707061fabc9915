"""Before / after of every face in real old photos, as one picture to look at.

Run: ``.venv/bin/python bench/real_photo_grid.py [--weights NAME] [--data ../shared/data/real]
[--out runs/real-grid.png] [--limit N]``. Each photo of ``--data`` (recursively) is
restored by the real pipeline (detect, align, network, paste) and each face gets one
row cell: the face in the photo before, and after, at the same size, cut from the
photos themselves (so seams and colour show too). The picture goes to ``runs/`` (it
shows faces from the shared data: never commit it). Prints one line per photo.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from engine.errors import ReviveError
from engine.io import collect_photos, load_photo
from engine.pipeline import RestoreOptions, Restorer
from engine.pixels import to_uint8

CELL = 144


def face_square(image: np.ndarray, box: np.ndarray, scale: int) -> np.ndarray:
    """A square around the face box (1.4 box sides), from ``image``, at CELL px."""
    x0, y0, x1, y1 = np.asarray(box, np.float64) * scale
    side = 1.4 * max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    shift = np.array([[CELL / side, 0, CELL / 2 - cx * CELL / side],
                      [0, CELL / side, CELL / 2 - cy * CELL / side]])  # fmt: skip
    return cv2.warpAffine(to_uint8(image), shift, (CELL, CELL), flags=cv2.INTER_AREA,
                          borderMode=cv2.BORDER_REFLECT_101)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", default="auto", help="weights name or model choice")
    parser.add_argument("--data", default="../shared/data/real")
    parser.add_argument("--out", default="runs/real-grid.png")
    parser.add_argument("--limit", type=int, help="at most this many photos")
    parser.add_argument("--columns", type=int, default=6, help="face pairs per row")
    args = parser.parse_args()
    photos = collect_photos([args.data], recursive=True)[: args.limit]
    restorer = Restorer(RestoreOptions.of(model=args.weights, identity=False))
    cells = []
    for path in photos:
        try:
            photo = load_photo(path)
            result = restorer.restore(photo)
        except ReviveError as err:
            print(f"{path.name}: {err}")
            continue
        for face in result.faces:
            before = face_square(result.base, face.box, result.scale)
            after = face_square(result.image, face.box, result.scale)
            if photo.is_grayscale:
                before, after = (np.repeat(x[..., :1], 3, axis=2) for x in (before, after))
            cells.append(np.concatenate([before[..., :3], after[..., :3]], axis=1))
        print(f"{path.name}: {len(result.faces)} face(s), {result.timings['total']:.1f} s")
    if not cells:
        print("no faces restored")
        return 1
    blank = np.full_like(cells[0], 255)
    rows = []
    for i in range(0, len(cells), args.columns):
        row = cells[i : i + args.columns]
        row += [blank] * (args.columns - len(row))
        rows.append(np.concatenate([np.pad(c, ((4, 4), (4, 4), (0, 0)), constant_values=255)
                                    for c in row], axis=1))  # fmt: skip
    grid = np.concatenate(rows, axis=0)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    print(f"{len(cells)} faces -> {out} (each pair: before | after)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
