"""The model catalogue: weights Revive can download and install by name.

``resources/models.json`` lists each model: its name (what ``revive models download``
takes, and the name of the installed weight set), a title and one paragraph a
photographer understands, the architecture preset, the licence, the page it comes
from, and its files (URL, size, sha256; ``null`` where they are not published).

Two formats:

* ``face-sparnet-release``: one ``.pth`` of the Face-SPARNet authors' release. It is
  downloaded, read with ``torch.load(weights_only=True)``, recognised by its state-dict
  layout (``engine.checkpoint_import``, which refuses any other file) and converted into
  a safetensors weight set; the ``.pth`` is then deleted. The authors publish no sha256
  sums and the sizes are not known offline, so for these the layout check is what proves
  the file (the catalogue says ``null``, never a guessed hash).
* ``revive-weights``: a Revive weight set as published (its ``.weights.json`` manifest
  and safetensors shards), each file with its size and sha256; the manifest's own sums
  are checked again once all files are in.

Installing is atomic: everything is downloaded and checked in a staging folder, then
the shards and, last, the manifest are moved into the user's weights folder (a set
without its manifest is invisible). Downloads resume after an interruption.
``REVIVE_CATALOGUE`` names another catalogue file (tests, mirrors).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .download import DownloadError, download, url_problem
from .errors import ModelNotFoundError, ReviveError, WeightsError
from .file_names import describe, unsafe_name_reason
from .install_lock import folder_lock
from .paths import resources_dir, user_data_dir, user_weights_dir
from .progress import CancelToken, ProgressCallback, ProgressEvent, Stage, check, report

if TYPE_CHECKING:  # torch loads only when something is installed
    from .weights import WeightsInfo

CATALOGUE_FILE = "models.json"
CATALOGUE_FORMAT = "revive-catalogue/1"
RELEASE = "face-sparnet-release"
REVIVE = "revive-weights"
FORMATS = (RELEASE, REVIVE)
MANIFEST_SUFFIX = ".weights.json"


class CatalogueError(ReviveError):
    """The catalogue file is missing or malformed."""


@dataclass(frozen=True)
class CatalogueFile:
    """One file to download."""

    name: str  # the file's name on disk
    url: str
    size: int | None = None  # bytes; None: not published
    sha256: str | None = None  # None: not published (checked another way, see the format)


@dataclass(frozen=True)
class CatalogueEntry:
    """One model of the catalogue."""

    name: str
    title: str
    description: str
    preset: str
    format: str
    files: tuple[CatalogueFile, ...]
    licence: str
    source: str  # the page the files come from
    size_estimate: int | None = None  # bytes, when the exact size is not published
    notes: str = ""

    @property
    def size(self) -> int | None:
        """Bytes to download, exactly, when every file's size is published."""
        sizes = [f.size for f in self.files]
        return sum(s for s in sizes if s is not None) if all(s is not None for s in sizes) else None

    def size_text(self) -> str:
        """``128 MB``, ``≈ 345 MB`` (an estimate), or ``size unknown``."""
        if (size := self.size) is not None:
            return _megabytes(size)
        if self.size_estimate:
            return f"≈ {_megabytes(self.size_estimate)}"
        return "size unknown"

    @property
    def checked_by(self) -> str:
        """How a download of this model is proved right, in words."""
        if all(f.sha256 for f in self.files):
            return "sha256 of every file"
        if self.format == RELEASE:
            return (
                "its layout, layer by layer, against the authors' release (they publish no sha256)"
            )
        return "the weight set's own sha256 sums"


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n / 1e3:,.0f} kB"


# --- reading the catalogue -----------------------------------------------------------------


def catalogue_path() -> Path:
    override = os.environ.get("REVIVE_CATALOGUE")
    return Path(override) if override else resources_dir() / CATALOGUE_FILE


def _file(raw: Any, where: str) -> CatalogueFile:
    if not isinstance(raw, dict) or not raw.get("url") or not raw.get("name"):
        raise CatalogueError(f"{where}: every file needs a name and a url")
    size, sha = raw.get("size"), raw.get("sha256")
    if size is not None and (not isinstance(size, int) or size < 0):
        raise CatalogueError(f"{where}: size must be a number of bytes or null")
    if sha is not None and (not isinstance(sha, str) or len(sha) != 64):
        raise CatalogueError(f"{where}: sha256 must be 64 hex digits or null")
    if reason := unsafe_name_reason(raw["name"]):
        raise CatalogueError(f"{where}: file name {describe(raw['name'])} {reason}")
    problem = url_problem(raw["url"]) if isinstance(raw["url"], str) else "is not an address"
    if problem:
        raise CatalogueError(
            f"{where}: {describe(raw['url'])} {problem}: Revive downloads over https only"
        )
    return CatalogueFile(str(raw["name"]), str(raw["url"]), size, sha.lower() if sha else None)


def _entry(raw: Any) -> CatalogueEntry:
    if not isinstance(raw, dict) or not raw.get("name"):
        raise CatalogueError("every model in the catalogue needs a name")
    name = raw["name"]
    if reason := unsafe_name_reason(name):  # it names the installed set and its files
        raise CatalogueError(f"a model name {describe(name)} {reason}")
    fmt = raw.get("format")
    if fmt not in FORMATS:
        raise CatalogueError(f"{name}: format must be one of {', '.join(FORMATS)}")
    files = tuple(_file(f, name) for f in raw.get("files") or [])
    if not files:
        raise CatalogueError(f"{name}: no files to download")
    if fmt == RELEASE and len(files) != 1:
        raise CatalogueError(f"{name}: a release checkpoint is one file")
    if fmt == REVIVE and not any(f.name == f"{name}{MANIFEST_SUFFIX}" for f in files):
        raise CatalogueError(f"{name}: a Revive weight set needs its {name}{MANIFEST_SUFFIX}")
    for key in ("title", "description", "preset", "licence", "source"):
        if not raw.get(key):
            raise CatalogueError(f"{name}: {key} is missing")
    return CatalogueEntry(
        name=name,
        title=str(raw["title"]),
        description=str(raw["description"]),
        preset=str(raw["preset"]),
        format=fmt,
        files=files,
        licence=str(raw["licence"]),
        source=str(raw["source"]),
        size_estimate=raw.get("size_estimate"),
        notes=str(raw.get("notes", "")),
    )


def load_catalogue(path: str | os.PathLike[str] | None = None) -> list[CatalogueEntry]:
    """Every model of the catalogue, in its order."""
    path = Path(path) if path is not None else catalogue_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogueError(f"the model catalogue {path} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CatalogueError(f"the model catalogue {path} is unreadable ({err})") from None
    if not isinstance(data, dict) or data.get("format") != CATALOGUE_FORMAT:
        raise CatalogueError(f"{path} is not a Revive model catalogue")
    entries = [_entry(raw) for raw in data.get("models", [])]
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise CatalogueError(f"{path}: two models share a name")
    return entries


def find_entry(name: str, entries: Iterable[CatalogueEntry] | None = None) -> CatalogueEntry:
    entries = list(entries) if entries is not None else load_catalogue()
    for entry in entries:
        if entry.name == name:
            return entry
    known = ", ".join(e.name for e in entries) or "none"
    raise ModelNotFoundError(
        f"no model named {name!r} in the catalogue; available: {known} (`revive models available`)"
    )


def installed_entry_names(entries: Iterable[CatalogueEntry], infos: Iterable[Any]) -> set[str]:
    """The catalogue names already installed: a set of that name, or imported from its file.

    ``infos`` are ``WeightsInfo`` (a set imported by hand keeps the file's name in its
    card's ``source``).
    """
    infos = list(infos)
    found = set()
    for entry in entries:
        files = {f.name for f in entry.files}
        for info in infos:
            if info.name == entry.name or (
                entry.format == RELEASE and info.card.get("source") in files
            ):
                found.add(entry.name)
    return found


# --- installing ----------------------------------------------------------------------------


def downloads_dir() -> Path:
    """Where unfinished downloads wait to be resumed."""
    return user_data_dir() / "downloads"


def explain_import_error(message: str) -> str:
    """A checkpoint import's error, without the unpickler's raw words.

    ``name.pth: not a readable PyTorch checkpoint (internal miniz error ...)`` says
    nothing a photographer can act on; what to do instead is the useful part.
    """
    head, sep, _raw = message.partition(": not a readable PyTorch checkpoint")
    if not sep:
        return message
    return (
        f"{head}: not a readable PyTorch checkpoint: the file is damaged or incomplete "
        "(an unfinished download?), or it is not a model file at all. Download it again "
        "from the model's page"
    )


def install(
    entry: CatalogueEntry,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    force: bool = False,
) -> WeightsInfo:
    """Download, check and install ``entry`` into the user's weights folder."""
    with folder_lock(downloads_dir(), entry.name):  # one download of a model at a time
        return _install(entry, progress, cancel, force)


def _install(
    entry: CatalogueEntry,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
    force: bool,
) -> WeightsInfo:
    from .weights import installed_weights

    if not force and entry.name in installed_entry_names([entry], installed_weights()):
        raise WeightsError(
            f"{entry.name} is already installed (`revive models list`); "
            "download it again with --force"
        )
    staging = downloads_dir() / f"{entry.name}.staging"
    staging.mkdir(parents=True, exist_ok=True)
    total = entry.size or entry.size_estimate or 0
    offset = 0
    paths = []
    for file in entry.files:
        paths.append(
            download(
                file.url,
                staging / file.name,
                size=file.size,
                sha256=file.sha256,
                progress=_overall(progress, offset, total),
                cancel=cancel,
            )
        )
        offset += paths[-1].stat().st_size
    check(cancel)
    report(progress, Stage.INSTALL, 0, 1, f"checking and installing {entry.name}")
    if entry.format == RELEASE:
        info = _install_release(entry, paths[0], staging)
    else:
        info = _install_revive_set(entry, staging)
    shutil.rmtree(staging, ignore_errors=True)
    report(progress, Stage.INSTALL, 1, 1, f"installed {entry.name}")
    return info


def _overall(progress: ProgressCallback | None, offset: int, total: int) -> ProgressCallback:
    """One byte count over all the files of a model."""

    def forward(event: ProgressEvent) -> None:
        if progress is None:
            return
        if event.stage != Stage.DOWNLOAD:
            progress(event)
            return
        whole = max(total, offset + event.total)
        progress(ProgressEvent(Stage.DOWNLOAD, offset + event.done, whole, event.message))

    return forward


def _install_release(entry: CatalogueEntry, pth: Path, staging: Path) -> WeightsInfo:
    """A release ``.pth``: recognised by its layout, converted, moved in, deleted."""
    from .checkpoint_import import import_official_checkpoint

    converted = staging / "converted"
    shutil.rmtree(converted, ignore_errors=True)
    try:
        info = import_official_checkpoint(pth, name=entry.name, directory=converted)
    except WeightsError as err:
        pth.unlink(missing_ok=True)  # it would fail again: download it afresh next time
        raise DownloadError(explain_import_error(str(err))) from None
    if info.preset != entry.preset:
        pth.unlink(missing_ok=True)
        raise DownloadError(
            f"{pth.name} is a {info.preset} checkpoint, not the {entry.preset} the catalogue "
            "promises; it was not installed"
        )
    card = {
        **info.card,
        "title": entry.title,
        "licence": entry.licence,
        "source": pth.name,
        "downloaded_from": entry.files[0].url,
    }
    installed = _move_set(info, user_weights_dir(), card)
    pth.unlink(missing_ok=True)
    return installed


def _install_revive_set(entry: CatalogueEntry, staging: Path) -> WeightsInfo:
    from .weights import read_manifest, verify_weights

    info = read_manifest(staging / f"{entry.name}{MANIFEST_SUFFIX}")
    if info.name != entry.name or info.preset != entry.preset:
        raise DownloadError(
            f"{entry.name}: the downloaded manifest describes {info.name} ({info.preset}), "
            "not what the catalogue promises; nothing was installed"
        )
    listed = {f.name for f in entry.files}
    missing = [f["file"] for f in info.files if f["file"] not in listed]
    if missing:
        raise DownloadError(f"{entry.name}: the catalogue lacks {', '.join(missing)}")
    if problems := verify_weights(info):
        raise DownloadError(f"{entry.name}: {'; '.join(problems)}; nothing was installed")
    return _move_set(info, user_weights_dir(), None)


def _move_set(info: WeightsInfo, folder: Path, card: dict[str, Any] | None) -> WeightsInfo:
    """Shards first, then the manifest (one rename): the set appears whole or not at all."""
    from .atomic import write_text_atomic
    from .weights import read_manifest

    with folder_lock(folder):  # another install, import or export here waits its turn
        target = folder / info.manifest.name
        target.unlink(missing_ok=True)  # a set being replaced is hidden until it is whole
        for shard in info.shard_paths():
            _move(shard, folder / shard.name)
        if card is None:
            _move(info.manifest, target)
        else:
            data = json.loads(info.manifest.read_text(encoding="utf-8"))
            data["card"] = card
            write_text_atomic(target, json.dumps(data, indent=2) + "\n")
            with contextlib.suppress(OSError):
                info.manifest.unlink()
        return read_manifest(target)


def _move(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
    except OSError:  # another file system: copy beside the target, then rename
        from .atomic import atomic_path

        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
        source.unlink(missing_ok=True)
