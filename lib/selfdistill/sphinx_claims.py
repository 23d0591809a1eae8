"""Sphinx extension: the book's claims page, and an anchor on every claim's check.

Each chapter run writes its ledger to ``<build>/claims/<chapter>.json`` (``selfdistill book`` copies
them there; a plain ``jupyter-book build .`` executes the chapters with the ledgers pointed there).
The ``claims-ledger`` directive renders them: per chapter, where, when and with which parameters it
ran, and a table of its claims (statement with its maths, what was measured, the value, the bound,
the reason, the status), each linked to the cell that checks it. Every code cell that checks a claim
gets the anchor ``claim-<paper>-<slug>``. A chapter of the book without a complete ledger, a missing
declared claim or a failed claim is a warning: with ``-W`` the build fails.
"""

from __future__ import annotations

import os
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .claims import PROVENANCE, LedgerError, LedgerRecord, declared_claims, load_ledgers

logger = logging.getLogger(__name__)
DIRECTIVE = "claims-ledger"


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
        if path.suffix == ".md" and "{" + DIRECTIVE + "}" in path.read_text(encoding="utf-8"):
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
    return {Path(d).name: d for d in env.found_docs if d.startswith("notebooks/")}


def _run_line(record: LedgerRecord) -> str:
    run = record.run
    params = ", ".join(f"`{k}={v!r}`" for k, v in record.parameters.items()) or "defaults"
    where = f"{run.get('device', '?')} ({run.get('device_name', '?')})"
    return (f"Ran on {where}, torch {run.get('torch', '?')}, Python {run.get('python', '?')}, "
            f"commit `{run.get('commit', '?')}`, finished {run.get('finished') or 'never'}; "
            f"parameters: {params}.")


def _cell(text: str) -> str:
    return " ".join(str(text).split())


class ClaimsLedger(SphinxDirective):
    """``{claims-ledger}``: for each chapter, its run and a table of its claims."""

    has_content = False

    def _warn(self, message: str) -> None:
        logger.warning(message, location=(self.env.docname, self.lineno))

    def run(self):
        chapters = _chapter_docs(self.env)
        folder = _claims_dir(self.env.app)
        try:
            records = load_ledgers(folder) if folder.is_dir() else []
        except LedgerError as err:
            self._warn(str(err))
            records = []
        records = [r for r in records if r.chapter in chapters]
        for name in sorted(set(chapters) - {r.chapter for r in records}):
            self._warn(f"chapter {name} recorded no claims in {folder}")
        claims = [c for r in records for c in r.claims]
        for r in records:
            if not r.complete:
                self._warn(f"chapter {r.chapter}: its run is incomplete")
            if r.missing:
                self._warn(f"chapter {r.chapter}: declared claims never checked: {r.missing}")
        failed = [c for c in claims if not c.passed]
        for c in failed:
            self._warn(f"claim failed: {c.summary()}")
        lines = [
            f"{len(claims)} claims from {len(records)} chapter(s): "
            f"{len(claims) - len(failed)} pass, {len(failed)} fail. Provenance: "
            + "; ".join(f"*{key}*, {meaning}" for key, meaning in PROVENANCE.items()) + ".",
            "",
        ]
        order = list(chapters)
        for r in sorted(records, key=lambda r: (r.paper, order.index(r.chapter))):
            lines += [f"**{{doc}}`/{chapters[r.chapter]}`**", "", _run_line(r), "",
                      "```{list-table}", ":header-rows: 1", ":widths: 20 42 18 9 9 2",
                      ":class: claims-ledger", "",
                      "* - Claim", "  - Statement, and why this bound", "  - Measured",
                      "  - Value", "  - Bound", "  -"]
            for c in r.claims:
                lines += [
                    f"* - {{ref}}`{c.id.split('.', 1)[1]} <{claim_anchor(c.id)}>` "
                    f"({c.paper}, *{c.provenance}*)",
                    f"  - {_cell(c.statement)}. *Bound: {_cell(c.reason)}*",
                    f"  - {_cell(c.measured)}",
                    f"  - `{c.shown_value()}`",
                    f"  - `{c.bound}`",
                    f"  - {'✓' if c.passed else '**FAIL**'}",
                ]
            lines += ["```", ""]
        section = nodes.container()
        self.state.nested_parse(StringList(lines, source="claims-ledger"), self.content_offset,
                                section)
        return section.children


def setup(app: Sphinx) -> dict:
    app.add_directive(DIRECTIVE, ClaimsLedger)
    app.connect("builder-inited", _on_builder_inited)
    app.connect("env-before-read-docs", _read_ledger_last)
    app.connect("env-get-outdated", _always_reread)
    app.connect("doctree-read", _anchor_claim_cells)
    return {"parallel_read_safe": False, "parallel_write_safe": True, "version": "0.2"}
