"""The layering of docs/architecture.md, checked on the source (no module is imported).

* The library (``engine`` outside ``engine/app``) never names ``gui`` or ``training``,
  not even in a function-level import: only the app shell may.
* ``training`` never names ``gui``; ``engine`` never imports Qt; nothing installed
  (``engine``, ``training``, ``gui``) names ``tools``, which is not installed.
* No import cycles at all: not among top-level imports, and none closed through an
  import inside a function or under ``if TYPE_CHECKING`` either (a lazy import that
  only hides a cycle is still a knot).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "training", "gui", "tools")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(module: str, path: Path, top_level_only: bool, type_checking: bool = False) -> set[str]:
    """Names of the modules ``module`` imports (``from x import y`` counts x and x.y).

    ``type_checking``: count the imports under ``if TYPE_CHECKING`` too.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, node, is_package)
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If) and _is_type_checking(node):
                visit([*node.body, *node.orelse] if type_checking else node.orelse)
            elif top_level_only and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            else:
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.stmt):
                        visit([child])
                    elif isinstance(child, (ast.ExceptHandler, ast.match_case)):
                        visit(child.body)

    visit(tree.body)
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


def test_the_library_names_no_app_package():
    offenders = []
    for module, path in modules().items():
        if (
            _top(module) != "engine"
            or module.startswith("engine.app")
            or module == "engine.__main__"
        ):
            continue
        bad = {
            m for m in imports(module, path, top_level_only=False) if _top(m) in ("gui", "training")
        }
        offenders += [f"{module} -> {m}" for m in sorted(bad)]
    assert not offenders, offenders


def test_training_never_names_the_gui_and_the_engine_never_imports_qt():
    offenders = []
    for module, path in modules().items():
        names = imports(module, path, top_level_only=False)
        if _top(module) == "training":
            offenders += [f"{module} -> {m}" for m in names if _top(m) == "gui"]
        if _top(module) == "engine":
            offenders += [f"{module} -> {m}" for m in names if _top(m) in ("PySide6", "PyQt5")]
        if _top(module) != "tools":
            offenders += [f"{module} -> {m}" for m in names if _top(m) == "tools"]
    assert not offenders, offenders


def import_cycles(top_level_only: bool, type_checking: bool) -> list[str]:
    known = modules()
    graph = {
        module: {
            m
            for m in imports(module, path, top_level_only, type_checking)
            if m in known and m != module
        }
        for module, path in known.items()
    }
    # a package's __init__ importing its own submodules is how packages work, not a cycle
    for module in graph:
        graph[module] = {m for m in graph[module] if not m.startswith(module + ".")}
    cycles = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module)
    return cycles


def test_no_import_cycles():
    assert not import_cycles(top_level_only=True, type_checking=False)


def test_no_cycle_is_closed_by_a_lazy_or_type_checking_import():
    cycles = import_cycles(top_level_only=False, type_checking=True)
    assert not cycles, cycles


def test_the_checks_see_real_imports():
    """The scanner finds what is there (so the tests above can fail)."""
    known = modules()
    assert "engine.face_engines" in imports("engine.pipeline", known["engine.pipeline"], True)
    launch = known["engine.app.launch"]
    assert "engine.app.cli.main" in imports("engine.app.launch", launch, False)  # in main()
    assert "engine.app.cli.main" not in imports("engine.app.launch", launch, True)
    task = known["training.task"]  # TrainConfig is imported for type hints only
    assert "training.config" in imports("training.task", task, True, type_checking=True)
    assert "training.config" not in imports("training.task", task, True)
