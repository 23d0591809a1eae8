"""A chapter's executed notebook made ready for plain Jupyter and Colab: the book's download.

The book renders each chapter from its executed notebook, whose Markdown is MyST: roles such as
``{eq}`label```, ``{glue:text}`key:.3f```, ``{prf:ref}`thm-x``` and ``{cite}`key```, and
directives such as ```` ```{prf:theorem} ````, ```` ```{admonition} ```` or ```` ```{math} ````.
Jupyter and Colab show those as raw text. :func:`jupyter_ready` returns a copy that reads well
anywhere:

* labelled equations (``$$ … $$ (label)`` and ```` ```{math} ```` with ``:label:``) become ``$$``
  blocks numbered with ``\\tag{N}`` in the order they appear, and ``{eq}`label``` becomes ``(N)``;
* ``{glue:text}`` / ``{glue}`` / ``{glue:md}`` become the glued value, formatted as the book
  formats it, from the notebook's own glue outputs (whose hidden records are then dropped);
* figures are numbered in order (code cells with a ``mystnb`` figure caption get the caption as a
  Markdown cell below, ```` ```{figure} ```` becomes an image and its caption), and
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
from ast import literal_eval
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["MYST_LEFTOVERS", "build_paths", "citation_labels", "export_notebook",
           "format_glue_text", "jupyter_ready", "myst_leftovers", "reference_texts"]

#: the prefix of a glue record that is not displayed (``myst_nb.glue(..., display=False)``)
GLUE_PREFIX = "application/papermill.record/"
#: what must not be left in a Jupyter-ready notebook's Markdown: a MyST role, a directive fence,
#: a labelled ``$$`` block or a ``(label)=`` target
MYST_LEFTOVERS = re.compile(r"\{[a-z][\w:+-]*\}`|^\s*(`{3,}|:{3,})\s*\{|^\s*\$\$\s*\(\S+\)\s*$"
                            r"|^\([\w:.-]+\)=\s*$", re.M)

_ROLE = re.compile(r"\{(?P<name>[a-z][\w:+-]*)\}`(?P<body>[^`]*)`")
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|:{3,})\s*(?P<info>.*?)\s*$")
_DIRECTIVE = re.compile(r"^\{(?P<name>[\w:+-]+)\}\s*(?P<arg>.*)$")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
_LABELLED_MATH_END = re.compile(r"^(?P<body>.*?)\$\$\s*\((?P<label>[^)\s]+)\)\s*$")
_TARGET = re.compile(r"^\((?P<label>[\w:.-]+)\)=\s*$")
_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)

#: sphinx-proof's numbered kinds, by directive name
_PROOF_KINDS = {kind: kind.capitalize() for kind in (
    "theorem lemma proposition corollary definition example remark conjecture axiom criterion "
    "algorithm property observation assumption exercise solution").split()}
_ADMONITIONS = {"note", "tip", "important", "warning", "caution", "attention", "danger",
                "error", "hint", "seealso"}


def format_glue_text(text: str, fmt_spec: str = "") -> str:
    """A glued ``text/plain`` value formatted as ``{glue:text}`key:fmt_spec``` shows it.

    The same rule as MyST-NB: the text is read back with :func:`ast.literal_eval` (so quotes
    go), then formatted by the spec's type character (``s`` text, ``d`` integer, ``e f g %``
    float).

    >>> format_glue_text("0.123456", ".1%")
    '12.3%'
    >>> format_glue_text("'a'")
    'a'
    """
    try:
        value: Any = literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if fmt_spec == "":
        return str(value)
    kind = fmt_spec[-1]
    if kind == "s":
        value = str(value)
    elif kind in "bcdoxX":
        value = int(value)
    elif kind in "eEfFgGn%":
        value = float(value)
    return format(value, fmt_spec)


def _text(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


class _Context:
    """What the references resolve to: numbers, titles, glue values, citation labels."""

    def __init__(self, glue: Mapping[str, Mapping[str, Any]], titles: Mapping[str, str],
                 citations: Mapping[str, str], docname: str,
                 elsewhere: Mapping[str, str] | None = None) -> None:
        self.glue, self.titles, self.citations = glue, titles, citations
        self.docname, self.elsewhere = docname, elsewhere or {}
        self.unresolved: list[str] = []
        self.equations: dict[str, int] = {}
        self.figures: dict[str, int] = {}
        self.proofs: dict[str, tuple[str, int, str]] = {}  # label -> (kind, number, title)
        self._kinds: dict[str, int] = {}

    def equation(self, label: str) -> int:
        return self.equations.setdefault(label, len(self.equations) + 1)

    def figure(self, label: str) -> int:
        return self.figures.setdefault(label, len(self.figures) + 1)

    def proof(self, kind: str, label: str | None, title: str) -> int:
        if label and label in self.proofs:
            return self.proofs[label][1]
        number = self._kinds[kind] = self._kinds.get(kind, 0) + 1
        if label:
            self.proofs[label] = (kind, number, title)
        return number


def _explicit(body: str) -> tuple[str | None, str]:
    match = _EXPLICIT.match(body)
    return (match["text"], match["target"].strip()) if match else (None, body.strip())


def _doc_key(target: str, docname: str) -> str:
    parts = list(Path(docname).parent.parts)
    for piece in target.split("/"):
        if piece == "..":
            parts = parts[:-1]
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _role(ctx: _Context, name: str, body: str) -> str:
    """The readable text of one role."""
    text, target = _explicit(body)
    if name in ("glue", "glue:", "glue:any", "glue:text", "glue:md"):
        key, spec = target, ""
        if name == "glue:text" and ":" in target.replace("::", ""):
            key, spec = target.rsplit(":", 1)
        data = ctx.glue.get(key)
        if data is None:
            raise ValueError(f"glue key {key!r} of {{{name}}}`{body}` is not glued in this "
                             f"notebook (glued: {', '.join(sorted(ctx.glue))[:80]})")
        if name == "glue:md" and "text/markdown" in data:
            return _text(data["text/markdown"])
        return format_glue_text(_text(data.get("text/plain", "")), spec)
    numbered = ctx.equations.keys() | ctx.figures.keys() | ctx.proofs.keys()
    if name in ("eq", "math:numref", "numref", "prf:ref") and target not in numbered:
        if target in ctx.elsewhere:
            return text or ctx.elsewhere[target]
        ctx.unresolved.append(f"{{{name}}}`{body}`")
        return text or target
    if name in ("eq", "math:numref"):
        return f"({ctx.equations[target]})" if text is None else text
    if name == "numref":
        if target in ctx.figures:
            number, word = ctx.figures[target], "Figure"
        elif target in ctx.proofs:
            word, number, _ = ctx.proofs[target]
        else:
            number, word = ctx.equations[target], "equation"
        return f"{word} {number}" if text is None else text.replace("%s", str(number))
    if name in ("prf:ref", "ref"):
        if text is not None:
            return text
        if target in ctx.proofs:
            kind, number, _ = ctx.proofs[target]
            return f"{kind} {number}"
        if target in ctx.figures:
            return f"Figure {ctx.figures[target]}"
        if target in ctx.equations:
            return f"equation ({ctx.equations[target]})"
        return ctx.elsewhere.get(target, target)
    if name == "doc":
        key = _doc_key(target, ctx.docname)
        title = ctx.titles.get(key)
        return text or f"*{title or key.rsplit('/', 1)[-1]}*"
    if name.startswith("cite"):
        keys = [k.strip() for k in target.split(",") if k.strip()]
        labels = [ctx.citations.get(k, k) for k in keys]
        if name in ("cite:t", "cite:ts", "cite:author"):
            return "; ".join(_narrative(label) for label in labels)
        return "(" + "; ".join(labels) + ")"
    if name == "math":
        return f"${body}$"
    if name in ("code", "literal", "samp", "file", "command"):
        return f"`{text if text is not None else target}`"
    return text if text is not None else target


def _narrative(label: str) -> str:
    who, _, year = label.rpartition(" ")
    return f"{who} ({year})" if who else label


def _roles(ctx: _Context, text: str) -> str:
    return _ROLE.sub(lambda m: _role(ctx, m["name"], m["body"]), text)


def _split_options(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    options: dict[str, str] = {}
    index = 0
    if lines and lines[0].strip() == "---":  # a YAML block of options
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is not None:
            import yaml

            loaded = yaml.safe_load("\n".join(lines[1:end])) or {}
            options = {str(k): str(v) for k, v in loaded.items()}
            index = end + 1
    while index < len(lines):
        match = _OPTION.match(lines[index].strip())
        if not match:
            break
        options[match["key"]] = match["value"]
        index += 1
    while index < len(lines) and not lines[index].strip():
        index += 1
    return options, lines[index:]


def _blocks(lines: list[str]):
    """Split Markdown lines into ('text', lines), ('code', lines) and ('directive', …) blocks."""
    index, text = 0, []
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            text.append(lines[index])
            index += 1
            continue
        fence = match["fence"]
        close = next((j for j in range(index + 1, len(lines))
                      if re.fullmatch(rf" {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*",
                                      lines[j])), len(lines))
        if text:
            yield "text", text
            text = []
        body = lines[index + 1:close]
        directive = _DIRECTIVE.match(match["info"])
        if directive:
            yield "directive", (directive["name"], directive["arg"], body)
        else:
            yield "code", lines[index:close + 1]
        index = close + 1
    if text:
        yield "text", text


def _scan(ctx: _Context, lines: list[str]) -> None:
    """First pass: number every labelled equation, figure and theorem in document order."""
    for kind, block in _blocks(lines):
        if kind == "text":
            for line in block:
                match = _LABELLED_MATH_END.match(line)
                if match:
                    ctx.equation(match["label"])
        elif kind == "directive":
            name, arg, body = block
            options, rest = _split_options(body)
            if name == "math" and options.get("label"):
                ctx.equation(options["label"])
            elif name == "figure" and options.get("name"):
                ctx.figure(options["name"])
            elif name.startswith("prf:") and name[4:] in _PROOF_KINDS:
                ctx.proof(_PROOF_KINDS[name[4:]], options.get("label"), arg)
            _scan(ctx, rest)


def _number(ctx: _Context, nb: Mapping[str, Any]) -> None:
    """Number the notebook's equations, figures and theorems in document order."""
    for cell in nb["cells"]:
        if cell.get("cell_type") == "markdown":
            _scan(ctx, _text(cell.get("source", "")).split("\n"))
        figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
        if cell.get("cell_type") == "code" and figure.get("name"):
            ctx.figure(figure["name"])


def reference_texts(notebooks: Mapping[str, Mapping[str, Any]],
                    titles: Mapping[str, str] | None = None) -> dict[str, str]:
    """How each chapter's labels read from another chapter: ``"Lemma 2 of *Title*"``.

    Parameters
    ----------
    notebooks : mapping
        Notebooks (nbformat 4) by docname (``"notebooks/sd-rounds"``).
    titles : mapping, optional
        Page titles by docname; without one, the docname's last part.

    Returns
    -------
    dict
        Text by label, for :func:`export_notebook`'s ``elsewhere``.
    """
    texts: dict[str, str] = {}
    for docname, nb in notebooks.items():
        ctx = _Context({}, {}, {}, docname)
        _number(ctx, nb)
        where = (titles or {}).get(docname) or docname.rsplit("/", 1)[-1]
        texts.update({label: f"equation ({n}) of *{where}*" for label, n in ctx.equations.items()})
        texts.update({label: f"Figure {n} of *{where}*" for label, n in ctx.figures.items()})
        texts.update({label: f"{kind} {n} of *{where}*"
                      for label, (kind, n, _) in ctx.proofs.items()})
    return texts


def _quote(lines: list[str]) -> list[str]:
    return [f"> {line}".rstrip() for line in lines]


def _convert(ctx: _Context, lines: list[str]) -> list[str]:
    """Second pass: MyST blocks to plain Markdown, roles to text."""
    out: list[str] = []
    for kind, block in _blocks(lines):
        if kind == "code":
            out += block
        elif kind == "text":
            out += _text_lines(ctx, block)
        else:
            out += _directive(ctx, *block)
    return out


def _text_lines(ctx: _Context, block: list[str]) -> list[str]:
    out: list[str] = []
    for line in block:
        if _TARGET.match(line):
            continue
        match = _LABELLED_MATH_END.match(line)
        if match:
            body = match["body"].rstrip()
            tag = f"\\tag{{{ctx.equations[match['label']]}}}"
            out += [f"{body} {tag}".strip() if body.strip() else tag, "$$"]
            continue
        out.append(_roles(ctx, line))
    return out


def _directive(ctx: _Context, name: str, arg: str, body: list[str]) -> list[str]:
    options, rest = _split_options(body)
    title = _roles(ctx, arg)
    if name == "math":
        label = options.get("label")
        tag = [f"\\tag{{{ctx.equations[label]}}}"] if label else []
        return ["$$", *rest, *tag, "$$"]
    if name == "figure":
        number = ctx.figure(options["name"]) if options.get("name") else None
        alt = options.get("alt", "").replace("]", ")").replace("[", "(")
        caption = " ".join(_convert(ctx, rest)).strip()
        head = f"**Figure {number}.** " if number else ""
        return [f"![{alt}]({arg})", "", f"{head}{caption}".strip()]
    inner = _convert(ctx, rest)
    if name.startswith("prf:"):
        kind = name[4:]
        if kind == "proof":
            return ["*Proof.*", *inner]
        word = _PROOF_KINDS.get(kind, kind.capitalize())
        number = ctx.proof(word, options.get("label"), arg)
        head = f"**{word} {number}**" + (f" ({title})." if title else ".")
        return [head, "", *inner]
    if name == "dropdown" or "dropdown" in options.get("class", "").split():
        summary = title or name.capitalize()
        return ["<details>", f"<summary>{summary}</summary>", "", *inner, "", "</details>"]
    if name == "admonition" or name in _ADMONITIONS:
        head = title if name == "admonition" else (name.capitalize() + (f": {title}"
                                                                        if title else ""))
        return _quote([f"**{head}**", "", *inner])
    return _quote([f"**{title or name}**", "", *inner]) if title else inner


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
    ctx = _Context({**(glue or {}), **_glue(out)}, titles or {}, citations or {}, docname,
                   elsewhere)
    roots = sorted({str(r).rstrip("/") for r in roots if str(r).strip("/")}, key=len,
                   reverse=True)
    _number(ctx, out)
    cells = []
    for cell in out["cells"]:
        meta = cell.get("metadata", {})
        meta.pop("papermill", None)
        meta.pop("execution", None)
        if cell.get("cell_type") == "markdown":
            cell["source"] = "\n".join(_convert(ctx, _text(cell.get("source", "")).split("\n")))
        cells.append(cell)
        if cell.get("cell_type") != "code":
            continue
        cell["outputs"] = [_scrub(o, roots) for o in cell.get("outputs", [])
                           if not _is_glue_record(o)]
        figure = meta.get("mystnb", {}).get("figure", {})
        if figure.get("caption"):
            number = ctx.figure(figure["name"]) if figure.get("name") else None
            head = f"**Figure {number}.** " if number else ""
            caption = " ".join(_convert(ctx, str(figure["caption"]).split("\n")))
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
    """Each MyST role, directive, labelled ``$$`` or target left in the Markdown cells."""
    found = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "markdown":
            continue
        text = _text(cell.get("source", ""))
        code = "\n".join(b for kind, block in _blocks(text.split("\n")) if kind == "code"
                         for b in block)
        for match in MYST_LEFTOVERS.finditer(text):
            if match.group(0).strip() and match.group(0) not in code:
                found.append(f"cell {index}: {match.group(0).strip()}")
    return found


def build_paths(nb: Mapping[str, Any], roots: Iterable[str]) -> list[str]:
    """Where any of the absolute paths ``roots`` occurs in the notebook's JSON (empty if none)."""
    text = json.dumps(nb, ensure_ascii=False)
    return [root for root in roots if str(root).strip("/") and str(root) in text]


def citation_labels(bib: Path) -> dict[str, str]:
    """Author–year labels by key ("Mobahi et al. 2020"), the bibliography page's labels."""
    from pybtex.database import parse_file

    from .sphinx_bib import AuthorYearLabels

    entries = list(parse_file(str(bib)).entries.values())
    return dict(zip((e.key for e in entries), AuthorYearLabels().format_labels(entries),
                    strict=True))


def jupyter_ready(source: Path, target: Path, **options: Any) -> Path:
    """Write :func:`export_notebook` of the notebook at ``source`` to ``target``; returns it.

    ``options`` are :func:`export_notebook`'s; ``docname`` defaults to
    ``notebooks/<source stem>``. A MyST-NB ``<source stem>.glue.json`` beside the source (its
    executed copies keep their glued values there) supplies ``glue``.
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
