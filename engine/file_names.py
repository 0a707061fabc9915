"""File names that come from outside (a catalogue, a manifest, a URL) stay in their folder.

A catalogue or a weights manifest names the files Revive writes and reads; a hostile or
damaged one could name ``../../.bashrc``, ``/etc/x``, ``C:\\x`` or a name with a NUL
(which would not even reach the file system). Only a plain name, one path component
that does not start with a dot, is taken.
"""

from __future__ import annotations

_FORBIDDEN = {"/": "a folder separator", "\\": "a folder separator", ":": "a drive or stream mark"}


def unsafe_name_reason(name: object) -> str | None:
    """Why ``name`` cannot be a file name inside its folder; None when it can."""
    if not isinstance(name, str) or not name:
        return "is not a file name"
    if "\x00" in name:
        return "contains a NUL character"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "contains a control character"
    for mark, what in _FORBIDDEN.items():
        if mark in name:
            return f"contains {what} ({mark!r})"
    if name.startswith("."):
        return "starts with a dot (a hidden file, or a way out of its folder)"
    return None


def describe(name: object) -> str:
    """``name`` for a message: printable, whatever it holds."""
    return ascii(name) if isinstance(name, str) else type(name).__name__
