"""The PyInstaller spec against the code: nothing the app needs may miss the bundle.

build.spec is executed here with stand-ins for PyInstaller's Analysis / EXE / COLLECT
(so no PyInstaller run: fast); what it would collect is compared with what the code
needs, found independently: the weights registry and its manifests, the command list,
modules imported by name, package data read at run time, the icons. A new weight set,
command or data file that the spec would not pick up fails here.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.app import bundle

ROOT = Path(__file__).resolve().parent.parent


class Recorder:
    """Stands in for PyInstaller's build targets: keeps the arguments it was given."""

    made: dict[str, list] = {}

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        Recorder.made.setdefault(type(self).__name__, []).append(self)
        self.binaries, self.datas, self.pure, self.scripts = [], [], [], []


def _fake(name: str) -> type:
    return type(name, (Recorder,), {})


def run_spec(tmp_path: Path, root: Path = ROOT, env: dict | None = None) -> dict[str, list]:
    """Execute build.spec as PyInstaller would, with recorders for its build targets."""
    Recorder.made = {}
    namespace = {
        "__name__": "__main__",
        "__file__": str(root / "build.spec"),
        "SPECPATH": str(root),
        "workpath": str(tmp_path / "work"),
        "DISTPATH": str(tmp_path / "dist"),
        **{n: _fake(n) for n in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")},
    }
    (tmp_path / "dist" / bundle.APP_NAME).mkdir(parents=True)
    old_env, old_path = dict(os.environ), list(sys.path)
    os.environ.update(env or {})
    try:
        code = compile((root / "build.spec").read_text(encoding="utf-8"), "build.spec", "exec")
        exec(code, namespace)
    finally:
        os.environ.clear()
        os.environ.update(old_env)
        sys.path[:] = old_path
    return Recorder.made


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    made = run_spec(tmp_path_factory.mktemp("spec"))
    (analysis,) = made["Analysis"]
    datas = {(Path(src).resolve(), dest) for src, dest in analysis.kwargs["datas"]}
    return analysis, datas, made


def _collected(datas, path: Path, dest: str) -> bool:
    return (path.resolve(), dest) in datas


# --- weights ---------------------------------------------------------------------------------


def registry_files() -> list[Path]:
    """Every file the registry reaches (read here directly, not through engine.app.bundle)."""
    weights = ROOT / "resources" / "weights"
    registry = weights / "registry.json"
    if not registry.is_file():
        return []
    files = [registry]
    for name in json.loads(registry.read_text())["weights"]:
        manifest = weights / f"{name}.weights.json"
        files.append(manifest)
        files += [weights / f["file"] for f in json.loads(manifest.read_text())["files"]]
    return files


def test_spec_collects_every_weight_file_of_the_registry(spec):
    _, datas, _ = spec
    missing = [p.name for p in registry_files() if not _collected(datas, p, "resources/weights")]
    assert not missing, f"weight files the bundle would lack: {missing}"


def test_registry_lists_every_weight_set_in_resources():
    """A set committed to resources/weights but not in registry.json is never shipped."""
    weights = ROOT / "resources" / "weights"
    present = {p.name.removesuffix(".weights.json") for p in weights.glob("*.weights.json")}
    listed = set()
    if (weights / "registry.json").is_file():
        registry = json.loads((weights / "registry.json").read_text())
        listed = set(registry["weights"])
        assert set(registry.get("defaults", {}).values()) <= listed, "a default is not listed"
    assert present <= listed, f"not in registry.json: {sorted(present - listed)}"


def _make_set(folder: Path, name: str) -> None:
    (folder / f"{name}.safetensors").write_bytes(b"x" * 10)
    manifest = {"name": name, "files": [{"file": f"{name}.safetensors", "bytes": 10}]}
    (folder / f"{name}.weights.json").write_text(json.dumps(manifest))


def test_a_new_registry_entry_is_collected_or_the_build_fails(tmp_path):
    weights = tmp_path / "resources" / "weights"
    weights.mkdir(parents=True)
    _make_set(weights, "first")
    _make_set(weights, "second")
    (weights / "registry.json").write_text(json.dumps({"weights": ["first", "second"]}))
    dests = {Path(src).name: dest for src, dest in bundle.resource_datas(tmp_path)}
    for name in ("registry.json", "first.weights.json", "second.safetensors"):
        assert dests[name] == "resources/weights"
    (weights / "second.safetensors").unlink()  # listed but missing: the build must stop
    with pytest.raises(bundle.BundleError, match="second.safetensors"):
        bundle.resource_datas(tmp_path)
    (weights / "registry.json").write_text(json.dumps({"weights": ["first", "third"]}))
    with pytest.raises(bundle.BundleError, match="third"):
        bundle.resource_datas(tmp_path)


def test_bundle_constants_match_the_weights_store():
    from engine import weights

    assert bundle.REGISTRY_FILE == weights.REGISTRY_FILE
    assert bundle.MANIFEST_SUFFIX == weights.MANIFEST_SUFFIX


# --- modules ---------------------------------------------------------------------------------


def names_imported_by_string() -> set[str]:
    """Module names our code passes to import_module / find_spec (AST scan of the source)."""
    found = set()
    for package in bundle.APP_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                name = getattr(func, "attr", getattr(func, "id", ""))
                arg = node.args[0]
                if name in ("import_module", "find_spec") and isinstance(arg, ast.Constant):
                    found.add(arg.value)
    return found


def _in_source(module: str) -> bool:
    """Whether a module of ours exists (gui probes optional ones with find_spec)."""
    path = ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_spec_collects_commands_and_modules_imported_by_name(spec):
    from engine.app.cli.main import COMMAND_MODULES

    analysis, _, _ = spec
    hidden = set(analysis.kwargs["hiddenimports"])
    wanted = set(COMMAND_MODULES) | {"gui.app"} | names_imported_by_string()
    own = {n for n in wanted if n.split(".")[0] in bundle.APP_PACKAGES and _in_source(n)}
    assert set(COMMAND_MODULES) <= own
    assert own <= hidden, f"not collected: {sorted(own - hidden)}"
    assert "gui.app" in names_imported_by_string()  # the scan finds what it must


def test_spec_collects_every_module_of_the_app(spec):
    analysis, _, _ = spec
    hidden = set(analysis.kwargs["hiddenimports"])
    for package in bundle.APP_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__main__":
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            assert name in hidden, f"{name} would be missing from the bundle"


def test_spec_entry_point_is_the_launcher(spec):
    analysis, _, made = spec
    assert analysis.args[0] == [str(ROOT / "engine" / "__main__.py")]
    assert "engine.app.launch" in (ROOT / "engine" / "__main__.py").read_text()
    (exe,) = made["EXE"]
    assert exe.kwargs["name"] == "Revive"


@pytest.mark.slow
def test_excluded_modules_are_not_needed_by_the_app():
    """Import every app module with the excluded modules made unimportable, as in a bundle."""
    blocker = (
        "import sys, importlib, importlib.abc\n"
        "from engine.app import bundle\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if bundle.is_excluded(name):\n"
        "            raise ModuleNotFoundError(f'excluded: {name}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import torch, torchvision.ops, facenet_pytorch, skimage.data, cv2\n"
        "skimage.data.astronaut()\n"
        "torch.nn.functional.conv2d(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 3, 3))\n"
        "for name in bundle.hidden_imports():\n"
        "    importlib.import_module(name)\n"
        "print('imported', len(bundle.hidden_imports()))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", blocker], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "imported" in done.stdout


# --- data files --------------------------------------------------------------------------------


def test_spec_collects_package_data_read_at_run_time(spec):
    _, datas, _ = spec
    facenet = Path(importlib.util.find_spec("facenet_pytorch").origin).parent
    for name in ("pnet.pt", "rnet.pt", "onet.pt"):
        assert _collected(datas, facenet / "data" / name, "facenet_pytorch/data"), name
    skimage = Path(importlib.util.find_spec("skimage").origin).parent
    assert _collected(datas, skimage / "data" / "astronaut.png", "skimage/data")
    analysis, _, _ = spec
    binaries = {(Path(src).resolve(), dest) for src, dest in analysis.kwargs["binaries"]}
    vision = Path(importlib.util.find_spec("torchvision").origin).parent
    for lib in vision.glob("*.so"):  # torch.ops.load_library opens these by path (nms)
        assert (lib.resolve(), "torchvision") in binaries, lib.name
    # MTCNN finds its weights through ``models/../data``: its modules must be files.
    assert analysis.kwargs["module_collection_mode"].get("facenet_pytorch") == "pyz+py"


def test_spec_collects_icons_and_bundle_info(spec, tmp_path):
    _, datas, made = spec
    icons = ROOT / "resources" / "icons"
    for name in ("revive.png", "revive.ico", "revive.icns"):
        assert _collected(datas, icons / name, "resources/icons"), name
    info = [src for src, dest in datas if src.name == bundle.BUNDLE_INFO]
    assert len(info) == 1 and json.loads(info[0].read_text())["cuda"] is True


def test_linux_archive_gets_desktop_entry_and_icon(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("the desktop entry is for Linux")
    run_spec(tmp_path)
    folder = tmp_path / "dist" / "Revive"
    entry = (folder / "revive.desktop").read_text()
    assert "Exec=Revive %F" in entry and "Icon=revive" in entry
    assert (folder / "revive.png").is_file()
    assert os.access(folder / "install-desktop-entry.sh", os.X_OK)


@pytest.mark.skipif(not shutil.which("sh"), reason="needs a POSIX shell")
def test_desktop_entry_installer_points_at_the_bundle(tmp_path):
    folder = tmp_path / "Revive"
    folder.mkdir()
    for name in ("revive.desktop", "install-desktop-entry.sh"):
        shutil.copy2(ROOT / "resources" / "linux" / name, folder)
    shutil.copy2(ROOT / "resources" / "icons" / "revive.png", folder)
    env = {"HOME": str(tmp_path / "home"), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    subprocess.run(["sh", str(folder / "install-desktop-entry.sh")], env=env, check=True)
    installed = tmp_path / "home/.local/share/applications/org.revive.Revive.desktop"
    assert f'Exec="{folder}/Revive" %F' in installed.read_text()
    icon = tmp_path / "home/.local/share/icons/hicolor/512x512/apps/org.revive.Revive.png"
    assert icon.is_file()
    subprocess.run(["sh", str(folder / "install-desktop-entry.sh"), "--remove"], env=env)
    assert not installed.exists() and not icon.exists()


def test_cpu_only_spec_records_it_for_the_launcher(tmp_path):
    made = run_spec(tmp_path, env={"REVIVE_BUNDLE_CUDA": "0"})
    (analysis,) = made["Analysis"]
    (info,) = [src for src, _ in analysis.kwargs["datas"] if src.endswith(bundle.BUNDLE_INFO)]
    assert json.loads(Path(info).read_text())["cuda"] is False


# --- trimming never removes what torch links ----------------------------------------------------


def _needed(path: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


@pytest.mark.skipif(
    not (sys.platform.startswith("linux") and shutil.which("readelf")), reason="ELF only"
)
@pytest.mark.parametrize("cuda", [True, False], ids=["cuda", "cpu-only"])
def test_trimming_keeps_every_library_torch_links(cuda):
    """Follow DT_NEEDED from torch's extension modules: nothing reached may be dropped."""
    site = Path(importlib.util.find_spec("torch").origin).parent.parent
    index: dict[str, Path] = {}
    for folder in [site / "torch" / "lib", *site.glob("nvidia/*/lib")]:
        for lib in folder.glob("*.so*"):
            index.setdefault(lib.name, lib)
    todo = [*site.glob("torch/*.so"), *site.glob("torchvision/*.so")]
    seen: set[Path] = set()
    while todo:
        lib = todo.pop()
        if lib in seen:
            continue
        seen.add(lib)
        todo += [index[name] for name in _needed(lib) if name in index]
    dropped = [
        lib.relative_to(site).as_posix()
        for lib in seen
        if bundle.drop_reason(lib.relative_to(site).as_posix(), cuda=cuda)
    ]
    assert {"libtorch_cuda.so", "libcudnn.so.9", "libcublasLt.so.13"} <= {p.name for p in seen}
    assert not dropped, f"trimming would remove libraries torch links: {dropped}"


def test_cuda_runtime_libraries_follow_the_bundle_kind():
    site = Path(importlib.util.find_spec("torch").origin).parent.parent
    present = sorted(site.glob("nvidia/cu*/lib/libnvrtc-builtins.so.*"))
    present = [p for p in present if ".alt." not in p.name]
    assert bundle.cuda_binaries(cuda=False) == []
    assert [Path(src) for src, _ in bundle.cuda_binaries(cuda=True)] == present


def test_drop_rules():
    assert bundle.drop_reason("torch/include/ATen/ATen.h")
    assert bundle.drop_reason("nvidia/cudnn/lib/libcudnn_cnn.so.9", cuda=False)
    assert bundle.drop_reason("nvidia/cudnn/lib/libcudnn_cnn.so.9", cuda=True) is None
    assert bundle.drop_reason("nvidia/cudnn/lib/libcudnn.so.9", cuda=False) is None
    assert bundle.drop_reason("torch/lib/libtorch_cpu.so", cuda=False) is None
    assert bundle.drop_reason("resources/weights/registry.json", cuda=False) is None
    assert bundle.drop_reason("torch/bin/protoc")
    assert bundle.drop_reason("torch/bin/torch_shm_manager") is None  # import torch needs it
    assert bundle.is_stripped("torch/lib/libtorch_cpu.so")
    assert not bundle.is_stripped("numpy.libs/libscipy_openblas64_-32a4b2a6.so")  # patchelf'd


# --- the launcher and the self-test -------------------------------------------------------------


def test_launcher_hides_gpus_in_a_cpu_only_bundle(tmp_path, monkeypatch):
    from engine.app import launch

    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / bundle.BUNDLE_INFO).write_text('{"cuda": false}')
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    assert bundle.bundle_info() == {"cuda": False}
    launch.prepare_frozen_process()
    assert os.environ["CUDA_VISIBLE_DEVICES"] == ""
    (tmp_path / "resources" / bundle.BUNDLE_INFO).write_text('{"cuda": true}')
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    launch.prepare_frozen_process()
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0"


@pytest.mark.slow
def test_selftest_runs_from_the_source_tree(tmp_path):
    """``revive --selftest`` from another folder, with the user's data folder elsewhere."""
    env = {**os.environ, "REVIVE_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "engine", "--selftest"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("ok    face detection") for line in lines), done.stdout
    assert any(line.startswith("ok    torch") for line in lines), done.stdout
    assert lines[-1].startswith("selftest passed"), done.stdout
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("*.json"))


def test_selftest_fails_on_a_damaged_or_untrained_weight_set(tmp_path, monkeypatch):
    import torch

    from engine.app import selftest
    from engine.faces.detect import DetectedFace
    from engine.models import create_model
    from engine.weights import read_manifest, save_weights

    net = create_model("components_tiny")
    with torch.no_grad():  # a network that calls everything background
        net.head[-1].weight.zero_()
        net.head[-1].bias.copy_(torch.tensor([5.0, 0.0, 0.0, 0.0]))
    manifest = save_weights(net.state_dict(), tmp_path, "parts", "components_tiny")
    info = read_manifest(manifest, "shipped")
    ctx = selftest.Context()
    ctx._face = DetectedFace(  # where MTCNN finds her (check_detect covers MTCNN itself)
        box=np.array([177.6, 60.7, 267.5, 173.5]),
        score=0.9998,
        landmarks=np.array([[204, 100], [247, 103], [224, 130], [202, 138], [245, 141.0]]),
    )
    with pytest.raises(selftest.CheckFailed, match="face centre is mostly background"):
        selftest.check_weight_set(info, ctx, None)
    shard = info.shard_paths()[0]
    shard.write_bytes(shard.read_bytes()[:-1] + b"\0")
    with pytest.raises(selftest.CheckFailed, match="sha256"):
        selftest.check_weight_set(info, ctx, None)


@pytest.mark.slow
def test_selftest_restores_through_the_real_pipeline(tmp_path, monkeypatch):
    """With a (tiny, untrained) restorer shipped, the check runs the whole Restorer.

    Untrained weights may fail the shading check, but the paste must leave everything
    away from the face untouched and the result keep the photo's size, whatever the net.
    """
    import torch

    from engine.app import selftest
    from engine.models import create_model
    from engine.weights import save_weights

    weights = tmp_path / "resources" / "weights"
    torch.manual_seed(0)
    save_weights(create_model("sparnethd_tiny").state_dict(), weights, "tiny", "sparnethd_tiny")
    registry = {"weights": ["tiny"], "defaults": {"restorer": "tiny"}}
    (weights / "registry.json").write_text(json.dumps(registry))
    monkeypatch.setenv("REVIVE_RESOURCES", str(tmp_path / "resources"))
    monkeypatch.setenv("REVIVE_DATA_DIR", str(tmp_path / "data"))
    try:
        detail = selftest.check_restore(selftest.Context())
    except selftest.CheckFailed as err:
        assert "shading" in str(err) or "not changed" in str(err), err
    else:
        assert "nothing changed away from the face" in detail


def test_the_model_catalogue_and_the_identity_models_are_collected():
    """Models ▸ Download reads resources/models.json; the identity check reads dlib's
    recognition and 5-point models from face_recognition_models (when installed)."""
    import importlib.util

    resources = [Path(src).name for src, _ in bundle.resource_datas()]
    assert "models.json" in resources
    if importlib.util.find_spec("face_recognition_models") is None:
        pytest.skip("the identity extra is not installed")
    datas = {Path(src).name: dest for src, dest in bundle.package_datas()}
    assert datas["dlib_face_recognition_resnet_model_v1.dat"] == "face_recognition_models/models"
    assert "shape_predictor_5_face_landmarks.dat" in datas
    assert "shape_predictor_68_face_landmarks.dat" not in datas  # 96 MB, evaluation only
