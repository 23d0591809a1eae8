"""A chapter's executed notebook made ready for plain Jupyter and Colab: the book's download.

The book renders each chapter from its executed notebook, whose Markdown is MyST: roles such as
``{eq}`label```, ``{glue:text}`key:.3f```, ``{prf:ref}`thm-x``` and ``{cite}`key```, and
directives, fences of three backticks opened with ``{prf:theorem}``, ``{admonition}`` or ``{math}``.
Jupyter and Colab show those as raw text. :func:`jupyter_ready` returns a copy that reads well
anywhere:

* labelled equations (``$$ … $$ (label)`` and a ``{math}`` fence with ``:label:``) become ``$$``
  blocks numbered with ``\\tag{N}`` in the order they appear, and ``{eq}`label``` becomes ``(N)``;
* ``{glue:text}`` / ``{glue}`` / ``{glue:md}`` become the glued value, formatted as the book
  formats it, from the notebook's own glue outputs (whose hidden records are then dropped);
* figures are numbered in order (code cells with a ``mystnb`` figure caption get the caption as a
  Markdown cell below, a ``{figure}`` fence becomes an image and its caption), and
  ``{numref}`fig-x``` becomes ``Figure N``;
* theorems, lemmas and proofs become bold-headed paragraphs (numbered per kind in order),
  ``{prf:ref}`` becomes ``Lemma N``; admonitions become block quotes, dropdowns ``<details>``;
* ``{cite}`` becomes author–year text, ``{doc}`` the page's title, other roles their text;
* papermill's metadata (which holds a second copy of the notebook and the build's paths), the
  run's timings, Jupytext's pairing metadata and MyST-NB's source map are dropped, and the
  build's absolute paths are cut out of every output.

The numbers in the prose are those of the book's run: rerunning the notebook with other
parameters recomputes the outputs, not the prose. Pure Python; imports no torch.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from selfdistill.core.myst_markdown import (
    MarkdownContext,
    cell_text,
    convert_markdown,
    format_glue_text,
    markdown_blocks,
    number_targets,
    reference_texts,
)

__all__ = ["MYST_LEFTOVERS", "build_paths", "citation_labels", "export_notebook",
           "format_glue_text", "jupyter_ready", "myst_leftovers", "reference_texts"]

#: the prefix of a glue record that is not displayed (``myst_nb.glue(..., display=False)``)
GLUE_PREFIX = "application/papermill.record/"
#: what must not be left in a Jupyter-ready notebook's Markdown: a MyST role, a directive fence,
#: a labelled ``$$`` block or a ``(label)=`` target
MYST_LEFTOVERS = re.compile(r"\{[a-z][\w:+-]*\}`|^\s*(`{3,}|:{3,})\s*\{|^\s*\$\$\s*\(\S+\)\s*$"
                            r"|^\([\w:.-]+\)=\s*$", re.M)

def _glue(nb: dict) -> dict[str, dict[str, Any]]:
    glued: dict[str, dict[str, Any]] = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook")
            if not meta:
                continue
            prefix = meta.get("mime_prefix", "")
            glued[meta["name"]] = {k[len(prefix):]: v for k, v in output.get("data", {}).items()}
    return glued


def _is_glue_record(output: dict) -> bool:
    meta = output.get("metadata", {}).get("scrapbook")
    return bool(meta) and bool(meta.get("mime_prefix"))


def _scrub(value: Any, roots: list[str]) -> Any:
    if isinstance(value, str):
        for root in roots:
            value = value.replace(root + "/", "").replace(root, ".")
        return value
    if isinstance(value, list):
        return [_scrub(v, roots) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, roots) for k, v in value.items()}
    return value


def _markdown(text: str, beside: str | None = None) -> dict:
    cell: dict[str, Any] = {"cell_type": "markdown", "metadata": {}, "source": text}
    if beside is not None:  # nbformat 4.5 cells have ids: derive one from the code cell's
        cell["id"] = f"{beside[:56]}-figure"
    return cell


def export_notebook(nb: Mapping[str, Any], *, titles: Mapping[str, str] | None = None,
                    citations: Mapping[str, str] | None = None, roots: Iterable[str] = (),
                    docname: str = "notebooks/chapter", elsewhere: Mapping[str, str] | None = None,
                    glue: Mapping[str, Mapping[str, Any]] | None = None,
                    strict: bool = False) -> dict:
    """A Jupyter-ready copy of an executed MyST notebook (the input is not changed).

    Parameters
    ----------
    nb : mapping
        The executed notebook, nbformat 4 (``nbformat.read`` or ``json.load``).
    titles : mapping, optional
        Page titles by docname (``"notebooks/generations"``, ``"book/claims"``) for ``{doc}``.
    citations : mapping, optional
        Author–year labels by BibTeX key (:func:`citation_labels`) for ``{cite}``.
    roots : iterable of str
        Absolute paths (the repository, the build folder) cut out of every output and metadata.
    docname : str
        The notebook's docname, to resolve relative ``{doc}`` targets.
    elsewhere : mapping, optional
        Texts of labels numbered in other chapters (:func:`reference_texts`).
    glue : mapping, optional
        Glued values (mimebundles) by key that the notebook's outputs no longer hold: MyST-NB
        moves them out of its executed copy into ``<name>.glue.json`` (:func:`jupyter_ready`).
    strict : bool
        Raise on an ``{eq}``, ``{numref}`` or ``{prf:ref}`` that resolves nowhere (else its
        label is left as text).

    Returns
    -------
    dict
        The notebook, nbformat 4, with no MyST markup (:func:`myst_leftovers` is empty).

    Raises
    ------
    ValueError
        If the Markdown glues a key the notebook did not glue, or (``strict``) a reference
        resolves nowhere.
    """
    if not isinstance(nb, Mapping) or not isinstance(nb.get("cells"), list):
        raise TypeError(f"nb must be an nbformat-4 notebook with a list of cells, got "
                        f"{type(nb).__name__}: {str(nb)[:80]}")
    out = copy.deepcopy(dict(nb))
    ctx = MarkdownContext({**(glue or {}), **_glue(out)}, titles or {}, citations or {}, docname,
                   elsewhere)
    roots = sorted({str(r).rstrip("/") for r in roots if str(r).strip("/")}, key=len,
                   reverse=True)
    number_targets(ctx, out)
    cells = []
    for cell in out["cells"]:
        meta = cell.get("metadata", {})
        meta.pop("papermill", None)
        meta.pop("execution", None)
        if cell.get("cell_type") == "markdown":
            lines = cell_text(cell.get("source", "")).split("\n")
            cell["source"] = "\n".join(convert_markdown(ctx, lines))
        cells.append(cell)
        if cell.get("cell_type") != "code":
            continue
        cell["outputs"] = [_scrub(o, roots) for o in cell.get("outputs", [])
                           if not _is_glue_record(o)]
        figure = meta.get("mystnb", {}).get("figure", {})
        if figure.get("caption"):
            number = ctx.figure(figure["name"]) if figure.get("name") else None
            head = f"**Figure {number}.** " if number else ""
            caption = " ".join(convert_markdown(ctx, str(figure["caption"]).split("\n")))
            cells.append(_markdown(head + caption, cell.get("id")))
    if strict and ctx.unresolved:
        raise ValueError(f"references in {docname} to nothing numbered in it or in elsewhere: "
                         f"{', '.join(ctx.unresolved)[:200]}")
    out["cells"] = cells
    metadata = dict(out.get("metadata", {}))
    for key in ("papermill", "jupytext", "selfdistill", "source_map"):
        metadata.pop(key, None)
    out["metadata"] = _scrub(metadata, roots)
    return out


def myst_leftovers(nb: Mapping[str, Any]) -> list[str]:
    """Each MyST role, directive, labelled ``$$`` or target left in the Markdown cells.

    Parameters
    ----------
    nb : mapping
        A notebook, nbformat 4 (:func:`export_notebook`'s result).

    Returns
    -------
    list of str
        ``"cell <index>: <markup>"`` for each leftover (:data:`MYST_LEFTOVERS`) outside fenced
        code; empty for a Jupyter-ready notebook.
    """
    found = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "markdown":
            continue
        text = cell_text(cell.get("source", ""))
        code = "\n".join(b for kind, block in markdown_blocks(text.split("\n")) if kind == "code"
                         for b in block)
        for match in MYST_LEFTOVERS.finditer(text):
            if match.group(0).strip() and match.group(0) not in code:
                found.append(f"cell {index}: {match.group(0).strip()}")
    return found


def build_paths(nb: Mapping[str, Any], roots: Iterable[str]) -> list[str]:
    """Where any of the absolute paths ``roots`` occurs in the notebook's JSON (empty if none).

    Parameters
    ----------
    nb : mapping
        A notebook, nbformat 4.
    roots : iterable of str
        Absolute paths (the repository, the build folder); ``"/"`` and empty ones are skipped.

    Returns
    -------
    list of str
        The roots that occur anywhere in the notebook's JSON text.
    """
    text = json.dumps(nb, ensure_ascii=False)
    return [root for root in roots if str(root).strip("/") and str(root) in text]


def citation_labels(bib: Path) -> dict[str, str]:
    """Author–year labels by key ("Mobahi et al. 2020"), the bibliography page's labels.

    Parameters
    ----------
    bib : pathlib.Path
        A BibTeX file (``book/references.bib``).

    Returns
    -------
    dict of str to str
        The label of each entry by its BibTeX key, as
        :class:`~selfdistill.core.sphinx_bib.AuthorYearLabels` makes them.

    Raises
    ------
    OSError
        If ``bib`` cannot be read; pybtex's ``PybtexError`` if it is not valid BibTeX.
    """
    from pybtex.database import parse_file

    from selfdistill.core.sphinx_bib import AuthorYearLabels

    entries = list(parse_file(str(bib)).entries.values())
    return dict(zip((e.key for e in entries), AuthorYearLabels().format_labels(entries),
                    strict=True))


def jupyter_ready(source: Path, target: Path, **options: Any) -> Path:
    """Write :func:`export_notebook` of the notebook at ``source`` to ``target``; returns it.

    Parameters
    ----------
    source : pathlib.Path
        The executed notebook (``.ipynb``, nbformat 4).
    target : pathlib.Path
        Where the Jupyter-ready copy goes; its folder is created.
    **options
        :func:`export_notebook`'s keywords; ``docname`` defaults to ``notebooks/<source stem>``.
        A MyST-NB ``<source stem>.glue.json`` beside the source (its executed copies keep their
        glued values there) supplies ``glue`` unless it is given.

    Returns
    -------
    pathlib.Path
        ``target``.

    Raises
    ------
    ValueError
        As :func:`export_notebook` raises, or if ``source`` is not JSON; ``TypeError`` for a
        notebook without a list of cells.
    """
    import nbformat

    source, target = Path(source), Path(target)
    nb = json.loads(source.read_text(encoding="utf-8"))
    options.setdefault("docname", f"notebooks/{source.stem}")
    glued = source.with_name(f"{source.stem}.glue.json")
    if "glue" not in options and glued.is_file():
        options["glue"] = {key: output.get("data", {}) for key, output
                           in json.loads(glued.read_text(encoding="utf-8")).items()}
    ready = export_notebook(nb, **options)
    node = nbformat.from_dict(ready)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(node, target)
    return target
