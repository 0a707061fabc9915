"""``revive models list | import | verify | presets``."""

from __future__ import annotations

import argparse

from ...errors import WeightsError


def register(subparsers: argparse._SubParsersAction) -> None:
    models = subparsers.add_parser("models", help="list, import and verify model weights")
    sub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    ls = sub.add_parser("list", help="installed weights and whether they verify")
    ls.add_argument("--no-verify", action="store_true", help="skip the sha256 check")
    ls.set_defaults(handler=cmd_list)

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
            "Import a released checkpoint with `revive models import FILE.pth`, "
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


def cmd_import(args: argparse.Namespace) -> int:
    from ...checkpoint_import import import_official_checkpoint
    from ...weights import human_size

    info = import_official_checkpoint(
        args.checkpoint, name=args.name, dtype="float16" if args.half else "float32"
    )
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
