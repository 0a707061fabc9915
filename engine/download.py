"""Download one file over HTTP(S): progress, resume, size and sha256 checks, atomic.

The bytes go to ``<target>.part`` beside the target. An interrupted download (Cancel,
Ctrl+C, a dropped connection) keeps the ``.part`` file, and the next call asks the
server for the rest only (an HTTP ``Range`` request; a server that ignores it sends
the whole file again). Once complete, the file is checked (size and sha256, when the
caller knows them) and renamed onto the target in one step, so the target is either
absent or whole. No network is a ``OfflineError`` with one line that says so and what
to do instead. Only the standard library is used (``urllib``), no new dependency.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from . import __version__
from .errors import WeightsError
from .hashing import sha256_file
from .progress import CancelToken, ProgressCallback, Stage, check, report

CHUNK = 1 << 16
TIMEOUT_S = 30.0
STAGE = Stage.DOWNLOAD


class DownloadError(WeightsError):
    """A download failed (server error, wrong size, wrong sha256, connection lost)."""


class OfflineError(DownloadError):
    """The server cannot be reached: no network, no DNS, refused, timed out."""


def part_path(target: Path) -> Path:
    """Where the bytes of an unfinished download of ``target`` are kept."""
    return target.with_name(target.name + ".part")


def host_of(url: str) -> str:
    return urllib.parse.urlsplit(url).hostname or url


def offline_message(url: str, reason: object) -> str:
    """One line for a download that cannot reach its server."""
    return (
        f"cannot reach {host_of(url)} ({_reason(reason)}): this computer seems to be "
        "offline. Connect to the internet and try again (a partial download resumes), or "
        f"download {url} on another computer and import the file (`revive models import "
        "FILE`, or Models ▸ Manage Models ▸ Import)"
    )


def _reason(reason: object) -> str:
    if isinstance(reason, urllib.error.URLError):
        reason = reason.reason
    if isinstance(reason, socket.gaierror):
        return "the name does not resolve"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "no answer in time"
    text = str(getattr(reason, "strerror", None) or reason).strip()
    return text or type(reason).__name__


def _total_from(response, have: int, partial: bool) -> int | None:
    """The whole file's size from Content-Range (partial) or Content-Length."""
    if partial:
        content_range = response.headers.get("Content-Range", "")
        total = content_range.rpartition("/")[2].strip()
        if total.isdigit():
            return int(total)
    length = response.headers.get("Content-Length")
    if length and length.strip().isdigit():
        return int(length) + (have if partial else 0)
    return None


def _open(url: str, have: int, timeout: float):
    """The server's answer, asking for the bytes from ``have`` on; None: nothing is left."""
    headers = {"User-Agent": f"Revive/{__version__}", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    name = Path(urllib.parse.urlsplit(url).path).name or url
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # "range not satisfiable": the part file is complete
            return None
        if err.code == 404:
            raise DownloadError(
                f"{name}: not found at {url} (404): the release may have moved; see the "
                "model's source page"
            ) from None
        raise DownloadError(f"{name}: the server answered {err.code} {err.reason}") from None
    except ssl.SSLError as err:
        raise DownloadError(f"{name}: secure connection to {host_of(url)} failed ({err})") from None
    except (urllib.error.URLError, OSError) as err:
        raise OfflineError(offline_message(url, err)) from None


def download(
    url: str,
    target: str | os.PathLike[str],
    *,
    size: int | None = None,
    sha256: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    timeout: float = TIMEOUT_S,
    chunk: int = CHUNK,
) -> Path:
    """Fetch ``url`` into ``target`` (resuming ``<target>.part``); return ``target``.

    ``size`` and ``sha256``, when known, are checked before the file takes its name; a
    file that fails them is removed (it would fail again). ``progress`` hears
    ``("download", bytes done, bytes in all or 0)``; ``cancel`` stops between blocks
    and keeps what arrived, for the next call to resume.
    """
    target = Path(target)
    name = target.name
    target.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(target)
    have = part.stat().st_size if part.is_file() else 0
    if size is not None and have > size:
        part.unlink()
        have = 0
    if size is None or have < size:
        check(cancel)
        _fetch(url, part, have, size, progress, cancel, timeout, chunk)
    got = part.stat().st_size if part.is_file() else 0
    if size is not None and got != size:
        with contextlib.suppress(OSError):
            part.unlink()
        raise DownloadError(
            f"{name}: the download has {got:,} bytes, not the {size:,} expected; try again"
        )
    if sha256:
        report(progress, Stage.VERIFY, 0, 1, "checking the sha256 sum")
        if sha256_file(part) != sha256.lower():
            with contextlib.suppress(OSError):
                part.unlink()
            raise DownloadError(
                f"{name}: the downloaded file fails its sha256 check (damaged on the way, "
                "or changed at the source); it was removed: try again"
            )
        report(progress, Stage.VERIFY, 1, 1)
    os.replace(part, target)  # one rename: the target is whole or absent
    return target


def _fetch(
    url: str,
    part: Path,
    have: int,
    size: int | None,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
    timeout: float,
    chunk: int,
) -> None:
    response = _open(url, have, timeout)
    if response is None:
        return
    name = part.name.removesuffix(".part")
    with response:
        partial = response.status == 206
        if have and not partial:
            have = 0  # the server ignored the Range request: start again from the top
        total = _total_from(response, have, partial) or size or 0
        done = have
        report(progress, STAGE, done, total, name)
        with open(part, "ab" if have else "wb") as out:
            while True:
                check(cancel)  # Cancelled: what arrived stays in the .part file
                try:
                    block = response.read(chunk)
                except OSError as err:  # timeouts and lost connections
                    out.flush()
                    raise OfflineError(
                        f"{name}: the connection was lost after {done / 1e6:.1f} MB "
                        f"({_reason(err)}); run the download again to resume it"
                    ) from None
                if not block:
                    break
                out.write(block)
                done += len(block)
                report(progress, STAGE, done, total, name)
    if total and done < total:
        raise DownloadError(
            f"{name}: the server closed the connection after {done / 1e6:.1f} of "
            f"{total / 1e6:.1f} MB; run the download again to resume it"
        )
