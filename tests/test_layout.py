"""The package's layout by concern (issue 15): the import graph between packages has no cycle and
runs in one direction, and no module outgrows one concern.

Direction: the command line (``selfdistill.cli``) may import anything; the papers may import
``training``, ``data`` and ``core``; ``training`` imports ``data`` and ``core``; ``data`` imports
``core``; ``plots`` import only ``core`` (argument checks; no mathematics); ``core`` imports no
other package of the library (a sweep report draws its figure with the plots module the command
line passes in); no paper imports another.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[1] / "lib" / "selfdistill"
PAPERS = {"mobahi2020", "zhang2020", "dong2019"}
ALLOWED = {
    "(top)": {"core", "data", "training", "plots", *PAPERS},
    "core": set(),
    "data": {"core"},
    "training": {"core", "data"},
    "plots": {"core"},
    **{paper: {"core", "data", "training"} for paper in PAPERS},
}
MAX_LINES = 500


def package_of(path: Path) -> str:
    parts = path.relative_to(LIB).parts
    return parts[0] if len(parts) > 1 else "(top)"


def imported_packages(path: Path) -> dict[str, int]:
    """Library packages a module imports (anywhere in it, lazy imports too), with a line each."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "selfdistill":
                names = [parts[1]] if len(parts) > 1 else [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import; use absolute imports")
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1] for a in node.names
                     if a.name.startswith("selfdistill.")]
        for name in names:
            if (LIB / name).is_dir():
                found.setdefault(name, node.lineno)
    return found


MODULES = sorted(LIB.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(LIB)))
def test_imports_run_in_one_direction(path):
    own = package_of(path)
    for package, line in imported_packages(path).items():
        if package != own:
            assert package in ALLOWED[own], f"{path.relative_to(LIB)}:{line} imports {package}"


def test_the_package_graph_has_no_cycle():
    graph: dict[str, set[str]] = {}
    for path in MODULES:
        own = package_of(path)
        graph.setdefault(own, set()).update(p for p in imported_packages(path) if p != own)
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == 1:
            raise AssertionError("import cycle: " + " -> ".join([*trail, node]))
        if state.get(node) == 2:
            return
        state[node] = 1
        for nxt in graph.get(node, ()):
            visit(nxt, [*trail, node])
        state[node] = 2

    for node in graph:
        visit(node, [])


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(LIB)))
def test_no_module_outgrows_one_concern(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(LIB)} has {lines} lines (limit {MAX_LINES})"


def test_every_package_and_test_folder_mirror_each_other():
    tests = Path(__file__).resolve().parent
    for package in ("core", "data", "training", "plots", *PAPERS):
        assert (LIB / package / "__init__.py").is_file()
        assert (tests / package / "__init__.py").is_file(), f"tests/{package}/ is missing"
