"""Every public function declares its numeric arguments (issue 15, item 2): a parameter annotated
as a number (``int``, ``float``, optionally ``| None``) is declared with ``validate_params``, so the
common walk (``tests/test_contract_walk.py``) calls the function with the values it refuses.

A declaration may be looser than the whole rule (``folds`` an integer ≥ 2, its relation to the
number of draws checked in the body): what the walk needs is that no bad number of the
parameter's own kind reaches the body. Free text, paths, objects, callables, containers and
tensors are not numbers; a tensor may be declared (``Tensor``, ``SymmetricMatrix``) but is not
required to be here.
"""

from __future__ import annotations

import inspect
import re

import pytest
from test_contract_walk import PACKAGES, public_callables

#: the contract's own primitives: their numbers are the bounds a check is given, not user input
EXEMPT_MODULES = {"selfdistill.core.checks"}
NUMBER = re.compile(r"^(int|float)( \| None)?$|^(None \| )(int|float)$"
                    r"|^float \| int$|^int \| float$")


def undeclared_numbers(package: str) -> list[str]:
    missing = []
    for name, obj in public_callables():
        if name.split(".")[1] != package or not inspect.isfunction(obj) or \
                obj.__module__ in EXEMPT_MODULES:
            continue
        declared = getattr(obj, "__constraints__", {})
        for p in inspect.signature(obj).parameters.values():
            annotation = p.annotation if isinstance(p.annotation, str) else \
                getattr(p.annotation, "__name__", str(p.annotation))
            if NUMBER.match(str(annotation)) and p.name not in declared:
                missing.append(f"{name}({p.name}: {annotation})")
    return missing


@pytest.mark.parametrize("package", PACKAGES)
def test_every_numeric_argument_is_declared(package):
    missing = undeclared_numbers(package)
    assert not missing, f"{len(missing)} undeclared:\n" + "\n".join(missing)
