"""Sphinx extension: the book's claims page, and an anchor on every claim's check.

Each chapter run writes its ledger to ``<build>/claims/<chapter>.json`` (``selfdistill book`` copies
them there; a plain ``jupyter-book build .`` executes the chapters with the ledgers pointed there).
The ``claims-ledger`` directive renders them: an overall summary (claims, passes and the
provenance split per chapter), then one section per chapter in the book's order (``_toc.yml``),
with the anchor ``ledger-<chapter>``: where, when and with which parameters it ran, and a table of
its claims (statement with its maths, what was measured, the value, the bound, the reason, the
status), each linked to the cell that checks it. The reproduction status pages
(:mod:`selfdistill.core.sphinx_status`) read the same ledgers through the helpers here. Every code
cell that checks a claim gets the anchor ``claim-<paper>-<slug>``. A chapter of the book without
a complete ledger, a missing declared claim or a failed claim is a warning: with ``-W`` the build
fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from selfdistill.core.build import toc_chapters
from selfdistill.core.claim import PROVENANCE, Claim
from selfdistill.core.ledger import (
    LedgerError,
    LedgerRecord,
    declared_claims,
    load_ledgers,
)

logger = logging.getLogger(__name__)
DIRECTIVE = "claims-ledger"
#: directives whose pages read the build's ledgers: read after every chapter, on every build
LEDGER_DIRECTIVES = (DIRECTIVE, "statement-status", "statement-summary")


def claim_anchor(claim_id: str) -> str:
    """The anchor (and reference label) of the cell that checks ``claim_id``."""
    return nodes.make_id(f"claim-{claim_id}")


def _claims_dir(app: Sphinx) -> Path:
    return Path(app.outdir).parent / "claims"


def _on_builder_inited(app: Sphinx) -> None:
    os.environ.pop("SELFDISTILL_CLAIMS_FILE", None)
    os.environ["SELFDISTILL_CLAIMS_DIR"] = str(_claims_dir(app))


def _ledger_docs(env, docnames) -> list[str]:
    found = []
    for name in docnames:
        path = Path(env.doc2path(name))
        if path.suffix == ".md" and any("{" + d + "}" in path.read_text(encoding="utf-8")
                                        for d in LEDGER_DIRECTIVES):
            found.append(name)
    return found


def _read_ledger_last(app: Sphinx, env, docnames: list[str]) -> None:
    for name in _ledger_docs(env, list(docnames)):
        docnames.remove(name)
        docnames.append(name)


def _always_reread(app: Sphinx, env, added, changed, removed) -> list[str]:
    return _ledger_docs(env, sorted(env.found_docs))


def _anchor_claim_cells(app: Sphinx, doctree: nodes.document) -> None:
    """Give each code cell that checks a claim an id, and register it as a reference label."""
    env = app.env
    std = env.get_domain("std")
    for block in doctree.findall(nodes.literal_block):
        cell = block.parent.parent if block.parent is not None else None
        if cell is None or "cell" not in cell.get("classes", []):
            continue
        for claim_id in declared_claims(block.astext()):
            anchor = claim_anchor(claim_id)
            cell["ids"].append(anchor)
            std.anonlabels[anchor] = (env.docname, anchor)
            std.labels[anchor] = (env.docname, anchor, f"the check of {claim_id}")


def _chapter_docs(env) -> dict[str, str]:
    """Chapter name -> docname, for every notebook page of the book."""
    return {Path(d).name: d for d in sorted(env.found_docs) if d.startswith("notebooks/")}


def book_order(app: Sphinx, names: Iterable[str]) -> list[str]:
    """``names`` in the order of the book's ``_toc.yml`` (names it does not list last, sorted)."""
    names = sorted(set(names))
    toc = Path(app.srcdir) / "_toc.yml"
    order = toc_chapters(toc.parent) if toc.is_file() else []
    return [n for n in order if n in names] + [n for n in names if n not in order]


def chapter_title(env, docname: str, fallback: str) -> str:
    """The title of a page that has been read, else ``fallback``."""
    title = env.titles.get(docname)
    return title.astext() if title is not None else fallback


def read_build_ledgers(directive: SphinxDirective) -> list[LedgerRecord]:
    """The ledgers of this build (``<build>/claims``), for the book's chapters; a broken ledger
    is a warning and reads as no ledger."""
    folder = _claims_dir(directive.env.app)
    try:
        records = load_ledgers(folder) if folder.is_dir() else []
    except LedgerError as err:
        logger.warning(str(err), location=(directive.env.docname, directive.lineno))
        records = []
    chapters = _chapter_docs(directive.env)
    return [r for r in records if r.chapter in chapters]


def register_label(env, anchor: str, title: str) -> None:
    """Make ``anchor`` of the current page a reference target ``{ref}`` can link to."""
    std = env.get_domain("std")
    std.anonlabels[anchor] = (env.docname, anchor)
    std.labels[anchor] = (env.docname, anchor, title)


def make_section(directive: SphinxDirective, anchor: str, title: str,
                 lines: list[str]) -> nodes.section:
    """A section with ``title`` and id ``anchor`` (in the page's contents), ``lines`` (MyST)
    parsed into it."""
    section = nodes.section(ids=[anchor])
    section += nodes.title(text=title)
    directive.state.nested_parse(StringList(lines, source=directive.name),
                                 directive.content_offset, section)
    register_label(directive.env, anchor, title)
    return section


def parse_lines(directive: SphinxDirective, lines: list[str]) -> list[nodes.Node]:
    """MyST ``lines`` parsed into body nodes."""
    box = nodes.container()
    directive.state.nested_parse(StringList(lines, source=directive.name),
                                 directive.content_offset, box)
    return box.children


def _when(run: dict) -> str:
    finished = str(run.get("finished") or "")
    return finished.replace("T", " ").replace("+00:00", " UTC") or "never finished"


def _where(run: dict) -> str:
    if run.get("device") is None:
        return "no torch device"
    return f"{run['device']} ({run.get('device_name') or '?'})"


def _torch(run: dict) -> str:
    versions = run.get("versions")
    return str(versions.get("torch", "not loaded")) if isinstance(versions, dict) else "?"


def _params(record: LedgerRecord) -> str:
    return ", ".join(f"`{k}={v!r}`" for k, v in record.parameters.items()) or "defaults"


def _cell(text: str) -> str:
    return " ".join(str(text).split())


def provenance_counts(claims: Iterable[Claim]) -> dict[str, int]:
    """How many claims have each provenance, every provenance present."""
    counts = dict.fromkeys(PROVENANCE, 0)
    for claim in claims:
        counts[claim.provenance] = counts.get(claim.provenance, 0) + 1
    return counts


def ledger_anchor(chapter: str) -> str:
    """The anchor of a chapter's section on the claims page."""
    return nodes.make_id(f"ledger-{chapter}")


def overview_lines(records: list[LedgerRecord], titles: dict[str, str]) -> list[str]:
    """The claims page's overall summary: totals, the provenance split, a row per chapter.

    ``records`` are in the book's order; ``titles`` maps a chapter to its title.
    """
    claims = [c for r in records for c in r.claims]
    passed = sum(c.passed for c in claims)
    split = provenance_counts(claims)
    lines = [
        f"{len(claims)} claims from {len(records)} chapters: {passed} pass, "
        f"{len(claims) - passed} fail. Provenance: "
        + "; ".join(f"{split[key]} *{key}* ({meaning})" for key, meaning in PROVENANCE.items())
        + ".", "",
        "```{list-table} Claims per chapter, in the book's order",
        ":header-rows: 1", ":class: claims-summary", "",
        "* - Chapter", "  - Claims", "  - Passed",
        *[f"  - {key.capitalize()}" for key in PROVENANCE],
    ]
    for r in records:
        counts = provenance_counts(r.claims)
        title = _safe(titles.get(r.chapter, r.chapter))
        lines += [f"* - {{ref}}`{title} <{ledger_anchor(r.chapter)}>`",
                  f"  - {len(r.claims)}", f"  - {sum(c.passed for c in r.claims)}",
                  *[f"  - {counts[key]}" for key in PROVENANCE]]
    lines += ["* - **All chapters**", f"  - **{len(claims)}**", f"  - **{passed}**",
              *[f"  - **{split[key]}**" for key in PROVENANCE], "```", ""]
    return lines


def chapter_lines(record: LedgerRecord, docname: str) -> list[str]:
    """A chapter's section body on the claims page: its run, then a table of its claims."""
    counts = provenance_counts(record.claims)
    passed = sum(c.passed for c in record.claims)
    lines = [
        f"Chapter: {{doc}}`/{docname}`.", "",
        "```{list-table}", ":class: claims-run", ":widths: 25 75", "",
        "* - Claims", f"  - {len(record.claims)}, of which {passed} pass",
        "* - Provenance", "  - " + ", ".join(f"{counts[k]} {k}" for k in PROVENANCE),
        "* - Run finished", f"  - {_when(record.run)}",
        "* - Commit", f"  - `{record.run.get('commit', '?')}`",
        "* - Device", f"  - {_where(record.run)}; torch {_torch(record.run)}, "
        f"Python {record.run.get('python', '?')}",
        "* - Parameters", f"  - {_params(record)}",
        "```", "",
        "```{list-table}", ":header-rows: 1", ":widths: 32 68", ":class: claims-ledger", "",
        "* - Claim: status, provenance, value and bound",
        "  - Statement, what was measured, and why this bound",
    ]
    for c in record.claims:
        lines += [
            f"* - {'✓' if c.passed else '**FAIL**'} "
            f"{{ref}}`{c.id.split('.', 1)[1]} <{claim_anchor(c.id)}>`",
            "",
            f"    {c.paper}, *{c.provenance}*: value `{c.shown_value()}`, bound `{c.bound}`",
            f"  - {_cell(c.statement)}.",
            "",
            f"    *Measured:* {_cell(c.measured)}. *Bound:* {_cell(c.reason)}",
        ]
    return lines + ["```", ""]


class ClaimsLedger(SphinxDirective):
    """``{claims-ledger}``: an overall summary, then for each chapter, in the book's order, a
    section with its run and a table of its claims."""

    has_content = False

    def _warn(self, message: str) -> None:
        logger.warning(message, location=(self.env.docname, self.lineno))

    def run(self):
        chapters = _chapter_docs(self.env)
        records = read_build_ledgers(self)
        for name in sorted(set(chapters) - {r.chapter for r in records}):
            self._warn(f"chapter {name} recorded no claims in {_claims_dir(self.env.app)}")
        for r in records:
            if not r.complete:
                self._warn(f"chapter {r.chapter}: its run is incomplete")
            if r.missing:
                self._warn(f"chapter {r.chapter}: declared claims never checked: {r.missing}")
            for problem in r.problems:
                self._warn(f"chapter {r.chapter}: its ledger cannot be trusted: {problem}")
            for c in r.claims:
                if not c.passed:
                    self._warn(f"claim failed: {c.summary()}")
        order = book_order(self.env.app, [r.chapter for r in records])
        records = sorted(records, key=lambda r: order.index(r.chapter))
        titles = {r.chapter: chapter_title(self.env, chapters[r.chapter], r.chapter)
                  for r in records}
        result = parse_lines(self, overview_lines(records, titles))
        for r in records:
            result.append(make_section(self, ledger_anchor(r.chapter), titles[r.chapter],
                                       chapter_lines(r, chapters[r.chapter])))
        return result


def _safe(title: str) -> str:
    return title.replace("<", "‹").replace(">", "›").replace("`", "'")


def setup(app: Sphinx) -> dict:
    app.add_directive(DIRECTIVE, ClaimsLedger)
    app.connect("builder-inited", _on_builder_inited)
    app.connect("env-before-read-docs", _read_ledger_last)
    app.connect("env-get-outdated", _always_reread)
    app.connect("doctree-read", _anchor_claim_cells)
    return {"parallel_read_safe": False, "parallel_write_safe": True, "version": "0.2"}
