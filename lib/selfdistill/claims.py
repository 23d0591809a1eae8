"""The claim ledger.

A claim is one checkable statement: an ``id`` (``mobahi2020.c-increases``), the ``paper`` key,
its ``provenance`` (``stated``: the paper states it; ``derived``: the book derives it in the paper's
setting; ``extension``: the book goes beyond the paper), the ``statement``, what the value is
(``measured``, a short phrase), the measured ``value``, the ``bound`` it is held to and the
``reason`` for that tolerance, and whether it ``passed``.

Chapters record claims through a :class:`Ledger`. Each check prints a one-line rounded summary (the
cell that nbval compares), rewrites the run's JSON file atomically, and raises
:class:`ClaimFailed` when the claim does not hold, so the notebook, nbval and the book build fail.
The chapter's last cell calls :meth:`Ledger.finish`: it fails if a claim the chapter declares was
not recorded, marks the run ``complete`` and shows the chapter's claims table. A ledger that was
never finished (a failed or interrupted run) never reads as passing.

Where the JSON goes: ``$SELFDISTILL_CLAIMS_FILE`` if set (``selfdistill run`` sets it), else
``$SELFDISTILL_CLAIMS_DIR/<chapter>.json`` (the book build sets it), else
``<repository>/_build/claims/<chapter>.json``.

This module imports neither torch nor numpy at import time: the command line reads ledgers fast.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from .paths import repository_root
from .validate import check_choice

__all__ = [
    "Claim", "ClaimFailed", "Ledger", "LedgerError", "LedgerRecord", "PROVENANCE", "SCHEMA",
    "declared_claims", "load_claims", "load_ledgers", "write_json_atomic",
]

#: version of the ledger's JSON layout; readers refuse other versions
SCHEMA = 2

Provenance = Literal["stated", "derived", "extension"]
PROVENANCE: dict[str, str] = {
    "stated": "the paper states it",
    "derived": "derived here in the paper's setting",
    "extension": "our extension",
}

_CHECK_CALL = re.compile(r"\bcheck_(?:at_most|at_least|close|true)\(\s*[\"']([^\"']+)[\"']")


class ClaimFailed(AssertionError):
    """A claim did not hold, or a declared claim was never checked."""


class LedgerError(ValueError):
    """A ledger file is missing, corrupt, of another schema, or not a ledger at all."""


def declared_claims(source: str) -> list[str]:
    """The claim ids a chapter declares: the literal first argument of every ``check_*`` call."""
    return list(dict.fromkeys(_CHECK_CALL.findall(source)))


@dataclass(frozen=True)
class Claim:
    """One checked statement and its outcome."""

    id: str
    paper: str
    provenance: str
    statement: str
    measured: str
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
    """Write JSON to ``path`` through a temporary file and an atomic rename (mode 0644)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, allow_nan=True)
            handle.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def default_claims_path(chapter: str) -> Path:
    """Where a chapter's claims JSON goes (see the module docstring)."""
    if os.environ.get("SELFDISTILL_CLAIMS_FILE"):
        return Path(os.environ["SELFDISTILL_CLAIMS_FILE"])
    if os.environ.get("SELFDISTILL_CLAIMS_DIR"):
        return Path(os.environ["SELFDISTILL_CLAIMS_DIR"]) / f"{chapter}.json"
    root = repository_root() or Path.cwd()
    return root / "_build" / "claims" / f"{chapter}.json"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def git_commit(root: Path | None = None) -> str:
    """The repository's commit (``+dirty`` when the work tree differs), or ``unknown``."""
    root = root or repository_root()
    if root is None:
        return "unknown"
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, text=True,
                              capture_output=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, text=True, capture_output=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty.strip() else "")


def _chapter_source(chapter: str) -> str | None:
    from .chapters import notebooks_dir

    try:
        path = notebooks_dir() / f"{chapter}.md"
    except FileNotFoundError:
        return None
    return path.read_text(encoding="utf-8") if path.is_file() else None


def run_context(device: object = None) -> dict[str, Any]:
    """Where, when and on what a run happens: commit, device actually used, versions, threads,
    TF32 and determinism settings, start (``finished`` is set by :meth:`Ledger.finish`)."""
    context: dict[str, Any] = {"commit": git_commit(), "python": platform.python_version(),
                               "host": platform.node(), "started": _now(), "finished": None}
    if device is not None:
        import torch  # only a chapter that runs pays for torch

        from .device import resolve_device

        resolved = resolve_device(device)
        name = (torch.cuda.get_device_name(resolved) if resolved.type == "cuda"
                else platform.processor() or platform.machine())
        context.update(device=str(resolved), device_name=name, torch=torch.__version__,
                       threads=torch.get_num_threads(),
                       tf32_matmul=bool(torch.backends.cuda.matmul.allow_tf32),
                       tf32_cudnn=bool(torch.backends.cudnn.allow_tf32),
                       deterministic=bool(torch.are_deterministic_algorithms_enabled()))
    return context


@dataclass
class Ledger:
    """The claims of one chapter run.

    Each ``check_*`` records, prints, writes, and raises :class:`ClaimFailed` if the claim does not
    hold; it returns nothing, so a notebook cell shows only the printed summary. ``measured`` is a
    short phrase saying what the value is ("largest relative error of f on the finest grid").
    ``device`` is the chapter's device parameter: the ledger records the device actually used.
    """

    chapter: str
    paper: str
    path: Path | None = None
    parameters: dict[str, object] = field(default_factory=dict)
    device: object = None
    expected: list[str] | None = None
    claims: list[Claim] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path = Path(self.path) if self.path else default_claims_path(self.chapter)
        if self.expected is None:
            source = _chapter_source(self.chapter)
            self.expected = declared_claims(source) if source else []
        self.run = run_context(self.device)
        self.complete = False
        self._write()  # a new run starts from an empty, incomplete record: nothing stale survives

    def _write(self) -> None:
        payload = {
            "schema": SCHEMA,
            "chapter": self.chapter,
            "paper": self.paper,
            "complete": self.complete,
            "expected": list(self.expected or []),
            "parameters": self.parameters,
            "run": self.run,
            "claims": [asdict(c) for c in self.claims],
        }
        write_json_atomic(self.path, payload)

    def _record(self, claim: Claim) -> None:
        if any(c.id == claim.id for c in self.claims):
            raise ValueError(f"claim id {claim.id!r} is recorded twice in chapter {self.chapter}")
        if self.complete:
            raise ValueError(f"claim {claim.id!r} recorded after finish(): the run was closed")
        self.claims.append(claim)
        self._write()
        print(claim.summary())
        if not claim.passed:
            raise ClaimFailed(f"{claim.summary()} — {claim.statement} [{claim.reason}]")

    def _claim(self, id: str, provenance: str, statement: str, measured: str, value: float,
               bound: str, reason: str, passed: bool, digits: int, floor: float) -> None:
        check_choice("provenance", provenance, PROVENANCE)
        if not id.startswith(f"{self.paper}."):
            raise ValueError(f"claim id {id!r} must start with the paper key '{self.paper}.'")
        for name, text in (("statement", statement), ("measured", measured), ("reason", reason)):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"claim {id!r}: {name} = {text!r} must be a non-empty string")
        value = float(value)
        passed = bool(passed) and not math.isnan(value)
        self._record(Claim(id=id, paper=self.paper, provenance=provenance, statement=statement,
                           measured=measured, value=value, bound=bound, reason=reason,
                           passed=passed, chapter=self.chapter, digits=digits, floor=floor))

    def check_at_most(self, id: str, value: float, bound: float, *, measured: str,
                      statement: str, provenance: Provenance, reason: str, digits: int = 3,
                      floor: float = 0.0) -> None:
        """Claim ``value ≤ bound``."""
        self._claim(id, provenance, statement, measured, value, f"≤ {bound:.3g}", reason,
                    float(value) <= bound, digits, floor)

    def check_at_least(self, id: str, value: float, bound: float, *, measured: str,
                       statement: str, provenance: Provenance, reason: str, digits: int = 3,
                       floor: float = 0.0) -> None:
        """Claim ``value ≥ bound``."""
        self._claim(id, provenance, statement, measured, value, f"≥ {bound:.3g}", reason,
                    float(value) >= bound, digits, floor)

    def check_close(self, id: str, value: float, target: float, tol: float, *, measured: str,
                    statement: str, provenance: Provenance, reason: str,
                    digits: int = 4) -> None:
        """Claim ``|value - target| ≤ tol``."""
        self._claim(id, provenance, statement, measured, value, f"{target:.4g} ± {tol:.2g}",
                    reason, abs(float(value) - target) <= tol, digits, 0.0)

    def check_true(self, id: str, holds: bool, *, measured: str, statement: str,
                   provenance: Provenance, reason: str, count: int | None = None) -> None:
        """Claim a property that holds or not (``value`` = 1 or 0, or a count of cases)."""
        value = float(count if count is not None else bool(holds))
        self._claim(id, provenance, statement, measured, value, "holds", reason, bool(holds),
                    6, 0.0)

    def finish(self):
        """Close the run: every declared claim must have been recorded. Marks the ledger
        ``complete`` and returns the chapter's claims table (Markdown, shown by the notebook)."""
        missing = [i for i in (self.expected or []) if i not in {c.id for c in self.claims}]
        if missing:
            raise ClaimFailed(f"chapter {self.chapter}: declared claims never checked: "
                              + ", ".join(missing))
        self.complete = True
        self.run["finished"] = _now()
        self._write()
        from IPython.display import Markdown

        return Markdown(claims_markdown(self.claims))


def claims_markdown(claims: list[Claim]) -> str:
    """A chapter's claims as a compact Markdown table that fits the page: the claim's name and
    provenance, its statement with what was measured (``$…$`` maths kept), value, bound, status.
    The full record, with each bound's reason, is on the book's claims page."""
    rows = ["| claim | statement (and what was measured) | value | bound | |",
            "|---|---|---|---|---|"]
    for c in claims:
        cells = [f"{c.id.split('.', 1)[-1]} ({c.provenance})",
                 f"{c.statement} (measured: {c.measured})", f"`{c.shown_value()}`",
                 f"`{c.bound}`",
                 "✓" if c.passed else "**FAIL**"]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows)


@dataclass(frozen=True)
class LedgerRecord:
    """One ledger file as read back: its claims and whether the run can be trusted."""

    path: Path
    chapter: str
    paper: str
    complete: bool
    expected: tuple[str, ...]
    parameters: dict[str, Any]
    run: dict[str, Any]
    claims: tuple[Claim, ...]

    @property
    def missing(self) -> list[str]:
        """Declared claims that the run never recorded."""
        seen = {c.id for c in self.claims}
        return [i for i in self.expected if i not in seen]

    @property
    def passed(self) -> bool:
        """True only for a complete run with every declared claim recorded and passing."""
        return (self.complete and not self.missing and bool(self.claims)
                and all(c.passed for c in self.claims))


_CLAIM_FIELDS = {f.name for f in fields(Claim)}


def _read_ledger(file: Path) -> LedgerRecord:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LedgerError(f"no ledger at {file}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise LedgerError(f"{file} is not a readable ledger ({type(err).__name__})") from None
    if not isinstance(data, dict) or "claims" not in data or "chapter" not in data:
        raise LedgerError(f"{file} is not a claims ledger (no 'chapter' and 'claims')")
    if data.get("schema") != SCHEMA:
        raise LedgerError(f"{file} has ledger schema {data.get('schema')!r}; this selfdistill "
                          f"reads schema {SCHEMA}: rerun the chapter")
    try:
        claims = tuple(Claim(**{k: v for k, v in r.items() if k in _CLAIM_FIELDS})
                       for r in data["claims"])
    except TypeError as err:
        raise LedgerError(f"{file} has a malformed claim record: {err}") from None
    return LedgerRecord(path=file, chapter=data["chapter"], paper=data.get("paper", ""),
                        complete=bool(data.get("complete")),
                        expected=tuple(data.get("expected", [])),
                        parameters=data.get("parameters", {}), run=data.get("run", {}),
                        claims=claims)


def load_ledgers(location: Path) -> list[LedgerRecord]:
    """Read a ledger file, or every ``*.json`` ledger in a folder (recursively, for sweeps).

    Raises :class:`LedgerError` for a missing location, an empty folder, or a corrupt or foreign
    file.
    """
    location = Path(location)
    if location.is_dir():
        files = sorted(p for p in location.rglob("*.json") if not p.name.startswith("."))
        if not files:
            raise LedgerError(f"{location} holds no ledger (*.json)")
        return [_read_ledger(f) for f in files]
    return [_read_ledger(location)]


def load_claims(location: Path) -> list[Claim]:
    """Every claim recorded in a ledger file or a folder of them."""
    return [c for record in load_ledgers(location) for c in record.claims]
