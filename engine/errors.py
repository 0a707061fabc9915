"""Exceptions a photographer can cause, with messages a photographer understands.

Front ends catch ``ReviveError`` and show ``str(err)`` as one line (CLI) or in a
dialog (GUI); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


class ReviveError(Exception):
    """Base class of every expected, user-facing failure."""


class ImageReadError(ReviveError):
    """The file is missing, empty, truncated, not an image, or in an unsupported format."""


class ImageWriteError(ReviveError):
    """The output could not be written (permissions, disk full, would overwrite an input)."""


class NoFaceError(ReviveError):
    """No face was found in a photo."""


class WeightsError(ReviveError):
    """A weights file is missing, corrupt, of the wrong architecture, or fails its checksum."""


class ModelNotFoundError(ReviveError):
    """An unknown model preset name was asked for."""


class DeviceError(ReviveError):
    """The requested compute device is not available, or ran out of memory for good."""


class Cancelled(ReviveError):
    """The user cancelled a long operation; whatever finished before is kept."""


def run_command(handler: Callable[[Any], int | None], args: Any) -> int:
    """Run a command-line handler: expected failures are one line on stderr and exit 1.

    Used by ``revive`` and ``python -m training`` alike; no traceback for a ``ReviveError``,
    130 on Ctrl+C.
    """
    try:
        return int(handler(args) or 0)
    except ReviveError as err:
        print(f"revive: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("revive: interrupted", file=sys.stderr)
        return 130
