"""The training module's own user-facing error (a ``ReviveError``: one line, no traceback)."""

from __future__ import annotations

from engine.errors import ReviveError


class ConfigError(ReviveError):
    """A training setting is invalid, or a run folder has no usable configuration."""
