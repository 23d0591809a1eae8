"""The book machinery: argument checks, paths, device, the claim ledger and its statistics, the
registry of the papers' statements, chapters, runs, golden notebooks, sweeps, the book build, the
command line and the Sphinx extensions.

Imports no paper package. Importing ``selfdistill.core`` imports no torch: the names a chapter
needs (:class:`~selfdistill.core.ledger.Ledger`, :class:`~selfdistill.core.claim.Claim`,
:func:`~selfdistill.core.device.resolve_device`,
:func:`~selfdistill.core.stats.paired_interval`, …) load their module on first use, so
``selfdistill list`` and ``selfdistill claims`` stay torch-free.
"""

from __future__ import annotations

import importlib
from typing import Any

#: name -> module of the names re-exported here (loaded on first access)
_LAZY = {
    "Ledger": "ledger", "Claim": "claim", "LedgerError": "ledger",
    "resolve_device": "device", "seed_everything": "device", "cpu_threads": "device",
    "Interval": "stats", "paired_interval": "stats", "mean_interval": "stats",
    "repository_root": "paths",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"selfdistill.core.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'selfdistill.core' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
