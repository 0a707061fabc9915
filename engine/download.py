"""Download one file over HTTP(S): progress, resume, size and sha256 checks, atomic.

The bytes go to ``<target>.part`` beside the target. An interrupted download (Cancel,
Ctrl+C, a dropped connection) keeps the ``.part`` file, and the next call asks the
server for the rest only (an HTTP ``Range`` request; a server that ignores it sends
the whole file again, which then replaces the ``.part``). Once complete, the file is
checked (size and sha256, when the caller knows them) and renamed onto the target in one
step, so the target is either absent or whole. No network is a ``OfflineError`` with one
line that says so and what to do instead. Only the standard library is used
(``urllib``), no new dependency.

What a server cannot do: send from a plain ``http`` address, or redirect to one (only
``https``; plain ``http`` only on this computer's loopback address, for tests and local
mirrors); send more than the expected size, or more than ``MAX_UNKNOWN_BYTES`` when no
size is known (the download stops at once and the ``.part`` goes); answer a ``Range``
request with bytes from another offset (the ``.part`` goes); stall for longer than
``timeout`` seconds on one read (``REVIVE_DOWNLOAD_TIMEOUT_S``; the ``.part`` stays,
its bytes are good). Each is one line.
"""

from __future__ import annotations

import contextlib
import ipaddress
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
TIMEOUT_ENV = "REVIVE_DOWNLOAD_TIMEOUT_S"
MAX_UNKNOWN_BYTES = 2 * 1024**3  # no model file is larger: a server sending more is wrong
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


def timeout_s() -> float:
    """Seconds one read may wait for the server (``REVIVE_DOWNLOAD_TIMEOUT_S``, else 30)."""
    try:
        value = float(os.environ.get(TIMEOUT_ENV, TIMEOUT_S))
    except ValueError:
        return TIMEOUT_S
    return value if value > 0 else TIMEOUT_S


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def url_problem(url: str) -> str | None:
    """Why Revive will not download from ``url``; None when it will.

    Only ``https``; plain ``http`` only from this computer itself (a test server, a mirror
    on localhost), where nobody on the way can change the bytes.
    """
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "is not a web address"
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and _loopback(parts.hostname):
        return None
    return f"is not an https address ({parts.scheme or 'no scheme'})"


class _SameSchemeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to an address Revive would download from, of the same scheme."""

    def http_error_302(self, req, fp, code, msg, headers):
        location = headers.get("Location") or headers.get("URI")
        if location:
            _check_redirect(req.full_url, urllib.parse.urljoin(req.full_url, location))
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _check_redirect(url: str, new_url: str) -> None:
    old, new = urllib.parse.urlsplit(url), urllib.parse.urlsplit(new_url)
    problem = url_problem(new_url)
    if problem is None and new.scheme != old.scheme:
        problem = f"changes the scheme from {old.scheme} to {new.scheme}"
    if problem is not None:
        name = Path(old.path).name or url
        raise DownloadError(
            f"{name}: the server redirects to {_short(new_url)}, which {problem}; "
            "nothing was downloaded"
        )


_OPENER = urllib.request.build_opener(_SameSchemeRedirects)


def _short(url: str, limit: int = 120) -> str:
    text = ascii(url)[1:-1]
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
        return _OPENER.open(urllib.request.Request(url, headers=headers), timeout=timeout)
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
    timeout: float | None = None,
    chunk: int = CHUNK,
    max_bytes: int = MAX_UNKNOWN_BYTES,
) -> Path:
    """Fetch ``url`` into ``target`` (resuming ``<target>.part``); return ``target``.

    ``size`` and ``sha256``, when known, are checked before the file takes its name; a
    file that fails them is removed (it would fail again). ``progress`` hears
    ``("download", bytes done, bytes in all or 0)``; ``cancel`` stops between blocks
    and keeps what arrived, for the next call to resume. ``max_bytes`` bounds a file of
    unknown size; ``timeout`` (seconds one read may wait) defaults to ``timeout_s()``.
    """
    target = Path(target)
    name = target.name
    if problem := url_problem(url):
        raise DownloadError(f"{name}: {_short(url)} {problem}; Revive downloads over https only")
    limit = size if size is not None else max_bytes
    target.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(target)
    have = part.stat().st_size if part.is_file() else 0
    if size is not None and have > size:
        part.unlink()
        have = 0
    if size is None or have < size:
        check(cancel)
        _fetch(url, part, have, size, limit, progress, cancel, timeout or timeout_s(), chunk)
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
    limit: int,
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
            have = 0  # the server ignored the Range request: its whole file replaces the part
        elif partial and _range_start(response) != have:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{name}: the server sent bytes from another place than the {have:,} asked "
                "for, so the download cannot resume; the partial file was removed: try again"
            )
        total = _total_from(response, have, partial) or size or 0
        if total > limit:  # said before a byte arrives: refused at once
            part.unlink(missing_ok=True)
            raise DownloadError(_too_large(name, total, limit))
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
                if done + len(block) > limit:
                    out.close()
                    part.unlink(missing_ok=True)
                    raise DownloadError(_too_large(name, done + len(block), limit))
                out.write(block)
                done += len(block)
                report(progress, STAGE, done, total, name)
    if total and done < total:
        raise DownloadError(
            f"{name}: the server closed the connection after {done / 1e6:.1f} of "
            f"{total / 1e6:.1f} MB; run the download again to resume it"
        )


def _range_start(response) -> int | None:
    """The first byte of a 206 answer (``Content-Range: bytes START-END/TOTAL``)."""
    value = response.headers.get("Content-Range", "")
    unit, _, rest = value.strip().partition(" ")
    start = rest.partition("-")[0].strip()
    return int(start) if unit == "bytes" and start.isdigit() else None


def _too_large(name: str, got: int, limit: int) -> str:
    return (
        f"{name}: the server sends more than the {limit:,} bytes expected (at least "
        f"{got:,}); the download was stopped and removed: the file at the source is not "
        "the one the catalogue names"
    )
