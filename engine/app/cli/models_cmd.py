"""``revive models list | available | download | import | verify | presets``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ...errors import WeightsError
from ...progress import Stage


def register(subparsers: argparse._SubParsersAction) -> None:
    models = subparsers.add_parser("models", help="list, import and verify model weights")
    sub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    ls = sub.add_parser("list", help="installed weights and whether they verify")
    ls.add_argument("--no-verify", action="store_true", help="skip the sha256 check")
    ls.set_defaults(handler=cmd_list)

    avail = sub.add_parser(
        "available", help="models Revive can download (the catalogue), and which are installed"
    )
    avail.set_defaults(handler=cmd_available)

    down = sub.add_parser(
        "download",
        help="download, check and install a model of the catalogue (resumes after an interruption)",
    )
    down.add_argument("name", help="a name from `revive models available`")
    down.add_argument("--force", action="store_true", help="download it again even if installed")
    down.set_defaults(handler=cmd_download)

    imp = sub.add_parser("import", help="import a released Face-SPARNet .pth checkpoint")
    imp.add_argument("checkpoint", help="the .pth file")
    imp.add_argument("--name", help="name of the imported set (default: the file's stem)")
    imp.add_argument("--half", action="store_true", help="store in float16 (half the size)")
    imp.set_defaults(handler=cmd_import)

    ver = sub.add_parser("verify", help="check every installed weight file's sha256")
    ver.set_defaults(handler=cmd_verify)

    pre = sub.add_parser("presets", help="the architectures Revive knows")
    pre.set_defaults(handler=cmd_presets)


def cmd_list(args: argparse.Namespace) -> int:
    from ...paths import shipped_weights_dir, user_weights_dir
    from ...weights import human_size, installed_weights, verify_weights

    found = installed_weights()
    if not found:
        print("No weights installed.")
        print(f"  shipped folder: {shipped_weights_dir()}")
        print(f"  your folder:    {user_weights_dir()}")
        print(
            "Download one with `revive models download NAME` (see `revive models "
            "available`), import a released checkpoint with `revive models import FILE.pth`, "
            "or train one with `revive train`."
        )
        return 0
    rows = [("NAME", "PRESET", "DTYPE", "SIZE", "SOURCE", "STATUS")]
    for info in found:
        status = (
            "not checked" if args.no_verify else ("ok" if not verify_weights(info) else "DAMAGED")
        )
        rows.append(
            (info.name, info.preset, info.dtype, human_size(info.total_bytes), info.source, status)
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_available(args: argparse.Namespace) -> int:
    from ...catalogue import catalogue_path, installed_entry_names, load_catalogue
    from ...weights import installed_weights

    entries = load_catalogue()
    installed = installed_entry_names(entries, installed_weights())
    rows = [("NAME", "SIZE", "STATUS", "LICENCE", "WHAT IT IS")]
    for entry in entries:
        status = "installed" if entry.name in installed else "available"
        rows.append((entry.name, entry.size_text(), status, entry.licence, entry.title))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    print(f"Download one with `revive models download NAME` (catalogue: {catalogue_path()}).")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from ...catalogue import find_entry, install
    from ...errors import Cancelled
    from ...progress import CancelToken
    from ...weights import human_size

    entry = find_entry(args.name)
    print(f"{entry.name}: {entry.title}, {entry.size_text()}, licence {entry.licence}")
    print(f"  from {entry.source}; checked by {entry.checked_by}")
    bar = _DownloadBar()
    cancel = CancelToken()
    try:
        info = install(entry, progress=bar, cancel=cancel, force=args.force)
    except (KeyboardInterrupt, Cancelled):
        bar.close()
        print(
            "revive: download interrupted; what arrived is kept: run the same command "
            "again to resume it",
            file=sys.stderr,
        )
        return 130
    finally:
        bar.close()
    print(
        f"installed {info.name} ({info.preset}, {human_size(info.total_bytes)}) "
        f"into {info.manifest.parent}"
    )
    return 0


class _DownloadBar:
    """A tqdm bar over the bytes of a download, then one line per later step."""

    def __init__(self) -> None:
        self._bar: Any = None

    def __call__(self, event: Any) -> None:
        from tqdm import tqdm

        if event.stage == Stage.DOWNLOAD:
            if self._bar is None:
                self._bar = tqdm(
                    total=event.total or None,
                    initial=event.done,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1000,
                    desc="download",
                    file=sys.stderr,
                    dynamic_ncols=True,
                )
            elif event.total and self._bar.total != event.total:
                self._bar.total = event.total
            self._bar.update(event.done - self._bar.n)
        elif event.done == 0 and event.message:
            self.close()
            print(f"  {event.message}…", file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def cmd_import(args: argparse.Namespace) -> int:
    from ...catalogue import explain_import_error
    from ...checkpoint_import import import_official_checkpoint
    from ...weights import human_size

    try:
        info = import_official_checkpoint(
            args.checkpoint, name=args.name, dtype="float16" if args.half else "float32"
        )
    except WeightsError as err:
        raise WeightsError(explain_import_error(str(err))) from None
    print(
        f"imported {info.name} ({info.preset}, {human_size(info.total_bytes)}) "
        f"into {info.manifest.parent}"
    )
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from ...weights import installed_weights, verify_weights

    bad = 0
    for info in installed_weights():
        problems = verify_weights(info)
        print(f"{info.name}: {'ok' if not problems else '; '.join(problems)}")
        bad += bool(problems)
    if bad:
        raise WeightsError(f"{bad} weight set(s) failed verification")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from ...models import list_presets

    for preset in list_presets():
        print(f"{preset.name:26s} {preset.kind.label:16s} {preset.description}")
    return 0
