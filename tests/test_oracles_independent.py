"""An oracle is an independent route: no function of a paper's ``oracles`` module calls, directly
or through other functions of that module, a library function it is declared to check.

Each ``selfdistill.<paper>.oracles`` declares ``CHECKS = {"oracle": ("selfdistill.<...>.solver",
...)}``; this test reads the oracle's source (AST), resolves every name and attribute chain it uses
through the module's namespace, follows calls into the module's own functions, and fails if it
reaches a declared solver.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap

import pytest

PAPERS = ("mobahi2020", "zhang2020", "dong2019")


def _resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _reached(module, function, seen=None) -> list[object]:
    """Objects that ``function`` (of ``module``) refers to, following the module's own functions."""
    seen = set() if seen is None else seen
    if function in seen:
        return []
    seen.add(function)
    source = textwrap.dedent(inspect.getsource(inspect.unwrap(function)))
    out = []
    for node in ast.walk(ast.parse(source)):
        chain = []
        while isinstance(node, ast.Attribute):
            chain.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            continue
        obj = vars(module).get(node.id)
        for attr in reversed(chain):
            if obj is None:
                break
            obj = getattr(obj, attr, None)
        if obj is None:
            continue
        out.append(obj)
        if inspect.isfunction(inspect.unwrap(obj)) and \
                getattr(inspect.unwrap(obj), "__module__", None) == module.__name__:
            out += _reached(module, obj, seen)
    return out


CASES = []
for _paper in PAPERS:
    _module = importlib.import_module(f"selfdistill.{_paper}.oracles")
    for _oracle, _solvers in getattr(_module, "CHECKS", {}).items():
        CASES.append(pytest.param(_module, _oracle, _solvers, id=f"{_paper}.{_oracle}"))


@pytest.mark.parametrize(("module", "oracle", "solvers"), CASES)
def test_no_oracle_calls_what_it_checks(module, oracle, solvers):
    function = getattr(module, oracle)
    reached = _reached(module, function)
    for dotted in solvers:
        solver = _resolve(dotted)
        hits = [obj for obj in reached
                if obj is solver or inspect.unwrap(obj) is inspect.unwrap(solver)]
        assert not hits, f"{module.__name__}.{oracle} calls {dotted}, which it checks"


def test_the_walk_catches_a_direct_call(monkeypatch):
    """The detector itself: an oracle that calls its solver is caught."""
    from selfdistill.mobahi2020 import greens_fit, oracles

    def cheating_oracle(kernel, x, y, eps):
        return fit_greens(kernel, x, y, eps)  # noqa: F821 - resolved through the module

    monkeypatch.setattr(oracles, "fit_greens", greens_fit.fit_greens, raising=False)
    monkeypatch.setattr(oracles, "cheating_oracle", cheating_oracle, raising=False)
    cheating_oracle.__module__ = oracles.__name__
    reached = _reached(oracles, cheating_oracle)
    assert any(obj is greens_fit.fit_greens for obj in reached)
