"""Downloads a server cannot abuse (issue 27, item 1), against a server on 127.0.0.1.

https only (plain http on loopback alone), no redirect to another scheme, no file name
that leaves its folder, and for an oversized answer, a wrong Range answer, a stall and a
wrong sha256: one line, nothing installed, and the ``.part`` kept only where it can
resume correctly.
"""

from __future__ import annotations

import hashlib
import threading

import pytest
import torch

from engine.app.cli.main import main
from engine.catalogue import REVIVE, CatalogueError, downloads_dir, load_catalogue
from engine.download import DownloadError, OfflineError, download, part_path, url_problem
from engine.models import create_model
from engine.paths import user_weights_dir
from engine.weights import save_weights
from tests.model_server import (
    write_catalogue,
)

DATA = bytes(range(256)) * 2000  # 512,000 bytes


def _entry(name: str = "tiny", url: str = "https://example.org/tiny.pth", **file) -> dict:
    return {
        "name": name,
        "title": "t",
        "description": "d",
        "preset": "sparnet_light_attn3d",
        "format": "face-sparnet-release",
        "files": [{"name": "tiny.pth", "url": url, **file}],
        "licence": "MIT",
        "source": "https://example.org/",
    }


def _published_set(server, folder, *, sha_ok: bool = True, size_of_shard: int | None = None):
    """A tiny Revive weight set served by ``server``, as a catalogue entry."""
    torch.manual_seed(0)
    save_weights(create_model("sparnethd_tiny").state_dict(), folder, "tiny", "sparnethd_tiny")
    files = []
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        server.files[path.name] = data
        shard = path.suffix == ".safetensors"
        sha = hashlib.sha256(data).hexdigest() if sha_ok or not shard else "0" * 64
        size = size_of_shard if shard and size_of_shard is not None else len(data)
        files.append({"name": path.name, "url": server.url(path.name), "size": size, "sha256": sha})
    return {**_entry(), "preset": "sparnethd_tiny", "format": REVIVE, "files": files}


def _nothing_installed() -> bool:
    folder = user_weights_dir()
    return not folder.exists() or not any(folder.iterdir())


# --- addresses and names --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/tiny.pth",
        "ftp://example.org/tiny.pth",
        "file:///etc/passwd",
        "https:///no-host.pth",
        "http://10.0.0.1/tiny.pth",
    ],
)
def test_the_catalogue_takes_https_addresses_only(catalogue, url):
    write_catalogue(catalogue, [_entry(url=url)])
    with pytest.raises(CatalogueError, match="https only") as err:
        load_catalogue()
    assert "\n" not in str(err.value)


def test_plain_http_is_taken_from_this_computer_only(catalogue, tmp_path):
    for url in ("http://127.0.0.1:8000/tiny.pth", "http://localhost/tiny.pth", "http://[::1]/x"):
        assert url_problem(url) is None
    write_catalogue(catalogue, [_entry(url="http://127.0.0.1:9/tiny.pth")])
    assert load_catalogue()[0].files[0].url.startswith("http://127.0.0.1")
    with pytest.raises(DownloadError, match="https only"):  # refused before any connection
        download("http://example.invalid/x.bin", tmp_path / "x.bin")
    assert not part_path(tmp_path / "x.bin").exists()


@pytest.mark.parametrize(
    "name",
    ["../evil.pth", "/tmp/evil.pth", "sub/evil.pth", "..\\evil.pth", "C:evil.pth", "a\x00b.pth",
     "..", ".hidden", "line\nbreak.pth", ""],
)  # fmt: skip
def test_file_and_model_names_cannot_leave_their_folder(catalogue, name):
    write_catalogue(catalogue, [{**_entry(), "files": [{"name": name, "url": "https://e.org/a"}]}])
    with pytest.raises(CatalogueError) as err:
        load_catalogue()
    assert "\n" not in str(err.value)
    if name:
        write_catalogue(catalogue, [_entry(name=name)])
        with pytest.raises(CatalogueError) as err:
            load_catalogue()
        assert "\n" not in str(err.value)


def test_a_redirect_to_another_scheme_or_host_is_refused(server, tmp_path):
    server.files["real.bin"] = DATA
    server.redirects["same.bin"] = server.url("real.bin")
    assert download(server.url("same.bin"), tmp_path / "same.bin").read_bytes() == DATA

    for location in ("ftp://127.0.0.1/real.bin", "file:///etc/passwd", "http://example.org/x"):
        server.redirects["away.bin"] = location
        target = tmp_path / "away.bin"
        with pytest.raises(DownloadError, match="redirects to") as err:
            download(server.url("away.bin"), target)
        assert "\n" not in str(err.value) and not isinstance(err.value, OfflineError)
        assert not target.exists() and not part_path(target).exists()


# --- what a server sends --------------------------------------------------------------------


def test_more_than_the_expected_size_stops_at_once(server, tmp_path):
    server.files["big.bin"] = DATA
    target = tmp_path / "big.bin"
    events = []
    with pytest.raises(DownloadError, match="more than the 100,000 bytes") as err:
        download(server.url("big.bin"), target, size=100_000, progress=events.append)
    assert "\n" not in str(err.value)
    assert not target.exists() and not part_path(target).exists()
    assert all(e.done <= 100_000 for e in events)  # refused on its Content-Length, unread


def test_more_than_the_limit_without_a_size_stops_while_reading(server, tmp_path):
    server.files["endless.bin"] = DATA * 8  # 4 MB, sent without a Content-Length
    server.no_length = True
    target = tmp_path / "endless.bin"
    events = []
    with pytest.raises(DownloadError, match="more than the 300,000 bytes"):
        download(server.url("endless.bin"), target, max_bytes=300_000, progress=events.append)
    assert not target.exists() and not part_path(target).exists()
    assert max(e.done for e in events) <= 300_000
    server.files["small.bin"] = DATA[:1000]
    assert download(server.url("small.bin"), target, max_bytes=300_000).stat().st_size == 1000


def test_a_range_answered_from_another_offset_removes_the_part(server, tmp_path):
    server.files["r.bin"] = DATA
    target = tmp_path / "r.bin"
    part_path(target).write_bytes(DATA[:50_000])
    server.wrong_range = True  # 206, but from byte 0: appending would corrupt the file
    with pytest.raises(DownloadError, match="cannot resume") as err:
        download(server.url("r.bin"), target)
    assert "\n" not in str(err.value)
    assert not target.exists() and not part_path(target).exists()
    server.wrong_range = False
    assert download(server.url("r.bin"), target).read_bytes() == DATA


def test_a_server_that_ignores_range_replaces_the_part_never_appends(server, tmp_path):
    server.files["f.bin"] = DATA
    target = tmp_path / "f.bin"
    part_path(target).write_bytes(b"\xff" * 50_000)  # bytes the whole file will replace
    server.ignore_range = True
    got = download(server.url("f.bin"), target, size=len(DATA))
    assert got.read_bytes() == DATA and server.requests[-1][1] == "bytes=50000-"


def test_a_stalled_server_is_one_line_and_the_part_resumes(server, tmp_path, monkeypatch):
    server.files["s.bin"] = DATA
    server.gate = threading.Event()  # headers go out, the body never comes
    monkeypatch.setenv("REVIVE_DOWNLOAD_TIMEOUT_S", "0.3")
    target = tmp_path / "s.bin"
    with pytest.raises(OfflineError, match="no answer in time") as err:
        download(server.url("s.bin"), target)
    assert "\n" not in str(err.value) and not target.exists()
    server.gate.set()
    server.gate = None
    assert download(server.url("s.bin"), target).read_bytes() == DATA


def test_a_wrong_sha256_removes_the_part(server, tmp_path):
    server.files["w.bin"] = DATA
    target = tmp_path / "w.bin"
    with pytest.raises(DownloadError, match="sha256"):
        download(server.url("w.bin"), target, sha256="0" * 64)
    assert not target.exists() and not part_path(target).exists()


# --- through `revive models download`: one line, nothing installed -------------------------


@pytest.mark.parametrize("misbehaviour", ["oversized", "sha256", "stall", "redirect", "range"])
def test_models_download_refuses_in_one_line_and_installs_nothing(
    server, catalogue, tmp_path, monkeypatch, capsys, misbehaviour
):
    entry = _published_set(
        server,
        tmp_path / "published",
        sha_ok=misbehaviour != "sha256",
        size_of_shard=1000 if misbehaviour == "oversized" else None,
    )
    shard = next(f for f in entry["files"] if f["name"].endswith(".safetensors"))
    if misbehaviour == "stall":
        server.gate = threading.Event()
        monkeypatch.setenv("REVIVE_DOWNLOAD_TIMEOUT_S", "0.3")
    elif misbehaviour == "redirect":
        server.redirects[shard["name"]] = "ftp://127.0.0.1/" + shard["name"]
    elif misbehaviour == "range":
        part = part_path(downloads_dir() / "tiny.staging" / shard["name"])
        part.parent.mkdir(parents=True)
        part.write_bytes(server.files[shard["name"]][:5000])
        server.wrong_range = True
    write_catalogue(catalogue, [entry])
    assert main(["models", "download", "tiny", "--force"]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.startswith("revive:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert _nothing_installed()
    if server.gate is not None:
        server.gate.set()
