"""``revive train | evaluate | data pack | plot | export`` (also ``python -m training ...``).

MODEL of ``train`` is a trainer (sparnet_x8, sparnethd, cagface, components) or a
preset name (``revive models presets``). ``--resume`` continues the run in ``--out``
from its last checkpoint with the run's saved settings (``--steps`` may raise the
total). On a GPU machine without the ``revive`` script, ``python -m training``
takes the same commands.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from engine.errors import ReviveError
from engine.progress import CancelToken


def register(subparsers: argparse._SubParsersAction) -> None:
    _train_parser(subparsers)
    _evaluate_parser(subparsers)
    _data_parser(subparsers)
    plot = subparsers.add_parser("plot", help="redraw a training run's plots from its CSV logs")
    plot.add_argument("run", help="the run folder")
    plot.set_defaults(handler=cmd_plot)
    export = subparsers.add_parser(
        "export", help="export a training run's last checkpoint to the weights store"
    )
    export.add_argument("run", help="the run folder")
    export.add_argument("--name", help="name of the weight set (default: preset-run)")
    export.add_argument("--to", help="folder (default: RUN/export)")
    export.add_argument("--install", action="store_true", help="into your Revive weights folder")
    export.set_defaults(handler=cmd_export)


def _train_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a model on a folder of face photos (or a pack)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="sparnet_x8 | sparnethd | cagface | components | a preset name")
    p.add_argument("--data", help="pack, image folder, or FASSEG root (components)")
    p.add_argument("--val-list", help="names of --data faces kept for validation")
    p.add_argument("--val-data", help="a separate pack or folder for validation")
    p.add_argument("--exclude-list", help="names of --data faces never used")
    p.add_argument("--val-count", type=int, help="validation faces used (default 32)")
    p.add_argument("--steps", type=int, help="total steps (default 1000)")
    p.add_argument("--batch", type=int, help="batch per process (default: the paper's)")
    p.add_argument("--lr", type=float, help="learning rate (default: the paper's)")
    p.add_argument("--out", default=None, help="run folder (default runs/MODEL)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument(
        "--time-limit",
        dest="time_limit_s",
        type=float,
        metavar="SECONDS",
        help="end this call after SECONDS of training: validate, checkpoint, export "
        "(then --resume goes on); for machines lent by the minute",
    )
    p.add_argument("--seed", type=int)
    p.add_argument(
        "--init-weights",
        help="start from these weights (name or manifest; their card's history carries on)",
    )
    p.add_argument("--size", type=int, help="face side in px (default: the preset's)")
    p.add_argument("--max-faces", type=int, help="use at most this many training faces")
    p.add_argument("--degradation", help="bicubic4x | bicubic8x | bicubic16x | eq14 | none")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N | mps")
    p.add_argument("--amp", help="auto | bf16 | fp16 | off (CUDA; bf16 also on a CPU with AVX-512)")
    p.add_argument("--channels-last", action="store_true", default=None)
    p.add_argument("--compile", action="store_true", default=None, help="torch.compile")
    p.add_argument("--log-every", type=int)
    p.add_argument("--val-every", type=int)
    p.add_argument("--sample-every", type=int)
    p.add_argument("--checkpoint-every", type=int)
    p.add_argument("--keep-checkpoints", type=int, help="checkpoints kept on disk (default 2)")
    p.add_argument(
        "--checkpoint-dtype",
        choices=("float32", "bfloat16", "float16"),
        help="half precision: half-size checkpoints, inexact resume",
    )
    p.add_argument(
        "--weights-only-checkpoints",
        dest="checkpoint_optimizer",
        action="store_false",
        default=None,
        help="leave the optimiser state out of checkpoints (small; resume with fresh moments)",
    )
    p.add_argument("--workers", type=int, help="threads preparing samples")
    p.add_argument("--ema", type=float, dest="ema_decay", help="EMA decay of the exported copy")
    p.add_argument("--name", dest="export_name", help="name of the exported weight set")
    p.add_argument("--export-dir", help="where the weights go (default RUN/export)")
    p.add_argument("--install", action="store_true", help="export into your Revive weights folder")
    p.add_argument("--vgg19", help="VGG19 weights for SPARNetHD's perceptual loss")
    p.add_argument("--components", help="component weights for CAGFace (default: shipped)")
    p.add_argument("--stage1-steps", type=int, help="CAGFace: steps of stage 1 alone")
    p.add_argument("--patch", type=int, help="CAGFace: LR patch side")
    p.add_argument("--option", action="append", default=[], metavar="KEY=JSON",
                   help="trainer option, e.g. loss_weights='{\"fm\": 5}'")  # fmt: skip
    p.add_argument("--override", action="append", default=[], metavar="KEY=JSON",
                   help="change a preset argument, e.g. res_blocks=2 (a lighter net)")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="plain log lines, no bar")
    p.add_argument("--no-export", action="store_true")
    p.set_defaults(handler=cmd_train)


ALL_METRICS = ("psnr", "ssim", "msssim", "lpips", "fid", "identity", "landmarks")


def _evaluate_parser(subparsers: argparse._SubParsersAction) -> None:
    from .degrade import PRESETS  # numpy and OpenCV, no torch

    p = subparsers.add_parser(
        "evaluate", help="measure weights (PSNR/SSIM on Y, ...) beside the bicubic baseline"
    )
    p.add_argument("--weights", help="weights name or manifest (none: bicubic baseline only)")
    p.add_argument("--data", required=True, help="pack or image folder (FASSEG root: components)")
    p.add_argument("--list", dest="list_file", help="use only the faces named in this file")
    p.add_argument("--degradation", help="default: the weights' own (model card), else bicubic8x",
                   choices=("bicubic4x", "bicubic8x", "bicubic16x", "eq14", "none"))  # fmt: skip
    p.add_argument(
        "--eq14-preset",
        choices=tuple(PRESETS),
        help="Eq. 14 with these ranges (eq14: RESTORER_EQ14; old_photo: plus fading, casts, "
        "grain, dots) instead of the card's; implies --degradation eq14",
    )
    p.add_argument("--metrics", default=",".join(ALL_METRICS),
                   help=f"comma-separated subset of {','.join(ALL_METRICS)}")  # fmt: skip
    p.add_argument("--size", type=int, help="face side in px (default: the preset's, else 128)")
    p.add_argument("--template", default="utkface", help="alignment template for folders")
    p.add_argument("--limit", type=int)
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--device", default="auto")
    p.add_argument("--components", help="CAGFace's component weights (default: shipped)")
    p.add_argument("--lpips-weights", help="torchvision AlexNet state dict")
    p.add_argument("--fid-weights", help="torchvision Inception-v3 state dict")
    p.add_argument("--identity-weights", help="facenet-pytorch InceptionResnetV1 state dict "
                   "(default: dlib's face-recognition ResNet, the identity extra)")  # fmt: skip
    p.add_argument("--landmark-weights", help="TorchScript FAN (face-alignment 2DFAN4) "
                   "(default: dlib's 68-point predictor, the identity extra)")  # fmt: skip
    p.add_argument("--json", help="where the JSON goes (default evaluation-NAME-DEG.json)")
    p.set_defaults(handler=cmd_evaluate)


def _data_parser(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="prepare training data")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    p = sub.add_parser("pack", help="align the faces of a folder into compact shards")
    p.add_argument("folder")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--out", required=True)
    p.add_argument("--template", default="utkface", help="utkface | ffhq512")
    p.add_argument("--exclude-list", help="names to leave out (e.g. the validation list)")
    p.add_argument("--include-list", help="pack only these names")
    p.add_argument("--encoding", default="webp", choices=("webp", "jpeg", "png"))
    p.add_argument("--quality", type=int, default=88)
    p.add_argument(
        "--limit", type=int, help="pack at most this many faces (a seeded random sample)"
    )
    p.add_argument("--licence", help="licence of the photos, for the model cards")
    p.set_defaults(handler=cmd_pack)
    u = sub.add_parser(
        "subset", help="a random part of a pack within a size (faces copied, not re-encoded)"
    )
    u.add_argument("pack")
    u.add_argument("--out", required=True)
    u.add_argument("--max-mib", type=float, help="at most this many MiB of faces")
    u.add_argument("--limit", type=int, help="at most this many faces")
    u.add_argument("--seed", type=int, default=0)
    u.set_defaults(handler=cmd_subset_pack)
    d = sub.add_parser(
        "detail", help="the faces of a pack that hold fine detail (faces copied, not re-encoded)"
    )
    d.add_argument("pack")
    d.add_argument("--out", required=True)
    d.add_argument("--max-round-trip", type=float,
                   help="keep faces whose halve-and-enlarge PSNR (dB) is below this")  # fmt: skip
    d.add_argument("--max-noise", type=float, help="drop faces noisier than this")
    d.add_argument("--max-halftone", type=float, help="drop printed (dot-screen) faces")
    d.set_defaults(handler=cmd_detail_pack)
    v = sub.add_parser("verify", help="check a pack's sha256 sums")
    v.add_argument("pack")
    v.set_defaults(handler=cmd_verify_pack)


# --- handlers -----------------------------------------------------------------------------

_TRAIN_FIELDS = (
    "val_list", "val_data", "exclude_list", "val_count", "steps", "batch", "lr", "seed", "size",
    "max_faces", "degradation", "device", "amp", "channels_last", "compile", "log_every",
    "val_every", "sample_every", "checkpoint_every", "checkpoint_dtype", "checkpoint_optimizer",
    "keep_checkpoints",
    "workers", "ema_decay", "time_limit_s",
    "export_name", "export_dir", "init_weights",
)  # fmt: skip


def _key_values(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, _, raw = item.partition("=")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def _options(args: argparse.Namespace) -> dict:
    options = {}
    for item in args.option:
        key, _, raw = item.partition("=")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    for key in ("vgg19", "components", "stage1_steps", "patch"):
        if getattr(args, key, None) is not None:
            options[key] = getattr(args, key)
    return options


def cmd_train(args: argparse.Namespace) -> int:
    from engine.paths import user_weights_dir

    from .config import ConfigError, TrainConfig
    from .loop import train
    from .trainers import resolve_model

    trainer, _ = resolve_model(args.model)
    out = args.out or f"runs/{args.model}"
    given = {k: getattr(args, k) for k in _TRAIN_FIELDS if getattr(args, k) is not None}
    if args.install:
        given["export_dir"] = str(user_weights_dir())
    if args.no_progress:
        given["progress_bar"] = False
    if args.resume and Path(out, "config.json").is_file():
        config = TrainConfig.load(out)
        if (
            config.model != args.model
            and resolve_model(config.model)[1] != resolve_model(args.model)[1]
        ):
            raise ConfigError(f"{out} trains {config.model}, not {args.model}")
        for key in ("steps", "device", "amp", "workers", "progress_bar", "export_dir",
                    "export_name", "checkpoint_every", "checkpoint_dtype",
                    "checkpoint_optimizer", "time_limit_s"):  # fmt: skip
            if key in given:
                setattr(config, key, given[key])
        config.options.update(_options(args))
    else:
        if not args.data:
            raise ConfigError("give the training data with --data")
        config = TrainConfig(model=args.model, data=args.data, out=out, **given)
        config.options.update(_options(args))
        config.model_overrides.update(_key_values(args.override))
    del trainer
    cancel = CancelToken()
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum, frame) -> None:  # first Ctrl+C: checkpoint and stop
        if cancel.cancelled:
            raise KeyboardInterrupt
        print("\nstopping after this step (Ctrl+C again to abort)...", file=sys.stderr)
        cancel.cancel()

    signal.signal(signal.SIGINT, on_interrupt)
    try:
        result = train(config, resume=args.resume, cancel=cancel, export=not args.no_export)
    finally:
        signal.signal(signal.SIGINT, previous)
    if os.environ.get("RANK", "0") == "0":
        state = "stopped" if result.stopped else "finished"
        print(
            f"{state} at step {result.step} in {result.wall_s:.0f} s; run folder {result.run_dir}"
        )
        if result.metrics:
            print("validation: " + ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items()))
        if result.export:
            print(f"weights: {result.export}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import EvalOptions, evaluate, write_report

    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    if unknown := [m for m in metrics if m not in ALL_METRICS]:
        raise ReviveError(f"unknown metric {unknown[0]!r}; use some of {', '.join(ALL_METRICS)}")
    opts = EvalOptions(
        data=args.data,
        weights=args.weights,
        degradation=args.degradation or ("eq14" if args.eq14_preset else None),
        eq14_preset=args.eq14_preset,
        metrics=metrics,
        list_file=args.list_file,
        size=args.size,
        template=args.template,
        limit=args.limit,
        seed=args.seed,
        device=args.device,
        components=args.components,
        lpips_weights=args.lpips_weights,
        fid_weights=args.fid_weights,
        identity_weights=args.identity_weights,
        landmark_weights=args.landmark_weights,
    )
    report = evaluate(opts)
    setup = report.setup
    print(
        f"{setup.get('faces', setup.get('photos'))} faces of {setup['data']}"
        + (f", {setup['degradation']}, {setup['size']} px" if "degradation" in setup else "")
    )
    print(report.table())
    for note in report.notes:
        print(f"note: {note}")
    name = (setup.get("weights") or "bicubic").replace("/", "_")
    target = args.json or f"evaluation-{name}-{setup.get('degradation', 'segmentation')}.json"
    print(f"wrote {write_report(report, target)}")
    return 0


def cmd_pack(args: argparse.Namespace) -> int:
    from .pack import pack_folder

    def progress(event) -> None:
        if event.done % 500 == 0 or event.done == event.total:
            print(f"  {event.done}/{event.total}", file=sys.stderr, flush=True)

    index, stats = pack_folder(
        args.folder,
        args.out,
        size=args.size,
        template=args.template,
        include_list=args.include_list,
        exclude_list=args.exclude_list,
        encoding=args.encoding,
        quality=args.quality,
        limit=args.limit,
        licence=args.licence,
        progress=progress,
    )
    data = json.loads(index.read_text(encoding="utf-8"))
    total = sum(p.stat().st_size for p in index.parent.iterdir() if p.is_file())
    print(
        f"packed {data['count']} faces at {data['size']} px into {len(data['shards'])} shard(s), "
        f"{total / 2**20:.1f} MiB with the index ({data['bytes'] / data['count'] / 1024:.2f} KiB "
        f"a face); landmarks found in {stats.detected}, template fallback for {stats.fallback}"
    )
    return 0


def cmd_subset_pack(args: argparse.Namespace) -> int:
    from .pack import PackError, read_index, subset_pack

    if args.max_mib is None and args.limit is None:
        raise PackError("say how much to keep: --max-mib and/or --limit")
    max_bytes = None if args.max_mib is None else int(args.max_mib * 1024 * 1024)
    subset_pack(args.pack, args.out, max_bytes=max_bytes, limit=args.limit, seed=args.seed)
    index = read_index(args.out)
    print(
        f"kept {index['count']} of {index['subset_of']['count']} faces "
        f"({index['bytes'] / 2**20:.1f} MiB) in {args.out}"
    )
    return 0


def cmd_detail_pack(args: argparse.Namespace) -> int:
    from .pack import read_index
    from .pack_detail import DetailLimits, detail_subset_pack

    given = {
        "max_round_trip_db": args.max_round_trip,
        "max_noise": args.max_noise,
        "max_halftone": args.max_halftone,
    }
    limits = DetailLimits(**{k: v for k, v in given.items() if v is not None})
    detail_subset_pack(args.pack, args.out, limits)
    index = read_index(args.out)
    print(
        f"kept {index['count']} of {index['detail_of']['count']} faces "
        f"({index['bytes'] / 2**20:.1f} MiB) in {args.out}"
    )
    return 0


def cmd_verify_pack(args: argparse.Namespace) -> int:
    from .pack import PackError, verify_pack

    problems = verify_pack(args.pack)
    if problems:
        raise PackError("; ".join(problems))
    print(f"{args.pack}: ok")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from .plots import plot_run

    written, note = plot_run(args.run)
    if note:
        raise ReviveError(note)
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from engine.paths import user_weights_dir

    from .config import TrainConfig
    from .loop import export_checkpoint

    config = TrainConfig.load(args.run)
    if args.name:
        config.export_name = args.name
    if args.install:
        config.export_dir = str(user_weights_dir())
    elif args.to:
        config.export_dir = args.to
    path = export_checkpoint(config)
    print(f"exported {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m training``: the same commands without the GUI's entry point."""
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    register(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    from engine.errors import run_command

    return run_command(args.handler, args)
