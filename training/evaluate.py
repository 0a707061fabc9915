"""``revive evaluate``: measure a weight set like the papers, always beside bicubic.

Face SR weights (SPARNet / SPARNetHD / CAGFace): every face of ``--data`` (a pack,
or a folder aligned exactly as for training, optionally restricted by ``--list``)
is degraded with a fixed seed, restored, and compared with the original: PSNR and
SSIM on Y, MS-SSIM, identity similarity and landmark AUC (dlib's models, when the
``identity`` extra is installed), and the optional metrics whose weights are given. The
"bicubic" row is the network's own input (the degraded face up-sampled bicubically).
Component-segmentation weights: IoU per class and mean IoU on the FASSEG test splits.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from engine.atomic import write_text_atomic
from engine.errors import ReviveError
from engine.models import ModelKind, get_preset
from engine.progress import CancelToken, ProgressCallback, Stage, check, report

from .data import load_faces
from .degrade import PRESETS, Degradation, Eq14Config, bicubic_resize, sample_rng
from .metrics import ms_ssim_many, msssim_available, psnr_y, ssim_y
from .pack import read_name_list
from .runtime import pick_device

ALL_METRICS = ("psnr", "ssim", "msssim", "lpips", "fid", "identity", "landmarks")
DEFAULT_METRICS = ALL_METRICS
EVAL_SEED = 2024


@dataclass
class EvalOptions:
    data: str
    weights: str | None = None  # name or manifest path; None: the bicubic baseline only
    degradation: str | None = None  # None: the weights' own (model card), else bicubic8x
    metrics: tuple[str, ...] = DEFAULT_METRICS
    list_file: str | None = None
    size: int | None = None
    template: str = "utkface"
    limit: int | None = None
    seed: int = EVAL_SEED
    device: str = "auto"
    batch: int = 16
    components: str | None = None  # CAGFace's segmenter (default: the shipped one)
    lpips_weights: str | None = None
    fid_weights: str | None = None
    identity_weights: str | None = None
    landmark_weights: str | None = None
    eq14: dict[str, Any] = field(default_factory=dict)
    eq14_preset: str | None = None  # a name of training.degrade.PRESETS, at the face size


@dataclass
class EvalReport:
    rows: dict[str, dict[str, float]]  # method -> metric -> value
    notes: list[str]
    setup: dict[str, Any]

    def table(self) -> str:
        metrics: list[str] = []
        for values in self.rows.values():
            metrics += [m for m in values if m not in metrics]
        head = ["method", *metrics]
        lines = [head]
        for method, values in self.rows.items():
            lines.append([method, *(_cell(values.get(m)) for m in metrics)])
        widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
        out = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in lines]
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        return {"setup": self.setup, "results": self.rows, "notes": self.notes}


def _cell(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.4f}" if abs(v) < 10 else f"{v:.2f}"


def quality_rows(
    outputs: np.ndarray, targets: np.ndarray, metrics: tuple[str, ...], extra: list
) -> dict[str, float]:
    row: dict[str, float] = {}
    if "psnr" in metrics:
        vals = [psnr_y(o, t) for o, t in zip(outputs, targets, strict=True)]
        row["psnr_y"] = float(np.mean([v for v in vals if np.isfinite(v)] or [np.inf]))
    if "ssim" in metrics:
        row["ssim_y"] = float(
            np.mean([ssim_y(o, t) for o, t in zip(outputs, targets, strict=True)])
        )
    if "msssim" in metrics and msssim_available() is None:
        row["ms_ssim"] = float(np.mean(ms_ssim_many(outputs, targets)))
    for metric in extra:
        row.update(metric(outputs, targets))
    return row


def _optional(opts: EvalOptions, template: str = "utkface") -> tuple[list, list[str]]:
    """The optional metrics asked for; ``template``: how the faces are aligned."""
    from . import optional_metrics as om

    makers = {
        "lpips": lambda: om.make_lpips(opts.lpips_weights),
        "fid": lambda: om.make_fid(opts.fid_weights),
        "identity": lambda: om.make_identity(opts.identity_weights, template),
        "landmarks": lambda: om.make_landmarks(opts.landmark_weights, template=template),
    }
    metrics, notes = [], []
    for name, make in makers.items():
        if name in opts.metrics:
            metric, message = make()
            if metric is None:
                notes.append(message)
            else:
                metrics.append(metric)
    if "msssim" in opts.metrics and (reason := msssim_available()):
        notes.append(reason)
    return metrics, notes


def restore_faces(
    net: torch.nn.Module, preset: str, lq_up: np.ndarray, targets: np.ndarray, opts: EvalOptions
) -> np.ndarray:
    """Run a face-SR network on HR-sized degraded inputs; uint8 outputs at the HR size.

    CAGFace takes the LR face itself (the bicubic x4 down-sampling of the target).
    """
    from .tasks.cagface import CAGFaceTrainNet, load_segmenter
    from .tasks.sparnet import run_in_batches

    device = next(net.parameters()).device
    kind = get_preset(preset).kind
    size = lq_up.shape[1]
    if kind in (ModelKind.RESTORER, ModelKind.TINY_FACE):
        return run_in_batches(net, lq_up, device, opts.batch)
    if kind is ModelKind.REGION:
        from engine.models.cagface import CAGFace, component_attention_block
        from engine.models.parsing import ComponentSmoothing, component_maps

        from .task import to_uint8, to_unit

        segmenter, _, parse_size = load_segmenter(opts.components)
        segmenter = segmenter.to(device)
        smoothing = ComponentSmoothing().to(device)
        wrapper = CAGFaceTrainNet(cast(CAGFace, net)).eval()
        side = size // 4
        outs = []
        with torch.no_grad():
            for i in range(0, len(lq_up), opts.batch):
                chunk = targets[i : i + opts.batch]
                small = np.stack([bicubic_resize(f, (side, side)) for f in chunk])
                lr = to_unit(torch.from_numpy(small).to(device))
                maps = component_maps(segmenter, smoothing, lr, parse_size)
                x4, _ = wrapper(component_attention_block(lr, maps), 2)
                outs.append(to_uint8(x4))
        return np.concatenate(outs)
    raise ReviveError(f"{preset} is not a face super-resolution model")


def evaluation_degradation(opts: EvalOptions, card: dict[str, Any], size: int) -> Degradation:
    """The degradation asked for, else the one the weights were trained with (their card).

    Eq. 14 ranges come from ``opts.eq14``, else from the card when it trained on Eq. 14
    (a blind restorer is measured on its own input distribution), else the paper's.
    """
    name = opts.degradation or str(card.get("degradation") or "bicubic8x")
    if opts.eq14_preset:
        eq14 = PRESETS[opts.eq14_preset].for_size(size)
    elif opts.eq14:
        eq14 = Eq14Config.from_dict(opts.eq14)
    elif name == "eq14" and card.get("degradation") == "eq14" and card.get("eq14"):
        eq14 = Eq14Config.from_dict(card["eq14"])
    else:
        eq14 = Eq14Config().for_size(size)
    try:
        return Degradation(name, eq14)
    except ValueError as err:
        raise ReviveError(str(err)) from None


def evaluate(
    opts: EvalOptions,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> EvalReport:
    """Degrade, restore and measure; see the module docstring."""
    from engine.weights import find_weights, load_model

    info = find_weights(opts.weights) if opts.weights else None
    if info is not None and get_preset(info.preset).kind is ModelKind.COMPONENTS:
        return evaluate_segmentation_weights(opts, info)
    started = time.perf_counter()
    preset = info.preset if info else None
    size = opts.size or (get_preset(preset).size if preset else 0) or 128
    degradation = evaluation_degradation(opts, info.card if info else {}, size)
    if preset and get_preset(preset).kind is ModelKind.REGION and degradation.factor != 4:
        raise ReviveError("CAGFace is a x4 model: evaluate it with --degradation bicubic4x")
    faces = load_faces(
        opts.data,
        size=size,
        template=opts.template,
        include=read_name_list(opts.list_file),
        limit=opts.limit,
        progress=progress,
        cancel=cancel,
    )
    n = len(faces)
    lq, hq = [], []
    for i, face in enumerate(faces.images):
        a, b = degradation(face, sample_rng(opts.seed, i))
        lq.append(a)
        hq.append(b)
    lq_up, targets = np.stack(lq), np.stack(hq)
    check(cancel)
    extra, notes = _optional(opts, faces.meta.get("template", opts.template))
    rows = {"bicubic": quality_rows(lq_up, targets, opts.metrics, extra)}
    report(progress, Stage.EVALUATE, 1, 2, "bicubic baseline")
    if info is not None:
        device = pick_device(opts.device)
        net = load_model(info, **info.card.get("model_overrides", {})).to(device)
        outputs = restore_faces(net, info.preset, lq_up, targets, opts)
        check(cancel)
        rows[info.name] = quality_rows(outputs, targets, opts.metrics, extra)
    report(progress, Stage.EVALUATE, 2, 2, "done")
    setup = {
        "data": str(opts.data),
        "list": opts.list_file,
        "faces": n,
        "size": size,
        "template": faces.meta.get("template", opts.template),
        "degradation": degradation.name,
        "seed": opts.seed,
        "weights": info.name if info else None,
        "preset": preset,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return EvalReport(rows, notes, setup)


def evaluate_segmentation_weights(opts: EvalOptions, info: Any) -> EvalReport:
    from engine.weights import load_model

    from .tasks.components import evaluate_segmentation, load_fasseg

    net = load_model(info, **info.card.get("model_overrides", {})).to(pick_device(opts.device))
    size = int(info.card.get("input_size", opts.size or 128))
    rows, setup_faces = {}, 0
    per_split = {}
    for split in ("frontal02", "multipose01"):
        samples = [s for s in load_fasseg(opts.data, "test", size * 2) if s[0].startswith(split)]
        if samples:
            per_split[split], _ = evaluate_segmentation(net, samples, size)
            setup_faces += len(samples)
    everything = load_fasseg(opts.data, "test", size * 2)
    rows[f"{info.name} (both test splits)"], _ = evaluate_segmentation(net, everything, size)
    for split, values in per_split.items():
        rows[f"{info.name} ({split} test)"] = values
    setup = {"data": str(opts.data), "photos": len(everything), "input_size": size,
             "weights": info.name, "preset": info.preset}  # fmt: skip
    return EvalReport(rows, [], setup)


def write_report(report_: EvalReport, path: str | Path) -> Path:
    path = Path(path)
    write_text_atomic(path, json.dumps(report_.to_json(), indent=2) + "\n")
    return path
