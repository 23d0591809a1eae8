"""Sphinx extension: the book's claims page, generated from the chapters' claim records.

MyST-NB executes each chapter while Sphinx reads it, and each run writes its claims to
``<build>/claims/<chapter>.json``. This extension points the runs there, has the pages that use
the ``claims-ledger`` directive read last (so every chapter ran before), always re-reads them, and
renders the directive as a table. A chapter of the book with no claim record is a warning, and so
is a failed claim: with ``-W`` either fails the build.
"""

from __future__ import annotations

import os
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .claims import PROVENANCE, load_claims

logger = logging.getLogger(__name__)
DIRECTIVE = "claims-ledger"


def _claims_dir(app: Sphinx) -> Path:
    return Path(app.outdir).parent / "claims"


def _on_builder_inited(app: Sphinx) -> None:
    os.environ.pop("SELFDISTILL_CLAIMS_FILE", None)
    os.environ["SELFDISTILL_CLAIMS_DIR"] = str(_claims_dir(app))


def _ledger_docs(app: Sphinx, env, docnames) -> list[str]:
    found = []
    for name in docnames:
        path = Path(env.doc2path(name))
        if path.suffix == ".md" and "{" + DIRECTIVE + "}" in path.read_text(encoding="utf-8"):
            found.append(name)
    return found


def _read_ledger_last(app: Sphinx, env, docnames: list[str]) -> None:
    for name in _ledger_docs(app, env, list(docnames)):
        docnames.remove(name)
        docnames.append(name)


def _always_reread(app: Sphinx, env, added, changed, removed) -> list[str]:
    return _ledger_docs(app, env, sorted(env.found_docs))


def _chapter_docs(env) -> dict[str, str]:
    """Chapter name -> docname, for every notebook page of the book."""
    return {Path(d).name: d for d in env.found_docs if d.startswith("notebooks/")}


class ClaimsLedger(SphinxDirective):
    """``{claims-ledger}``: one table per chapter of every claim recorded in this build."""

    has_content = False

    def run(self):
        chapters = _chapter_docs(self.env)
        folder = _claims_dir(self.env.app)
        claims = [c for c in (load_claims(folder) if folder.is_dir() else [])
                  if c.chapter in chapters]
        for name in sorted(set(chapters) - {c.chapter for c in claims}):
            logger.warning(f"chapter {name} recorded no claims in {folder}",
                           location=(self.env.docname, self.lineno))
        failed = [c for c in claims if not c.passed]
        for c in failed:
            logger.warning(f"claim failed: {c.summary()}", location=(self.env.docname, self.lineno))
        lines = [
            f"{len(claims)} claims from {len({c.chapter for c in claims})} chapter(s): "
            f"{len(claims) - len(failed)} pass, {len(failed)} fail. Provenance: "
            + "; ".join(f"*{key}*, {meaning}" for key, meaning in PROVENANCE.items()) + ".",
            "",
        ]
        for chapter in sorted({c.chapter for c in claims}):
            lines += [f"**{{doc}}`/{chapters[chapter]}`**", "", "```{list-table}",
                      ":header-rows: 1", ":widths: 34 40 10 10 6", "",
                      "* - Claim", "  - Statement", "  - Measured", "  - Bound", "  - Pass"]
            for c in (c for c in claims if c.chapter == chapter):
                lines += [
                    f"* - `{c.id.split('.', 1)[1]}` ({c.paper}, *{c.provenance}*)",
                    f"  - {c.statement}",
                    f"  - {c.shown_value()}",
                    f"  - {c.bound}",
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
    return {"parallel_read_safe": False, "parallel_write_safe": True, "version": "0.1"}
