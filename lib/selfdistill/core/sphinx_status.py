"""Sphinx extension: the reproduction status of each paper's statements, from the build's ledgers.

``{statement-status} <paper>`` renders a paper's page in the form reproduction reports use (the ML
Reproducibility Challenge's): the counts per status at the top, a table of the statements, then
one section per statement (anchor ``status-<paper>-<id>``) with the statement and its source tag,
the scope (the regime it was tested in), the method (the chapters and the claims, linked to the
cells that check them) and the result (the status, with each claim's measured value and bound).
``{statement-summary}`` renders the counts per paper for the introduction. The registry is the
package's own unless the configuration value ``statements_registry`` names another folder.

The statements come from the registry (:mod:`selfdistill.core.registry`); the status of each is
computed from the ledgers this build wrote (``<build>/claims/*.json``), so a claim that starts
failing changes the page. The pages are read after every chapter has run, like the claims page
(:mod:`selfdistill.core.sphinx_claims`). A registry that breaks its schema, or a linked claim that a
chapter of this build never recorded, is a warning: with ``-W`` the build fails.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from selfdistill.core.claim import Claim
from selfdistill.core.registry import (
    PAPERS,
    SOURCES,
    STATUSES,
    RegistryError,
    Statement,
    StatementStatus,
    claims_by_id,
    load_registry,
    statement_status,
    status_counts,
)
from selfdistill.core.sphinx_claims import (
    _chapter_docs,
    claim_anchor,
    make_section,
    parse_lines,
    read_build_ledgers,
)

logger = logging.getLogger(__name__)

#: the page of a paper's status: ``book/status-<paper>``
STATUS_DOC = "book/status-{paper}"

_BADGE = {"reproduced": "✓ reproduced", "partly": "◐ partly", "not reproduced": "✗ not reproduced",
          "not tested": "– not tested", "failing": "**FAILING**"}


def status_anchor(paper: str, statement_id: str) -> str:
    """The anchor of a statement's section on its paper's status page."""
    return nodes.make_id(f"status-{paper}-{statement_id}")


def _cell(text: str) -> str:
    return " ".join(str(text).split())


def _claim_result(claim: Claim | None, linkable: bool, claim_id: str) -> str:
    name = claim_id.split(".", 1)[1]
    ref = f"{{ref}}`{name} <{claim_anchor(claim_id)}>`" if linkable else f"`{name}`"
    if claim is None:
        return f"{ref}: **not recorded by this build**"
    if claim.passed:
        verdict = "passes"
    elif claim.verdict():  # its numbers hold, but its run did not complete or was edited
        verdict = "**FAILS** (its chapter's ledger cannot be trusted)"
    else:
        verdict = "**FAILS**"
    return (f"{ref} {verdict}: {_cell(claim.measured)} = `{claim.shown_value()}` "
            f"(bound `{claim.bound}`)")


def counts_lines(counts: dict[str, int]) -> list[str]:
    """A table of how many statements have each status, with what the status means."""
    lines = ["```{list-table} Statements per status", ":header-rows: 1", ":class: status-counts",
             ":widths: 25 10 65", "", "* - Status", "  - Statements", "  - Meaning"]
    for status, meaning in STATUSES.items():
        lines += [f"* - {_BADGE[status]}", f"  - {counts[status]}", f"  - {meaning}"]
    lines += ["* - **All**", f"  - **{sum(counts.values())}**", "  -"]
    return lines + ["```", ""]


def index_lines(paper: str, rows: list[tuple[Statement, StatementStatus]]) -> list[str]:
    """A table of the paper's statements: link to each section, source tag, status."""
    lines = ["```{list-table} The statements, in the order of the paper's notes",
             ":header-rows: 1", ":class: status-index", ":widths: 64 14 22", "",
             "* - Statement", "  - Source", "  - Status"]
    for s, status in rows:
        lines += [f"* - {{ref}}`{s.id} <{status_anchor(paper, s.id)}>`: {s.text}",
                  f"  - *{s.source}*",
                  f"  - {_BADGE[status.status]}"]
    return lines + ["```", ""]


def statement_lines(s: Statement, status: StatementStatus, built: dict[str, str],
                    recorded: set[str]) -> list[str]:
    """A statement's section body: statement, scope, method, result (MLRC form).

    ``built`` maps the chapters of this build to their pages; ``recorded`` holds the ids of the
    claims whose cells this build anchored (linkable).
    """
    chapters = ", ".join(f"{{doc}}`/{built[c]}`" if c in built else f"`{c}` (not in this build)"
                         for c in s.chapters) or "none"
    lines = ["```{list-table}", ":class: status-statement", ":widths: 18 82", "",
             "* - Statement", f"  - {s.text}",
             "* - Source", f"  - *{s.source}*: {SOURCES[s.source]}",
             "* - Scope", f"  - {s.regime}",
             "* - Method", f"  - Chapters: {chapters}."]
    if s.claims:
        lines[-1] += " Claims: " + "; ".join(
            (f"{{ref}}`{link.id.split('.', 1)[1]} <{claim_anchor(link.id)}>`"
             if link.id in recorded else f"`{link.id}`")
            + f" (a pass shows: *{link.shows}*)" for link in s.claims) + "."
    lines += ["* - Result", f"  - **{status.status}**"]
    if not s.claims:
        lines[-1] += f": {s.why}"
    else:
        deciding = set(status.deciding)
        lines[-1] += ". " + " ".join(
            _claim_result(claim, link.id in recorded, link.id)
            + (" ← decides" if link.id in deciding and status.status != "reproduced" else "")
            + "." for link, claim in status.found)
        if s.why:
            lines[-1] += f" {s.why}"
    return lines + ["```", ""]


def _statuses(directive: SphinxDirective, paper: str | None = None):
    """The registry, this build's claims by id, and the built chapters; warnings as it goes."""
    location = (directive.env.docname, directive.lineno)
    folder = directive.env.config.statements_registry
    try:
        registry = load_registry(Path(directive.env.app.srcdir, folder) if folder else None)
    except RegistryError as err:
        logger.warning(f"registry of statements: {err}", location=location)
        return None
    if paper is not None and paper not in registry:
        logger.warning(f"{directive.name}: paper = {paper!r} has no registry file; known: "
                       f"{', '.join(registry)}", location=location)
        return None
    records = read_build_ledgers(directive)
    claims = claims_by_id(records)
    built = _chapter_docs(directive.env)
    ran = {r.chapter for r in records}
    statuses: dict[str, list[tuple[Statement, StatementStatus]]] = {}
    for key, statements in registry.items():
        rows = [(s, statement_status(s, claims)) for s in statements]
        statuses[key] = rows
        for s, status in rows:
            for link, claim in status.found:
                if claim is None and any(c in ran for c in s.chapters):
                    logger.warning(f"statement {s.key}: claim {link.id} was not recorded by "
                                   f"the chapters {list(s.chapters)} of this build",
                                   location=location)
    return statuses, claims, built


class StatementStatusPage(SphinxDirective):
    """``{statement-status} <paper>``: a paper's reproduction status page."""

    required_arguments = 1
    has_content = False

    def run(self):
        paper = self.arguments[0]
        found = _statuses(self, paper)
        if found is None:
            return []
        statuses, claims, built = found
        rows = statuses[paper]
        labels = self.env.get_domain("std").labels  # the claim cells anchored while reading
        recorded = {cid for cid in claims if claim_anchor(cid) in labels}
        result = parse_lines(self, counts_lines(status_counts(s for _, s in rows))
                             + index_lines(paper, rows))
        for s, status in rows:
            result.append(make_section(self, status_anchor(paper, s.id),
                                       f"{s.id}: {status.status}",
                                       statement_lines(s, status, built, recorded)))
        return result


class StatementSummary(SphinxDirective):
    """``{statement-summary}``: the counts per status for every paper, linked to its page."""

    has_content = False

    def run(self):
        found = _statuses(self)
        if found is None:
            return []
        statuses = found[0]
        papers = [p for p in PAPERS if p in statuses] + sorted(set(statuses) - set(PAPERS))
        counts = {p: status_counts(s for _, s in statuses[p]) for p in papers}
        links = [f"{{doc}}`{p} </{STATUS_DOC.format(paper=p)}>`"
                 if STATUS_DOC.format(paper=p) in self.env.found_docs else f"`{p}`"
                 for p in papers]
        lines = ["```{list-table} Reproduction status of the papers' statements in this build",
                 ":header-rows: 1", ":class: status-summary", "",
                 "* - Status", *[f"  - {link}" for link in links]]
        for status in STATUSES:
            lines += [f"* - {_BADGE[status]}", *[f"  - {counts[p][status]}" for p in papers]]
        lines += ["* - **Statements**", *[f"  - **{sum(counts[p].values())}**" for p in papers],
                  "```", "",
                  "A statement is *reproduced* when every claim linked to it passes and "
                  "reproduces it, *partly* when some reproduce it only in part or in a narrower "
                  "setting, *not reproduced* when a passing claim records the negative, and *not "
                  "tested* when no claim tests it (its page says why).", ""]
        return parse_lines(self, lines)


def setup(app: Sphinx) -> dict:
    app.setup_extension("selfdistill.core.sphinx_claims")
    # the registry's folder, relative to the source folder; empty: the package's own
    app.add_config_value("statements_registry", "", "env", [str])
    app.add_directive("statement-status", StatementStatusPage)
    app.add_directive("statement-summary", StatementSummary)
    return {"parallel_read_safe": False, "parallel_write_safe": True, "version": "0.1"}
