"""torch's fast path against ONNX Runtime, network by network, side by side in one run.

Run: ``.venv/bin/python bench/bench_runtime.py [--threads 2] [--repeats 5] [--skip-hd]``;
``--photos`` instead restores every photo of ../shared/data/real on torch and on ONNX
Runtime (shipped models, default options) and prints faces, PSNR and likeness gap.

Each network gets the same input in both runtimes (a real face, the astronaut's, at the
network's working size); calls alternate between the runtimes and the best of
``--repeats`` is kept. The torch column is what ``--runtime torch`` calls (folded
BatchNorm, sub-pixel up-convolutions); the ONNX column is its cached export
(``engine.runtimes``). The last column is the largest output difference. Exports go to a
temporary data folder unless ``REVIVE_DATA_DIR`` is set. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch

from engine.face_engines import ModelCache
from engine.models import create_model
from engine.options import RuntimeOptions
from engine.weights import find_weights, save_weights

CPU = torch.device("cpu")


def best_ms(net: torch.nn.Module, x: torch.Tensor) -> float:
    start = time.perf_counter()
    net(x)
    return (time.perf_counter() - start) * 1000


def side_by_side(
    torch_net: torch.nn.Module, onnx_net: torch.nn.Module, x: torch.Tensor, repeats: int
) -> tuple[float, float, float]:
    with torch.inference_mode():
        want, got = torch_net(x), onnx_net(x)  # also the warm-up
        want = want if isinstance(want, tuple) else (want,)
        got = got if isinstance(got, tuple) else (got,)
        diff = max(float((a - b).abs().max()) for a, b in zip(want, got, strict=True))
        t_ms, o_ms = [], []
        for _ in range(repeats):
            t_ms.append(best_ms(torch_net, x))
            o_ms.append(best_ms(onnx_net, x))
    return min(t_ms), min(o_ms), diff


def weights(name: str, preset: str | None, folder: str):
    """Installed weights by name, or seeded random weights of ``preset`` saved now."""
    if preset is None:
        return find_weights(name)
    torch.manual_seed(0)
    save_weights(create_model(preset).state_dict(), os.path.join(folder, "weights"), name, preset)
    return find_weights(name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip-hd", action="store_true", help="leave SPARNetHD-512 out (slow)")
    ap.add_argument("--photos", action="store_true", help="whole photos instead of networks")
    args = ap.parse_args()
    folder = os.environ.setdefault("REVIVE_DATA_DIR", tempfile.mkdtemp(prefix="revive-bench-"))
    torch.set_num_threads(args.threads)
    if args.photos:
        whole_photos()
        return

    from engine.app.demo import astronaut
    from engine.runtimes.mtcnn import use_runtime
    from tests.test_runtimes import face

    # (label, weights name, preset for random weights or None for installed, input)
    rows = [
        ("revive-restorer-s128 (shipped)", "revive-restorer-s128", None, face(128, 1)),
        ("  same, 256 px working side", "revive-restorer-s128", None, face(256, 1)),
        ("components_bisenet (shipped)", "components_bisenet-fasseg", None, face(128, 1)),
        ("SPARNet x8 (random weights)", "bench-x8", "sparnet_x8_attn2d", face(128, 1)),
        ("CAGFace x4 lite, 128 px tile", "bench-cagface", "cagface_x4_lite",
         torch.cat([face(128, 1), (face(128, 1) + 1) / 2], 1)),
    ]  # fmt: skip
    if not args.skip_hd:
        rows.append(
            ("SPARNetHD-512 (random weights)", "bench-hd", "sparnethd_attn2d", face(512, 1))
        )
    print(f"torch {torch.__version__}, {args.threads} threads, best of {args.repeats}")
    print(f"{'network':34} {'torch ms':>10} {'ONNX ms':>10} {'ratio':>7} {'max |diff|':>11}")

    def line(label: str, t: float, o: float, d: float) -> None:
        print(f"{label:34} {t:10.1f} {o:10.1f} {t / o:7.2f} {d:11.1e}", flush=True)

    for label, name, preset, x in rows:
        info = weights(name, preset, folder)
        cache = ModelCache()
        torch_net = cache.get(info, CPU, RuntimeOptions(network_runtime="torch"))
        onnx_net = cache.get(info, CPU, RuntimeOptions(network_runtime="onnx"))
        repeats = 2 if preset == "sparnethd_attn2d" else args.repeats
        line(label, *side_by_side(torch_net, onnx_net, x, repeats))

    from facenet_pytorch import MTCNN

    mtcnn = MTCNN(keep_all=True, post_process=False)
    torch_nets = {n: getattr(mtcnn, n) for n in ("pnet", "rnet", "onet")}
    use_runtime(mtcnn, "onnx")
    photo = torch.from_numpy(astronaut().transpose(2, 0, 1).copy()).float()[None]
    mtcnn_inputs = {
        "pnet": ((photo - 127.5) * 0.0078125, "MTCNN P-Net, 512 px photo"),
        "rnet": ((face(24, 2).repeat(16, 1, 1, 1)), "MTCNN R-Net, 32 crops"),
        "onet": ((face(48, 2).repeat(8, 1, 1, 1)), "MTCNN O-Net, 16 crops"),
    }
    for name, (x, label) in mtcnn_inputs.items():
        line(label, *side_by_side(torch_nets[name], getattr(mtcnn, name), x, args.repeats))
    print(f"ratio: torch ms / ONNX ms (above 1: ONNX Runtime is faster); load: {os.getloadavg()}")


def whole_photos() -> None:
    """Every photo of ../shared/data/real, torch against ONNX Runtime."""
    from tests.conftest import SHARED_DATA
    from tests.test_runtime_photos import compare_runtimes

    photos = sorted(
        p for p in (SHARED_DATA / "real").rglob("*") if p.suffix.lower() in (".jpg", ".png")
        and "whole_imgs" in p.parts or p.parent.name == "sparnet"
    )  # fmt: skip
    print(f"{'photo':34} {'faces':>7} {'box px':>7} {'PSNR dB':>8} {'likeness':>9} "
          f"{'torch s':>8} {'ONNX s':>7}")  # fmt: skip
    for photo in photos:
        c = compare_runtimes(photo)
        faces = f"{c.faces[0]}/{c.faces[1]}"
        print(f"{str(photo.relative_to(SHARED_DATA / 'real')):34} {faces:>7} {c.box_shift:7.2f} "
              f"{c.psnr_db:8.1f} {c.likeness_gap:9.4f} {c.seconds[0]:8.1f} {c.seconds[1]:7.1f}",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
