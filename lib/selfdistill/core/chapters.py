"""Chapters and their parameters, read from the notebooks' ``parameters`` cells.

A chapter is a Jupytext MyST notebook ``notebooks/<name>.md``. Its cell tagged ``parameters`` holds
one assignment per line, with a trailing comment that states the accepted values and the meaning::

    eps = 0.05  # in (0, inf): training-error budget ε
    scale = "book"  # in {"book", "paper"}: run size
    seed = 0  # in [0, 4294967295]: random seed

The comment grammar: ``in (lo, hi):``/``[lo, hi]`` (mixed brackets allowed, ``inf`` allowed) or
``in {a, b, ...}:``, then the meaning; or just the meaning. Comment-only lines right after an
assignment continue its comment (so lines stay within the page's 80 characters). A comment that
starts with ``in`` and does not parse is an error naming the chapter and the line. The command
line checks a new value's name, type and range against this before anything runs.

Reading a chapter's title and parameters needs no Jupytext (the command line answers at once): the
MyST text is read directly; :meth:`Chapter.notebook` uses Jupytext when a chapter actually runs, and
a test checks that both readers agree on every chapter.
"""

from __future__ import annotations

import ast
import difflib
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selfdistill.core.paths import repository_root
from selfdistill.core.validate import Integer, format_range, validate_params

__all__ = ["Chapter", "Parameter", "ParameterError", "find_chapters", "get_chapter",
           "notebooks_dir", "parse_parameters", "shorten"]

#: seconds a chapter may take at book scale on the 2-core reference machine, unless its front
#: matter says otherwise (``selfdistill: {budget: 40}``)
DEFAULT_BUDGET = 20.0

_INTERVAL = re.compile(r"^in\s*([\[(])\s*([^,]+?)\s*,\s*([^\])]+?)\s*([\])])\s*:\s*(.*)$")
_CHOICES = re.compile(r"^in\s*\{(.*)\}\s*:\s*(.*)$")


#: the longest command-line value read at all (a longer one is refused before it is parsed)
MAX_VALUE_CHARS = 1000


class ParameterError(ValueError):
    """A parameter given on the command line is unknown or out of range, or a chapter's
    ``parameters`` cell is malformed."""


@validate_params(limit=Integer(16))
def shorten(text: str, limit: int = 80) -> str:
    """``text`` cut to about ``limit`` characters for an error message (its length said).

    Parameters
    ----------
    text : str
        The text (anything ``str()`` converts).
    limit : int, default 80
        The length kept, ``≥ 16`` (room for the start, the ellipsis, the end and the length).

    Returns
    -------
    str
        ``text`` itself when short enough, else its start, an ellipsis and the full length.
    """
    text = str(text)
    if len(text) <= limit:
        return text
    tail = limit * 3 // 8
    return f"{text[:limit - tail - 10]}…{text[-tail:]} ({len(text)} characters)"


def _shown(value: Any) -> str:
    """A value as an error message echoes it: its ``repr``, cut."""
    return shorten(repr(value))


def _number(text: str) -> float:
    text = text.strip()
    if text in ("inf", "+inf"):
        return math.inf
    if text == "-inf":
        return -math.inf
    return float(ast.literal_eval(text))


@dataclass(frozen=True)
class Parameter:
    """One entry of a chapter's ``parameters`` cell.

    Attributes
    ----------
    name : str
        The parameter's name.
    default : object
        Its default (a Python literal: its type is the parameter's type).
    meaning : str
        What it is, from the line's comment.
    lower, upper : float or None
        The accepted interval of a number, from the comment (``# in [1e-6, 0.57]: ...``).
    lower_open, upper_open : bool
        Whether each end of the interval is excluded.
    choices : tuple or None
        The accepted values of an option (``# in {"book", "paper"}: ...``).
    """

    name: str
    default: Any
    meaning: str
    lower: float | None = None
    upper: float | None = None
    lower_open: bool = False
    upper_open: bool = False
    choices: tuple[Any, ...] | None = None

    @property
    def type_name(self) -> str:
        """The name of the default's type (``float``, ``int``, ``str``, …)."""
        return type(self.default).__name__

    def accepted(self) -> str:
        """Human-readable accepted values, e.g. ``numbers in [1e-06, 0.57]``."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.lower is not None:
            integral = isinstance(self.default, int) and not isinstance(self.default, bool)
            kind = "integers" if integral else "numbers"
            lower, upper = self.lower, self.upper
            if integral:  # 4294967295, not 4.29497e+09
                lower, upper = (int(b) if math.isfinite(b) and b == int(b) else b
                                for b in (lower, upper))
            bounds = format_range(lower, upper, self.lower_open, self.upper_open)
            return f"{kind} in {bounds}"
        return f"any {self.type_name}"

    def convert(self, text: str) -> Any:
        """Parse a command-line string into this parameter's type and check it.

        Parameters
        ----------
        text : str
            The value as typed (``-p eps 0.02``).

        Returns
        -------
        object
            The value, of the default's type.

        Raises
        ------
        ParameterError
            If ``text`` does not parse as that type or lies outside the accepted values.
        """
        value = self._parse(text)
        if self.choices is not None and value not in self.choices:
            raise ParameterError(
                f"parameter '{self.name}' = {_shown(value)} is not accepted; "
                f"{shorten(self.accepted(), 200)}"
            )
        if self.lower is not None and isinstance(value, (int, float)):
            low_ok = value > self.lower if self.lower_open else value >= self.lower
            high_ok = value < self.upper if self.upper_open else value <= self.upper
            if not (low_ok and high_ok) or (isinstance(value, float) and math.isnan(value)):
                raise ParameterError(
                    f"parameter '{self.name}' = {_shown(value)} is outside the accepted range: "
                    f"{self.accepted()}"
                )
        return value

    def _parse(self, text: str) -> Any:
        default = self.default
        wrong = ParameterError(
            f"parameter '{self.name}' = {_shown(text)} is not a {self.type_name}; accepted: "
            f"{self.accepted()}"
        )
        if len(text) > MAX_VALUE_CHARS:
            raise ParameterError(f"parameter '{self.name}' = {_shown(text)} is longer than "
                                 f"{MAX_VALUE_CHARS} characters; accepted: {self.accepted()}")
        if isinstance(default, bool):
            lowered = text.strip().lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
            raise wrong
        if isinstance(default, str):
            return text
        try:
            value = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
            raise wrong from None
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not type(default):
            raise wrong
        return value


def _parse_comment(comment: str, where: str) -> dict[str, Any]:
    comment = comment.lstrip("#").strip()
    if match := _INTERVAL.match(comment):
        left, lo, hi, right, meaning = match.groups()
        try:
            lower, upper = _number(lo), _number(hi)
        except (ValueError, SyntaxError):
            raise ParameterError(f"{where}: the range bounds {lo!r}, {hi!r} are not numbers") \
                from None
        return {"lower": lower, "upper": upper, "lower_open": left == "(",
                "upper_open": right == ")", "meaning": meaning.strip()}
    if match := _CHOICES.match(comment):
        try:
            choices = ast.literal_eval("(" + match.group(1) + ",)")
        except (ValueError, SyntaxError):
            raise ParameterError(f"{where}: the choices {{{match.group(1)}}} are not literals") \
                from None
        return {"choices": tuple(choices), "meaning": match.group(2).strip()}
    if re.match(r"^in\s*[\[({]", comment):
        raise ParameterError(f"{where}: malformed accepted-values comment {comment!r}; write "
                             "`# in [lo, hi]: meaning` or `# in {\"a\", \"b\"}: meaning`")
    return {"meaning": comment}


def parse_parameters(source: str, where: str = "parameters cell") -> dict[str, Parameter]:
    """Parse the text of a ``parameters`` cell (literal assignments with trailing comments).

    Parameters
    ----------
    source : str
        The cell's source: one ``name = literal  # in [lo, hi]: meaning`` per line.
    where : str, default "parameters cell"
        Names the cell in error messages (``"chapter greens-function, parameters cell"``).

    Returns
    -------
    dict of str to Parameter
        By name, in the cell's order.

    Raises
    ------
    ParameterError
        If the cell is not Python, holds anything but literal assignments, assigns a name twice,
        or has a malformed range comment.

    Examples
    --------
    >>> p = parse_parameters("eps = 0.05  # in (0, 1]: budget")["eps"]
    >>> p.accepted(), p.convert("0.5")
    ('numbers in (0, 1]', 0.5)
    """
    lines = source.splitlines()
    params: dict[str, Parameter] = {}
    try:
        body = ast.parse(source).body
    except SyntaxError as err:
        raise ParameterError(f"{where} line {err.lineno}: not valid Python") from None
    for node in body:
        at = f"{where} line {node.lineno}"
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target = node.target
        else:
            raise ParameterError(f"{at}: only `name = literal` lines are allowed")
        if not isinstance(target, ast.Name):
            raise ParameterError(f"{at}: assign to a plain name")
        try:
            default = ast.literal_eval(node.value)
        except ValueError:
            raise ParameterError(f"{at}: the default of {target.id!r} is not a literal") from None
        rest = lines[node.end_lineno - 1][node.end_col_offset:].strip()
        following = node.end_lineno  # comment-only lines after an assignment continue it
        while following < len(lines) and lines[following].lstrip().startswith("#"):
            rest += " " + lines[following].strip().lstrip("#").strip()
            following += 1
        info = _parse_comment(rest, at) if rest.startswith("#") else {"meaning": ""}
        if target.id in params:
            raise ParameterError(f"{at}: {target.id!r} is assigned twice")
        params[target.id] = Parameter(name=target.id, default=default, **info)
    return params


def notebooks_dir() -> Path:
    """The chapters' folder: ``$SELFDISTILL_NOTEBOOKS`` if set, else the checkout's ``notebooks/``.

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    FileNotFoundError
        Outside a checkout, with ``$SELFDISTILL_NOTEBOOKS`` unset.
    """
    if os.environ.get("SELFDISTILL_NOTEBOOKS"):
        return Path(os.environ["SELFDISTILL_NOTEBOOKS"])
    root = repository_root()
    if root is not None and (root / "notebooks").is_dir():
        return root / "notebooks"
    raise FileNotFoundError("no notebooks/ folder: run from the repository root (editable install)")


_FENCE = re.compile(r"^(`{3,})\{code-cell\}[^\n]*\n(.*?)^\1[ \t]*$", re.M | re.S)


def _split_options(body: str) -> tuple[dict[str, Any], str]:
    """A MyST code cell's ``:key: value`` options (or ``---`` YAML block) and its source."""
    lines = body.splitlines()
    if lines and lines[0].strip() == "---":
        end = lines.index("---", 1)
        import yaml

        return yaml.safe_load("\n".join(lines[1:end])) or {}, "\n".join(lines[end + 1:])
    options: dict[str, Any] = {}
    while lines and (m := re.match(r"^:(\w[\w-]*):\s*(.*)$", lines[0])):
        key, value = m.groups()
        options[key] = [v.strip() for v in value.strip("[]").split(",")] if key == "tags" \
            else value
        lines.pop(0)
    return options, "\n".join(lines).strip("\n")


@dataclass(frozen=True)
class Chapter:
    """A chapter notebook: its name, path, title, parameters and time budget.

    Attributes
    ----------
    name : str
        The chapter's name (its file's stem, e.g. ``greens-function``).
    path : pathlib.Path
        Its Jupytext MyST text source.
    """

    name: str
    path: Path

    def text(self) -> str:
        """The chapter's text source (MyST Markdown)."""
        return self.path.read_text(encoding="utf-8")

    def notebook(self):
        """The notebook as an ``nbformat`` node (read through Jupytext), without outputs."""
        import jupytext

        return jupytext.read(self.path)

    def _split_front_matter(self) -> tuple[str, str]:
        text = self.text()
        if not text.startswith("---\n"):
            return "", text
        end = text.index("\n---", 4)
        return text[4:end], text[end + 4:]

    def front_matter(self) -> dict[str, Any]:
        """The YAML front matter of the chapter's source (empty dict without one)."""
        import yaml

        return yaml.safe_load(self._split_front_matter()[0]) or {}

    @property
    def budget(self) -> float:
        """Seconds this chapter may take at book scale (front matter ``selfdistill: budget``)."""
        own = (self.front_matter().get("selfdistill") or {}).get("budget")
        return float(own) if own is not None else DEFAULT_BUDGET

    @property
    def title(self) -> str:
        """The chapter's title: its first level-one heading outside code."""
        in_code = False
        for line in self._split_front_matter()[1].splitlines():
            if line.startswith("```"):
                in_code = not in_code
            elif not in_code and line.startswith("# "):
                return line[2:].strip()
        return self.name

    def code_cells(self) -> list[tuple[dict[str, Any], str]]:
        """``(options, source)`` of every code cell, read from the MyST text, in order."""
        return [_split_options(m.group(2)) for m in _FENCE.finditer(self.text())]

    def parameters_source(self) -> str:
        """The source of the chapter's one cell tagged ``parameters`` (else ``ParameterError``)."""
        cells = [src for opts, src in self.code_cells() if "parameters" in opts.get("tags", [])]
        if len(cells) != 1:
            raise ParameterError(f"chapter {self.name}: {self.path} must have exactly one cell "
                                 f"tagged 'parameters' (found {len(cells)})")
        return cells[0]

    def parameters(self) -> dict[str, Parameter]:
        """The chapter's parameters by name, parsed by :func:`parse_parameters`."""
        return parse_parameters(self.parameters_source(),
                                where=f"chapter {self.name}, parameters cell")

    def convert(self, given: list[tuple[str, str]]) -> dict[str, Any]:
        """Check command-line ``(name, text)`` pairs against the parameters cell.

        Parameters
        ----------
        given : list of (str, str)
            The ``-p name value`` pairs, in the order given.

        Returns
        -------
        dict of str to object
            Parameter name to its converted value.

        Raises
        ------
        ParameterError
            If a name is unknown (the closest known name is suggested), given twice, or its value is
            refused.
        """
        known = self.parameters()
        values: dict[str, Any] = {}
        for name, text in given:
            if name not in known:
                hint = difflib.get_close_matches(name, known, n=1)
                did_you = f" (did you mean '{hint[0]}'?)" if hint else ""
                raise ParameterError(
                    f"unknown parameter {_shown(name)} for chapter '{self.name}'{did_you}; "
                    f"known: {', '.join(known)}"
                )
            if name in values:
                raise ParameterError(f"parameter '{name}' is given twice; give each once")
            values[name] = known[name].convert(text)
        return values


def find_chapters(folder: Path | None = None) -> dict[str, Chapter]:
    """Every chapter notebook in ``notebooks/``, by name.

    Parameters
    ----------
    folder : pathlib.Path, optional
        The folder of the text sources; :func:`notebooks_dir` when omitted.

    Returns
    -------
    dict of str to Chapter
        By name, sorted.
    """
    folder = folder or notebooks_dir()
    return {p.stem: Chapter(name=p.stem, path=p) for p in sorted(folder.glob("*.md"))}


def get_chapter(name: str) -> Chapter:
    """The chapter called ``name``; an unknown name is refused with the closest names.

    Parameters
    ----------
    name : str
        The chapter's name.

    Returns
    -------
    Chapter
        The chapter.

    Raises
    ------
    ParameterError
        If there is no such chapter.
    """
    chapters = find_chapters()
    if name not in chapters:
        hint = difflib.get_close_matches(name, chapters, n=1)
        did_you = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise ParameterError(f"unknown chapter {_shown(name)}{did_you}; "
                             f"chapters: {', '.join(chapters)}")
    return chapters[name]
