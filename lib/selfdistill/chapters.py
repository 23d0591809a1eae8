"""Chapters and their parameters, read from the notebooks' ``parameters`` cells.

A chapter is a Jupytext MyST notebook ``notebooks/<name>.md``. Its cell tagged ``parameters`` holds
one assignment per line, with a trailing comment that states the accepted values and the meaning::

    eps = 0.05  # in (0, inf): training-error budget ε
    scale = "book"  # in {"book", "paper"}: run size
    seed = 0  # in [0, 4294967295]: random seed

The comment grammar: ``in (lo, hi):``/``[lo, hi]`` (mixed brackets allowed, ``inf`` allowed) or
``in {a, b, ...}:``, then the meaning; or just the meaning. The command line checks a new value's
name, type and range against this before anything runs.
"""

from __future__ import annotations

import ast
import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupytext

from .validate import format_range

__all__ = ["Chapter", "Parameter", "ParameterError", "find_chapters", "notebooks_dir"]

_INTERVAL = re.compile(r"^in\s*([\[(])\s*([^,]+?)\s*,\s*([^\])]+?)\s*([\])])\s*:\s*(.*)$")
_CHOICES = re.compile(r"^in\s*\{(.*)\}\s*:\s*(.*)$")


class ParameterError(ValueError):
    """A parameter given on the command line is unknown or out of range."""


def _number(text: str) -> float:
    text = text.strip()
    if text in ("inf", "+inf"):
        return math.inf
    if text == "-inf":
        return -math.inf
    return float(ast.literal_eval(text))


@dataclass(frozen=True)
class Parameter:
    """One entry of a chapter's ``parameters`` cell."""

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
        return type(self.default).__name__

    def accepted(self) -> str:
        """Human-readable accepted values."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.lower is not None:
            kind = "integers" if isinstance(self.default, int) else "numbers"
            bounds = format_range(self.lower, self.upper, self.lower_open, self.upper_open)
            return f"{kind} in {bounds}"
        return f"any {self.type_name}"

    def convert(self, text: str) -> Any:
        """Parse a command-line string into this parameter's type and check it."""
        value = self._parse(text)
        if self.choices is not None and value not in self.choices:
            raise ParameterError(
                f"parameter '{self.name}' = {value!r} is not accepted; {self.accepted()}"
            )
        if self.lower is not None and isinstance(value, (int, float)):
            low_ok = value > self.lower if self.lower_open else value >= self.lower
            high_ok = value < self.upper if self.upper_open else value <= self.upper
            if not (low_ok and high_ok) or (isinstance(value, float) and math.isnan(value)):
                raise ParameterError(
                    f"parameter '{self.name}' = {value!r} is outside the accepted range: "
                    f"{self.accepted()}"
                )
        return value

    def _parse(self, text: str) -> Any:
        default = self.default
        wrong = ParameterError(
            f"parameter '{self.name}' = {text!r} is not a {self.type_name}; accepted: "
            f"{self.accepted()}"
        )
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
        except (ValueError, SyntaxError):
            raise wrong from None
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not type(default):
            raise wrong
        return value


def _parse_comment(comment: str) -> dict[str, Any]:
    comment = comment.lstrip("#").strip()
    if match := _INTERVAL.match(comment):
        left, lo, hi, right, meaning = match.groups()
        return {"lower": _number(lo), "upper": _number(hi), "lower_open": left == "(",
                "upper_open": right == ")", "meaning": meaning.strip()}
    if match := _CHOICES.match(comment):
        choices = ast.literal_eval("(" + match.group(1) + ",)")
        return {"choices": tuple(choices), "meaning": match.group(2).strip()}
    return {"meaning": comment}


def parse_parameters(source: str) -> dict[str, Parameter]:
    """Parse the text of a ``parameters`` cell (literal assignments with trailing comments)."""
    lines = source.splitlines()
    params: dict[str, Parameter] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target = node.target
        else:
            raise ValueError(f"parameters cell line {node.lineno}: only `name = literal` lines")
        if not isinstance(target, ast.Name):
            raise ValueError(f"parameters cell line {node.lineno}: assign to a plain name")
        default = ast.literal_eval(node.value)
        rest = lines[node.end_lineno - 1][node.end_col_offset:].strip()
        info = _parse_comment(rest) if rest.startswith("#") else {"meaning": ""}
        params[target.id] = Parameter(name=target.id, default=default, **info)
    return params


def notebooks_dir() -> Path:
    """The repository's ``notebooks/`` folder (the package is installed editable from the repo)."""
    here = Path(__file__).resolve().parents[2] / "notebooks"
    if here.is_dir():
        return here
    cwd = Path.cwd() / "notebooks"
    if cwd.is_dir():
        return cwd
    raise FileNotFoundError("no notebooks/ folder: run from the repository root (editable install)")


@dataclass(frozen=True)
class Chapter:
    """A chapter notebook: its name, path, title and parameters."""

    name: str
    path: Path

    def notebook(self):
        """The notebook as an ``nbformat`` node (read through Jupytext)."""
        return jupytext.read(self.path)

    @property
    def title(self) -> str:
        for cell in self.notebook().cells:
            if cell.cell_type == "markdown":
                for line in cell.source.splitlines():
                    if line.startswith("# "):
                        return line[2:].strip()
        return self.name

    def parameters(self) -> dict[str, Parameter]:
        cells = [c for c in self.notebook().cells if "parameters" in c.metadata.get("tags", [])]
        if len(cells) != 1:
            raise ValueError(f"{self.path} must have exactly one cell tagged 'parameters'")
        return parse_parameters(cells[0].source)

    def convert(self, given: list[tuple[str, str]]) -> dict[str, Any]:
        """Check command-line ``(name, text)`` pairs against the parameters cell; return values."""
        known = self.parameters()
        values: dict[str, Any] = {}
        for name, text in given:
            if name not in known:
                hint = difflib.get_close_matches(name, known, n=1)
                did_you = f" (did you mean '{hint[0]}'?)" if hint else ""
                raise ParameterError(
                    f"unknown parameter '{name}' for chapter '{self.name}'{did_you}; "
                    f"known: {', '.join(known)}"
                )
            values[name] = known[name].convert(text)
        return values


def find_chapters(folder: Path | None = None) -> dict[str, Chapter]:
    """Every chapter notebook in ``notebooks/``, by name."""
    folder = folder or notebooks_dir()
    return {p.stem: Chapter(name=p.stem, path=p) for p in sorted(folder.glob("*.md"))}
