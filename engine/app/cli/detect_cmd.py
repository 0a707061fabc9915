"""``revive detect PATH...``: print the faces found, one line each (scripting, debugging)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ...errors import ReviveError
from .common import collect


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("detect", help="print the faces found in photos")
    p.add_argument("paths", nargs="+", metavar="PATH", help="photos, folders or glob patterns")
    p.add_argument("--min-face-size", type=float, default=16.0, metavar="PX")
    p.add_argument("--min-score", type=float, default=0.9, metavar="P")
    p.add_argument("--json", action="store_true", help="one JSON object per photo instead")
    p.add_argument("-r", "--recursive", action="store_true", help="look into sub-folders")
    p.set_defaults(handler=cmd_detect)


def cmd_detect(args: argparse.Namespace) -> int:
    """One line per face; a photo that fails (unreadable, no face) is one line on stderr.

    Exit 0 only when every argument named photos and a face was found in each.
    """
    from ...batch import named
    from ...io import load_photo
    from ...options import RestoreOptions

    options = RestoreOptions.of(min_face_size=args.min_face_size, min_score=args.min_score)
    paths, failed = collect(args)
    restorer: Any = None  # made (torch imported) when the first photo decodes
    for path in paths:
        try:
            photo = load_photo(path, max_megapixels=options.photo.max_megapixels)
            if restorer is None:
                from ...pipeline import Restorer

                restorer = Restorer(options)
            faces = restorer.detect(photo)
        except ReviveError as err:
            print(f"revive: {named(path.name, str(err))}", file=sys.stderr)
            failed += 1
            continue
        if args.json:
            print(json.dumps({"path": str(path), "faces": [_face_dict(f) for f in faces]}))
        else:
            for i, face in enumerate(faces, 1):
                print(_face_line(path.name, i, face))
            print(f"{path.name}: {len(faces)} face(s)")
        if not faces:
            print(f"revive: {path.name}: no face found", file=sys.stderr)
            failed += 1
    return 1 if failed or not paths else 0


def _face_dict(face) -> dict:
    return {
        "box": [round(float(v), 1) for v in face.box],
        "score": round(face.score, 4),
        "landmarks": [[round(float(x), 1), round(float(y), 1)] for x, y in face.landmarks],
    }


def _face_line(name: str, index: int, face) -> str:
    x0, y0, x1, y1 = (round(float(v)) for v in face.box)
    marks = " ".join(f"{x:.0f},{y:.0f}" for x, y in face.landmarks)
    return (
        f"{name}\tface {index}\tbox {x0},{y0},{x1},{y1}\tscore {face.score:.3f}\tlandmarks {marks}"
    )
