"""MyST Markdown turned into plain Markdown for Jupyter and Colab: roles, directives, equation,
figure and theorem numbers (used by :mod:`selfdistill.core.notebook_export`).

Roles such as ``{eq}`label```, ``{glue:text}`key:.3f```, ``{prf:ref}`thm-x```, ``{numref}``,
``{cite}`` and ``{doc}`` become text; directives (``{math}``, ``{figure}``, ``{prf:*}``,
admonitions, dropdowns) become ``$$`` blocks, images with captions, bold-headed paragraphs, block
quotes and ``<details>``. Pure Python; imports no torch.
"""

from __future__ import annotations

import re
from ast import literal_eval
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["MarkdownContext", "cell_text", "convert_markdown", "format_glue_text",
           "markdown_blocks", "number_targets", "reference_texts"]

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

    Parameters
    ----------
    text : str
        The glued value's ``text/plain`` representation (``"0.123456"``, ``"'a'"``).
    fmt_spec : str, default ""
        A format spec (``".3f"``, ``".1%"``, ``"d"``); empty: the value's ``str``.

    Returns
    -------
    str
        The value as the book shows it.

    Raises
    ------
    ValueError
        If the spec's type does not fit the value (``"d"`` of ``"'a'"``), as ``format`` raises.

    Examples
    --------
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


def cell_text(source: Any) -> str:
    """A notebook cell's source as one string.

    Parameters
    ----------
    source : str or list of str
        The cell's ``source`` as nbformat stores it (one string, or lines to join).

    Returns
    -------
    str
        The lines joined as they are (each keeps its own newline), or ``str(source)``.
    """
    return "".join(source) if isinstance(source, list) else str(source)


class MarkdownContext:
    """What the references resolve to: numbers, titles, glue values, citation labels.

    Parameters
    ----------
    glue : mapping
        Glued values (mimebundles, ``{"text/plain": …}``) by key.
    titles : mapping
        Page titles by docname, for ``{doc}``.
    citations : mapping
        Author–year labels by BibTeX key, for ``{cite}``.
    docname : str
        The notebook's docname (``"notebooks/sd-rounds"``), to resolve relative ``{doc}`` targets.
    elsewhere : mapping, optional
        Texts of labels numbered in other chapters (:func:`reference_texts`).

    Attributes
    ----------
    unresolved : list of str
        The ``{eq}``, ``{numref}`` and ``{prf:ref}`` roles that resolved nowhere, as written.
    equations, figures : dict of str to int
        Number by label, in the order :func:`number_targets` met them.
    proofs : dict of str to tuple
        ``(kind, number, title)`` by label (numbered per kind).
    """

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


def _role(ctx: MarkdownContext, name: str, body: str) -> str:
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
            return cell_text(data["text/markdown"])
        return format_glue_text(cell_text(data.get("text/plain", "")), spec)
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


def _roles(ctx: MarkdownContext, text: str) -> str:
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


def markdown_blocks(lines: list[str]):
    """Split Markdown lines into ('text', lines), ('code', lines) and ('directive', …) blocks.

    Parameters
    ----------
    lines : list of str
        Markdown lines, without their newlines.

    Yields
    ------
    tuple
        ``("text", lines)`` for a run of plain lines; ``("code", lines)`` for a fenced code block,
        its fences included; ``("directive", (name, argument, body))`` for a MyST directive
        (a fence of three or more backticks or colons followed by ``{name}``), the body without
        the fences. An unclosed fence runs to the end.
    """
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


def _scan(ctx: MarkdownContext, lines: list[str]) -> None:
    """First pass: number every labelled equation, figure and theorem in document order."""
    for kind, block in markdown_blocks(lines):
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


def number_targets(ctx: MarkdownContext, nb: Mapping[str, Any]) -> None:
    """Number the notebook's equations, figures and theorems in document order.

    Parameters
    ----------
    ctx : MarkdownContext
        Where the numbers go (its ``equations``, ``figures`` and ``proofs``); changed in place.
    nb : mapping
        The notebook, nbformat 4: its Markdown cells' labels and its code cells' ``mystnb``
        figure names.
    """
    for cell in nb["cells"]:
        if cell.get("cell_type") == "markdown":
            _scan(ctx, cell_text(cell.get("source", "")).split("\n"))
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
        ctx = MarkdownContext({}, {}, {}, docname)
        number_targets(ctx, nb)
        where = (titles or {}).get(docname) or docname.rsplit("/", 1)[-1]
        texts.update({label: f"equation ({n}) of *{where}*" for label, n in ctx.equations.items()})
        texts.update({label: f"Figure {n} of *{where}*" for label, n in ctx.figures.items()})
        texts.update({label: f"{kind} {n} of *{where}*"
                      for label, (kind, n, _) in ctx.proofs.items()})
    return texts


def _quote(lines: list[str]) -> list[str]:
    return [f"> {line}".rstrip() for line in lines]


def convert_markdown(ctx: MarkdownContext, lines: list[str]) -> list[str]:
    """Second pass: MyST blocks to plain Markdown, roles to text.

    Parameters
    ----------
    ctx : MarkdownContext
        The numbers (from :func:`number_targets`), glue values, titles and citations; labels
        that resolve nowhere are appended to its ``unresolved``.
    lines : list of str
        One Markdown cell's lines.

    Returns
    -------
    list of str
        The plain Markdown lines.

    Raises
    ------
    ValueError
        If a ``{glue}`` role names a key that ``ctx`` does not hold.
    """
    out: list[str] = []
    for kind, block in markdown_blocks(lines):
        if kind == "code":
            out += block
        elif kind == "text":
            out += _text_lines(ctx, block)
        else:
            out += _directive(ctx, *block)
    return out


def _text_lines(ctx: MarkdownContext, block: list[str]) -> list[str]:
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


def _directive(ctx: MarkdownContext, name: str, arg: str, body: list[str]) -> list[str]:
    options, rest = _split_options(body)
    title = _roles(ctx, arg)
    if name == "math":
        label = options.get("label")
        tag = [f"\\tag{{{ctx.equations[label]}}}"] if label else []
        return ["$$", *rest, *tag, "$$"]
    if name == "figure":
        number = ctx.figure(options["name"]) if options.get("name") else None
        alt = options.get("alt", "").replace("]", ")").replace("[", "(")
        caption = " ".join(convert_markdown(ctx, rest)).strip()
        head = f"**Figure {number}.** " if number else ""
        return [f"![{alt}]({arg})", "", f"{head}{caption}".strip()]
    inner = convert_markdown(ctx, rest)
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
