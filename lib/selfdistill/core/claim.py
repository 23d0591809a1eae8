"""Claims: one checkable statement each, its verdict and its printed line.

A claim is one checkable statement: an ``id`` (``mobahi2020.c-increases``), the ``paper`` key,
its ``provenance`` (``stated``: the paper states it; ``derived``: the book derives it in the paper's
setting; ``extension``: the book goes beyond the paper), the ``statement``, what the value is
(``measured``, a short phrase), the measured ``value``, the ``bound`` it is held to and the
``reason`` for that tolerance, and whether it ``passed``.

Chapters record claims through :class:`selfdistill.core.ledger.Ledger`; this module holds the record
itself, its verdict (recomputed from the stored numbers), the one rounding rule
(:func:`rounding_band`) and the one printed line (:meth:`Claim.summary`) that the golden notebooks
compare. It imports neither torch nor numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

from selfdistill.core.validate import Integer, Optional, Real, check_choice, validate_params

__all__ = ["KINDS", "PRINT_WIDTH", "PROVENANCE", "ROUNDING_ULPS", "UNIT_ROUNDOFF", "Claim",
           "ClaimFailed", "Provenance", "check_limit", "claims_markdown", "make_claim",
           "rounding_band"]

Provenance = Literal["stated", "derived", "extension"]
PROVENANCE: dict[str, str] = {
    "stated": "the paper states it",
    "derived": "derived here in the paper's setting",
    "extension": "our extension",
}


class ClaimFailed(AssertionError):
    """A claim did not hold, or a declared claim was never checked."""


#: multiple of the unit roundoff below which a value is rounding: see :func:`rounding_band`
ROUNDING_ULPS = 64

#: unit roundoff u of the dtypes a claim can be computed in
UNIT_ROUNDOFF: dict[str, float] = {"float64": 2.0 ** -53, "float32": 2.0 ** -24}

#: characters of printed output the book's page shows at 1280 px (the book build refuses wider
#: lines); a longer claim line continues, indented, on a second line
PRINT_WIDTH = 88

#: the kinds of check a claim can be, each with its verdict recomputed from the stored numbers
KINDS = ("at_most", "at_least", "close", "true", "interval")


#: a rounding scale: a real number (not text), finite and > 0
_SCALE = Real(0.0, math.inf, lower_open=True, upper_open=True, strict=True)


@validate_params(scale=_SCALE)
def rounding_band(scale: float = 1.0, dtype: str = "float64") -> float:
    """The one rule for rounding-level values: the power of ten just above ``64 · u · scale``.

    A claim's value below this band is rounding: it differs between CPU kernels, thread counts and
    CUDA, so it is printed as ``|v| < band``, never as digits. ``u`` is the unit roundoff of
    ``dtype`` (2⁻⁵³ for float64, 2⁻²⁴ for float32); ``scale`` is the size of the rounding error's
    source that the claim declares (a condition number times the norm involved, a count of summed
    terms; 1 for a relative error of a well-conditioned computation).

    Parameters
    ----------
    scale : float, default 1.0
        The size of the rounding error's source, finite and ``> 0``.
    dtype : {"float64", "float32"}, default "float64"
        The dtype the claim's value is computed in (:data:`UNIT_ROUNDOFF`).

    Returns
    -------
    float
        A power of ten, ``10^⌈log₁₀(64 u scale)⌉``.

    Raises
    ------
    ValueError
        ``dtype`` not a key of :data:`UNIT_ROUNDOFF`, or ``scale`` not finite and ``> 0``.

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
    return float(f"1e{math.ceil(math.log10(ROUNDING_ULPS * UNIT_ROUNDOFF[dtype] * scale))}")


def _fmt(value: float, digits: int) -> str:
    return f"{value:.{digits}g}"


@dataclass(frozen=True)
class Claim:
    """One checked statement and its outcome.

    The verdict is recomputed from the stored numbers (``kind``, ``value``, ``limit``, ``tol``,
    ``interval``) whenever a ledger is read back, so an edited ``passed`` is caught. Build one
    with :func:`make_claim`, which checks the fields and sets ``passed``.

    Attributes
    ----------
    id : str
        ``<paper>.<name>``, e.g. ``mobahi2020.c-increases``.
    paper : str
        The paper's key (``mobahi2020``, ``zhang2020``, ``dong2019``).
    provenance : {"stated", "derived", "extension"}
        Whether the paper states it, the book derives it, or the book goes beyond the paper.
    statement : str
        The statement checked.
    measured : str
        What ``value`` is, a short phrase.
    value : float
        The measured value (``1.0`` or ``0.0`` for a ``true`` claim; an interval's mean).
    bound : str
        The bound as printed (``"≤ 1e-12"``, ``"0.5 ± 0.01"``, ``"holds"``).
    reason : str
        Why the bound is what it is: the expected error and the headroom.
    passed : bool
        The verdict as recorded.
    chapter : str
        The chapter that recorded it.
    kind : {"at_most", "at_least", "close", "true", "interval"}, default "at_most"
        The check (:data:`KINDS`).
    limit, tol : float or None
        The bound or target, and the tolerance of a ``close`` claim.
    interval : dict or None
        An ``interval`` claim's confidence interval (``low``, ``high``, ``n``, ``level``, …) and
        its ``above``, ``below``, ``contains`` and ``min_n``.
    count : int or None
        Over how many cases a ``true`` claim was checked.
    scale : float, default 1.0
        The rounding error's source (:func:`rounding_band`).
    dtype : {"float64", "float32"}, default "float64"
        The dtype the value was computed in.
    digits : int, default 3
        Significant digits printed.
    trained : bool, default False
        Whether an interval's samples come from training networks (:meth:`compared_value`).
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


def claims_markdown(claims: list[Claim]) -> str:
    """A chapter's claims as a compact Markdown table that fits the page: the claim's name and
    provenance, its statement with what was measured (``$…$`` maths kept), value, bound, status.
    The full record, with each bound's reason, is on the book's claims page.

    Parameters
    ----------
    claims : list of Claim
        The claims, in the order of the table's rows.

    Returns
    -------
    str
        A Markdown table, one row per claim (``|`` in a cell escaped).
    """
    rows = ["| claim | statement (and what was measured) | value | bound | verdict |",
            "|---|---|---|---|---|"]
    for c in claims:
        cells = [f"{c.id.split('.', 1)[-1]} ({c.provenance})",
                 f"{c.statement} (measured: {c.measured})", f"`{c.shown_value()}`",
                 f"`{c.bound}`",
                 "✓ pass" if c.passed else "**✗ FAIL**"]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows)


@validate_params(limit=Real(), scale=_SCALE)
def check_limit(id: str, name: str, limit: float, scale: float, dtype: str) -> float:
    """A claim's bound, target or tolerance as a float: NaN is refused, and so is a positive
    ``bound`` below the rounding level ``4·u·scale`` (it would test rounding).

    Parameters
    ----------
    id : str
        The claim's id, for the message.
    name : str
        What ``limit`` is (``"bound"``, ``"lower bound"``, ``"target"``): only ``"bound"`` is
        held to the rounding level.
    limit : float
        The value to check (anything ``float()`` accepts), not NaN; ``±inf`` accepted.
    scale : float
        The claim's rounding scale (:func:`rounding_band`): a real number, finite and ``> 0``.
    dtype : str
        The claim's dtype; one :data:`UNIT_ROUNDOFF` does not list counts as float64.

    Returns
    -------
    float
        ``float(limit)``.

    Raises
    ------
    ValueError
        ``limit`` NaN or not a number, ``scale`` not finite and ``> 0``, or a ``bound`` in
        ``(0, 4·u·scale)``.
    """
    floor = 4 * UNIT_ROUNDOFF.get(dtype, 2.0 ** -53) * scale
    if name == "bound" and 0 < limit < floor:  # 0 itself: a bit-for-bit identity
        raise ValueError(f"claim {id!r}: bound = {limit:.3g} is below the rounding level "
                         f"4·u·scale = {floor:.3g} of this claim: the check would test "
                         "rounding; declare the claim's scale or raise the bound with a reason")
    return limit


@validate_params(value=Real(allow_nan=True), limit=Optional(Real()),
                 tol=Optional(Real(0.0, math.inf)), count=Optional(Integer(1)), scale=_SCALE,
                 digits=Integer(1, 6))
def make_claim(*, id: str, paper: str, chapter: str, provenance: str, statement: str,
               measured: str, value: float, bound: str, reason: str, kind: str,
               limit: float | None = None, tol: float | None = None,
               interval: dict[str, Any] | None = None, count: int | None = None,
               scale: float = 1.0, dtype: str = "float64", digits: int = 3,
               trained: bool = False) -> Claim:
    """A :class:`Claim` from checked fields, its ``passed`` set by :meth:`Claim.verdict`.

    Parameters
    ----------
    id, paper, chapter, provenance, statement, measured, bound, reason, kind
        The claim's fields, all ``str``, as in :class:`Claim`.
    value : float
        The measured value (stored as ``float(value)``); NaN is recorded, and never passes.
    limit : float, optional
        The bound or target, not NaN.
    tol : float, optional
        A ``close`` claim's tolerance, ``≥ 0``.
    count : int, optional
        Over how many cases a ``true`` claim was checked, ``≥ 1``.
    scale : float, default 1.0
        The rounding scale (:func:`rounding_band`), finite and ``> 0``.
    digits : int, default 3
        Significant digits printed, in ``[1, 6]``.
    interval, dtype, trained
        As in :class:`Claim`, keyword-only.

    Returns
    -------
    Claim
        The record, ``passed`` its recomputed verdict.

    Raises
    ------
    ValueError
        A provenance outside :data:`PROVENANCE`, an id that does not start with ``<paper>.``, an
        empty statement, measured phrase or reason, ``value`` not a number, ``limit`` NaN,
        ``tol`` negative, ``count`` not an integer ``≥ 1``, ``digits`` outside 1–6, or a
        ``scale`` or ``dtype`` that :func:`rounding_band` refuses.
    """
    check_choice("provenance", provenance, PROVENANCE)
    if not id.startswith(f"{paper}."):
        raise ValueError(f"claim id {id!r} must start with the paper key '{paper}.'")
    for name, text in (("statement", statement), ("measured", measured), ("reason", reason)):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"claim {id!r}: {name} = {text!r} must be a non-empty string")
    rounding_band(scale, dtype)  # validates scale and dtype
    claim = Claim(id=id, paper=paper, provenance=provenance, statement=statement,
                  measured=measured, value=float(value), bound=bound, reason=reason,
                  passed=False, chapter=chapter, kind=kind, limit=limit, tol=tol,
                  interval=interval, count=count, scale=float(scale), dtype=dtype,
                  digits=digits, trained=trained)
    return replace(claim, passed=claim.verdict())
