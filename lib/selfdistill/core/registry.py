"""The registry of the papers' statements, and the reproduction status of each.

One YAML file per paper, ``lib/selfdistill/core/statements/<paper>.yaml`` (package data)::

    paper: mobahi2020
    statements:
      - id: bt-sparsifies            # unique within the paper, kebab-case
        text: "Self-distillation progressively limits ..."   # MyST allowed
        source: paper                # paper | code | secondary | derived
        chapters: [bt-sparsification]
        claims:                      # claim ids that test it, with what a pass shows
          - {id: mobahi2020.bt-count-falls, shows: reproduced}
        regime: "book scale (CPU): ..."
        why: ""                      # required when there are no claims

:func:`load_registry` reads and checks every file (one-line errors naming the file, the statement
and the field). :func:`statement_status` computes a statement's status from the claims of a build's
ledger: no claims → *not tested*; a linked claim that failed, or that the build never recorded →
*failing*; a passing claim that shows ``not-reproduced`` → *not reproduced*; all linked claims pass
and show ``reproduced`` → *reproduced*; otherwise (a passing claim that shows ``partly``)
→ *partly*.

This module imports neither torch nor numpy: the Sphinx extensions and the tests read it fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from selfdistill.core.claim import Claim
from selfdistill.core.ledger import LedgerRecord

__all__ = [
    "PAPERS", "RegistryError", "SHOWS", "SOURCES", "STATUSES", "ClaimLink", "Statement",
    "StatementStatus", "claims_by_id", "declared_provenance", "load_registry", "load_statements",
    "registry_dir", "statement_status", "status_counts",
]

#: the papers, in the book's order
PAPERS: tuple[str, ...] = ("mobahi2020", "zhang2020", "dong2019")

#: where a statement comes from (the tags of the paper notes)
SOURCES: dict[str, str] = {
    "paper": "the paper's own words (abstract or quoted passages)",
    "code": "the authors' released code",
    "secondary": "a third party's account of the paper",
    "derived": "a derivation in the paper's setting; the paper's form may differ",
}

#: what a passing linked claim shows about its statement
SHOWS: dict[str, str] = {
    "reproduced": "the statement holds in the claim's regime",
    "partly": "part of the statement holds, or it holds in a narrower setting",
    "not-reproduced": "the claim's pass is the honest negative: the statement did not hold here",
}

#: the statuses, in the order the pages list their counts
STATUSES: dict[str, str] = {
    "reproduced": "every linked claim passes and reproduces the statement",
    "partly": "the linked claims pass, but some reproduce the statement only in part",
    "not reproduced": "a passing claim records that the statement did not hold here",
    "not tested": "no claim of this book tests it (the reason is given)",
    "failing": "a linked claim failed, or this build did not record it",
}

_CALL = re.compile(r"\bcheck_(?:at_most|at_least|close|true|interval)\(\s*[\"']([^\"']+)[\"']")
_PROVENANCE = re.compile(r"\bprovenance\s*=\s*[\"'](\w+)[\"']")
_KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FIELDS = ("id", "text", "source", "chapters", "claims", "regime", "why")
_REQUIRED = ("id", "text", "source", "chapters", "regime")


class RegistryError(ValueError):
    """A registry file is missing, unreadable or breaks the schema."""


@dataclass(frozen=True)
class ClaimLink:
    """A claim that tests a statement, and what its passing shows.

    Attributes
    ----------
    id : str
        The claim's id (``mobahi2020.c-increases``).
    shows : str
        What its passing shows: a key of :data:`SHOWS`.
    """

    id: str
    shows: str


@dataclass(frozen=True)
class Statement:
    """One statement a paper is known to make, with how this book tests it.

    Attributes
    ----------
    paper : str
        The paper's key (one of :data:`PAPERS`).
    id : str
        The statement's id, unique within the paper.
    text : str
        The statement, in the book's words.
    source : str
        Where it is known from: a key of :data:`SOURCES`.
    chapters : tuple of str
        The chapters that test it.
    claims : tuple of ClaimLink
        The claims that test it.
    regime : str
        The regime the book tests it in (scale, data, settings).
    why : str
        Why the claims test it (optional).
    """

    paper: str
    id: str
    text: str
    source: str
    chapters: tuple[str, ...]
    claims: tuple[ClaimLink, ...]
    regime: str
    why: str = ""

    @property
    def key(self) -> str:
        """``<paper>.<id>``: unique across the registry."""
        return f"{self.paper}.{self.id}"


@dataclass(frozen=True)
class StatementStatus:
    """A statement's status in one build and the claims it rests on.

    Attributes
    ----------
    status : str
        A key of :data:`STATUSES`.
    found : tuple of (ClaimLink, Claim or None)
        Each linked claim with its record in the ledger, or ``None`` when the build did not record
        it.
    deciding : tuple of str
        The ids of the claims that decide the status (the failed or missing ones, the negatives,
        or all of them).
    """

    status: str
    found: tuple[tuple[ClaimLink, Claim | None], ...]
    deciding: tuple[str, ...]


def registry_dir() -> Path:
    """The folder of the registry's YAML files (package data ``core/statements``).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    return Path(__file__).resolve().parent / "statements"


def _cut(value: object, width: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _error(file: Path, where: str, field: str, problem: str) -> RegistryError:
    return RegistryError(f"{file.name}: {where}: field '{field}' {problem}")


def _string(file: Path, where: str, entry: Mapping[str, Any], name: str, *,
            empty_ok: bool = False) -> str:
    value = entry.get(name, "")
    if not isinstance(value, str) or (not empty_ok and not value.strip()):
        raise _error(file, where, name, f"= {_cut(value)} must be a non-empty string")
    return " ".join(value.split())


def _links(file: Path, where: str, paper: str, raw: object) -> tuple[ClaimLink, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _error(file, where, "claims", f"= {_cut(raw)} must be a list of {{id, shows}}")
    links: list[ClaimLink] = []
    for item in raw:
        if not isinstance(item, dict) or set(item) != {"id", "shows"}:
            raise _error(file, where, "claims", f"entry {_cut(item)} must have exactly the keys "
                         "id and shows")
        claim_id, shows = item["id"], item["shows"]
        if not isinstance(claim_id, str) or not claim_id.startswith(f"{paper}."):
            raise _error(file, where, "claims", f"id = {_cut(claim_id)} must be a claim id "
                         f"starting with '{paper}.'")
        if shows not in SHOWS:
            raise _error(file, where, "claims", f"{claim_id}: shows = {_cut(shows)} is not one "
                         f"of {', '.join(SHOWS)}")
        if any(link.id == claim_id for link in links):
            raise _error(file, where, "claims", f"links {claim_id} twice")
        links.append(ClaimLink(claim_id, shows))
    return tuple(links)


def _statement(file: Path, paper: str, index: int, entry: object) -> Statement:
    where = f"statement #{index + 1}"
    if not isinstance(entry, dict):
        raise RegistryError(f"{file.name}: {where} = {_cut(entry)} must be a mapping")
    if isinstance(entry.get("id"), str):
        where = f"statement {entry['id']!r}"
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise _error(file, where, unknown[0], f"is not in the schema (accepted: "
                     f"{', '.join(_FIELDS)})")
    for name in _REQUIRED:
        if name not in entry:
            raise _error(file, where, name, "is missing")
    sid = _string(file, where, entry, "id")
    if not _KEBAB.match(sid):
        raise _error(file, where, "id", f"= {_cut(sid)} must be kebab-case ([a-z0-9] and '-')")
    text = _string(file, where, entry, "text")
    source = entry["source"]
    if source not in SOURCES:
        raise _error(file, where, "source", f"= {_cut(source)} is not one of "
                     f"{', '.join(SOURCES)}")
    chapters = entry["chapters"]
    if not isinstance(chapters, list) or not all(isinstance(c, str) and _KEBAB.match(c)
                                                 for c in chapters):
        raise _error(file, where, "chapters", f"= {_cut(chapters)} must be a list of chapter "
                     "names")
    links = _links(file, where, paper, entry.get("claims"))
    regime = _string(file, where, entry, "regime")
    why = _string(file, where, entry, "why", empty_ok=True)
    if not links and not why:
        raise _error(file, where, "why", "is empty: a statement without claims must say why it "
                     "is not tested here")
    if links and not chapters:
        raise _error(file, where, "chapters", "is empty although the statement links claims")
    return Statement(paper=paper, id=sid, text=text, source=source, chapters=tuple(chapters),
                     claims=links, regime=regime, why=why)


def load_statements(file: Path) -> list[Statement]:
    """Read and check one paper's registry file.

    Parameters
    ----------
    file : Path
        ``<paper>.yaml``; its ``paper`` key must equal the file's stem.

    Returns
    -------
    list of Statement
        In the file's order.

    Raises
    ------
    RegistryError
        One line naming the file, the statement and the field at fault.
    """
    file = Path(file)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"{file}: no such registry file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise RegistryError(f"{file.name}: not readable YAML ({type(err).__name__})") from None
    if not isinstance(data, dict) or set(data) != {"paper", "statements"}:
        found = sorted(data) if isinstance(data, dict) else data
        raise RegistryError(f"{file.name}: the top level must have exactly the keys paper and "
                            f"statements, not {_cut(found)}")
    paper = data["paper"]
    if paper != file.stem:
        raise RegistryError(f"{file.name}: field 'paper' = {_cut(paper)} must equal the file "
                            f"name's stem {file.stem!r}")
    raw = data["statements"]
    if not isinstance(raw, list) or not raw:
        raise RegistryError(f"{file.name}: field 'statements' = {_cut(raw)} must be a non-empty "
                            "list")
    statements: list[Statement] = []
    for index, entry in enumerate(raw):
        statement = _statement(file, paper, index, entry)
        if any(s.id == statement.id for s in statements):
            raise RegistryError(f"{file.name}: statement {statement.id!r}: field 'id' is used "
                                "twice in this paper")
        statements.append(statement)
    return statements


def load_registry(folder: Path | None = None) -> dict[str, list[Statement]]:
    """Every paper's statements: ``{paper: [Statement, ...]}``, papers in the book's order.

    Parameters
    ----------
    folder : pathlib.Path, optional
        The folder of ``<paper>.yaml`` files; default :func:`registry_dir`.

    Returns
    -------
    dict of str to list of Statement
        Paper key to its statements, in the file's order.

    Raises
    ------
    RegistryError
        For an empty or missing folder, or any file that breaks the schema.
    """
    folder = Path(folder) if folder is not None else registry_dir()
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if not files:
        raise RegistryError(f"{folder}: holds no registry file (<paper>.yaml)")
    registry = {f.stem: load_statements(f) for f in files}
    known = [p for p in PAPERS if p in registry]
    return {p: registry[p] for p in known + sorted(set(registry) - set(known))}


def statement_status(statement: Statement, claims: Mapping[str, Claim]) -> StatementStatus:
    """The status of ``statement`` given a build's claims by id (see the module docstring).

    Parameters
    ----------
    statement : Statement
        A registry entry.
    claims : mapping of str to Claim
        Every claim the build recorded, by id.

    Returns
    -------
    StatementStatus
        ``status`` is a key of :data:`STATUSES`.
    """
    found = tuple((link, claims.get(link.id)) for link in statement.claims)
    if not found:
        return StatementStatus("not tested", found, ())
    broken = tuple(link.id for link, claim in found if claim is None or not claim.passed)
    if broken:
        return StatementStatus("failing", found, broken)
    negatives = tuple(link.id for link, _ in found if link.shows == "not-reproduced")
    if negatives:
        return StatementStatus("not reproduced", found, negatives)
    partial = tuple(link.id for link, _ in found if link.shows == "partly")
    if partial:
        return StatementStatus("partly", found, partial)
    return StatementStatus("reproduced", found, tuple(link.id for link, _ in found))


def status_counts(statuses: Iterable[StatementStatus]) -> dict[str, int]:
    """How many statements have each status, every status of :data:`STATUSES` present.

    Parameters
    ----------
    statuses : iterable of StatementStatus
        The statements' statuses.

    Returns
    -------
    dict of str to int
        Status to count, in the order of :data:`STATUSES` (zero counts included).
    """
    counts = dict.fromkeys(STATUSES, 0)
    for status in statuses:
        counts[status.status] += 1
    return counts


def declared_provenance(source: str) -> dict[str, str]:
    """The provenance each ``check_*`` call of a chapter's source gives its claim.

    Parameters
    ----------
    source : str
        A chapter's text (``notebooks/<chapter>.md``).

    Returns
    -------
    dict of str to str
        Claim id → the literal ``provenance=`` of its call (``"?"`` where none is written before
        the next check), in the order of :func:`selfdistill.core.ledger.declared_claims`.
    """
    calls = list(_CALL.finditer(source))
    found: dict[str, str] = {}
    if not calls:
        return found
    for call, after in zip(calls, [*calls[1:], None], strict=True):
        text = source[call.end(): after.start() if after else len(source)]
        match = _PROVENANCE.search(text)
        found.setdefault(call.group(1), match.group(1) if match else "?")
    return found


def claims_by_id(records: Iterable[LedgerRecord]) -> dict[str, Claim]:
    """Every claim of a build's ledgers by id.

    A claim of a run that did not complete, or of a ledger with problems (edited, a verdict its
    numbers contradict), reads as failed; where chapters record the same id, a failed record wins,
    so a failure anywhere shows.

    Parameters
    ----------
    records : iterable of LedgerRecord
        The build's ledgers (:func:`selfdistill.core.ledger.load_ledgers`).

    Returns
    -------
    dict of str to Claim
        Claim id to its record.
    """
    found: dict[str, Claim] = {}
    for record in records:
        trusted = record.complete and not record.problems
        for claim in record.claims:
            if not trusted and claim.passed:
                claim = replace(claim, passed=False)
            if claim.id not in found or not claim.passed:
                found[claim.id] = claim
    return found
