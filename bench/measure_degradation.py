"""How real old photos are degraded, against what the restorer trains on.

Run: ``.venv/bin/python bench/measure_degradation.py [--real ../shared/data/real]
[--clean packs/utk128-val] [--json runs/degradation.json]``.

Every face of every photo under ``--real`` is found and aligned at 128 px (the
restorer's view of it, whatever the output scale), and measured with
``training.degradation_estimates``; so is each whole photo. The same figures are
printed for clean validation faces put through each training preset
(``RESTORER_EQ14`` and ``RESTORER_OLD_PHOTO``), so one table shows whether training
covers what real photos hold. Before that, the blur and noise estimators are checked
on clean faces with known blur and noise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from engine.errors import ReviveError
from engine.faces.align import align_face
from engine.faces.detect import FaceDetector
from engine.io import collect_photos, load_photo
from engine.pixels import to_uint8
from training import degradation_estimates as est
from training.data import load_faces
from training.degrade import RESTORER_EQ14, RESTORER_OLD_PHOTO, Degradation, sample_rng

SIZE = 128


def quantiles(values: list[float]) -> str:
    v = np.asarray([x for x in values if np.isfinite(x)])
    if not v.size:
        return "-"
    q = np.percentile(v, [10, 50, 90])
    return f"{q[0]:6.2f} {q[1]:6.2f} {q[2]:6.2f}"


def face_figures(face: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    noise = est.noise_sigma(face)
    tone = est.tone(face)
    colour = est.colour(face)
    g1, _ = est.grain(face)
    return {
        "blur_sigma": est.blur_sigma(face, reference, noise),
        "noise": noise,
        "contrast": tone.contrast,
        "black": tone.black,
        "chroma": colour.chroma,
        "cast_b": colour.b,
        "grain_r1": g1,
    }


def check_estimators(clean: np.ndarray, reference: np.ndarray) -> None:
    print("Estimator check on 100 clean validation faces (known blur / noise -> estimate):")
    for sigma in (0.0, 0.8, 1.5, 2.5):
        found = []
        for face in clean[:100]:
            x = cv2.GaussianBlur(face, (0, 0), sigma) if sigma else face
            found.append(est.blur_sigma(x, reference, est.noise_sigma(x)))
        print(f"  Gaussian sigma {sigma:.1f} px -> blur_sigma p10/p50/p90 {quantiles(found)}")
    rng = np.random.default_rng(0)
    for level in (0.0, 5.0, 15.0):
        found = []
        for face in clean[:100]:
            noisy = np.clip(face + rng.normal(0, level, face.shape), 0, 255).astype(np.uint8)
            found.append(est.noise_sigma(noisy))
        print(f"  noise sigma {level:4.1f} -> noise p10/p50/p90 {quantiles(found)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--real", default="../shared/data/real")
    parser.add_argument("--clean", default="packs/utk128-val", help="clean 128 px faces")
    parser.add_argument("--json", default="runs/degradation.json")
    args = parser.parse_args()

    clean = load_faces(args.clean, size=SIZE, limit=300).images
    reference = np.mean([est.radial_spectrum(est.luma(f)) for f in clean], axis=0)
    check_estimators(clean, reference)

    detector = FaceDetector(min_face_size=16)
    faces: list[dict[str, float]] = []
    photos: list[dict[str, object]] = []
    for path in collect_photos([args.real], recursive=True):
        try:
            image = to_uint8(load_photo(path).pixels)[..., :3]
        except ReviveError as err:
            print(f"{path.name}: {err}")
            continue
        found = detector.detect(image)
        g1, g2 = est.grain(image)
        tone, colour = est.tone(image), est.colour(image)
        photo = {
            "photo": f"{path.parent.name}/{path.name}",
            "size": f"{image.shape[1]}x{image.shape[0]}",
            "faces": len(found),
            "noise": est.noise_sigma(image),
            "blockiness": est.blockiness(image) if path.suffix.lower() == ".jpg" else None,
            "contrast": tone.contrast,
            "black": tone.black,
            "white": tone.white,
            "chroma": colour.chroma,
            "cast_a": colour.a,
            "cast_b": colour.b,
            "grain_r1": g1,
            "grain_r2": g2,
            "halftone": est.halftone(image),
        }
        photos.append(photo)
        for face in found:
            aligned = align_face(image, face.landmarks, "utkface", SIZE)
            figures = face_figures(aligned.crop, reference)
            figures["native_side"] = float(face.size)
            figures["gray"] = float(colour.chroma < 2.0)
            faces.append(figures)

    print(f"\n{len(photos)} real photos, whole image:")
    print(f"{'photo':42} {'size':>10} {'faces':>5} {'noise':>6} {'block':>6} {'contr':>6} "
          f"{'black':>6} {'chroma':>6} {'b*':>6} {'grain1':>6} {'grain2':>6} "
          f"{'dots':>6}")  # fmt: skip
    for p in photos:
        block = "-" if p["blockiness"] is None else f"{p['blockiness']:6.2f}"
        print(f"{str(p['photo'])[:42]:42} {p['size']:>10} {p['faces']:5d} {p['noise']:6.2f} "
              f"{block:>6} {p['contrast']:6.2f} {p['black']:6.1f} {p['chroma']:6.2f} "
              f"{p['cast_b']:6.2f} {p['grain_r1']:6.2f} {p['grain_r2']:6.2f} "
              f"{p['halftone']:6.1f}")  # fmt: skip

    rows: dict[str, list[dict[str, float]]] = {"real faces": faces}
    for name, config in (
        ("RESTORER_EQ14", RESTORER_EQ14),
        ("RESTORER_OLD_PHOTO", RESTORER_OLD_PHOTO),
    ):
        deg = Degradation("eq14", config.for_size(SIZE))
        rows[name] = [
            face_figures(deg(face, sample_rng(7, i))[0], reference) for i, face in enumerate(clean)
        ]
    rows["clean faces"] = [face_figures(face, reference) for face in clean]

    keys = ("blur_sigma", "noise", "contrast", "black", "chroma", "cast_b", "grain_r1")
    print(f"\nAligned 128 px faces, p10 / p50 / p90 ({len(faces)} real faces, "
          f"{len(clean)} validation faces per preset):")  # fmt: skip
    print(f"{'':20}" + "".join(f"{k:>22}" for k in keys))
    for name, values in rows.items():
        print(f"{name:20}" + "".join(f"{quantiles([v[k] for v in values]):>22}" for k in keys))
    sides = [f["native_side"] for f in faces]
    print(
        f"\nreal face box sides in their photos (px): p10/p50/p90 {quantiles(sides)}; "
        f"gray photos {sum(1 for p in photos if float(p['chroma']) < 2.0)} of {len(photos)}"
    )  # type: ignore[arg-type]

    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"photos": photos, "faces": faces}, indent=1))
    print(f"figures -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
