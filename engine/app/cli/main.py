"""Entry point of the ``revive`` console script.

Subcommands come from an explicit list of modules (a PyInstaller bundle cannot
scan for them); each module has ``register(subparsers)``. Expected failures
(``ReviveError``) print one line and exit 1; no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ... import __version__
from ...errors import run_command

COMMAND_MODULES = (
    "engine.app.cli.models_cmd",
    "engine.app.cli.restore_cmd",
    "engine.app.cli.detect_cmd",
    "training.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="revive",
        description="Restore the faces in old and low-quality photos. "
        "Run without arguments to open the app.",
    )
    parser.add_argument("--version", action="version", version=version_text())
    parser.add_argument(
        "--selftest",
        action="store_true",
        help="check this installation (weights, face detection, a restoration on the CPU)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = subparsers.add_parser("gui", help="open the desktop app (the default)")
    gui.add_argument("files", nargs="*", help="photos to open")
    gui.set_defaults(handler=run_gui)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def version_text() -> str:
    import torch

    return f"revive {__version__} (torch {torch.__version__}, Python {sys.version.split()[0]})"


def run_gui(args: argparse.Namespace) -> int:
    """Start the Qt app; imported only here so the rest of the CLI never loads Qt."""
    try:
        app = importlib.import_module("gui.app")
    except ImportError as err:
        print(
            f"revive: the desktop app is not available ({err}); "
            "use `revive restore PHOTO...` instead",
            file=sys.stderr,
        )
        return 2
    return int(app.main(list(getattr(args, "files", []) or [])) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.selftest:
        from ..selftest import main as selftest

        return selftest()
    handler = getattr(args, "handler", None)
    if handler is None:
        if args.command is None:
            return run_gui(args)
        parser.parse_args([args.command, "--help"])
        return 2
    return run_command(handler, args)


if __name__ == "__main__":
    sys.exit(main())
