"""Entry point of the ``revive`` console script.

Subcommands come from an explicit list of modules (a PyInstaller bundle cannot
scan for them); each module has ``register(subparsers)``. Expected failures
(``ReviveError``) print one line and exit 1; no traceback. Ctrl+C (SIGINT), SIGTERM
and SIGHUP stop a command the same way, at any moment: files being written are
removed, finished photos are kept, one line says so, and the exit code is 130 for
Ctrl+C; SIGTERM and SIGHUP end the process by that signal once it has cleaned up (the
shell's 128 + its number). Nothing imports torch before a network is needed.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import importlib
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence

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
    parser.add_argument("--version", action=_VersionAction, help="show the version and exit")
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


class _VersionAction(argparse.Action):
    """``--version``: imports torch (for its version) only when asked, not for every command."""

    def __init__(
        self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None
    ):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(version_text())
        parser.exit()


def run_gui(args: argparse.Namespace) -> int:
    """Start the Qt app; imported only here so the rest of the CLI never loads Qt."""
    with contextlib.suppress(ValueError):  # the app handles its own ending (not ours)
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
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
    whole_process = argv is None  # the ``revive`` command itself, not a caller in Python
    argv = list(sys.argv[1:] if argv is None else argv)
    received: list[int] = []
    with _stop_signals(received, whole_process), _tolerant_streams(), _notes_not_logged():
        try:
            code = _main(argv)
        except KeyboardInterrupt:  # before a command's own handling (e.g. while importing)
            print("revive: interrupted", file=sys.stderr)
            code = 130
    if received and code == 130:
        code = 128 + received[0]
        if whole_process:
            _end_by(received[0])
    return code


def _end_by(signum: int) -> None:
    """End the process by the signal that stopped it, as a program that did not catch it
    would (the shell sees "Terminated"); everything is written and cleaned up by now.

    (Returning instead could end in SIGINT: Python does so when a KeyboardInterrupt once
    left code run by a C extension, e.g. while torch was being imported.)
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with contextlib.suppress(Exception):
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _main(argv: list[str]) -> int:
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


_STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


@contextlib.contextmanager
def _stop_signals(received: list[int], whole_process: bool) -> Iterator[None]:
    """SIGTERM and SIGHUP stop like Ctrl+C (a KeyboardInterrupt), so they clean up alike.

    Once the command is over, a process that is only exiting ignores them (and Ctrl+C):
    everything is written, and a late signal must not print a traceback or change the
    exit code. A caller in Python gets its own handlers back.
    """

    def stop(signum: int, frame: object) -> None:
        if not received:
            received.append(signum)
        raise KeyboardInterrupt

    previous = {}
    try:
        for sig in _STOP_SIGNALS:
            previous[sig] = signal.signal(sig, stop)
    except ValueError:  # not the main thread: signals are not ours to handle
        pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_IGN if whole_process else handler)
        if whole_process and previous:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _name_bytes_or_escape(err: UnicodeError) -> tuple[str | bytes, int]:
    """Encoding errors on our streams: a file name's undecodable bytes are written back
    as they were (``surrogateescape``, what ``ls`` prints); anything else is escaped."""
    if not isinstance(err, UnicodeEncodeError):
        raise err
    chunk = err.object[err.start : err.end]
    if all(0xDC80 <= ord(ch) <= 0xDCFF for ch in chunk):
        return bytes(ord(ch) - 0xDC00 for ch in chunk), err.end
    return codecs.backslashreplace_errors(err)


codecs.register_error("revive.names", _name_bytes_or_escape)


@contextlib.contextmanager
def _tolerant_streams() -> Iterator[None]:
    """stdout / stderr that cannot fail on a file name (non-UTF-8 names, an ASCII terminal)."""
    changed = []
    for stream in (sys.stdout, sys.stderr):
        errors = getattr(stream, "errors", None)
        if errors in ("strict", "backslashreplace", "replace") and hasattr(stream, "reconfigure"):
            with contextlib.suppress(Exception):
                stream.reconfigure(errors="revive.names")
                changed.append((stream, errors))
    try:
        yield
    finally:
        for stream, errors in changed:
            with contextlib.suppress(Exception):
                stream.reconfigure(errors=errors)


@contextlib.contextmanager
def _notes_not_logged() -> Iterator[None]:
    """What loading and saving had to change is on each photo's line, not logged again."""
    logger = logging.getLogger("engine.io")
    handler = logging.NullHandler()
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


if __name__ == "__main__":
    sys.exit(main())
