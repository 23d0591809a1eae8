"""The declared constraints of zhang2020 and dong2019: every public function or class of their
modules that declares constraints (``validate_params``) refuses each value its constraint lists
as bad, with a ValueError that starts with the parameter's name, before any work (the other
arguments are left out: the check runs before the body)."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

PACKAGES = ("zhang2020", "dong2019")


def _declared():
    cases = []
    for package in PACKAGES:
        pkg = importlib.import_module(f"selfdistill.{package}")
        for module_name in pkg.__all__:
            module = getattr(pkg, module_name)
            if not inspect.ismodule(module):
                continue
            for name in module.__all__:
                obj = getattr(module, name)
                target = obj.__init__ if inspect.isclass(obj) else obj
                for param, constraint in getattr(target, "__constraints__", {}).items():
                    for k, bad in enumerate(constraint.bad_values()):
                        cases.append(pytest.param(obj, param, bad,
                                                  id=f"{module.__name__}.{name}-{param}-{k}"))
    return cases


CASES = _declared()


def test_every_module_declares_its_constraints():
    declared = {inspect.getmodule(c.values[0]).__name__ for c in CASES}
    for package in PACKAGES:
        pkg = importlib.import_module(f"selfdistill.{package}")
        modules = {getattr(pkg, m).__name__ for m in pkg.__all__
                   if inspect.ismodule(getattr(pkg, m))}
        assert modules <= declared, sorted(modules - declared)


@pytest.mark.parametrize("obj,param,bad", CASES)
def test_declared_bad_values_are_refused_by_name(obj, param, bad):
    with pytest.raises(ValueError, match=rf"^{re.escape(param)}\b"):
        obj(**{param: bad})
