"""The common contract test (issue 15, item 2): every public function of every package that
declares its arguments with ``validate_params`` is called with each value its constraints refuse,
one argument at a time, and must raise ``ValueError`` naming that argument, before any work.

Also: which public functions declare nothing. Functions without arguments to check (plots, which
take arrays and axes, and the Sphinx hooks) are listed by name, and the list may only shrink.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import selfdistill

PACKAGES = ("core", "data", "training", "mobahi2020", "zhang2020", "dong2019", "plots")


def public_callables() -> list[tuple[str, object]]:
    """Every public function and class of every module (its ``__all__``), by dotted name."""
    found = []
    for package in PACKAGES:
        pkg = importlib.import_module(f"selfdistill.{package}")
        for info in pkgutil.iter_modules(pkg.__path__):
            module = importlib.import_module(f"selfdistill.{package}.{info.name}")
            for name in getattr(module, "__all__", ()):
                obj = getattr(module, name)
                if (inspect.isfunction(obj) or inspect.isclass(obj)) and \
                        getattr(obj, "__module__", None) == module.__name__:
                    found.append((f"{module.__name__}.{name}", obj))
    return found


def _declared(obj) -> dict:
    if inspect.isclass(obj):
        return getattr(obj.__init__, "__constraints__", {})
    return getattr(obj, "__constraints__", {})


CASES = [(f"{name}:{param}", obj, param, bad)
         for name, obj in public_callables()
         for param, constraint in _declared(obj).items()
         for bad in constraint.bad_values()]


def test_the_walk_finds_the_library():
    assert len(public_callables()) > 300
    assert selfdistill.__version__


@pytest.mark.parametrize(("case", "obj", "param", "bad"), CASES,
                         ids=[f"{c[0]}={c[3]!r}"[:90] for c in CASES])
def test_every_declared_argument_refuses_its_bad_values(case, obj, param, bad):
    with pytest.raises(ValueError, match=rf"^{param}\b"):
        obj(**{param: bad})


@pytest.mark.parametrize("package", ["mobahi2020", "zhang2020", "dong2019"])
def test_every_module_of_a_paper_declares_its_constraints(package):
    """Each module of a paper package has a public function or class that declares constraints,
    so the walk above reaches every one of them."""
    declared = {getattr(obj, "__module__", "") for name, obj in public_callables()
                if name.split(".")[1] == package and _declared(obj)}
    pkg = importlib.import_module(f"selfdistill.{package}")
    modules = {f"selfdistill.{package}.{info.name}" for info in pkgutil.iter_modules(pkg.__path__)}
    assert modules <= declared, sorted(modules - declared)
