"""Revive's own faults (bugs), with their tracebacks, in a log file for a bug report.

An exception no damaged file should cause (a ``TypeError`` in a decoder, say) is shown
as one line that calls it Revive's fault; the traceback goes here, to
``<user log folder>/revive-errors.log`` (rotated at 1 MiB, one old copy kept), so the
user can attach it to a report without ever seeing it on the terminal.
"""

from __future__ import annotations

import logging
import logging.handlers
import threading
from pathlib import Path

from .paths import user_log_dir

LOG_NAME = "revive-errors.log"
_LOGGER = logging.getLogger("revive.faults")
_LOGGER.propagate = False  # never to the terminal: the one line says it all there
_LOCK = threading.Lock()


def fault_log_path() -> Path:
    return user_log_dir() / LOG_NAME


def record_fault(context: str, err: BaseException) -> Path | None:
    """Append ``context`` and ``err``'s traceback to the fault log; its path, or None."""
    path = fault_log_path()
    with _LOCK:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=1 << 20, backupCount=1, encoding="utf-8"
            )
        except OSError:
            return None
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        _LOGGER.addHandler(handler)
        try:
            _LOGGER.error("%s", context, exc_info=(type(err), err, err.__traceback__))
        finally:
            _LOGGER.removeHandler(handler)
            handler.close()
    return path
