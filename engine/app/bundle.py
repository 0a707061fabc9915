"""What a frozen (PyInstaller) Revive bundle must carry, listed in one place.

``build.spec`` builds the bundle from these lists, and ``tests/test_packaging.py``
checks them against the code (the weights registry, the command list, the package
data that dependencies read at run time), so a new weight set, command module or
data file cannot silently miss the bundle. Nothing here imports PyInstaller or the
heavy dependencies: the lists are computed from files, so the test is fast.

The trimming rules (``EXCLUDED_MODULES``, ``drop_binary``) are here too, with the
reason for each, because what is left out matters as much as what is put in.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from collections.abc import Iterable
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_NAME = "Revive"
APP_ID = "org.revive.Revive"  # macOS bundle identifier and Linux desktop-entry name
ENTRY_SCRIPT = "engine/__main__.py"
APP_PACKAGES = ("engine", "gui", "training")
BUNDLE_INFO = "bundle.json"  # written into resources/ by build.spec, read by bundle_info
REGISTRY_FILE = "registry.json"  # = engine.weights.REGISTRY_FILE (kept torch-free here)
MANIFEST_SUFFIX = ".weights.json"  # = engine.weights.MANIFEST_SUFFIX

# Modules the app imports by name at run time (PyInstaller cannot see these).
DYNAMIC_IMPORTS = ("gui.app",)

# Files that third-party packages read next to their own modules at run time:
# (package, glob relative to the package folder).
PACKAGE_DATA = (
    ("facenet_pytorch", "data/*.pt"),  # MTCNN's P-, R- and O-Net weights
    ("skimage", "data/astronaut.png"),  # the public-domain sample photo (engine.app.demo)
)

# The same for optional extras, collected when installed: the identity check's dlib
# models (engine.identity; the 96 MB 68-point predictor is only for `revive evaluate`,
# whose landmark metric then says it is unavailable in the bundle).
OPTIONAL_PACKAGE_DATA = (
    ("face_recognition_models", "models/dlib_face_recognition_resnet_model_v1.dat"),
    ("face_recognition_models", "models/shape_predictor_5_face_landmarks.dat"),
)

# Native libraries that packages load by path rather than import (so PyInstaller's
# import analysis misses them): torchvision's C++ ops (``nms``, which MTCNN uses) are
# opened with ``torch.ops.load_library(<package dir>/_C_stable.so)``.
PACKAGE_BINARIES = (("torchvision", ("*.so", "*.pyd", "*.dylib")),)

# GPU libraries that CUDA libraries open by name at run time (not DT_NEEDED, so
# PyInstaller's dependency analysis misses them, and the contrib hooks know only the
# older nvidia/<component>/lib layout): NVRTC loads its builtins when it compiles a
# kernel (cuDNN's runtime-compiled engines, torch's jiterator). Collected when found.
CUDA_RUNTIME_LIBS = ("nvidia/cu*/lib/libnvrtc-builtins.so.*",)

# Packages whose modules must exist as files (not only inside the PYZ archive):
# facenet-pytorch finds its weights as ``<module dir>/../data/pnet.pt``, which needs
# the ``models`` folder to exist on disk.
SOURCE_COLLECTED = ("facenet_pytorch",)

# Modules left out of the bundle, each with why it is safe to leave out.
EXCLUDED_MODULES = {
    # test frameworks and dev tools (extras `dev`), never imported by the app
    "pytest": "test framework",
    "_pytest": "test framework",
    "pytestqt": "test framework",
    "ruff": "linter",
    "IPython": "interactive shell",
    "jupyter_client": "notebooks",
    "notebook": "notebooks",
    # training extras: the bundled `revive train` writes CSV logs and skips these
    "tensorboard": "training logs only; training.runlog writes CSV without it",
    "torch.utils.tensorboard": "needs tensorboard",
    "tensorboard_data_server": "tensorboard's server",
    "matplotlib": "extras `dev`/`train` only; training plots are skipped without it",
    # torch's compiler stack: the app runs eager (torch.compile is off in the bundle)
    "triton": "GPU kernel compiler for torch.compile; torch checks for it with try/except",
    # torch's own test suite; torch imports a few small modules of it, so only these go
    **{
        f"torch.testing._internal.{m}": "torch's own test suite"
        for m in [
            "opinfo",
            "common_methods_invocations",
            "generated",
            "optests",
            "common_modules",
            "common_nn",
            "common_quantization",
            "common_utils",
            "common_device_type",
            "common_optimizers",
            "common_fsdp",
            "common_distributed",
            "distributed._tensor",
            "distributed.rpc",
            "distributed.nn",
            "distributed._shard",
        ]
    },
    "torch.utils.benchmark": "benchmark helpers",
    "torch.utils.cpp_extension": "building C++ extensions needs a compiler",
    "cuda": "cuda-python bindings; torch.cuda imports them with try/except",
    # build tooling that the hooks would otherwise drag in
    "setuptools": "packaging tool (only torch.utils.cpp_extension needs it)",
    "distutils": "packaging tool",
    "pip": "installer",
    "wheel": "packaging tool",
    "tkinter": "another GUI toolkit",
    # Qt modules Revive does not use (it needs QtCore, QtGui, QtWidgets only)
    **{
        f"PySide6.{m}": "unused Qt module"
        for m in [
            "Qt3DAnimation",
            "Qt3DCore",
            "Qt3DExtras",
            "Qt3DInput",
            "Qt3DLogic",
            "Qt3DRender",
            "QtBluetooth",
            "QtCharts",
            "QtDataVisualization",
            "QtDesigner",
            "QtHelp",
            "QtLocation",
            "QtMultimedia",
            "QtMultimediaWidgets",
            "QtNetworkAuth",
            "QtNfc",
            "QtPdf",
            "QtPdfWidgets",
            "QtPositioning",
            "QtQml",
            "QtQuick",
            "QtQuick3D",
            "QtQuickControls2",
            "QtQuickTest",
            "QtQuickWidgets",
            "QtRemoteObjects",
            "QtScxml",
            "QtSensors",
            "QtSerialPort",
            "QtSql",
            "QtStateMachine",
            "QtSvg",
            "QtSvgWidgets",
            "QtTest",
            "QtTextToSpeech",
            "QtUiTools",
            "QtWebChannel",
            "QtWebEngineCore",
            "QtWebEngineQuick",
            "QtWebEngineWidgets",
            "QtWebSockets",
            "QtXml",
            "QtOpenGL",
            "QtOpenGLWidgets",
            "QtConcurrent",
            "QtHttpServer",
            "QtSpatialAudio",
            "QtGraphs",
            "QtLabsStyleKit",
            "QtQmlFeatures",
        ]
    },
}

# Binaries and data files removed after analysis: (glob on the bundle-relative
# destination, why). Globs use fnmatch (``*`` also crosses ``/``).
ALWAYS_DROPPED = (
    ("torch/include/*", "C++ headers: nothing compiles in the bundle"),
    ("torch/share/*", "CMake files for C++ builds"),
    ("torch/bin/protoc*", "protobuf compiler (torch needs only bin/torch_shm_manager)"),
    ("*/libcudart_static.a", "static libraries are never loaded"),
    ("*/libcudadevrt.a", "static libraries are never loaded"),
    ("*/libnvshmem_device.a", "static libraries are never loaded"),
    ("*.bc", "LLVM bitcode for device-side linking"),
    ("*/libnvperf_host.so", "CUDA profiler (Nsight) support"),
    ("*/libnvperf_target.so", "CUDA profiler (Nsight) support"),
    ("*/libpcsamplingutil.so", "CUDA profiler support"),
    ("*/libcheckpoint.so", "CUDA checkpoint/restore utility"),
    ("*/libcufftw.so.*", "FFTW compatibility layer; torch calls cuFFT directly"),
    ("*/libnvblas.so.*", "BLAS drop-in layer; torch calls cuBLAS directly"),
    ("*/libcusolverMg.so.*", "multi-GPU solver"),
    ("*/nvshmem_bootstrap_*", "multi-node transports (MPI, PMI)"),
    ("*/nvshmem_transport_*", "multi-node transports (InfiniBand, UCX, libfabric)"),
    ("*/libnvrtc.alt.so.*", "alternative NVRTC build; torch loads libnvrtc.so"),
    ("*/libnvrtc-builtins.alt.so.*", "alternative NVRTC build"),
    ("*/libcufile_rdma.so.*", "GPUDirect storage over RDMA"),
)

# Dropped as well from a CPU-only bundle (``REVIVE_BUNDLE_CUDA=0``): libraries that
# torch opens only when a GPU computes (no other library lists them as needed), so
# ``import torch`` still works; engine.app.launch then hides the GPUs from torch.
CPU_ONLY_DROPPED = (
    ("*/libcudnn_*.so.*", "cuDNN kernels (GPU convolutions)"),
    ("*/libcusolver.so.*", "GPU linear algebra"),
    ("torch/lib/libtorch_cuda_linalg.so", "GPU linear algebra"),
    ("*/libnvrtc-builtins.so.*", "GPU kernel JIT"),
)


# Linux libraries whose symbol tables are removed (``strip --strip-unneeded``: the
# dynamic symbols that loading needs stay). Only these: stripping every library, as
# PyInstaller's ``strip=True`` does, corrupts the auditwheel/patchelf-edited ones
# (numpy's OpenBLAS then fails with "ELF load command address/offset not page-aligned").
STRIPPED = (
    "torch/lib/libtorch_cpu.so",
    "torch/lib/libtorch_cuda.so",
    "torch/lib/libtorch_python.so",
    "torch/lib/libtorch_cuda_linalg.so",
    "nvidia/nccl/lib/libnccl.so.*",
    "libpython3.*.so.*",
)


def is_stripped(dest: str) -> bool:
    dest = dest.replace("\\", "/")
    return any(fnmatch(dest, pattern) for pattern in STRIPPED)


def drop_reason(dest: str, cuda: bool = True) -> str | None:
    """Why a collected file (bundle-relative destination) is left out, or None to keep it."""
    dest = dest.replace("\\", "/")
    rules = ALWAYS_DROPPED if cuda else ALWAYS_DROPPED + CPU_ONLY_DROPPED
    for pattern, reason in rules:
        if fnmatch(dest, pattern):
            return reason
    return None


class BundleError(RuntimeError):
    """Something the bundle must carry is missing from the source tree or the environment."""


def resources_root(root: Path = ROOT) -> Path:
    return root / "resources"


def weight_files(root: Path = ROOT) -> list[Path]:
    """registry.json, then every listed set's manifest and shards (each must exist)."""
    weights = resources_root(root) / "weights"
    registry = weights / REGISTRY_FILE
    if not registry.is_file():
        return []
    files = [registry]
    data = json.loads(registry.read_text(encoding="utf-8"))
    for name in data.get("weights", []):
        manifest = weights / f"{name}{MANIFEST_SUFFIX}"
        if not manifest.is_file():
            raise BundleError(f"registry lists {name!r} but {manifest.name} is missing")
        files.append(manifest)
        for entry in json.loads(manifest.read_text(encoding="utf-8")).get("files", []):
            shard = weights / entry["file"]
            if not shard.is_file():
                raise BundleError(f"{manifest.name} lists {shard.name}, which is missing")
            files.append(shard)
    return files


def icon_files(root: Path = ROOT) -> list[Path]:
    """The app icon in every size and format (the GUI and the desktop entry use them)."""
    icons = resources_root(root) / "icons"
    return sorted(p for p in icons.glob("*") if p.suffix in (".png", ".ico", ".icns", ".svg"))


def resource_datas(root: Path = ROOT) -> list[tuple[str, str]]:
    """(source file, destination folder) pairs for everything under ``resources/``."""
    base = root
    return [
        (str(path), str(path.parent.relative_to(base)).replace("\\", "/"))
        for path in weight_files(root) + icon_files(root) + [resources_root(root) / "models.json"]
    ]


def package_dir(package: str) -> Path:
    """A package's folder, found without importing it (so this stays fast)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise BundleError(f"package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def package_datas() -> list[tuple[str, str]]:
    """(source file, destination folder) for the data files dependencies read at run time."""
    pairs = []
    optional = [(p, g) for p, g in OPTIONAL_PACKAGE_DATA if importlib.util.find_spec(p)]
    for package, pattern in (*PACKAGE_DATA, *optional):
        folder = package_dir(package)
        found = sorted(folder.glob(pattern))
        if not found:
            raise BundleError(f"{package} has no {pattern} (is the right version installed?)")
        for path in found:
            dest = Path(package) / path.parent.relative_to(folder)
            pairs.append((str(path), dest.as_posix()))
    return pairs


def package_binaries() -> list[tuple[str, str]]:
    """(source file, destination folder) for native libraries loaded by path."""
    pairs = []
    for package, patterns in PACKAGE_BINARIES:
        folder = package_dir(package)
        found = sorted({path for pattern in patterns for path in folder.glob(pattern)})
        if not found:
            raise BundleError(f"{package} has no native library ({', '.join(patterns)})")
        pairs += [(str(path), package) for path in found]
    return pairs


def cuda_binaries(cuda: bool = True) -> list[tuple[str, str]]:
    """(source, destination folder) for :data:`CUDA_RUNTIME_LIBS` (none when CPU-only)."""
    if not cuda:
        return []
    try:
        site = package_dir("torch").parent
    except BundleError:
        return []
    pairs = []
    for pattern in CUDA_RUNTIME_LIBS:
        for path in sorted(site.glob(pattern)):
            if drop_reason(path.relative_to(site).as_posix(), cuda) is None:
                pairs.append((str(path), path.parent.relative_to(site).as_posix()))
    return pairs


def app_modules(root: Path = ROOT) -> list[str]:
    """Every module of Revive's own packages, found in the source tree (build time only)."""
    names = []
    for package in APP_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__main__":
                continue  # running it would start the app
            if parts[-1] == "__init__":
                parts.pop()
            names.append(".".join(parts))
    return names


def command_modules(root: Path = ROOT) -> list[str]:
    """``COMMAND_MODULES`` of engine/app/cli/main.py, read from the source (no import)."""
    tree = ast.parse((root / "engine" / "app" / "cli" / "main.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "COMMAND_MODULES" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise BundleError("engine/app/cli/main.py has no COMMAND_MODULES list")


def hidden_imports(root: Path = ROOT) -> list[str]:
    """Modules to collect although no ``import`` statement names them."""
    wanted = [*command_modules(root), *DYNAMIC_IMPORTS, *app_modules(root)]
    return list(dict.fromkeys(wanted))


def excluded_modules() -> list[str]:
    return sorted(EXCLUDED_MODULES)


def is_excluded(module: str, excludes: Iterable[str] | None = None) -> bool:
    """Whether PyInstaller leaves ``module`` out (an exclude also removes its submodules)."""
    for name in EXCLUDED_MODULES if excludes is None else excludes:
        if module == name or module.startswith(name + "."):
            return True
    return False


def version(root: Path = ROOT) -> str:
    """The version in engine/__init__.py, read from the source."""
    tree = ast.parse((root / "engine" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__version__":
            return str(ast.literal_eval(node.value))
    raise BundleError("engine/__init__.py has no __version__")


def platform_tag() -> str:
    """linux-x86_64, windows-amd64, macos-arm64, ... for the archive's name."""
    import platform

    system = {"darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    system = "linux" if system.startswith("linux") else system
    return f"{system}-{platform.machine().lower()}"


def bundle_info() -> dict:
    """What build.spec recorded about this bundle (empty when not frozen)."""
    base = getattr(sys, "_MEIPASS", None)
    if not base:
        return {}
    try:
        return json.loads((Path(base) / "resources" / BUNDLE_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
