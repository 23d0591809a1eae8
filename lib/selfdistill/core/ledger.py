"""The claim ledger: a chapter run's claims, written as they are checked.

A chapter builds its ledger the one way, from the run itself:
``ledger = Ledger.for_chapter("sd-rounds", globals())``. Only the name is typed: the parameters are
read from the notebook's namespace for exactly the names its ``parameters`` cell declares
(papermill injects overrides there, so the values recorded are the run's), the paper is the key
that starts every declared claim id, the device is the ``device`` parameter. A ledger whose
parameters, paper or device differ from what its chapter declares is refused, however built.

Each check prints a one-line rounded summary (the cell nbval compares), rewrites the run's JSON
atomically, and raises :class:`~selfdistill.core.claim.ClaimFailed` when the claim does not hold.
:meth:`Ledger.finish` fails if a declared claim was not recorded, marks the run ``complete`` and
shows the claims table; a ledger never finished (a failed or interrupted run) never reads as
passing. The file, its schema, and reading it back (:class:`LedgerRecord`, :func:`load_ledgers`)
are :mod:`selfdistill.core.ledger_file`'s, whose names this module re-exports.

Where it goes: ``$SELFDISTILL_CLAIMS_FILE`` if set (``selfdistill run`` sets it), else
``$SELFDISTILL_CLAIMS_DIR/<chapter>.json`` (the book build), else
``<repository>/_build/claims/<chapter>.json``. Imports neither torch nor numpy.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from selfdistill.core.claim import (
    Claim,
    ClaimFailed,
    Provenance,
    check_limit,
    claims_markdown,
    make_claim,
)
from selfdistill.core.ledger_file import (  # noqa: F401 - re-exported for callers
    SCHEMA,
    LedgerError,
    LedgerRecord,
    _chapter_source,
    declared_claims,
    ledger_digest,
    load_claims,
    load_ledgers,
    write_ledger,
)
from selfdistill.core.paths import repository_root
from selfdistill.core.provenance import mark_finished
from selfdistill.core.provenance import provenance as run_provenance
from selfdistill.core.validate import Integer, Optional, Real, validate_params

if TYPE_CHECKING:
    from selfdistill.core.stats import Interval

#: the check methods' own numbers, so that a refusal names the method's argument (``bound``, not
#: check_limit's ``limit``); make_claim and check_limit declare the same for direct callers
_LIMITS = dict(scale=Real(0.0, math.inf, lower_open=True, upper_open=True, strict=True),
               digits=Integer(1, 6))

#: the ledger file's names (``LedgerError``, ``LedgerRecord``, ``load_ledgers``, ...) are imported
#: here for callers but documented where they live, :mod:`selfdistill.core.ledger_file`
__all__ = ["Ledger"]


def default_claims_path(chapter: str) -> Path:
    """Where a chapter's claims JSON goes (see the module docstring)."""
    if os.environ.get("SELFDISTILL_CLAIMS_FILE"):
        return Path(os.environ["SELFDISTILL_CLAIMS_FILE"])
    if os.environ.get("SELFDISTILL_CLAIMS_DIR"):
        return Path(os.environ["SELFDISTILL_CLAIMS_DIR"]) / f"{chapter}.json"
    root = repository_root() or Path.cwd()
    return root / "_build" / "claims" / f"{chapter}.json"


def chapter_paper(chapter: str, source: str) -> str:
    """The paper of a chapter: the key every claim id it declares starts with.

    Raises ``ValueError`` for a chapter that declares no claim, or claims of several papers.
    """
    papers = sorted({cid.split(".", 1)[0] for cid in declared_claims(source)})
    if len(papers) != 1:
        raise ValueError(f"chapter {chapter!r} declares claims of {len(papers)} papers "
                         f"({', '.join(papers)[:80] or 'none'}); accepted: the claims of one "
                         "paper, whose key starts every claim id")
    return papers[0]


def _declared_parameters(chapter: str) -> list[str]:
    from selfdistill.core.chapters import Chapter, notebooks_dir

    return list(Chapter(chapter, notebooks_dir() / f"{chapter}.md").parameters())


@dataclass
class Ledger:
    """The claims of one chapter run: build it with :meth:`for_chapter`.

    Each ``check_*`` records, prints, writes, and raises :class:`ClaimFailed` if the claim does not
    hold; it returns nothing, so a notebook cell shows only the printed summary. ``measured`` is a
    short phrase saying what the value is ("largest relative error of f on the finest grid").
    ``device`` is the chapter's device parameter: the ledger records the device actually used.

    The fields can be given directly (the tests do, for chapters that do not exist); for a chapter
    of ``notebooks/`` they must agree with it: ``parameters`` holds exactly the names its
    ``parameters`` cell declares, ``paper`` is the key of its claims, ``device`` its ``device``
    parameter; anything else raises ``ValueError`` before anything is written. Building one
    writes a new, empty, incomplete ledger file: nothing stale of an earlier run survives.

    Parameters
    ----------
    chapter : str
        The chapter's name (``notebooks/<chapter>.md``).
    paper : str
        The key every claim id starts with (``mobahi2020``).
    path : pathlib.Path, optional
        Where the JSON goes; default :func:`default_claims_path`.
    parameters : dict of str to object
        The run's parameter values by name, in the order the ``parameters`` cell declares them.
    device : object, optional
        The chapter's ``device`` parameter (``"auto"``, ``"cpu"``, ``"cuda"``); the run's
        provenance records the device it resolves to. ``None``: the record names no device.
    expected : list of str, optional
        The claim ids :meth:`finish` requires; default: those the chapter's text declares
        (:func:`declared_claims`), none for a chapter that does not exist.
    claims : list of Claim
        The claims recorded so far (empty for a new run).

    Raises
    ------
    ValueError
        For fields that disagree with the chapter's text, as above, or a ``device`` that is not
        one (:func:`~selfdistill.core.device.resolve_device`).
    """

    chapter: str
    paper: str
    path: Path | None = None
    parameters: dict[str, object] = field(default_factory=dict)
    device: object = None
    expected: list[str] | None = None
    claims: list[Claim] = field(default_factory=list)

    @classmethod
    def for_chapter(cls, chapter: str, namespace: Mapping[str, object], *,
                    path: Path | None = None) -> Ledger:
        """The ledger of a run of ``chapter``, with its parameters read from the run.

        Parameters
        ----------
        chapter : str
            The chapter's name (``notebooks/<chapter>.md``).
        namespace : Mapping
            The namespace the chapter runs in (``globals()`` in a notebook cell): the value of
            every parameter the chapter's ``parameters`` cell declares is read from it, so the
            ledger records the run's values, overrides included.
        path : Path, optional
            Where the JSON goes; default :func:`default_claims_path`.

        Returns
        -------
        Ledger
            Paper from the chapter's claim ids, expected claims from its text, device from its
            ``device`` parameter (``None`` where it declares none).

        Raises
        ------
        ValueError
            For an unknown chapter, a declared parameter the namespace lacks, or a chapter whose
            claims do not name exactly one paper.
        """
        from selfdistill.core.chapters import get_chapter

        if not isinstance(namespace, Mapping):
            raise TypeError(f"namespace = {str(namespace)[:80]!r} is not accepted: the chapter's "
                            "namespace (globals())")
        found = get_chapter(chapter)
        source = found.text()
        names = list(found.parameters())
        absent = [n for n in names if n not in namespace]
        if absent:
            raise ValueError(f"chapter {chapter!r}: the parameters cell declares "
                             f"{', '.join(absent)[:80]}, which the namespace lacks; accepted: the "
                             "namespace the chapter runs in (globals())")
        parameters = {n: namespace[n] for n in names}
        return cls(chapter=chapter, paper=chapter_paper(chapter, source), path=path,
                   parameters=parameters, device=parameters.get("device"),
                   expected=declared_claims(source))

    def __post_init__(self) -> None:
        source = _chapter_source(self.chapter)
        if source is not None:
            self._agree_with(source)
        self.path = Path(self.path) if self.path else default_claims_path(self.chapter)
        if self.expected is None:
            self.expected = declared_claims(source) if source else []
        self.run = run_provenance(self.device)
        self.complete = False
        self._write()  # a new run starts from an empty, incomplete record: nothing stale survives

    def _agree_with(self, source: str) -> None:
        """Refuse fields that differ from what the chapter's text declares."""
        names = _declared_parameters(self.chapter)
        if list(self.parameters) != names:
            raise ValueError(f"chapter {self.chapter!r}: parameters = "
                             f"{', '.join(self.parameters)[:80] or 'none'} differ from the names "
                             f"its parameters cell declares: {', '.join(names)[:80]}; build the "
                             "ledger with Ledger.for_chapter(chapter, globals())")
        paper = chapter_paper(self.chapter, source)
        if self.paper != paper:
            raise ValueError(f"chapter {self.chapter!r}: paper = {self.paper[:40]!r}, but its "
                             f"claims are {paper}'s")
        if "device" in names and self.device != self.parameters["device"]:
            raise ValueError(f"chapter {self.chapter!r}: device = {str(self.device)[:40]!r} "
                             f"differs from its device parameter "
                             f"{str(self.parameters['device'])[:40]!r}")

    def _write(self) -> None:
        payload = {
            "schema": SCHEMA,
            "chapter": self.chapter,
            "paper": self.paper,
            "complete": self.complete,
            "expected": list(self.expected or []),
            "parameters": self.parameters,
            "run": self.run,
            "error": "",
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
               bound: str, reason: str, **details: Any) -> None:
        self._record(make_claim(id=id, paper=self.paper, chapter=self.chapter,
                                provenance=provenance, statement=statement, measured=measured,
                                value=value, bound=bound, reason=reason, **details))

    _check_limit = staticmethod(check_limit)

    @validate_params(bound=Real(), **_LIMITS)
    def check_at_most(self, id: str, value: float, bound: float, *, measured: str,
                      statement: str, provenance: Provenance, reason: str, scale: float = 1.0,
                      dtype: str = "float64", digits: int = 3) -> None:
        """Claim ``value ≤ bound``. ``scale`` and ``dtype`` set the rounding band
        (:func:`rounding_band`); ``digits`` the significant digits printed above it."""
        bound = self._check_limit(id, "bound", bound, scale, dtype)
        self._claim(id, provenance, statement, measured, value, f"≤ {bound:.3g}", reason,
                    kind="at_most", limit=bound, scale=scale, dtype=dtype, digits=digits)

    @validate_params(bound=Real(), **_LIMITS)
    def check_at_least(self, id: str, value: float, bound: float, *, measured: str,
                       statement: str, provenance: Provenance, reason: str, scale: float = 1.0,
                       dtype: str = "float64", digits: int = 3) -> None:
        """Claim ``value ≥ bound`` (see :meth:`check_at_most` for ``scale``, ``dtype``,
        ``digits``)."""
        bound = self._check_limit(id, "lower bound", bound, scale, dtype)
        self._claim(id, provenance, statement, measured, value, f"≥ {bound:.3g}", reason,
                    kind="at_least", limit=bound, scale=scale, dtype=dtype, digits=digits)

    @validate_params(target=Real(), tol=Real(0.0, math.inf), **_LIMITS)
    def check_close(self, id: str, value: float, target: float, tol: float, *, measured: str,
                    statement: str, provenance: Provenance, reason: str, scale: float = 1.0,
                    dtype: str = "float64", digits: int = 4) -> None:
        """Claim ``|value - target| ≤ tol``."""
        target = self._check_limit(id, "target", target, scale, dtype)
        tol = self._check_limit(id, "bound", tol, scale, dtype)
        self._claim(id, provenance, statement, measured, value, f"{target:.4g} ± {tol:.2g}",
                    reason, kind="close", limit=target, tol=tol, scale=scale, dtype=dtype,
                    digits=digits)

    @validate_params(count=Optional(Integer(1)))
    def check_true(self, id: str, holds: bool, *, measured: str, statement: str,
                   provenance: Provenance, reason: str, count: int | None = None) -> None:
        """Claim a property that holds or not; ``count`` says over how many cases it was
        checked."""
        self._claim(id, provenance, statement, measured, 1.0 if bool(holds) else 0.0, "holds",
                    reason, kind="true", count=count)

    @validate_params(above=Optional(Real()), below=Optional(Real()), contains=Optional(Real()),
                     min_n=Integer(2), digits=Integer(1, 6))
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
        self.run = mark_finished(self.run)
        self._write()
        from IPython.display import Markdown

        return Markdown(claims_markdown(self.claims))
