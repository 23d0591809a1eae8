"""The declarations of the paper packages' oracles (``CHECKS``), cross-package."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("package", ["mobahi2020", "zhang2020", "dong2019"])
def test_checks_name_every_oracle_and_existing_library_functions(package):
    """CHECKS covers every public oracle function; each name it lists resolves to a function of
    the paper's package outside its oracles module."""
    import importlib
    import inspect

    oracles = importlib.import_module(f"selfdistill.{package}.oracles")
    functions = {n for n in oracles.__all__ if inspect.isfunction(getattr(oracles, n))}
    assert set(oracles.CHECKS) == functions
    for targets in oracles.CHECKS.values():
        for target in targets:
            module, name = target.rsplit(".", 1)
            assert module.startswith(f"selfdistill.{package}.") and not module.endswith("oracles")
            assert callable(getattr(importlib.import_module(module), name))
