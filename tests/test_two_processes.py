"""Two processes on the same per-user folders (issue 27, item 4), as real subprocesses.

Installs into one weights folder are serialised by its lock file: two `revive models
download` of one model install it once; two imports of different checkpoints under one
name leave one whole set, never a manifest paired with the other's shards, whatever a
reader sees meanwhile. The app's settings (QSettings, an INI file written through a
temporary file and a lock) survive two instances writing at once and a writer killed
mid-write, and the second instance is never blocked. Every wait is bounded by a
subprocess timeout; nothing asserts a time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from engine.weights import find_weights, verify_weights
from tests.kill_training import revive_process, subprocess_env
from tests.model_server import model_server, release_checkpoint, release_entry, write_catalogue

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # cwd of the helpers
LIGHT = "sparnet_light_attn3d"
TIMEOUT = 300


def _finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, out, err


def test_two_downloads_of_one_model_install_it_once(tmp_path):
    data = tmp_path / "data"
    with model_server() as server:
        server.files["light.pth"] = release_checkpoint(LIGHT)
        server.delay_s = 0.02  # per 64 kB block: the two downloads would overlap unlocked
        catalogue = write_catalogue(
            tmp_path / "models.json", [release_entry(server, LIGHT, "light.pth", LIGHT)]
        )
        env = subprocess_env(data, REVIVE_CATALOGUE=catalogue, REVIVE_RESOURCES=tmp_path / "none")
        procs = [revive_process(["models", "download", LIGHT], env) for _ in range(2)]
        results = [_finish(p) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    loser = next(err for code, _, err in results if code == 1)
    assert "already installed" in loser and "Traceback" not in loser
    os.environ["REVIVE_DATA_DIR"], before = str(data), os.environ["REVIVE_DATA_DIR"]
    try:
        assert not verify_weights(find_weights(LIGHT))
    finally:
        os.environ["REVIVE_DATA_DIR"] = before
    assert not list(data.rglob("*.part")) and not list((data / "downloads").glob("*.staging"))


READER = textwrap.dedent(
    """
    import json, sys
    from engine.errors import WeightsError
    from engine.weights import find_weights, load_state_dict
    seen = {"whole": 0, "absent": 0, "mixed": []}
    while True:
        try:
            info = find_weights("shared")
            load_state_dict(info)  # checks every shard's sha256 against the manifest
            seen["whole"] += 1
        except WeightsError as err:
            if "no installed weights" in str(err) or "is missing" in str(err):
                seen["absent"] += 1
            else:
                seen["mixed"].append(str(err))
        if sys.stdin.readline().strip() == "stop":
            break
    print(json.dumps(seen))
    """
)


def test_two_imports_under_one_name_never_show_a_mixed_set(tmp_path):
    data = tmp_path / "data"
    env = subprocess_env(data)
    files = []
    for preset in (LIGHT, "sparnet_x8_attn2d"):  # two different checkpoints, one name
        path = tmp_path / f"{preset}.pth"
        path.write_bytes(release_checkpoint(preset))
        files.append(path)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        for _round in range(3):
            procs = [
                revive_process(["models", "import", str(f), "--name", "shared"], env) for f in files
            ]
            results = [_finish(p) for p in procs]
            assert [code for code, _, _ in results] == [0, 0], results
            for _ in range(5):
                reader.stdin.write("go\n")
                reader.stdin.flush()
        reader.stdin.write("stop\n")
        reader.stdin.flush()
        out, err = reader.communicate(timeout=TIMEOUT)
    finally:
        if reader.poll() is None:
            reader.kill()
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["mixed"] == [] and seen["whole"] > 0, (seen, err)
    os.environ["REVIVE_DATA_DIR"], before = str(data), os.environ["REVIVE_DATA_DIR"]
    try:
        info = find_weights("shared")
        assert not verify_weights(info) and info.preset in (LIGHT, "sparnet_x8_attn2d")
        shards = sorted(p.name for p in (data / "weights").glob("shared*.safetensors"))
        assert shards == sorted(f["file"] for f in info.files)  # no shard of the other left
    finally:
        os.environ["REVIVE_DATA_DIR"] = before


SETTINGS_WRITER = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QCoreApplication
    from gui.settings import Settings
    app = QCoreApplication([])
    me, rounds = sys.argv[1], int(sys.argv[2])
    settings = Settings()  # the real store: XDG_CONFIG_HOME/Revive/Revive.conf
    for i in range(rounds):
        settings.export_folder = f"{me}-{i}-" + "x" * 20000
        if me == "a":
            settings.model = f"a-{i}"
        else:
            settings.last_folder = f"b-{i}"
        settings.sync()
        print(i, flush=True)
    """
)

SETTINGS_READER = textwrap.dedent(
    """
    import json
    from PySide6.QtCore import QCoreApplication, QSettings
    from gui.settings import Settings
    app = QCoreApplication([])
    s = Settings()
    print(json.dumps({"model": s.model, "last": s.last_folder, "export": s.export_folder[:8],
                      "status": 0 if s.store.status() == QSettings.Status.NoError else 1}))
    """
)


def _python(code: str, args: list[str], env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


@pytest.fixture
def settings_env(tmp_path):
    pytest.importorskip("PySide6")
    return subprocess_env(
        tmp_path / "data", XDG_CONFIG_HOME=tmp_path / "config", QT_QPA_PLATFORM="offscreen"
    )


def _read_settings(env) -> dict:
    code, out, err = _finish(_python(SETTINGS_READER, [], env))
    assert code == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_two_app_instances_writing_settings_keep_both(settings_env):
    procs = [_python(SETTINGS_WRITER, [me, "40"], settings_env) for me in ("a", "b")]
    results = [_finish(p) for p in procs]
    assert [code for code, _, _ in results] == [0, 0], results  # neither blocked for good
    got = _read_settings(settings_env)
    assert got["status"] == 0  # QSettings.NoError: the file parses
    assert got["model"] == "a-39" and got["last"] == "b-39"  # each kept its own last write
    assert got["export"][:2] in ("a-", "b-")


def test_a_writer_killed_mid_write_leaves_settings_whole(settings_env):
    first = _finish(_python(SETTINGS_WRITER, ["a", "1"], settings_env))
    assert first[0] == 0, first
    for _kill in range(3):
        proc = _python(SETTINGS_WRITER, ["b", "100000"], settings_env)
        assert proc.stdout.readline()  # it is writing
        for _ in range(_kill * 7):
            proc.stdout.readline()
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=TIMEOUT)
        got = _read_settings(settings_env)
        assert got["status"] == 0 and got["model"] == "a-0" and got["last"].startswith("b-")
    # a new instance is not blocked by the killed one's lock file, and writes
    assert _finish(_python(SETTINGS_WRITER, ["a", "2"], settings_env))[0] == 0
    assert _read_settings(settings_env)["model"] == "a-1"
