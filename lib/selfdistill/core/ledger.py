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

import hashlib
import json
import math
import os
import platform
import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from selfdistill.core.paths import repository_root
from selfdistill.core.validate import check_choice

if TYPE_CHECKING:
    from selfdistill.core.stats import Interval

__all__ = [
    "Claim", "ClaimFailed", "Ledger", "LedgerError", "LedgerRecord", "PROVENANCE", "SCHEMA",
    "atomic_path", "declared_claims", "ledger_digest", "load_claims", "load_ledgers",
    "rounding_band", "write_json_atomic", "write_ledger", "write_text_atomic",
]

#: version of the ledger's JSON layout; readers refuse other versions
SCHEMA = 3

Provenance = Literal["stated", "derived", "extension"]
PROVENANCE: dict[str, str] = {
    "stated": "the paper states it",
    "derived": "derived here in the paper's setting",
    "extension": "our extension",
}

_CHECK_CALL = re.compile(
    r"\bcheck_(?:at_most|at_least|close|true|interval)\(\s*[\"']([^\"']+)[\"']")


class ClaimFailed(AssertionError):
    """A claim did not hold, or a declared claim was never checked."""


class LedgerError(ValueError):
    """A ledger file is missing, corrupt, of another schema, or not a ledger at all."""


def declared_claims(source: str) -> list[str]:
    """The claim ids a chapter declares: the literal first argument of every ``check_*`` call."""
    return list(dict.fromkeys(_CHECK_CALL.findall(source)))


#: multiple of the unit roundoff below which a value is rounding: see :func:`rounding_band`
ROUNDING_ULPS = 64

#: unit roundoff u of the dtypes a claim can be computed in
UNIT_ROUNDOFF: dict[str, float] = {"float64": 2.0 ** -53, "float32": 2.0 ** -24}

#: characters of printed output the book's page shows at 1280 px (the book build refuses wider
#: lines); a longer claim line continues, indented, on a second line
PRINT_WIDTH = 88

#: the kinds of check a claim can be, each with its verdict recomputed from the stored numbers
KINDS = ("at_most", "at_least", "close", "true", "interval")


def rounding_band(scale: float = 1.0, dtype: str = "float64") -> float:
    """The one rule for rounding-level values: the power of ten just above ``64 · u · scale``.

    A claim's value below this band is rounding: it differs between CPU kernels, thread counts and
    CUDA, so it is printed as ``|v| < band``, never as digits. ``u`` is the unit roundoff of
    ``dtype`` (2⁻⁵³ for float64, 2⁻²⁴ for float32); ``scale`` is the size of the rounding error's
    source that the claim declares (a condition number times the norm involved, a count of summed
    terms; 1 for a relative error of a well-conditioned computation).

    Examples
    --------
    >>> rounding_band()
    1e-14
    >>> rounding_band(1e3)
    1e-11
    >>> rounding_band(dtype="float32")
    1e-05
    """
    check_choice("dtype", dtype, UNIT_ROUNDOFF)
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale = {scale!r} is outside the accepted range: finite and > 0")
    return float(f"1e{math.ceil(math.log10(ROUNDING_ULPS * UNIT_ROUNDOFF[dtype] * scale))}")


def _fmt(value: float, digits: int) -> str:
    return f"{value:.{digits}g}"


@dataclass(frozen=True)
class Claim:
    """One checked statement and its outcome.

    The verdict is recomputed from the stored numbers (``kind``, ``value``, ``limit``, ``tol``,
    ``interval``) whenever a ledger is read back, so an edited ``passed`` is caught.
    """

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
    kind: str = "at_most"
    limit: float | None = None
    tol: float | None = None
    interval: dict[str, Any] | None = None
    count: int | None = None
    scale: float = 1.0
    dtype: str = "float64"
    digits: int = 3
    trained: bool = False

    def band(self) -> float:
        """The rounding band of this claim (:func:`rounding_band`)."""
        return rounding_band(self.scale, self.dtype)

    def verdict(self) -> bool:
        """Whether the claim holds, recomputed from the stored numbers (NaN never holds)."""
        value = self.value
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            return False
        if self.kind == "at_most":
            return self.limit is not None and value <= self.limit
        if self.kind == "at_least":
            return self.limit is not None and value >= self.limit
        if self.kind == "close":
            return (self.limit is not None and self.tol is not None
                    and abs(value - self.limit) <= self.tol)
        if self.kind == "true":
            return value == 1.0  # a property: 1 holds, 0 does not
        if self.kind == "interval":
            iv = self.interval or {}
            low, high = iv.get("low"), iv.get("high")
            if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in (low, high)):
                return False
            ok = low <= value <= high
            if iv.get("above") is not None:
                ok = ok and low > iv["above"]
            if iv.get("below") is not None:
                ok = ok and high < iv["below"]
            if iv.get("contains") is not None:
                ok = ok and low <= iv["contains"] <= high
            return ok and iv.get("n", 0) >= iv.get("min_n", 5)
        return False

    def shown_value(self) -> str:
        """The value as printed: by the one rounding rule, else ``digits`` significant digits."""
        if not isinstance(self.value, (int, float)) or math.isnan(self.value):
            return "nan"
        if self.kind == "true":
            word = "true" if self.value == 1.0 else "false"
            return word if self.count is None else f"{word} in {self.count} cases"
        if self.kind == "interval":
            iv = self.interval or {}
            level = round(100 * iv.get("level", 0.95))
            return (f"{self.value:+.{self.digits}g}, {level}% CI "
                    f"[{_fmt(iv.get('low', math.nan), self.digits)}, "
                    f"{_fmt(iv.get('high', math.nan), self.digits)}], n = {iv.get('n')}")
        band = self.band()
        if self.kind == "at_most" and self.limit == 0.0:  # a bit-for-bit identity
            return _fmt(self.value, self.digits)
        if abs(self.value) < band:
            if self.kind == "at_most" and self.limit is not None and self.limit < band:
                return f"|v| ≤ {self.limit:.3g}"
            return f"|v| < {band:.0e}"
        return _fmt(self.value, self.digits)

    def compared_value(self) -> str:
        """The value as the golden line shows it. A ``trained`` interval claim (its samples come
        from training networks, whose trajectories amplify last-bit differences between CPU
        kernel paths into other stopping epochs) shows only where its interval lies and over how
        many seeds: its digits are not a property of the mathematics. Tables and the ledger keep
        the digits."""
        if self.kind == "interval" and self.trained:
            iv = self.interval or {}
            where = []
            if iv.get("above") is not None:
                where.append("above" if iv.get("low", math.nan) > iv["above"] else "not above")
            if iv.get("below") is not None:
                where.append("below" if iv.get("high", math.nan) < iv["below"] else "not below")
            if iv.get("contains") is not None:
                inside = iv.get("low", math.nan) <= iv["contains"] <= iv.get("high", math.nan)
                where.append("contains" if inside else "misses")
            return f"interval {' and '.join(where)} the bound, n = {iv.get('n')}"
        return self.shown_value()

    def summary(self) -> str:
        """One rounded line: verdict, id, value and bound (no timings, no addresses): the line
        the golden notebooks compare. It is the same on every CPU path, thread count and CUDA as
        long as the claim's ``scale``, ``digits`` and ``trained`` are honest."""
        status = "PASS" if self.passed else "FAIL"
        head, tail = f"{status} {self.id}:", f"{self.compared_value()} (bound: {self.bound})"
        line = f"{head} {tail}"
        return line if len(line) <= PRINT_WIDTH else f"{head}\n    {tail}"


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path`` (a unique name, so two writers never
    share it); on success it replaces ``path`` in one rename (mode 0644), on failure it goes."""
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(text.encode("utf-8"))  # no newline translation: the bytes given


def write_json_atomic(path: Path, payload: object) -> None:
    """Write JSON to ``path`` atomically (:func:`atomic_path`), creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(payload, indent=2, allow_nan=True) + "\n")


def ledger_digest(payload: dict[str, Any]) -> str:
    """SHA-256 over a ledger's canonical content (sorted keys, no whitespace, without the digest).

    It makes an edited ledger evident (a changed value, verdict, claim list or ``complete`` flag);
    it is not a signature: whoever edits the file on purpose can recompute it.
    """
    body = {k: v for k, v in payload.items() if k != "digest"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=True)
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


def write_ledger(path: Path, payload: dict[str, Any]) -> None:
    """Write a ledger atomically, stamped with its schema and :func:`ledger_digest`."""
    payload = {**payload, "schema": SCHEMA}
    payload["digest"] = ledger_digest(payload)
    write_json_atomic(path, payload)


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
    from selfdistill.core.chapters import notebooks_dir

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

        from selfdistill.core.device import resolve_device

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
        write_ledger(self.path, payload)

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
               bound: str, reason: str, *, kind: str, limit: float | None = None,
               tol: float | None = None, interval: dict[str, Any] | None = None,
               count: int | None = None, scale: float = 1.0, dtype: str = "float64",
               digits: int = 3, trained: bool = False) -> None:
        check_choice("provenance", provenance, PROVENANCE)
        if not id.startswith(f"{self.paper}."):
            raise ValueError(f"claim id {id!r} must start with the paper key '{self.paper}.'")
        for name, text in (("statement", statement), ("measured", measured), ("reason", reason)):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"claim {id!r}: {name} = {text!r} must be a non-empty string")
        if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 6:
            raise ValueError(f"claim {id!r}: digits = {digits!r} is outside the accepted range "
                             "1 to 6 (integers)")
        rounding_band(scale, dtype)  # validates scale and dtype
        value = float(value)
        claim = Claim(id=id, paper=self.paper, provenance=provenance, statement=statement,
                      measured=measured, value=value, bound=bound, reason=reason, passed=False,
                      chapter=self.chapter, kind=kind, limit=limit, tol=tol, interval=interval,
                      count=count, scale=float(scale), dtype=dtype, digits=digits,
                      trained=trained)
        self._record(replace(claim, passed=claim.verdict()))

    @staticmethod
    def _check_limit(id: str, name: str, limit: float, scale: float, dtype: str) -> float:
        limit = float(limit)
        if math.isnan(limit):
            raise ValueError(f"claim {id!r}: {name} = nan is not a bound")
        floor = 4 * UNIT_ROUNDOFF.get(dtype, 2.0 ** -53) * scale
        if name == "bound" and 0 < limit < floor:  # 0 itself: a bit-for-bit identity
            raise ValueError(f"claim {id!r}: bound = {limit:.3g} is below the rounding level "
                             f"4·u·scale = {floor:.3g} of this claim: the check would test "
                             "rounding; declare the claim's scale or raise the bound with a reason")
        return limit

    def check_at_most(self, id: str, value: float, bound: float, *, measured: str,
                      statement: str, provenance: Provenance, reason: str, scale: float = 1.0,
                      dtype: str = "float64", digits: int = 3) -> None:
        """Claim ``value ≤ bound``. ``scale`` and ``dtype`` set the rounding band
        (:func:`rounding_band`); ``digits`` the significant digits printed above it."""
        bound = self._check_limit(id, "bound", bound, scale, dtype)
        self._claim(id, provenance, statement, measured, value, f"≤ {bound:.3g}", reason,
                    kind="at_most", limit=bound, scale=scale, dtype=dtype, digits=digits)

    def check_at_least(self, id: str, value: float, bound: float, *, measured: str,
                       statement: str, provenance: Provenance, reason: str, scale: float = 1.0,
                       dtype: str = "float64", digits: int = 3) -> None:
        """Claim ``value ≥ bound`` (see :meth:`check_at_most` for ``scale``, ``dtype``,
        ``digits``)."""
        bound = self._check_limit(id, "lower bound", bound, scale, dtype)
        self._claim(id, provenance, statement, measured, value, f"≥ {bound:.3g}", reason,
                    kind="at_least", limit=bound, scale=scale, dtype=dtype, digits=digits)

    def check_close(self, id: str, value: float, target: float, tol: float, *, measured: str,
                    statement: str, provenance: Provenance, reason: str, scale: float = 1.0,
                    dtype: str = "float64", digits: int = 4) -> None:
        """Claim ``|value - target| ≤ tol``."""
        target = self._check_limit(id, "target", target, scale, dtype)
        tol = self._check_limit(id, "bound", tol, scale, dtype)
        self._claim(id, provenance, statement, measured, value, f"{target:.4g} ± {tol:.2g}",
                    reason, kind="close", limit=target, tol=tol, scale=scale, dtype=dtype,
                    digits=digits)

    def check_true(self, id: str, holds: bool, *, measured: str, statement: str,
                   provenance: Provenance, reason: str, count: int | None = None) -> None:
        """Claim a property that holds or not; ``count`` says over how many cases it was
        checked."""
        if count is not None and (isinstance(count, bool) or int(count) != count or count < 1):
            raise ValueError(f"claim {id!r}: count = {count!r} is outside the accepted range: "
                             "integers ≥ 1")
        self._claim(id, provenance, statement, measured, 1.0 if bool(holds) else 0.0, "holds",
                    reason, kind="true", count=None if count is None else int(count))

    def check_interval(self, id: str, interval: Interval, *, measured: str, statement: str,
                       provenance: Provenance, reason: str, above: float | None = None,
                       below: float | None = None, contains: float | None = None,
                       min_n: int = 5, digits: int = 2, trained: bool = False) -> None:
        """Claim a directional (or null) result from a confidence interval over seeds.

        Passes when ``interval.low > above`` (if given), ``interval.high < below`` (if given) and
        ``interval.low ≤ contains ≤ interval.high`` (if given). At least one must be given. An
        interval over fewer than ``min_n`` seeds (default 5) is refused: decide the seed count
        before looking. A negative result is a claim too (``below=0`` for "B is worse than A",
        ``contains=0`` for "no detectable difference"). ``trained=True`` marks samples that come
        from training networks: the compared golden line then shows where the interval lies, not
        its digits (:meth:`Claim.compared_value`); print the interval in a cell nbval does not
        compare.
        """
        from selfdistill.core.stats import Interval as _Interval

        if not isinstance(interval, _Interval):
            raise TypeError(f"claim {id!r}: interval must be a selfdistill.core.stats.Interval, "
                            f"got {type(interval).__name__}")
        if above is None and below is None and contains is None:
            raise ValueError(f"claim {id!r}: give at least one of above, below, contains")
        if isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 2:
            raise ValueError(f"claim {id!r}: min_n = {min_n!r} is outside the accepted range: "
                             "integers ≥ 2")
        if interval.n < min_n:
            raise ValueError(f"claim {id!r}: the interval has n = {interval.n} seeds; a "
                             f"directional claim needs at least min_n = {min_n}")
        parts = []
        if above is not None:
            parts.append(f"CI > {above:.3g}")
        if below is not None:
            parts.append(f"CI < {below:.3g}")
        if contains is not None:
            parts.append(f"CI ∋ {contains:.3g}")
        record = {**interval.as_dict(), "above": above, "below": below, "contains": contains,
                  "min_n": min_n}
        bound = " and ".join(parts) + f", {interval.method} with {interval.dof} df"
        self._claim(id, provenance, statement, measured, interval.mean, bound, reason,
                    kind="interval", interval=record, digits=digits, trained=bool(trained))

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
    rows = ["| claim | statement (and what was measured) | value | bound | verdict |",
            "|---|---|---|---|---|"]
    for c in claims:
        cells = [f"{c.id.split('.', 1)[-1]} ({c.provenance})",
                 f"{c.statement} (measured: {c.measured})", f"`{c.shown_value()}`",
                 f"`{c.bound}`",
                 "✓ pass" if c.passed else "**✗ FAIL**"]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows)


@dataclass(frozen=True)
class LedgerRecord:
    """One ledger file as read back: its claims and whether the run can be trusted.

    ``problems`` lists what makes the file untrustworthy although it parsed: a digest that does not
    match its content (an edited file), a stored verdict that its value and bound contradict, claim
    ids that differ from what the chapter's source declares.
    """

    path: Path
    chapter: str
    paper: str
    complete: bool
    expected: tuple[str, ...]
    parameters: dict[str, Any]
    run: dict[str, Any]
    claims: tuple[Claim, ...]
    problems: tuple[str, ...] = ()

    @property
    def missing(self) -> list[str]:
        """Declared claims that the run never recorded."""
        seen = {c.id for c in self.claims}
        return [i for i in self.expected if i not in seen]

    @property
    def passed(self) -> bool:
        """True only for a complete, unedited run with every declared claim recorded and
        passing."""
        return (self.complete and not self.missing and not self.problems and bool(self.claims)
                and all(c.passed for c in self.claims))


_CLAIM_FIELDS = {f.name: f for f in fields(Claim)}
_REQUIRED = ("id", "paper", "provenance", "statement", "measured", "value", "bound", "reason",
             "passed", "chapter", "kind")


def _claim_from(file: Path, index: int, record: object) -> Claim:
    where = f"{file}: claim {index}"
    if not isinstance(record, dict):
        raise LedgerError(f"{where} is a {type(record).__name__}, not a claim record")
    absent = [k for k in _REQUIRED if k not in record]
    if absent:
        raise LedgerError(f"{where} lacks {', '.join(absent)}")
    value = record["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LedgerError(f"{where} ({str(record.get('id'))[:80]}): value = "
                          f"{str(value)[:40]!r} is not a number")
    for name in ("id", "paper", "provenance", "statement", "measured", "bound", "reason",
                 "chapter", "kind"):
        if not isinstance(record[name], str):
            raise LedgerError(f"{where}: {name} is not a string")
    if record["kind"] not in KINDS:
        raise LedgerError(f"{where}: kind = {record['kind'][:40]!r} is not one of {KINDS}")
    if not isinstance(record["passed"], bool):
        raise LedgerError(f"{where}: passed is not true or false")
    try:
        return Claim(**{k: v for k, v in record.items() if k in _CLAIM_FIELDS})
    except TypeError as err:  # pragma: no cover - guarded above
        raise LedgerError(f"{where} is malformed: {err}") from None


def _problems(data: dict[str, Any], claims: tuple[Claim, ...]) -> list[str]:
    problems = []
    if data.get("digest") != ledger_digest(data):
        problems.append("EDITED: its digest does not match its content (the file was changed "
                        "after the run wrote it)")
    for c in claims:
        try:
            verdict = c.verdict()
        except (TypeError, ValueError):
            verdict = False
        if verdict != c.passed:
            problems.append(f"VERDICT {c.id}: stored {'PASS' if c.passed else 'FAIL'}, but value "
                            f"{c.value!r} against {c.bound} gives {'PASS' if verdict else 'FAIL'}")
    source = _chapter_source(data["chapter"]) if data.get("claims") else None
    if source is not None and data.get("complete"):
        declared = set(declared_claims(source))
        recorded = {c.id for c in claims} | set(data.get("expected", []))
        if declared - recorded:
            problems.append("DECLARED " + data["chapter"] + ": the chapter declares claims the "
                            "ledger lacks: " + ", ".join(sorted(declared - recorded)))
    return problems


def _read_ledger(file: Path) -> LedgerRecord:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LedgerError(f"no ledger at {file}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise LedgerError(f"{file} is not a readable ledger ({type(err).__name__})") from None
    if not isinstance(data, dict) or "claims" not in data or "chapter" not in data:
        raise LedgerError(f"{file} is not a claims ledger (no 'chapter' and 'claims')")
    if data.get("schema") != SCHEMA:
        raise LedgerError(f"{file} has ledger schema {str(data.get('schema'))[:20]}; this "
                          f"selfdistill reads schema {SCHEMA}: rerun the chapter")
    for name, kind in (("chapter", str), ("paper", str), ("claims", list), ("expected", list),
                       ("parameters", dict), ("run", dict), ("complete", bool)):
        if name in data and not isinstance(data[name], kind):
            raise LedgerError(f"{file}: '{name}' is a {type(data[name]).__name__}, not a "
                              f"{kind.__name__}")
    if not all(isinstance(i, str) for i in data.get("expected", [])):
        raise LedgerError(f"{file}: 'expected' must list claim ids (strings)")
    claims = tuple(_claim_from(file, i, r) for i, r in enumerate(data["claims"]))
    return LedgerRecord(path=file, chapter=data["chapter"], paper=data.get("paper", ""),
                        complete=data.get("complete") is True,
                        expected=tuple(data.get("expected", [])),
                        parameters=data.get("parameters", {}), run=data.get("run", {}),
                        claims=claims, problems=tuple(_problems(data, claims)))


def load_ledgers(location: Path) -> list[LedgerRecord]:
    """Read a ledger file, or every ``*.json`` ledger in a folder (recursively, for sweeps).

    Hidden files and folders (a run's staging ``.NAME.partial-*``, temporary files) are never read
    as runs. Raises :class:`LedgerError` for a missing location, an empty folder, or a corrupt,
    malformed or foreign file.
    """
    location = Path(location)
    if location.is_dir():
        files = sorted(p for p in location.rglob("*.json")
                       if not any(part.startswith(".") for part in p.relative_to(location).parts))
        if not files:
            raise LedgerError(f"{location} holds no ledger (*.json)")
        return [_read_ledger(f) for f in files]
    return [_read_ledger(location)]


def load_claims(location: Path) -> list[Claim]:
    """Every claim recorded in a ledger file or a folder of them."""
    return [c for record in load_ledgers(location) for c in record.claims]
