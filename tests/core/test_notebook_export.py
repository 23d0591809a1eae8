"""The chapters' downloads made Jupyter-ready (issue 18, item 8): no MyST markup, papermill
metadata or build paths; every glued value and numbered reference resolved."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from myst_nb.core.variables import format_plain_text

from selfdistill.core.notebook_export import (
    GLUE_PREFIX,
    build_paths,
    citation_labels,
    export_notebook,
    format_glue_text,
    jupyter_ready,
    myst_leftovers,
    reference_texts,
)

REPO = Path(__file__).resolve().parents[2]
BUILD = "/home/someone/selfdistill/_build"


def _glue(name: str, text: str, hidden: bool = True) -> dict:
    prefix = GLUE_PREFIX if hidden else ""
    return {"output_type": "display_data", "data": {prefix + "text/plain": text},
            "metadata": {"scrapbook": {"name": name, "mime_prefix": prefix}}}


def _notebook(*markdown: str, outputs: list | None = None, figure: dict | None = None) -> dict:
    code = {"cell_type": "code", "id": "code", "execution_count": 1, "source": "x = 1",
            "metadata": {"papermill": {"duration": 0.1}, "execution": {"iopub": "t"},
                         **({"mystnb": {"figure": figure}} if figure else {})},
            "outputs": outputs if outputs is not None else [
                _glue("err", "0.000123456"), _glue("n", "12"), _glue("name", "'sphere'"),
                {"output_type": "stream", "name": "stdout",
                 "text": f"wrote {BUILD}/runs/ch/fig.png\n"}]}
    cells = [{"cell_type": "markdown", "id": f"md{i}", "metadata": {}, "source": m}
             for i, m in enumerate(markdown)]
    return {"nbformat": 4, "nbformat_minor": 5, "cells": [code, *cells],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                        "language": "python"},
                         "jupytext": {"text_representation": {"extension": ".md"}},
                         "papermill": {"input_path": f"{BUILD}/in.ipynb",
                                       "output_path": f"{BUILD}/runs/ch/ch.ipynb",
                                       "parameters": {}}}}


def _markdown(nb: dict) -> str:
    return "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


THEOREM = """\
```{prf:theorem} Closed form
:label: thm-closed

The fit is

$$
f = K(cI+K)^{-1}y .
$$ (closed-form)
```

```{prf:proof}
Stationarity. $\\square$
```

```{math}
:label: c-eq
\\sum_k \\frac{d_k^2 z_k^2}{(c+d_k)^2} = \\epsilon
```

By {prf:ref}`thm-closed`, {eq}`closed-form` holds with $c$ from {eq}`c-eq`."""


def test_theorems_and_labelled_equations_become_numbered_plain_markdown():
    out = _markdown(export_notebook(_notebook(THEOREM)))
    assert "**Theorem 1** (Closed form)." in out and "*Proof.*" in out
    assert "$$\nf = K(cI+K)^{-1}y .\n\\tag{1}\n$$" in out
    assert "$$\n\\sum_k \\frac{d_k^2 z_k^2}{(c+d_k)^2} = \\epsilon\n\\tag{2}\n$$" in out
    assert "By Theorem 1, (1) holds with $c$ from (2)." in out
    assert "```" not in out and ":label:" not in out


def test_a_reference_before_its_equation_gets_the_equation_s_number():
    # fig-b is numbered by the code cell's caption, which comes first
    nb = _notebook("See {eq}`later` and {numref}`fig-b`.", "$$ a = b $$ (first)",
                   "$$\nc = d\n$$ (later)", figure={"name": "fig-b", "caption": "Two."})
    out = export_notebook(nb, strict=True)
    assert "See (2) and Figure 1." in _markdown(out)
    assert "$$ a = b \\tag{1}\n$$" in _markdown(out)


def test_glued_values_are_formatted_as_the_book_formats_them():
    nb = _notebook("err {glue:text}`err:.1e`, n = {glue:text}`n`, {glue}`name`, "
                   "{glue:text}`err:.2%`.")
    out = export_notebook(nb)
    assert "err 1.2e-04, n = 12, sphere, 0.01%." in _markdown(out)
    # the hidden glue records are gone; what the cell printed stays
    assert [o["output_type"] for o in out["cells"][0]["outputs"]] == ["stream"]


@pytest.mark.parametrize(("text", "spec"), [
    ("0.000123456", ".1e"), ("0.123456", ".1%"), ("12", ""), ("12", "d"), ("12.0", ".0f"),
    ("'sphere'", ""), ("'sphere'", "s"), ("3.14159", ".3g"), ("tensor(0.5)", ""),
    ("0.5", ".4f"), ("1234567", ",d")])
def test_glue_formatting_matches_myst_nb(text, spec):
    assert format_glue_text(text, spec) == format_plain_text(text, spec or "")


def test_a_glue_key_the_notebook_never_glued_is_an_error():
    with pytest.raises(ValueError, match="glue key 'missing'"):
        export_notebook(_notebook("{glue:text}`missing:.2f`"))


def test_admonitions_dropdowns_notes_and_figures_become_plain_markdown():
    nb = _notebook(
        "````{admonition} Rerun this chapter\n:class: tip\nRun:\n\n```bash\n"
        "selfdistill run ch -p eps 0.1\n```\n````",
        "````{admonition} Solutions\n:class: dropdown\n1. By {eq}`e`.\n````",
        "$$ x $$ (e)",
        ":::{note}\nA *note* with {doc}`../book/claims`.\n:::",
        "```{figure} ../results/sweep/a.svg\n:name: fig-sweep\n:alt: Lines [sic]\n\n"
        "Each claim over the sweep.\n```",
        "{numref}`fig-sweep` and {numref}`Fig. %s shows <fig-sweep>`; "
        "{cite}`mobahi2020,zhang2020`, {cite:t}`dong2019`; {ref}`the rerun box <rerun>`.",
        "(rerun)=\n## Rerun")
    out = _markdown(export_notebook(nb, titles={"book/claims": "Claims ledger"},
                                    citations={"mobahi2020": "Mobahi et al. 2020",
                                               "zhang2020": "Zhang and Sabuncu 2020",
                                               "dong2019": "Dong et al. 2019"},
                                    strict=True))
    assert ("> **Rerun this chapter**\n>\n> Run:\n>\n> ```bash\n"
            "> selfdistill run ch -p eps 0.1\n> ```") in out
    assert "<details>\n<summary>Solutions</summary>\n\n1. By (1).\n\n</details>" in out
    assert "> **Note**\n>\n> A *note* with *Claims ledger*." in out
    assert "![Lines (sic)](../results/sweep/a.svg)\n\n**Figure 1.** Each claim over the sweep." \
        in out
    assert ("Figure 1 and Fig. 1 shows; (Mobahi et al. 2020; Zhang and Sabuncu 2020), "
            "Dong et al. (2019); the rerun box.") in out
    assert "(rerun)=" not in out and "## Rerun" in out
    assert myst_leftovers({"cells": [{"cell_type": "markdown", "source": out}]}) == []


def test_code_blocks_in_markdown_are_left_alone():
    text = "```python\nx = '{eq}`not-a-role`'\n```"
    nb = _notebook(text)
    assert text in _markdown(export_notebook(nb))
    assert myst_leftovers(export_notebook(nb)) == []


def test_a_figure_caption_in_cell_metadata_becomes_a_markdown_cell_below_the_code():
    nb = _notebook("Text.", figure={"name": "fig-a", "caption": "The curve {eq}`e`."})
    nb["cells"].append({"cell_type": "markdown", "id": "eq", "metadata": {},
                        "source": "$$ y $$ (e)"})
    cells = export_notebook(nb, strict=True)["cells"]
    assert cells[0]["cell_type"] == "code"
    assert cells[1] == {"cell_type": "markdown", "id": "code-figure", "metadata": {},
                        "source": "**Figure 1.** The curve (1)."}


def test_no_papermill_copy_jupytext_pairing_or_build_paths(tmp_path):
    source, target = tmp_path / "ch.ipynb", tmp_path / "out" / "ch.ipynb"
    source.write_text(json.dumps(_notebook("Plain.")), encoding="utf-8")
    assert build_paths(json.loads(source.read_text()), [BUILD]) == [BUILD]
    jupyter_ready(source, target, roots=[BUILD, "/home/someone/selfdistill"])
    nb = nbformat.read(target, as_version=4)
    nbformat.validate(nb)
    text = target.read_text(encoding="utf-8")
    assert "papermill" not in text and "iopub" not in text and "jupytext" not in text
    assert build_paths(json.loads(text), [BUILD, "/home/someone"]) == []
    assert nb.cells[0].outputs[0]["text"] == "wrote runs/ch/fig.png\n"
    assert nb.metadata.kernelspec.name == "python3"


def test_references_to_other_chapters_name_the_chapter_and_unknown_ones_are_errors():
    other = _notebook("```{prf:lemma} Warm-up\n:label: lem-w\nx\n```", "$$ a $$ (w-eq)")
    here = _notebook("By {prf:ref}`lem-w` and {eq}`w-eq`.")
    elsewhere = reference_texts({"notebooks/other": other}, {"notebooks/other": "Other"})
    out = export_notebook(here, elsewhere=elsewhere, strict=True)
    assert "By Lemma 1 of *Other* and equation (1) of *Other*." in _markdown(out)
    with pytest.raises(ValueError, match="prf:ref"):
        export_notebook(here, strict=True)


def test_the_input_is_not_changed_and_bad_input_is_refused():
    nb = _notebook(THEOREM)
    before = json.dumps(nb, sort_keys=True)
    export_notebook(nb)
    assert json.dumps(nb, sort_keys=True) == before
    with pytest.raises(TypeError, match="nb must be an nbformat-4 notebook"):
        export_notebook({"cells": "nope"})


def test_citation_labels_are_the_bibliography_s():
    labels = citation_labels(REPO / "book" / "references.bib")
    assert labels["mobahi2020"] == "Mobahi et al. 2020"
    assert labels["zhang2020"] == "Zhang and Sabuncu 2020"


def _golden() -> dict[str, dict]:
    """The real chapters' Markdown (golden notebooks), each glued key given a stand-in value."""
    books = {}
    for path in sorted((REPO / "tests" / "golden").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        keys = {m.rsplit(":", 1)[0] if role == "glue:text" else m
                for cell in nb["cells"] if cell["cell_type"] == "markdown"
                for role, m in re.findall(r"\{(glue[:\w]*)\}`([^`]*)`",
                                          "".join(cell["source"]))}
        nb["cells"].append({"cell_type": "code", "id": "glue", "source": "", "metadata": {},
                            "execution_count": None,
                            "outputs": [_glue(key, "0.5") for key in sorted(keys)]})
        books[f"notebooks/{path.stem}"] = nb
    return books


@pytest.mark.slow
def test_every_chapter_of_the_book_exports_with_nothing_left_unresolved():
    chapters = _golden()
    assert len(chapters) >= 20
    elsewhere = reference_texts(chapters)
    citations = citation_labels(REPO / "book" / "references.bib")
    for docname, nb in chapters.items():
        assert myst_leftovers(nb), f"{docname} has no MyST markup: the check would be vacuous"
        out = export_notebook(nb, docname=docname, elsewhere=elsewhere, citations=citations,
                              strict=True)
        assert myst_leftovers(out) == [], docname
        nbformat.validate(nbformat.from_dict(out))
        # every citation found its author-year label: no bare BibTeX key is left
        assert not re.search(r"[(;] ?[a-z]+\d{4}\w*[;)]", _markdown(out)), docname


def test_inline_math_code_and_numbered_references_of_every_kind():
    nb = _notebook("{math}`a^2`, {code}`x = 1`, {numref}`e1`, {numref}`Eq. %s <e1>`, "
                   "{ref}`e1`, {doc}`sd-rounds`.", "$$ a $$ (e1)")
    out = _markdown(export_notebook(nb, strict=True))
    assert "$a^2$, `x = 1`, equation 1, Eq. 1, equation (1), *sd-rounds*." in out


CHAPTER = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---

# A chapter

$$
a = b
$$ (first)

```{code-cell} ipython3
from myst_nb import glue
glue("half", 0.5, display=False)
```

By {eq}`first`, half is {glue:text}`half:.0%`.
"""


@pytest.mark.slow
def test_a_direct_jupyter_book_build_serves_a_jupyter_ready_download(tmp_path):
    """``jupyter-book build .`` (chapters executed from their text) offers the .ipynb too."""
    import shutil
    import subprocess
    import sys

    shutil.copy(REPO / "_config.yml", tmp_path / "_config.yml")
    shutil.copytree(REPO / "_static", tmp_path / "_static")
    (tmp_path / "book").mkdir()
    shutil.copy(REPO / "book" / "references.bib", tmp_path / "book" / "references.bib")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n  - file: notebooks/ch\n")
    (tmp_path / "intro.md").write_text("# Intro\n")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "ch.md").write_text(CHAPTER)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run([str(jupyter_book), "build", str(tmp_path), "--all", "-W",
                           "--keep-going"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    html = tmp_path / "_build" / "html"
    download = html / "_sources" / "notebooks" / "ch.ipynb"
    nb = json.loads(download.read_text(encoding="utf-8"))
    assert myst_leftovers(nb) == [] and build_paths(nb, [str(tmp_path)]) == []
    assert "By (1), half is 50%." in _markdown(nb)
    assert "$$\na = b\n\\tag{1}\n$$" in _markdown(nb)
    page = (html / "notebooks" / "ch.html").read_text(encoding="utf-8")
    assert 'href="../_sources/notebooks/ch.ipynb"' in page
    assert "source_map" not in nb["metadata"]  # MyST-NB's line map of the text source
