"""``revive --selftest``: does this installation work? One line per check, exit 0 or 1.

Written for the PyInstaller bundle (run headless, from any folder, with a clean
environment), and just as useful in a source checkout. It loads every shipped weight
set (sha256-verified), runs each network on the CPU on the public-domain astronaut
photo that ships inside scikit-image, finds her face with MTCNN, restores it through
the real ``Restorer`` when restoration weights are installed (shipped, downloaded or
imported: the shipped default first), and checks the numbers:
finite, the expected shapes, and a check with a meaning for each network (the
component network labels her face as skin; a restored face keeps the input's low
frequencies; the paste leaves everything away from the face untouched).

When no restoration model is installed the restoration check cannot run; the verdict
then says "incomplete" and what to install, never "passed" (exit status 0: nothing
that was checked failed).
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

# Where MTCNN must find the astronaut's face (512 x 512 photo): measured box
# (177.6, 60.7, 267.5, 173.5); the tolerance allows other torch / OpenCV builds.
ASTRONAUT_FACE_CENTRE = (222.5, 117.0)
ASTRONAUT_FACE_TOLERANCE = 20.0
LOW_FREQ_MIN_PSNR = 24.0  # dB between the low frequencies of a network's input and output


RESTORE_CHECK = "restore a face (CPU)"


class CheckFailed(Exception):
    """A check ran and its numbers are wrong."""


class Skipped(Exception):
    """A check does not apply to this installation (e.g. no restoration weights shipped)."""


@dataclass
class Outcome:
    name: str
    status: str  # "ok" | "FAIL" | "skip"
    detail: str
    seconds: float


# --- small numeric helpers -----------------------------------------------------------------


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 1.0) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak**2 / mse)


def low_pass(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of an H x W x C float image: the shading and colour, not the detail."""
    return cv2.GaussianBlur(image.astype(np.float32), (0, 0), sigma)


def to_tensor(rgb: np.ndarray):
    """uint8 H x W x 3 -> 1 x 3 x H x W float in [-1, 1] (the networks' convention)."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float()
    return (x / 127.5 - 1.0).unsqueeze(0)


def to_image01(t) -> np.ndarray:
    """1 x 3 x H x W in [-1, 1] -> H x W x 3 float in [0, 1]."""
    return ((t[0].permute(1, 2, 0).detach().float().cpu().numpy() + 1.0) * 0.5).clip(0, 1)


def require(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def require_finite(t, what: str) -> None:
    import torch

    require(bool(torch.isfinite(t).all()), f"{what} has NaN or infinite values")


# --- shared inputs ---------------------------------------------------------------------------


class Context:
    """The photo, its face and the loaded weights, computed once and shared by the checks."""

    def __init__(self) -> None:
        self._photo: np.ndarray | None = None
        self._face: Any = None

    @property
    def photo(self) -> np.ndarray:
        if self._photo is None:
            from .demo import astronaut

            self._photo = astronaut()
        return self._photo

    @property
    def face(self):
        if self._face is None:
            from ..faces.detect import FaceDetector

            faces = FaceDetector(device="cpu").detect(self.photo)
            require(
                len(faces) == 1, f"expected one face in the astronaut photo, found {len(faces)}"
            )
            self._face = faces[0]
        return self._face

    def region(self, side: int, factor: float = 1.8) -> tuple[np.ndarray, tuple[float, ...]]:
        """A square around the face (``factor`` box sides), resized to ``side`` px.

        Also returns the face box in the region's pixels.
        """
        box = self.face.box
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        span = factor * self.face.size
        s = side / span
        matrix = np.array([[s, 0, side / 2 - s * cx], [0, s, side / 2 - s * cy]])
        crop = cv2.warpAffine(
            self.photo, matrix, (side, side), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT
        )
        corners = [s * (box[0] - cx) + side / 2, s * (box[1] - cy) + side / 2]
        corners += [s * (box[2] - cx) + side / 2, s * (box[3] - cy) + side / 2]
        return crop, tuple(corners)

    def aligned(self, template: str, size: int) -> np.ndarray:
        from ..faces.align import align_face

        return align_face(self.photo, self.face.landmarks, template, size).crop


# --- the checks ------------------------------------------------------------------------------


def check_torch(ctx: Context) -> str:
    """torch computes a convolution on the CPU exactly like a numpy reference."""
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, 12, 12)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    got = F.conv2d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
    windows = np.lib.stride_tricks.sliding_window_view(x[0], (3, 3), axis=(1, 2))
    want = np.einsum("chwij,ocij->ohw", windows, w)[None]
    err = float(np.abs(got - want).max())
    require(err < 1e-4, f"CPU convolution is wrong (max error {err:.2e})")
    from .bundle import bundle_info

    cuda = "CUDA build" if torch.version.cuda else "CPU build"
    if bundle_info().get("cuda") is False:
        cuda += ", CPU-only bundle"
    gpu = "GPU visible" if torch.cuda.is_available() else "no GPU in use"
    return f"torch {torch.__version__} ({cuda}, {gpu}); CPU conv = numpy (max err {err:.1e})"


def check_folders(ctx: Context) -> str:
    """Shipped files are read from the bundle; the user's files go elsewhere (never inside)."""
    from ..paths import resources_dir, user_data_dir, user_log_dir, user_weights_dir

    resources = resources_dir().resolve()
    require(resources.is_dir(), f"the resources folder {resources} is missing")
    frozen = getattr(sys, "frozen", False)
    install = Path(sys.executable).resolve().parent if frozen else resources.parent
    for folder in (user_data_dir(), user_weights_dir(), user_log_dir()):
        folder = folder.resolve()
        require(
            not folder.is_relative_to(install) or "REVIVE_DATA_DIR" in os.environ,
            f"user folder {folder} is inside the installation {install}",
        )
    where = "bundle" if frozen else "source tree"
    return f"resources in the {where} ({resources}); your data in {user_data_dir()}"


def check_detect(ctx: Context) -> str:
    """MTCNN (weights from facenet-pytorch's package data) finds the astronaut's face."""
    face = ctx.face
    cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
    off = float(np.hypot(cx - ASTRONAUT_FACE_CENTRE[0], cy - ASTRONAUT_FACE_CENTRE[1]))
    require(off < ASTRONAUT_FACE_TOLERANCE, f"face found {off:.0f} px from where it is")
    require(face.score > 0.95, f"face score {face.score:.3f} is too low")
    (lx, ly), (rx, ry), (_, ny), (_, lmy), (_, rmy) = face.landmarks
    require(lx < rx, "landmarks: left eye is not left of the right eye")
    require(max(ly, ry) < ny < min(lmy, rmy), "landmarks: eyes, nose and mouth out of order")
    return f"1 face, score {face.score:.4f}, {face.size:.0f} px, {off:.1f} px from the expected"


def shipped_sets() -> list:
    from ..weights import installed_weights

    return [w for w in installed_weights() if w.source == "shipped"]


def _check_components(ctx: Context, net) -> str:
    import torch

    from ..models.parsing import BACKGROUND, CLASS_NAMES, SKIN

    crop, (x0, y0, x1, y1) = ctx.region(256)
    with torch.no_grad():
        logits = net(to_tensor(crop))
    require(tuple(logits.shape) == (1, len(CLASS_NAMES), 256, 256), f"shape {logits.shape}")
    require_finite(logits, "the component logits")
    labels = logits.argmax(1)[0].numpy()
    # The cheeks and forehead: the face box minus its outer quarter on each side.
    w, h = x1 - x0, y1 - y0
    inner = labels[int(y0 + h / 4) : int(y1 - h / 4), int(x0 + w / 4) : int(x1 - w / 4)]
    counts = np.bincount(inner.ravel(), minlength=len(CLASS_NAMES)) / inner.size
    require(
        counts.argmax() == SKIN,
        f"the face centre is mostly {CLASS_NAMES[counts.argmax()]}, not skin",
    )
    require(counts[BACKGROUND] < 0.1, f"{counts[BACKGROUND]:.0%} of the face is background")
    return f"face centre {counts[SKIN]:.0%} skin, {counts[BACKGROUND]:.0%} background"


def _low_freq_agreement(before: np.ndarray, after: np.ndarray, sigma: float) -> float:
    return psnr(low_pass(before, sigma), low_pass(after, sigma))


def _check_sparnet(ctx: Context, net, preset) -> str:
    import torch

    from ..models import ModelKind

    size = preset.size
    clean = ctx.aligned(preset.template or "utkface", size)
    small = cv2.resize(clean, (size // 4, size // 4), interpolation=cv2.INTER_AREA)
    if preset.kind is ModelKind.TINY_FACE:  # a 16 px face, bicubic up-sampled (the paper's)
        small = cv2.resize(clean, (size // preset.scale,) * 2, interpolation=cv2.INTER_AREA)
    degraded = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
    with torch.no_grad():
        out = net(to_tensor(degraded))
    require(tuple(out.shape) == (1, 3, size, size), f"output shape {tuple(out.shape)}")
    require_finite(out, "the restored face")
    restored = to_image01(out)
    agreement = _low_freq_agreement(degraded / 255.0, restored, sigma=size / 32)
    require(
        agreement >= LOW_FREQ_MIN_PSNR,
        f"the restored face lost the input's shading and colour ({agreement:.1f} dB)",
    )
    before, after = psnr(degraded / 255.0, clean / 255.0), psnr(restored, clean / 255.0)
    return (
        f"{size} px face: low frequencies kept ({agreement:.1f} dB); "
        f"PSNR to the clean face {before:.2f} -> {after:.2f} dB"
    )


def _check_cagface(ctx: Context, net, components) -> str:
    import torch

    from ..models.cagface import component_attention_block
    from ..models.parsing import ComponentSmoothing

    if components is None:
        raise Skipped("no component weights shipped to feed CAGFace")
    clean, _ = ctx.region(256)
    lr = cv2.resize(clean, (64, 64), interpolation=cv2.INTER_AREA)
    x = to_tensor(lr)
    with torch.no_grad():
        maps = ComponentSmoothing()(components(x))
        out = net(component_attention_block(x, maps))
    require(tuple(out.shape) == (1, 3, 256, 256), f"output shape {tuple(out.shape)}")
    require_finite(out, "CAGFace's output")
    restored = to_image01(out)
    shrunk = cv2.resize(restored, (64, 64), interpolation=cv2.INTER_AREA)
    agreement = _low_freq_agreement(lr / 255.0, shrunk, sigma=2.0)
    require(
        agreement >= LOW_FREQ_MIN_PSNR,
        f"the x4 face lost the input's shading and colour ({agreement:.1f} dB)",
    )
    return f"64 -> 256 px, low frequencies kept ({agreement:.1f} dB)"


def check_weight_set(info, ctx: Context, components: Callable | None) -> str:
    """One shipped set: sha256, loads into its preset, runs on the CPU, sensible numbers."""
    import torch

    from ..models import ModelKind, get_preset
    from ..weights import load_model, verify_weights

    problems = verify_weights(info)
    require(not problems, "; ".join(problems))
    net = load_model(info)
    preset = get_preset(info.preset)
    params = sum(p.numel() for p in net.parameters()) / 1e6
    head = f"{info.preset}, {params:.1f} M parameters, sha256 ok; "
    if preset.kind is ModelKind.COMPONENTS:
        return head + _check_components(ctx, net)
    if preset.kind in (ModelKind.RESTORER, ModelKind.TINY_FACE):
        return head + _check_sparnet(ctx, net, preset)
    if preset.kind is ModelKind.REGION:
        return head + _check_cagface(ctx, net, components)
    with torch.no_grad():  # e.g. a discriminator: it runs and stays finite
        out = net(torch.zeros(1, 3, 64, 64))
    for t in out if isinstance(out, (list, tuple)) else [out]:
        require_finite(t, "the output")
    return head + "runs, finite output"


NO_RESTORER = (
    "no face-restoration model is installed (see `revive models available`, then "
    "`revive models download NAME`)"
)


def installed_restorers() -> list:
    """Every installed restoration set whose preset runs on the sample face (not test-only)."""
    from ..models import PRESETS
    from ..weights import installed_weights

    found = []
    for info in installed_weights():
        preset = PRESETS.get(info.preset)
        if preset is not None and preset.kind.restores_faces and not preset.is_test_only:
            found.append(info)
    return found


def check_restore(ctx: Context) -> str:
    """The whole pipeline on the CPU: detect, align, restore, paste, on the sample photo."""
    shipped = [w for w in shipped_sets() if (k := _kind(w)) is not None and k.restores_faces]
    restorers = shipped or installed_restorers()
    if not restorers:
        raise Skipped(NO_RESTORER)
    try:
        from ..pipeline import RestoreOptions, Restorer
    except ImportError as err:
        raise Skipped(f"this build has no restoration pipeline ({err})") from None
    from ..weights import default_weights
    from .demo import degrade_for_demo

    chosen = default_weights("restorer") or restorers[0]
    photo = degrade_for_demo(ctx.photo)
    options = RestoreOptions.of(model=chosen.name, device="cpu", scale=1)
    result = Restorer(options).restore(photo)
    out = result.image
    require(out.shape == photo.shape and out.dtype == photo.dtype, f"result {out.shape}")
    require(len(result.faces) == 1, f"{len(result.faces)} faces restored, expected 1")
    face = result.faces[0]
    # Away from the face (more than two face sizes from its centre) nothing may change.
    box = face.box
    cx, cy, reach = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, 2 * ctx.face.size
    yy, xx = np.mgrid[: out.shape[0], : out.shape[1]]
    far = np.hypot(xx - cx, yy - cy) > reach
    changed = int((out[far] != photo[far]).any(axis=-1).sum())
    require(changed == 0, f"{changed} pixels far from the face changed")
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    before, after = photo[y0:y1, x0:x1] / 255.0, out[y0:y1, x0:x1] / 255.0
    agreement = _low_freq_agreement(before, after, sigma=max(2.0, ctx.face.size / 16))
    require(agreement >= LOW_FREQ_MIN_PSNR, f"the face's shading changed ({agreement:.1f} dB)")
    moved = float(np.abs(after - before).mean() * 255)
    require(moved > 0.25, "the face was not changed at all")
    return (
        f"{chosen.name}: 1 face in {result.timings.get('total', 0):.1f} s on the CPU, "
        f"mean change {moved:.1f} levels, low frequencies kept ({agreement:.1f} dB), "
        f"nothing changed away from the face"
    )


# --- running them ----------------------------------------------------------------------------


def _run(name: str, fn: Callable[[], str], verbose: bool) -> Outcome:
    start = time.perf_counter()
    try:
        status, detail = "ok", fn()
    except Skipped as why:
        status, detail = "skip", str(why)
    except CheckFailed as err:
        status, detail = "FAIL", str(err)
    except Exception as err:  # a crash is a failure with its type and message
        status, detail = "FAIL", f"{type(err).__name__}: {err}"
        if verbose:
            traceback.print_exc()
    return Outcome(name, status, detail, time.perf_counter() - start)


def run_selftest(print_line: Callable[[str], None] = print, verbose: bool = False) -> list[Outcome]:
    """Run every check on the CPU, printing one line each; return the outcomes."""
    start = time.perf_counter()
    ctx = Context()
    outcomes: list[Outcome] = []

    def run(name: str, fn: Callable[[], str]) -> None:
        outcome = _run(name, fn, verbose)
        outcomes.append(outcome)
        print_line(f"{outcome.status:4s}  {outcome.name:36s} {outcome.detail}")

    run("torch", lambda: check_torch(ctx))
    run("folders", lambda: check_folders(ctx))
    run("face detection (MTCNN)", lambda: check_detect(ctx))
    sets: list = []
    run("weights registry", lambda: _list_sets(sets))
    components: list = []  # the component network, once it passed (CAGFace needs it)
    for info in sets:

        def check(info: Any = info) -> str:
            return check_weight_set(info, ctx, components[0] if components else None)

        run(f"weights {info.name}", check)
        if outcomes[-1].status == "ok" and _is_components(info) and not components:
            from ..weights import load_model

            components.append(load_model(info, verify=False))
    run(RESTORE_CHECK, lambda: check_restore(ctx))
    print_line(verdict(outcomes, time.perf_counter() - start))
    return outcomes


def verdict(outcomes: list[Outcome], took: float) -> str:
    """The last line: FAILED, incomplete (restoration not tested) or passed."""
    failed = [o for o in outcomes if o.status == "FAIL"]
    skipped = sum(o.status == "skip" for o in outcomes)
    counts = f"{len(outcomes) - len(failed) - skipped} ok, {len(failed)} failed, {skipped} skipped"
    untested = any(o.name == RESTORE_CHECK and o.status == "skip" for o in outcomes)
    if failed:
        return f"selftest FAILED: {counts}, {took:.1f} s"
    if untested:
        return (
            f"selftest incomplete: {counts}, {took:.1f} s; restoring faces was NOT tested: "
            f"{NO_RESTORER}"
        )
    return f"selftest passed: {counts}, {took:.1f} s"


def _is_components(info) -> bool:
    from ..models import ModelKind

    return _kind(info) is ModelKind.COMPONENTS


def _kind(info) -> Any:
    """The preset's ``ModelKind``, or None for an unknown preset."""
    from ..models import PRESETS

    preset = PRESETS.get(info.preset)
    return preset.kind if preset else None


def _list_sets(into: list) -> str:
    """The shipped sets (component networks first: CAGFace's check uses one)."""
    from ..paths import shipped_weights_dir

    found = sorted(shipped_sets(), key=lambda info: not _is_components(info))
    into.extend(found)
    if not found:
        raise Skipped(f"no shipped weights listed in {shipped_weights_dir() / 'registry.json'}")
    names = ", ".join(info.name for info in found)
    return f"{len(found)} shipped set(s): {names}"


def main(verbose: bool = False) -> int:
    """Exit status for ``revive --selftest``: 0 when no check failed."""
    outcomes = run_selftest(verbose=verbose)
    return 1 if any(o.status == "FAIL" for o in outcomes) else 0
