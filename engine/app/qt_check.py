"""Before Qt starts on Linux: are the system libraries its X11 (xcb) plugin needs there?

Qt's own message when one is missing is misleading: it blames ``libxcb-cursor0`` (the
one it names since 6.5) whatever the library that is really missing, then aborts. This
module asks the dynamic loader (``ldd`` on the xcb platform plugin, whose output lists
every library it needs, transitively) which are missing, and names the Debian / Ubuntu
packages that hold them, so the launcher can say it in one line and exit.

Nothing here imports Qt: it runs before any Qt library is loaded.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# soname -> the Debian / Ubuntu package that holds it (Qt 6's xcb plugin and Qt GUI).
PACKAGES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
}

# What the README's one `apt install` line installs (every package above that a stock
# Debian desktop may lack; the others come with any X11 desktop).
APT_PACKAGES = (
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-keysyms1",
    "libxcb-image0",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-xkb1",
    "libxkbcommon-x11-0",
    "libxcb-randr0",
    "libxcb-xfixes0",
    "libegl1",
    "libgl1",
    "libfontconfig1",
    "libdbus-1-3",
)
APT_LINE = "sudo apt install " + " ".join(APT_PACKAGES)

Ldd = Callable[[Path], str | None]  # the loader's listing of a library (None: no ldd)


@dataclass(frozen=True)
class QtLibraryCheck:
    """What is missing (sonames), the apt packages that hold them, and the rest."""

    missing: tuple[str, ...]
    packages: tuple[str, ...]  # Debian / Ubuntu packages holding the missing libraries
    unknown: tuple[str, ...] = ()  # missing libraries no package is known for

    @property
    def ok(self) -> bool:
        return not self.missing

    def message(self) -> str:
        """One line for the terminal (empty when nothing is missing)."""
        if self.ok:
            return ""
        line = (
            "revive: the desktop app cannot start: Qt needs system libraries that are "
            f"missing ({', '.join(self.missing)})."
        )
        if self.packages:
            line += f" Install them with: sudo apt install {' '.join(self.packages)}"
        if self.unknown:
            line += f" Also install what provides {', '.join(self.unknown)}."
        return line


def uses_xcb(env: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether Qt would start with its X11 (xcb) plugin here."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return False
    qpa = env.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip().lower()
    if qpa:
        return qpa == "xcb"
    wayland = bool(env.get("WAYLAND_DISPLAY")) and env.get("XDG_SESSION_TYPE", "") == "wayland"
    return bool(env.get("DISPLAY")) and not wayland


def xcb_plugin() -> Path | None:
    """PySide6's ``libqxcb.so`` (found without importing PySide6), or None."""
    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    for root in roots:
        for candidate in (
            Path(root) / "Qt" / "plugins" / "platforms" / "libqxcb.so",
            Path(root) / "plugins" / "platforms" / "libqxcb.so",
        ):
            if candidate.is_file():
                return candidate
    return None


def run_ldd(library: Path) -> str | None:
    """``ldd LIBRARY`` (the loader lists every library needed, transitively)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    try:
        done = subprocess.run(
            [ldd, str(library)], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def missing_from_ldd(listing: str) -> list[str]:
    """Sonames that ``ldd`` reports as ``not found``, in order, each once."""
    missing: list[str] = []
    for line in listing.splitlines():
        name, arrow, where = line.strip().partition("=>")
        if arrow and where.strip().startswith("not found"):
            soname = name.strip()
            if soname not in missing:
                missing.append(soname)
    return missing


def missing_by_loading(sonames: Sequence[str]) -> list[str]:
    """Where there is no ``ldd``: the known libraries the loader cannot open."""
    missing = []
    for soname in sonames:
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append(soname)
    return missing


def check_qt_libraries(
    plugin: Path | None = None,
    ldd: Ldd = run_ldd,
    load: Callable[[Sequence[str]], list[str]] = missing_by_loading,
) -> QtLibraryCheck:
    """The system libraries Qt's xcb plugin needs that cannot be found."""
    plugin = plugin if plugin is not None else xcb_plugin()
    if plugin is None:
        return QtLibraryCheck((), ())
    listing = ldd(plugin)
    missing = missing_from_ldd(listing) if listing is not None else load(list(PACKAGES))
    # Qt's own libraries come with PySide6 (found through the plugin's RUNPATH, or the
    # bundle's library path); they are not the system's to provide, and never block here.
    missing = [s for s in missing if not s.startswith("libQt6")]
    packages: list[str] = []
    for soname in missing:
        package = PACKAGES.get(soname)
        if package is not None and package not in packages:
            packages.append(package)
    unknown = tuple(s for s in missing if s not in PACKAGES)
    return QtLibraryCheck(tuple(missing), tuple(packages), unknown)


def startup_problem(env: Mapping[str, str] | None = None) -> str:
    """The launcher's one line when Qt could not start here (empty: go ahead)."""
    if not uses_xcb(env):
        return ""
    return check_qt_libraries().message()
