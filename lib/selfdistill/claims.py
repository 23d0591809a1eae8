"""The claim ledger.

A claim is one checkable statement: an ``id`` (``mobahi2020.c-increases``), the ``paper`` key,
its ``provenance`` (``stated``: the paper states it; ``derived``: the book derives it in the paper's
setting; ``extension``: the book goes beyond the paper), the ``statement``, the measured ``value``,
the ``bound`` it is held to and the ``reason`` for that tolerance, and whether it ``passed``.

Chapters record claims through a :class:`Ledger`. Each check prints a one-line rounded summary (the
cell that nbval compares), rewrites the run's JSON file atomically, and raises
:class:`ClaimFailed` when the claim does not hold, so the notebook, nbval and the book build fail.

Where the JSON goes: ``$SELFDISTILL_CLAIMS_FILE`` if set (``selfdistill run`` sets it), else
``$SELFDISTILL_CLAIMS_DIR/<chapter>.json`` (the book build sets it), else
``<repository>/_build/claims/<chapter>.json``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from .validate import check_choice

__all__ = ["Claim", "ClaimFailed", "Ledger", "PROVENANCE", "load_claims", "write_json_atomic"]

Provenance = Literal["stated", "derived", "extension"]
PROVENANCE: dict[str, str] = {
    "stated": "the paper states it",
    "derived": "derived here in the paper's setting",
    "extension": "our extension",
}


class ClaimFailed(AssertionError):
    """A claim did not hold."""


@dataclass(frozen=True)
class Claim:
    """One checked statement and its outcome."""

    id: str
    paper: str
    provenance: str
    statement: str
    value: float
    bound: str
    reason: str
    passed: bool
    chapter: str
    digits: int = 4
    floor: float = 0.0

    def shown_value(self) -> str:
        """The value rounded for display: ``digits`` significant digits, or ``< floor``."""
        if math.isnan(self.value):
            return "nan"
        if self.floor and abs(self.value) < self.floor:
            return f"< {self.floor:.0e}"
        return f"{self.value:.{self.digits}g}"

    def summary(self) -> str:
        """One rounded line: status, id, measured value and bound (no timings, no addresses)."""
        status = "PASS" if self.passed else "FAIL"
        return f"{status} {self.id}: {self.shown_value()} (bound: {self.bound})"


def write_json_atomic(path: Path, payload: object) -> None:
    """Write JSON to ``path`` through a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, allow_nan=True)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _repository_root() -> Path | None:
    for folder in [Path.cwd(), *Path.cwd().parents, *Path(__file__).resolve().parents]:
        if (folder / "_toc.yml").is_file() and (folder / "lib" / "selfdistill").is_dir():
            return folder
    return None


def default_claims_path(chapter: str) -> Path:
    """Where a chapter's claims JSON goes (see the module docstring)."""
    if os.environ.get("SELFDISTILL_CLAIMS_FILE"):
        return Path(os.environ["SELFDISTILL_CLAIMS_FILE"])
    if os.environ.get("SELFDISTILL_CLAIMS_DIR"):
        return Path(os.environ["SELFDISTILL_CLAIMS_DIR"]) / f"{chapter}.json"
    root = _repository_root() or Path.cwd()
    return root / "_build" / "claims" / f"{chapter}.json"


@dataclass
class Ledger:
    """The claims of one chapter run. Each ``check_*`` records, prints, writes, and raises
    :class:`ClaimFailed` if the claim does not hold; it returns nothing, so a notebook cell shows
    only the printed summary."""

    chapter: str
    paper: str
    path: Path | None = None
    parameters: dict[str, object] = field(default_factory=dict)
    claims: list[Claim] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path = Path(self.path) if self.path else default_claims_path(self.chapter)
        self._write()  # a new run starts from an empty record: no stale claims survive

    def _write(self) -> None:
        payload = {
            "chapter": self.chapter,
            "paper": self.paper,
            "parameters": self.parameters,
            "claims": [asdict(c) for c in self.claims],
        }
        write_json_atomic(self.path, payload)

    def _record(self, claim: Claim) -> None:
        if any(c.id == claim.id for c in self.claims):
            raise ValueError(f"claim id {claim.id!r} is recorded twice in chapter {self.chapter}")
        self.claims.append(claim)
        self._write()
        print(claim.summary())
        if not claim.passed:
            raise ClaimFailed(f"{claim.summary()} — {claim.statement} [{claim.reason}]")

    def _claim(self, id: str, provenance: str, statement: str, value: float, bound: str,
               reason: str, passed: bool, digits: int, floor: float) -> None:
        check_choice("provenance", provenance, PROVENANCE)
        if not id.startswith(f"{self.paper}."):
            raise ValueError(f"claim id {id!r} must start with the paper key '{self.paper}.'")
        value = float(value)
        passed = bool(passed) and not math.isnan(value)
        self._record(Claim(id=id, paper=self.paper, provenance=provenance,
                                  statement=statement, value=value, bound=bound, reason=reason,
                                  passed=passed, chapter=self.chapter, digits=digits, floor=floor))

    def check_at_most(self, id: str, value: float, bound: float, *, statement: str,
                      provenance: Provenance, reason: str, digits: int = 3,
                      floor: float = 0.0) -> None:
        """Claim ``value ≤ bound``."""
        self._claim(id, provenance, statement, value, f"≤ {bound:.3g}", reason,
                           float(value) <= bound, digits, floor)

    def check_at_least(self, id: str, value: float, bound: float, *, statement: str,
                       provenance: Provenance, reason: str, digits: int = 3,
                       floor: float = 0.0) -> None:
        """Claim ``value ≥ bound``."""
        self._claim(id, provenance, statement, value, f"≥ {bound:.3g}", reason,
                           float(value) >= bound, digits, floor)

    def check_close(self, id: str, value: float, target: float, tol: float, *, statement: str,
                    provenance: Provenance, reason: str, digits: int = 4) -> None:
        """Claim ``|value - target| ≤ tol``."""
        self._claim(id, provenance, statement, value, f"{target:.4g} ± {tol:.2g}", reason,
                           abs(float(value) - target) <= tol, digits, 0.0)

    def check_true(self, id: str, holds: bool, *, statement: str, provenance: Provenance,
                   reason: str, count: int | None = None) -> None:
        """Claim a property that holds or not (``value`` = 1 or 0, or a count of cases)."""
        value = float(count if count is not None else bool(holds))
        self._claim(id, provenance, statement, value, "holds", reason, bool(holds), 6, 0.0)


def load_claims(location: Path) -> list[Claim]:
    """Read claims from a JSON file, or from every ``*.json`` ledger in a folder."""
    location = Path(location)
    files = sorted(location.glob("*.json")) if location.is_dir() else [location]
    claims: list[Claim] = []
    for file in files:
        data = json.loads(file.read_text(encoding="utf-8"))
        claims += [Claim(**record) for record in data.get("claims", [])]
    return claims
