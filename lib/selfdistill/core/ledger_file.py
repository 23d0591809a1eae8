"""The ledger file: its schema, digest and atomic write, and reading it back.

A chapter run writes its ledger through :class:`selfdistill.core.ledger.Ledger`, which calls
:func:`write_ledger` after every check; the command line, sweeps, the registry and the book's
claims page read ledgers back with :func:`load_ledgers`, as :class:`LedgerRecord` records that say
whether the run can be trusted. The file (schema :data:`SCHEMA`) is one JSON object:

``chapter``, ``paper``
    the chapter's name and the key of the paper its claims belong to
``complete``
    ``true`` once :meth:`~selfdistill.core.ledger.Ledger.finish` closed the run; a failed or
    interrupted run stays ``false`` and never reads as passing
``expected``
    the claim ids the chapter declares (:func:`declared_claims`)
``parameters``
    the run's parameter values by name
``run``
    the provenance record (:mod:`selfdistill.core.provenance`)
``error``
    why a run that died early failed, else ``""``
``claims``
    the claims recorded, in order (the fields of :class:`~selfdistill.core.claim.Claim`)
``schema``, ``digest``
    :data:`SCHEMA` and :func:`ledger_digest`

Imports neither torch nor numpy; :mod:`selfdistill.core.ledger` re-exports every public name.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from selfdistill.core.claim import KINDS, Claim
from selfdistill.core.provenance import ProvenanceError, check_provenance, write_json_atomic

__all__ = ["LedgerError", "LedgerRecord", "SCHEMA", "declared_claims", "ledger_digest",
           "load_claims", "load_ledgers", "write_ledger"]

#: version of the ledger's JSON layout; readers refuse other versions (4: the run is the one
#: provenance record, and a failed run's error sits beside it)
SCHEMA = 4

_CHECK_CALL = re.compile(
    r"\bcheck_(?:at_most|at_least|close|true|interval)\(\s*[\"']([^\"']+)[\"']")



class LedgerError(ValueError):
    """A ledger file is missing, corrupt, of another schema, or not a ledger at all."""


def declared_claims(source: str) -> list[str]:
    """The claim ids a chapter declares: the literal first argument of every ``check_*`` call.

    Parameters
    ----------
    source : str
        The chapter's text (``notebooks/<chapter>.md``).

    Returns
    -------
    list of str
        The ids in the order of their first call, each once.

    Examples
    --------
    >>> declared_claims('check_true("p.a", ok, ...); check_close("p.b", v, 1, 0.1); '
    ...                 'check_true("p.a", again, ...)')
    ['p.a', 'p.b']
    """
    return list(dict.fromkeys(_CHECK_CALL.findall(source)))


def ledger_digest(payload: dict[str, Any]) -> str:
    """SHA-256 over a ledger's canonical content (sorted keys, no whitespace, without the digest).

    It makes an edited ledger evident (a changed value, verdict, claim list or ``complete`` flag);
    it is not a signature: whoever edits the file on purpose can recompute it.

    Parameters
    ----------
    payload : dict
        The ledger's JSON object; a ``digest`` key in it is left out of the hash.

    Returns
    -------
    str
        ``"sha256:"`` and 64 hexadecimal digits.

    Raises
    ------
    TypeError
        If ``payload`` holds something JSON cannot encode.
    """
    body = {k: v for k, v in payload.items() if k != "digest"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=True)
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


def write_ledger(path: Path, payload: dict[str, Any]) -> None:
    """Write a ledger atomically, stamped with its schema and :func:`ledger_digest`; its ``run``
    must be a provenance record (:func:`~selfdistill.core.provenance.check_provenance`).

    Parameters
    ----------
    path : pathlib.Path
        The ledger file; its folder is created.
    payload : dict
        The ledger's fields (the module docstring); ``error`` defaults to ``""``, ``schema`` and
        ``digest`` are set here. It is not changed.

    Raises
    ------
    ProvenanceError
        (a ``ValueError``) if ``payload["run"]`` is missing or not a provenance record; nothing
        is written then.
    """
    check_provenance(payload.get("run"), f"the ledger of chapter {payload.get('chapter')!r}: run")
    payload = {"error": "", **payload, "schema": SCHEMA}
    payload["digest"] = ledger_digest(payload)
    write_json_atomic(path, payload)


def _chapter_source(chapter: str) -> str | None:
    from selfdistill.core.chapters import notebooks_dir

    try:
        path = notebooks_dir() / f"{chapter}.md"
    except FileNotFoundError:
        return None
    return path.read_text(encoding="utf-8") if path.is_file() else None


@dataclass(frozen=True)
class LedgerRecord:
    """One ledger file as read back: its claims and whether the run can be trusted.

    Attributes
    ----------
    path : pathlib.Path
        The file read.
    chapter, paper : str
        The chapter's name and its paper's key (``""`` where the file has none).
    complete : bool
        Whether the run was closed by :meth:`~selfdistill.core.ledger.Ledger.finish`.
    expected : tuple of str
        The claim ids the chapter declared when it ran.
    parameters : dict
        The run's parameter values by name.
    run : dict
        The provenance record (:mod:`selfdistill.core.provenance`).
    claims : tuple of Claim
        The claims recorded, in order.
    problems : tuple of str
        What makes the file untrustworthy although it parsed: a digest that does not match its
        content (an edited file), a stored verdict that its value and bound contradict, claim ids
        that differ from what the chapter's source declares, a ``run`` that is not a provenance
        record.
    error : str
        Why a run that died before finishing failed (``""`` otherwise).
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
    error: str = ""

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
    try:
        check_provenance(data.get("run"), "run")
    except ProvenanceError as err:
        problems.append(f"PROVENANCE: {err}")
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
                       ("parameters", dict), ("run", dict), ("complete", bool), ("error", str)):
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
                        claims=claims, problems=tuple(_problems(data, claims)),
                        error=data.get("error", ""))


def load_ledgers(location: Path) -> list[LedgerRecord]:
    """Read a ledger file, or every ``*.json`` ledger in a folder (recursively, for sweeps).

    Hidden files and folders (a run's staging ``.NAME.partial-*``, temporary files) are never read
    as runs.

    Parameters
    ----------
    location : pathlib.Path
        A ledger file, or a folder of them.

    Returns
    -------
    list of LedgerRecord
        One per file, in sorted path order; a file that parses but cannot be trusted is returned
        with its ``problems``, not refused.

    Raises
    ------
    LedgerError
        For a missing location, a folder without ledgers, or a corrupt, malformed, foreign or
        other-schema file.
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
    """Every claim recorded in a ledger file or a folder of them.

    Parameters
    ----------
    location : pathlib.Path
        As for :func:`load_ledgers`.

    Returns
    -------
    list of Claim
        The claims of every ledger, file by file in sorted path order, each file's in order.
        Incomplete and untrustworthy runs are not filtered out: check
        :attr:`LedgerRecord.passed` through :func:`load_ledgers` for that.

    Raises
    ------
    LedgerError
        As :func:`load_ledgers` raises.
    """
    return [c for record in load_ledgers(location) for c in record.claims]
