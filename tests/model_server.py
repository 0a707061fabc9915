"""A model server on 127.0.0.1 for download tests: Range requests, cut connections, 404s.

``ModelServer`` serves ``files`` (name -> bytes) at ``url(name)``; it honours
``Range: bytes=N-`` (206 with Content-Range), and can be told to cut the connection
after some bytes of the next answer (``cut_after``), to ignore Range requests
(``ignore_range``), to answer them from byte 0 with a 206 anyway (``wrong_range``), to
send no Content-Length (``no_length``), to hold the body (``gate``) or to redirect a
name to another address (``redirects``). ``requests`` records (path, Range header) of
every request. Nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import torch

from tests.reference import reference_state_dict


class ModelServer:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.cut_after: int | None = None  # bytes of the next answer, then hang up
        self.ignore_range = False
        self.wrong_range = False  # a 206 that starts at byte 0, whatever was asked
        self.no_length = False  # no Content-Length: the body ends when the connection does
        self.redirects: dict[str, str] = {}  # name -> the Location of a 302
        self.delay_s = 0.0  # a pause after every 64 kB block: a slow line
        self.gate: threading.Event | None = None  # set: the body is held until it is set
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                name = self.path.lstrip("/")
                server.requests.append((name, self.headers.get("Range")))
                if name in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[name])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = server.files.get(name)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                wanted = self.headers.get("Range")
                if wanted and not server.ignore_range:
                    start = int(wanted.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    if server.wrong_range:
                        start = 0
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                if server.no_length:
                    self.close_connection = True
                    self.send_header("Connection", "close")
                else:
                    self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if server.gate is not None:
                    server.gate.wait(30)
                cut, server.cut_after = server.cut_after, None
                if cut is not None:
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(2)
                    return
                for i in range(0, len(body), 1 << 16):
                    self.wfile.write(body[i : i + (1 << 16)])
                    if server.delay_s:
                        time.sleep(server.delay_s)

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/{name}"

    def __enter__(self) -> ModelServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.gate is not None:
            self.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up early (a refused download) is what the tests want


@contextlib.contextmanager
def model_server() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


def release_checkpoint(preset: str = "sparnet_light_attn3d") -> bytes:
    """A file laid out like a Face-SPARNet release checkpoint (deterministic weights)."""
    import io

    buffer = io.BytesIO()
    state = {k: v.float() for k, v in reference_state_dict(preset).items()}
    torch.save(state, buffer)
    return buffer.getvalue()


def release_entry(server: ModelServer, name: str, file: str, preset: str) -> dict[str, Any]:
    return {
        "name": name,
        "title": f"{preset} (test release)",
        "description": "A test model served on 127.0.0.1.",
        "preset": preset,
        "format": "face-sparnet-release",
        "files": [{"name": file, "url": server.url(file), "size": None, "sha256": None}],
        "size_estimate": 21_024_272,
        "licence": "CC BY-NC-SA 4.0 (non-commercial use only)",
        "source": server.url(""),
    }


def write_catalogue(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"format": "revive-catalogue/1", "models": entries}, indent=2))
    return path
