"""``revive restore PATH... [-o DIR] [--model ...] [--scale 1|2|4|auto] ...``: bulk restoring.

Files, folders and glob patterns; one summary line per photo; a photo that fails
(unreadable, no face) is reported in one line and the batch goes on; the exit code is 0
only when every photo succeeded (1 otherwise, 130 when interrupted). Outputs are
``<stem>_revived.<ext>``, written atomically, never over an input (nor is the report);
Ctrl+C stops cleanly, keeping the photos already finished and leaving no partial file.
Each photo is written before its faces' likeness figures are measured; the summary line
and the report (written last, atomically) carry the figures, or say they are missing.
Every setting is checked before the first photo; torch is imported (and the weights and
the device checked) when the first photo that decodes needs a network.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ...errors import ReviveError
from ...io.formats import WRITES_HELP
from ...progress import CancelToken, ProgressEvent, Stage
from ...runtimes import RUNTIME_CHOICES
from ...scale_choice import MAX_RESULT_MEGAPIXELS, MIN_FACE_SIDE, parse_scale
from .common import collect, device_name

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "restore",
        help="restore every face in photos (files, folders, globs)",
        description="Find, restore and paste back every face; write <name>_revived.<ext>.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="photos, folders or glob patterns")
    p.add_argument("-o", "--output", metavar="DIR", help="output folder (default: beside each)")
    p.add_argument(
        "--model",
        default="auto",
        help="auto | sparnethd | sparnet | cagface | a preset | installed weights (default auto)",
    )
    p.add_argument(
        "--device", default="auto", type=device_name, help="auto | cuda | cuda:N | mps | cpu"
    )
    p.add_argument("--precision", default="auto", help="auto | fp32 | fp16 | bf16")
    p.add_argument(
        "--runtime",
        default="auto",
        choices=RUNTIME_CHOICES,
        help="who runs the networks on a CPU: ONNX Runtime, torch, or auto: per network the "
        "one measured faster here (once, then kept); torch when ONNX Runtime is missing",
    )
    p.add_argument(
        "--scale",
        type=_scale_arg,
        default=1,
        metavar="{1,2,4,auto}",
        help="enlarge the photo; auto: the smallest scale at which the median face is "
        f"{MIN_FACE_SIDE} px or more, the result at most {MAX_RESULT_MEGAPIXELS:g} MP (default 1)",
    )
    p.add_argument(
        "--strength", type=float, default=1.0, help="0 = original, 1 = fully restored faces"
    )
    p.add_argument(
        "--no-identity",
        action="store_true",
        help="skip the per-face identity check (dlib; about 0.2 s a face on a CPU)",
    )
    p.add_argument(
        "--no-color-match",
        action="store_true",
        help="do not keep the original's colours and shading on the faces",
    )
    p.add_argument("--min-face-size", type=float, default=16.0, metavar="PX")
    p.add_argument("--min-score", type=float, default=0.9, metavar="P")
    p.add_argument("--batch-size", type=int, default=0, metavar="N", help="faces per batch")
    p.add_argument("--tile-size", type=int, default=128, metavar="PX", help="CAGFace tiles")
    p.add_argument("--compile", action="store_true", help="torch.compile the networks (slow start)")
    p.add_argument("--save-faces", action="store_true", help="also write each face before/after")
    p.add_argument(
        "--save-attention", action="store_true", help="also write each face's attention maps"
    )
    p.add_argument("--report", metavar="FILE", help="write a JSON report of every photo")
    p.add_argument("--format", dest="fmt", help=f"output format ({WRITES_HELP})")
    p.add_argument("--quality", type=int, default=95, help="JPEG / WebP quality (default 95)")
    p.add_argument("-r", "--recursive", action="store_true", help="look into sub-folders")
    p.add_argument(
        "--allow-no-faces",
        action="store_true",
        help="save photos without a face too (unchanged, or only enlarged by --scale)",
    )
    p.set_defaults(handler=cmd_restore)


def _scale_arg(text: str) -> int | str:
    try:
        return parse_scale(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def options_from_args(args: argparse.Namespace) -> Any:
    from ...options import RestoreOptions

    return RestoreOptions.of(
        model=args.model,
        device=args.device,
        precision=args.precision,
        network_runtime=getattr(args, "runtime", "auto"),
        scale=args.scale,
        strength=args.strength,
        color_match=not args.no_color_match,
        attention=args.save_attention,
        identity=not args.no_identity,
        min_face_size=args.min_face_size,
        min_score=args.min_score,
        batch_size=args.batch_size,
        tile_size=args.tile_size,
        compile=args.compile,
        allow_no_faces=getattr(args, "allow_no_faces", False),
    )


def save_options_from_args(args: argparse.Namespace) -> Any:
    from ...batch import SaveOptions

    folder = Path(args.output) if args.output else None
    return SaveOptions(folder=folder, fmt=args.fmt, quality=args.quality)


class _Bar:
    """A tqdm bar over photos whose text follows the pipeline's stages (off when not a TTY)."""

    def __init__(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="photo", disable=None, file=sys.stderr, leave=False)

    def stage(self, event: ProgressEvent) -> None:
        if event.stage == Stage.PHOTO:
            return
        if event.total:
            self.bar.set_postfix_str(f"{event.stage} {event.done}/{event.total}", refresh=True)

    def write(self, line: str, err: bool = False) -> None:
        self.bar.write(line, file=sys.stderr if err else sys.stdout)

    def close(self) -> None:
        self.bar.close()


def _extras(args: argparse.Namespace):
    """The --save-faces / --save-attention writer for ``restore_batch``, or None."""
    if not (args.save_faces or args.save_attention):
        return None
    from ...io import Photo, save_photo
    from ...visualize import attention_grid

    def write(outcome: Any, protected: list[Path]) -> list[str]:
        out = outcome.output
        folder = out.parent / f"{out.stem}_faces"
        written = []
        for face in outcome.result.faces:
            stem = f"face{face.index + 1:02d}"
            images = {}
            if args.save_faces:
                images[f"{stem}_before.png"] = face.crop_before
                images[f"{stem}_after.png"] = face.crop_after
            if args.save_attention:
                images[f"{stem}_attention.png"] = attention_grid(face)
            for name, pixels in images.items():
                path = save_photo(Photo(pixels), folder / name, protected=protected)
                written.append(str(path))
        return written

    return write


def _restorer_maker(options: Any):
    """The Restorer, made when the first photo needs it: the torch import, the weights
    and the device are checked then (a batch of refused files never loads them)."""

    def make() -> Any:
        from ...pipeline import Restorer

        restorer = Restorer.from_store(options)
        restorer.check(options)  # no weights or no such device: one line, ends the batch
        return restorer

    return make


def restore_paths(
    paths: list[Path],
    args: argparse.Namespace,
    cancel: CancelToken | None = None,
    restorer: Any = None,
) -> int:
    """Restore ``paths`` one by one (``engine.batch``); the exit code of the whole batch."""
    from ...batch import BatchItem, restore_batch

    options = options_from_args(args)
    save = save_options_from_args(args)
    restorer = restorer or _restorer_maker(options)
    bar = _Bar(len(paths))

    def on_photo(outcome: Any) -> None:
        name = outcome.item.name
        if outcome.status == "ok":
            result = outcome.result
            warnings = [*result.warnings, *outcome.notes, *([outcome.note] if outcome.note else [])]
            warn = f" ({'; '.join(warnings)})" if warnings else ""
            auto = f" at {result.scale}x (auto)" if options.photo.scale == "auto" else ""
            bar.write(
                f"{name}: {len(result.faces)} face(s) restored{auto} in {outcome.seconds:.1f} s "
                f"on {result.device} -> {outcome.output}{warn}{identity_summary(result)}"
            )
        else:
            bar.write(f"revive: {outcome.error}", err=True)
        bar.bar.update(1)

    try:
        batch = restore_batch(
            restorer,
            [BatchItem.of(p) for p in paths],
            options,
            save,
            progress=bar.stage,
            cancel=cancel,
            on_photo=on_photo,
            extras=_extras(args),
        )
    finally:
        bar.close()
    done = [p for p in batch.photos if p.status in ("ok", "error")]
    if batch.cancelled:
        print("revive: interrupted; finished photos are kept", file=sys.stderr)
    if args.report:
        _write_report(Path(args.report), [_entry(p) for p in done], batch.cancelled)
    ok = sum(1 for p in done if p.status == "ok")
    failed = len(done) - ok
    if len(paths) > 1:
        print(f"{ok} of {len(paths)} photo(s) restored" + (f", {failed} failed" if failed else ""))
    if batch.cancelled:
        return EXIT_INTERRUPTED
    return EXIT_OK if failed == 0 and ok == len(paths) else EXIT_FAILED


def identity_summary(result: Any) -> str:
    """``; identity 0.93-0.98`` and the faces that may no longer look like the person
    (and, when a cancel came first, that some figures are missing)."""
    scored = [f for f in result.faces if f.identity is not None]
    from ...results import Likeness

    missing = ""
    if result.likeness is Likeness.MISSING:
        missing = f"; {len(result.faces) - len(scored)} likeness figure(s) missing (cancelled)"
    if not scored:
        return missing
    values = [f.identity.cosine for f in scored]
    low, high = min(values), max(values)
    text = f"; identity {low:.2f}" if len(values) == 1 else f"; identity {low:.2f}-{high:.2f}"
    flagged = [f for f in scored if f.identity.flagged and f.accepted]
    if flagged:
        which = ", ".join(f"face {f.index + 1} ({f.identity.cosine:.2f})" for f in flagged)
        threshold = flagged[0].identity.threshold
        text += f"; may no longer look like the person (under {threshold:.2f}): {which}"
    return text + missing


def _entry(outcome: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"input": str(outcome.item.path), "status": outcome.status}
    if outcome.status == "ok":
        entry.update(
            output=str(outcome.output),
            seconds=round(outcome.seconds, 3),
            extras=outcome.extras,
        )
        if outcome.note:
            entry["note"] = outcome.note
        if outcome.notes:
            entry["notes"] = list(outcome.notes)
        entry.update(outcome.report)
    else:
        entry["error"] = outcome.error
    return entry


def _write_report(path: Path, entries: list[dict[str, Any]], interrupted: bool) -> None:
    from ...atomic import write_text_atomic

    data = {
        "photos": entries,
        "succeeded": sum(1 for e in entries if e.get("status") == "ok"),
        "failed": sum(1 for e in entries if e.get("status") == "error"),
        "interrupted": interrupted,
    }
    try:
        write_text_atomic(path, json.dumps(data, indent=2) + "\n")
    except OSError as err:
        raise ReviveError(f"{path.name}: the report could not be written ({err})") from None


def check_report(args: argparse.Namespace, paths: list[Path], save: Any) -> None:
    """Refuse, before any work, a report that would replace a photo or a folder."""
    if not args.report:
        return
    from ...batch import BatchItem, plan_outputs
    from ...io.formats import RAW_SUFFIXES, SUPPORTED_SUFFIXES
    from ...io.write import same_file

    report = Path(args.report)
    name = report.name or args.report
    if os.path.isdir(report):
        raise ReviveError(f"{name}: is a folder; give a file name for the report")
    for path in paths:
        if same_file(report, path):
            raise ReviveError(
                f"{name}: refusing to write the report over the input photo {path.name}"
            )
    for target, _ in plan_outputs([BatchItem.of(p) for p in paths], save):
        if same_file(report, target):
            raise ReviveError(f"{name}: refusing to write the report over the output {target.name}")
    if report.suffix.lower() in SUPPORTED_SUFFIXES | RAW_SUFFIXES:
        raise ReviveError(
            f"{name}: the report is a JSON file; give it a .json name, not a photo's "
            "(it would replace that photo)"
        )


def cmd_restore(args: argparse.Namespace) -> int:
    options_from_args(args)  # bad settings: one line, before any work
    save = save_options_from_args(args)
    paths, bad = collect(args)
    check_report(args, paths, save)
    if not paths:
        return EXIT_FAILED
    code = restore_paths(paths, args)
    return code if code != EXIT_OK or not bad else EXIT_FAILED
