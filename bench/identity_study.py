"""Where to flag a face whose restoration no longer looks like the person: the study.

Run (15 to 20 minutes on one busy CPU core with the defaults):
``.venv/bin/python bench/identity_study.py [--data packs/utk128-val] [--limit 1000]
[--weights NAME] [--json study.json]``; ``--calibrate`` re-derives the chip constants
of ``engine.identity`` instead. The numbers and the chosen threshold are in
``docs/identity.md``. It is a benchmark, not a test: nothing here is asserted.

Every figure is ``engine.identity``'s: dlib's face-recognition descriptors of a
"restored" face and its "original", cut with one chip geometry (the restored face's,
refined by dlib's 5-point predictor), cosine similarity and dlib distance.

UTKFace validation faces (128 px, the ``utkface`` template), for each degradation:

* ``perfect``: restored = the clean face, original = its degraded version. What an
  ideal restorer scores: the floor for faces that *kept* their identity.
* ``proxy``: restored = the degraded face denoised and sharpened (a restoration that
  adds no detail), original = the degraded face.
* ``proxy vs clean``: that proxy against the clean face (what ``evaluate`` measures).
* ``different``: clean face of one person against the degraded face of another (each
  with its own geometry): what a face that lost its identity altogether scores.
  UTKFace has no identity labels, so any two of its images are taken as two people
  (true but for a rare repeat); same-person pairs of *different photos* cannot be
  found there.
* ``--weights NAME``: the network's output against its degraded input and against
  the clean face, on the degradation the weights were trained with.

Real photos (``../shared/data``): the low-quality aligned faces of the CodeFormer and
GFPGAN demo folders (colour and black-and-white) against an Eq. 14 degradation of
themselves and against each other; the two people photographed twice there (Einstein,
Hepburn); the GPEN validation pairs (real degraded / clean); the 29 faces of the 1927
Solvay photo (MTCNN, aligned at 128 px) against their x4 down-sampling and each other.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine import identity as ei  # noqa: E402
from engine.faces.align import (  # noqa: E402
    compose,
    fit_similarity,
    template_points,
    transform_points,
    warp_to_template,
)
from training.degrade import (  # noqa: E402
    RESTORER_EQ14,
    Eq14Config,
    bicubic_resize,
    degrade_bicubic,
    degrade_eq14,
    sample_rng,
    to_gray3,
)

SHARED = REPO.parent / "shared" / "data"
PERCENTILES = (1, 5, 25, 50, 75, 95, 99)
CANDIDATES = (0.85, 0.88, 0.90, 0.92, 0.94)  # thresholds whose flag rates are printed


# -- conditions ----------------------------------------------------------------------
def conditions(size: int) -> dict[str, object]:
    """name -> f(clean face, rng) -> (degraded face at the clean size, target)."""

    def eq14(config: Eq14Config):
        def run(face, rng):
            up, _, params = degrade_eq14(face, rng, config)
            return up, (to_gray3(face) if params.gray else face)

        return run

    def bicubic(factor: int):
        return lambda face, rng: (degrade_bicubic(face, factor)[0], face)

    return {
        "eq14 restorer ranges (x2-x8)": eq14(RESTORER_EQ14.for_size(size)),
        "eq14 paper ranges (x4-x32)": eq14(Eq14Config().for_size(size)),
        "bicubic x4": bicubic(4),
        "bicubic x8": bicubic(8),
    }


def restoration_proxy(face: np.ndarray) -> np.ndarray:
    """A 'restored-looking' face with no new detail: non-local-means denoise, unsharp mask."""
    smooth = cv2.fastNlMeansDenoisingColored(face, None, 7, 7, 5, 15)
    blur = cv2.GaussianBlur(smooth, (0, 0), 1.5)
    return cv2.addWeighted(smooth, 2.0, blur, -1.0, 0)


# -- statistics ----------------------------------------------------------------------
def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(1)


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a - b, axis=1)


def different_pairs(n: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random (i, j) index pairs with i != j."""
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, count)
    j = (i + rng.integers(1, n, count)) % n
    return i, j


def eer(same: np.ndarray, diff: np.ndarray) -> tuple[float, float]:
    """Equal-error threshold on cosine and its error rate (same flagged = diff passed)."""
    grid = np.linspace(0.5, 1.0, 5001)
    frr = np.array([(same < t).mean() for t in grid])
    far = np.array([(diff >= t).mean() for t in grid])
    k = int(np.argmin(np.abs(frr - far)))
    return float(grid[k]), float((frr[k] + far[k]) / 2)


class Table:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, group: str, name: str, cos: np.ndarray, dist: np.ndarray) -> None:
        cos, dist = np.asarray(cos, np.float64), np.asarray(dist, np.float64)
        self.rows.append(
            {
                "group": group,
                "pairs": name,
                "n": len(cos),
                "cosine": {f"p{p}": float(np.percentile(cos, p)) for p in PERCENTILES},
                "cosine_mean": float(cos.mean()),
                "distance_median": float(np.median(dist)),
                "distance_p99": float(np.percentile(dist, 99)),
                "flagged": float((cos < ei.IDENTITY_THRESHOLD).mean()),
                "_cos": cos,
            }
        )

    def text(self) -> str:
        head = ["data", "pairs", "n", *[f"cos p{p}" for p in PERCENTILES], "dist p50",
                "dist p99", f"flagged <{ei.IDENTITY_THRESHOLD:.2f}"]  # fmt: skip
        lines = [head]
        for r in self.rows:
            lines.append(
                [
                    r["group"],
                    r["pairs"],
                    str(r["n"]),
                    *[f"{r['cosine'][f'p{p}']:.3f}" for p in PERCENTILES],
                    f"{r['distance_median']:.3f}",
                    f"{r['distance_p99']:.3f}",
                    f"{100 * r['flagged']:.1f} %",
                ]  # fmt: skip
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines
        )

    def flag_text(self, thresholds: tuple[float, ...]) -> str:
        """Share of each row's pairs flagged (cosine below) at candidate thresholds."""
        head = ["data", "pairs", *[f"< {t:.2f}" for t in thresholds]]
        lines = [head]
        for r in self.rows:
            rates = [f"{100 * (r['_cos'] < t).mean():.1f} %" for t in thresholds]
            lines.append([r["group"], r["pairs"], *rates])
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines
        )

    def json(self) -> list[dict]:
        return [{k: v for k, v in r.items() if not k.startswith("_")} for r in self.rows]


# -- UTKFace -------------------------------------------------------------------------
def study_utkface(args: argparse.Namespace, model: ei.IdentityModel, table: Table) -> dict:
    from training.data import load_faces
    from training.pack import read_name_list

    faces = load_faces(
        args.data, size=128, template="utkface", include=read_name_list(args.list),
        limit=args.limit,
    )  # fmt: skip
    size = faces.images.shape[1]
    n = len(faces)
    print(f"{n} UTKFace faces from {args.data}, {size} px", flush=True)
    results = {}
    net = None
    if args.weights:
        net = load_restorer(args.weights, args.device)
    # One chip geometry per face, the clean face's (what a perfect restorer returns),
    # for all of its pairs; clean descriptors (colour, and gray when needed) are cached.
    matrices = [model.chip_matrix(face, template="utkface") for face in faces.images]
    clean_cache: dict[tuple[int, bool], np.ndarray] = {}

    def clean_descriptor(i: int, gray: bool) -> np.ndarray:
        if (i, gray) not in clean_cache:
            face = to_gray3(faces.images[i]) if gray else faces.images[i]
            clean_cache[i, gray] = model.embed_chips([ei.cut_chip(face, matrices[i])])[0]
        return clean_cache[i, gray]

    for c_index, (cname, degrade) in enumerate(conditions(size).items()):
        started = time.perf_counter()
        clean_e, deg_e, proxy_e = [], [], []
        for i, face in enumerate(faces.images):
            degraded, _ = degrade(face, sample_rng(args.seed, i, c_index + 1))
            gray = ei.is_gray(degraded)
            proxy = restoration_proxy(degraded)
            if gray:
                degraded, proxy = to_gray3(degraded), to_gray3(proxy)
            e = model.embed_chips(
                [ei.cut_chip(degraded, matrices[i]), ei.cut_chip(proxy, matrices[i])]
            )
            clean_e.append(clean_descriptor(i, gray))
            deg_e.append(e[0])
            proxy_e.append(e[1])
        clean_e, deg_e, proxy_e = np.array(clean_e), np.array(deg_e), np.array(proxy_e)
        i, j = different_pairs(n, args.pairs, args.seed)
        group = f"UTKFace {cname}"
        table.add(group, "perfect: clean vs degraded", cosines(clean_e, deg_e),
                  distances(clean_e, deg_e))  # fmt: skip
        table.add(group, "proxy vs degraded", cosines(proxy_e, deg_e),
                  distances(proxy_e, deg_e))  # fmt: skip
        table.add(group, "proxy vs clean", cosines(proxy_e, clean_e),
                  distances(proxy_e, clean_e))  # fmt: skip
        table.add(group, "different people", cosines(clean_e[i], deg_e[j]),
                  distances(clean_e[i], deg_e[j]))  # fmt: skip
        same = cosines(clean_e, deg_e)
        diff = cosines(clean_e[i], deg_e[j])
        threshold, rate = eer(same, diff)
        results[cname] = {
            "eer_threshold": threshold,
            "eer": rate,
            "flag_1pct_same": float(np.percentile(same, 1)),
            "flag_5pct_same": float(np.percentile(same, 5)),
            "different_flagged_at_1pct": float((diff < np.percentile(same, 1)).mean()),
            "auc": float((same[:, None] > diff[None, :]).mean()),
        }
        if net is not None and c_index == 0:
            results["network"] = network_rows(args, net, faces.images, model, table)
        print(
            f"  {cname}: {time.perf_counter() - started:.0f} s, EER {100 * rate:.1f} % "
            f"at cosine {threshold:.3f}",
            flush=True,
        )
    return results


def load_restorer(name: str, device: str):
    from engine.weights import find_weights, load_model
    from training.runtime import pick_device

    info = find_weights(name)
    net = load_model(info, **info.card.get("model_overrides", {})).to(pick_device(device))
    return info, net.eval()


def network_rows(args, restorer, images, model: ei.IdentityModel, table: Table) -> dict:
    """The network on its own degradation: output vs input, output vs clean."""
    from training.evaluate import EvalOptions, evaluation_degradation, restore_faces

    info, net = restorer
    size = images.shape[1]
    opts = EvalOptions(data=args.data, weights=args.weights, device=args.device)
    degradation = evaluation_degradation(opts, info.card, size)
    lq, hq = [], []
    for i, face in enumerate(images):
        a, b = degradation(face, sample_rng(args.seed, i))
        lq.append(a)
        hq.append(b)
    lq_up, targets = np.stack(lq), np.stack(hq)
    outputs = restore_faces(net, info.preset, lq_up, targets, opts)
    out_in, out_clean = [], []
    for out, inp, clean in zip(outputs, lq_up, targets, strict=True):
        gray = ei.is_gray(inp)
        if gray:
            out, clean = to_gray3(out), to_gray3(clean)
        matrix = model.chip_matrix(out, template="utkface")
        e = model.embed_chips([ei.cut_chip(x, matrix) for x in (out, inp, clean)])
        out_in.append((e[0], e[1]))
        out_clean.append((e[0], e[2]))
    group = f"UTKFace {info.name} ({degradation.name})"
    rows = {}
    for label, pairs in (("network vs its input", out_in), ("network vs clean", out_clean)):
        a = np.array([p[0] for p in pairs])
        b = np.array([p[1] for p in pairs])
        table.add(group, label, cosines(a, b), distances(a, b))
        rows[label] = float(np.median(cosines(a, b)))
    return rows


# -- real photos ---------------------------------------------------------------------
def read_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.array(img.convert("RGB"))


def study_real(args: argparse.Namespace, model: ei.IdentityModel, table: Table) -> dict:
    root = Path(args.real)
    folders = [
        root / "codeformer" / "cropped_faces",
        root / "codeformer" / "gray_faces",
        root / "gfpgan" / "cropped_faces",
    ]
    files = sorted(p for f in folders if f.is_dir() for p in f.iterdir())
    if not files:
        print(f"no real faces under {root}: skipped")
        return {}
    side = 512
    config = RESTORER_EQ14.for_size(side)
    own, degraded_e = [], []
    for k, path in enumerate(files):
        face = read_rgb(path)
        if face.shape[:2] != (side, side):
            face = bicubic_resize(face, (side, side))
        degraded, _, params = degrade_eq14(face, sample_rng(args.seed, k, 77), config)
        if params.gray or ei.is_gray(face):
            face, degraded = to_gray3(face), to_gray3(degraded)
        matrix = model.chip_matrix(face, template="ffhq512")
        e = model.embed_chips([ei.cut_chip(face, matrix), ei.cut_chip(degraded, matrix)])
        own.append(e[0])
        degraded_e.append(e[1])
    own, degraded_e = np.array(own), np.array(degraded_e)
    group = f"real aligned faces ({len(files)})"
    table.add(group, "photo vs its eq14", cosines(own, degraded_e),
              distances(own, degraded_e))  # fmt: skip
    names = [p.stem for p in files]
    people = [n.rstrip("0123456789").rstrip("_") for n in names]
    pairs = [(a, b) for a, b in itertools.combinations(range(len(files)), 2)
             if people[a] != people[b]]  # fmt: skip
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    table.add(group, "different people", cosines(own[a], own[b]),
              distances(own[a], own[b]))  # fmt: skip
    twice = {}
    for person in sorted({p for p in people if people.count(p) == 2}):
        x, y = [k for k, p in enumerate(people) if p == person]
        twice[person] = {
            "cosine": ei.cosine(own[x], own[y]),
            "distance": ei.distance(own[x], own[y]),
        }
    results = {"same person, two photos": twice}
    results["gpen pairs"] = gpen_pairs(root.parent / "paired" / "gpen_val", model, table)
    results["solvay"] = solvay(root / "sparnet" / "Solvay_conference_1927.jpg", model, table)
    return results


def gpen_pairs(folder: Path, model: ei.IdentityModel, table: Table) -> list[float]:
    if not (folder / "hq").is_dir():
        return []
    cos, dist = [], []
    for hq_path in sorted((folder / "hq").iterdir()):
        lq_path = folder / "lq" / hq_path.name
        if not lq_path.is_file():
            continue
        score = model.compare(read_rgb(hq_path), read_rgb(lq_path), template="ffhq512")
        cos.append(score.cosine)
        dist.append(score.distance)
    if cos:
        table.add("GPEN real pairs", "clean vs real degraded", np.array(cos), np.array(dist))
    return cos


def solvay(path: Path, model: ei.IdentityModel, table: Table) -> dict:
    from engine.faces.detect import FaceDetector

    if not path.is_file():
        return {}
    photo = read_rgb(path)
    faces = FaceDetector().detect(photo)
    size = 128
    crops, small = [], []
    for face in faces:
        matrix = fit_similarity(face.landmarks, template_points("utkface", size))
        crop = to_gray3(warp_to_template(photo, matrix, size))
        crops.append(crop)
        lr = bicubic_resize(crop, (size // 4, size // 4))
        small.append(lr)
    own, down = [], []
    for crop, lr in zip(crops, small, strict=True):
        matrix = model.chip_matrix(crop, template="utkface")
        to_lr = compose(matrix, ei.scale_between(lr.shape, crop.shape))
        e = model.embed_chips([ei.cut_chip(crop, matrix), ei.cut_chip(lr, to_lr)])
        own.append(e[0])
        down.append(e[1])
    own, down = np.array(own), np.array(down)
    group = f"Solvay 1927 ({len(crops)} faces)"
    table.add(group, "face vs its x4 down-sampling", cosines(own, down), distances(own, down))
    a, b = map(np.array, zip(*itertools.combinations(range(len(crops)), 2), strict=True))
    table.add(group, "different people", cosines(own[a], own[b]), distances(own[a], own[b]))
    return {"faces": len(crops)}


# -- calibration of engine.identity's constants --------------------------------------
def calibrate(args: argparse.Namespace) -> None:
    """Where dlib's own alignment puts the template points, and its HOG box, in the chip."""
    import dlib

    from training.pack import read_pack

    faces = read_pack(args.calibration_data)
    rng = np.random.default_rng(0)
    picked = rng.choice(len(faces), min(args.calibration_count, len(faces)), replace=False)
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(ei.model_file("landmarks5")))
    size = faces.images.shape[1]
    zoom = 256 / size  # HOG finds faces of 80 px and more
    points = template_points(faces.meta.get("template", "utkface"), size) * zoom
    chip_points, boxes = [], []
    for i in picked:
        big = cv2.resize(faces.images[i], None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC)
        found = detector(big, 0)
        if len(found) != 1:
            continue
        shape = predictor(big, found[0])
        matrix = ei.chip_details_matrix(
            dlib.get_face_chip_details(shape, ei.CHIP_SIZE, ei.CHIP_PADDING)
        )
        chip_points.append(transform_points(matrix, points))
        r = found[0]
        corners = np.array([[r.left(), r.top()], [r.right(), r.bottom()]], np.float64)
        boxes.append(transform_points(matrix, corners).ravel())
    print(f"{len(chip_points)} of {len(picked)} faces with one HOG detection")
    print("CHIP_POINTS =", np.round(np.mean(chip_points, 0), 2).tolist())
    print("CHIP_BOX =", np.round(np.mean(boxes, 0), 2).tolist())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(REPO / "packs" / "utk128-val"),
                   help="UTKFace validation faces: a pack, or the folder with --list")  # fmt: skip
    p.add_argument("--list", help="names to use from a folder (utkface-val.txt)")
    p.add_argument("--limit", type=int, default=1000)
    p.add_argument("--pairs", type=int, default=20000, help="different-people pairs")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--real", default=str(SHARED / "real"))
    p.add_argument("--weights", help="a face restorer to measure too (name or manifest)")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", help="write every number here")
    p.add_argument("--calibrate", action="store_true", help="re-derive CHIP_POINTS / CHIP_BOX")
    p.add_argument("--calibration-data", default=str(REPO / "packs" / "utk128-train"))
    p.add_argument("--calibration-count", type=int, default=3000)
    args = p.parse_args(argv)
    if reason := ei.identity_available():
        print(reason)
        return 2
    if args.calibrate:
        calibrate(args)
        return 0
    model = ei.IdentityModel()
    table = Table()
    started = time.perf_counter()
    results = {"utkface": study_utkface(args, model, table)}
    results["real"] = study_real(args, model, table)
    print()
    print(table.text())
    print()
    print(table.flag_text(CANDIDATES))
    print()
    for name, r in results["utkface"].items():
        if "eer" in r:
            print(
                f"{name}: EER {100 * r['eer']:.1f} % at cosine {r['eer_threshold']:.3f}; "
                f"flagging 1 % of perfect restorations: cosine < {r['flag_1pct_same']:.3f} "
                f"(flags {100 * r['different_flagged_at_1pct']:.1f} % of different people); "
                f"ROC AUC {r['auc']:.4f}"
            )
    for person, r in results["real"].get("same person, two photos", {}).items():
        print(f"{person}, two photos: cosine {r['cosine']:.3f}, distance {r['distance']:.3f}")
    print(f"{time.perf_counter() - started:.0f} s")
    if args.json:
        for row in table.rows:
            row["flagged_at"] = {f"{t:.2f}": float((row["_cos"] < t).mean()) for t in CANDIDATES}
        out = {"threshold": ei.IDENTITY_THRESHOLD, "rows": table.json(), "results": results}
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
