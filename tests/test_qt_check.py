"""Point 2 of issue 16: the launcher names the missing system libraries Qt needs, in one line.

Qt itself blames ``libxcb-cursor0`` whatever is missing; on the stock Debian machine of
the issue the missing ones were ``libxcb-icccm4`` and ``libxcb-keysyms1``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engine.app.qt_check import (
    APT_LINE,
    APT_PACKAGES,
    PACKAGES,
    check_qt_libraries,
    missing_from_ldd,
    uses_xcb,
    xcb_plugin,
)

REPO = Path(__file__).resolve().parents[1]

# ldd's answer on that machine (abridged): two libraries not found, listed twice.
LDD_DEBIAN = """\
\tlinux-vdso.so.1 (0x00007ffd2b5f1000)
\tlibQt6XcbQpa.so.6 => /x/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f1)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f2)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x00007f3)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007f4)
"""


def test_ldd_listing_gives_the_missing_libraries_once_each():
    assert missing_from_ldd(LDD_DEBIAN) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert missing_from_ldd("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


def test_the_message_names_the_missing_packages_not_xcb_cursor(tmp_path):
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")
    check = check_qt_libraries(plugin, ldd=lambda path: LDD_DEBIAN)
    assert check.packages == ("libxcb-icccm4", "libxcb-keysyms1")
    line = check.message()
    assert "\n" not in line
    assert "sudo apt install libxcb-icccm4 libxcb-keysyms1" in line
    assert "cursor" not in line
    assert check_qt_libraries(plugin, ldd=lambda path: "").ok


def test_without_ldd_the_known_libraries_are_tried(tmp_path):
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")
    tried = []

    def load(sonames):
        tried.extend(sonames)
        return ["libxcb-keysyms.so.1"]

    check = check_qt_libraries(plugin, ldd=lambda path: None, load=load)
    assert set(tried) == set(PACKAGES) and check.packages == ("libxcb-keysyms1",)


def test_unknown_library_is_still_named(tmp_path):
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")
    check = check_qt_libraries(plugin, ldd=lambda p: "\tlibweird.so.3 => not found\n")
    assert not check.ok and "libweird.so.3" in check.message()


def test_when_qt_uses_xcb():
    assert uses_xcb({"DISPLAY": ":0"}, "linux")
    assert uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "linux")
    assert not uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not uses_xcb(
        {"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, "linux"
    )
    assert not uses_xcb({}, "linux")
    assert not uses_xcb({"DISPLAY": ":0"}, "win32") and not uses_xcb({"DISPLAY": ":0"}, "darwin")


def test_the_readme_has_the_apt_line_and_it_covers_every_package():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert APT_LINE in readme
    assert {"libxcb-icccm4", "libxcb-keysyms1", "libxcb-cursor0"} <= set(APT_PACKAGES)
    assert set(APT_PACKAGES) <= set(PACKAGES.values())


def test_the_real_plugin_is_found():
    if sys.platform.startswith("linux"):
        plugin = xcb_plugin()
        assert plugin is not None and plugin.name == "libqxcb.so"


def test_revive_prints_one_line_and_exits_2_before_qt_starts(tmp_path):
    """The real launcher, with an ``ldd`` that reports the two libraries missing."""
    fake = tmp_path / "bin"
    fake.mkdir()
    ldd = fake / "ldd"
    ldd.write_text(f"#!/bin/sh\ncat <<'EOF'\n{LDD_DEBIAN}EOF\n")
    ldd.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY="revive-test.invalid:0", PATH=f"{fake}{os.pathsep}{env['PATH']}")
    run = subprocess.run(
        [sys.executable, "-m", "engine"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert "libxcb-icccm4 libxcb-keysyms1" in run.stderr and "cursor" not in run.stderr
