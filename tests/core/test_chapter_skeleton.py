"""Every chapter follows one skeleton, in the order a reader expects.

The skeleton (see ``book/intro.md``, "How a claim is verified"):

1. the Jupytext front matter;
2. the title, the only level-1 heading, and an opening paragraph;
3. the provenance box, "What the paper says, and what this chapter adds";
4. ``## Parameters``, holding the ``parameters`` cell (and the set-up cell);
5. the chapter's own sections: the result, its derivation, the computation, the independent
   checks, figures, the paper-scale note;
6. ``## The claims of this chapter``, whose one code cell, ``ledger.finish()``, prints the claims
   table and is the chapter's last code cell;
7. ``## Summary``: what the results mean;
8. ``## Exercises``: numbered exercises, each directly followed by its own dropdown solution,
   ``{admonition} Solution N`` with ``:class: dropdown``;
9. the "Rerun this chapter" box with the exact ``selfdistill run`` command, last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from selfdistill.core.chapters import find_chapters

ALL = sorted(find_chapters())

PROVENANCE = re.compile(r"^What the papers? says?, and what this chapter adds$")
CLAIMS, SUMMARY, EXERCISES = "The claims of this chapter", "Summary", "Exercises"
TAIL = [CLAIMS, SUMMARY, EXERCISES]
RERUN = "Rerun this chapter"
_FENCE_OPEN = re.compile(r"^(`{3,})(\{[\w:-]+\})?[ \t]*(.*)$")
_ITEM = re.compile(r"^(\d+)\.[ \t]+\S")


@dataclass
class Block:
    """One top-level piece of a chapter: ``kind`` is heading, code, directive, item or text."""

    kind: str
    line: int
    title: str = ""  # a heading's text, a directive's argument
    name: str = ""  # a directive's name (``admonition``, ``prf:proof``, ...)
    level: int = 0  # a heading's level, an item's number
    options: dict[str, str] = field(default_factory=dict)
    body: str = ""


def blocks(text: str) -> list[Block]:
    """Split a MyST chapter into its top-level blocks, in order, skipping the front matter.

    Fences are not nested in the chapters (checked: no four-backtick or colon fences), so a
    fence runs from its opening line to the next line of as many backticks and nothing else.
    """
    lines = text.splitlines()
    out: list[Block] = []
    i = lines.index("---", 1) + 1 if lines and lines[0] == "---" else 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE_OPEN.match(line)
        if fence:
            ticks, name, arg = fence.group(1), (fence.group(2) or "{}")[1:-1], fence.group(3)
            end = i + 1
            while end < len(lines) and lines[end].rstrip() != ticks:
                end += 1
            assert end < len(lines), f"line {i + 1}: fence never closed"
            inner = lines[i + 1:end]
            options = {}
            while inner and inner[0].startswith(":") and ":" in inner[0][1:]:
                key, _, value = inner.pop(0)[1:].partition(":")
                options[key.strip()] = value.strip()
            kind = "code" if name == "code-cell" else "directive"
            out.append(Block(kind, i + 1, title=arg.strip(), name=name, options=options,
                             body="\n".join(inner).strip()))
            i = end + 1
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if heading:
            out.append(Block("heading", i + 1, title=heading.group(2).strip(),
                             level=len(heading.group(1))))
        elif _ITEM.match(line):
            out.append(Block("item", i + 1, level=int(_ITEM.match(line).group(1)), body=line))
        elif line.strip():
            last = out[-1] if out else None
            if line.startswith(" ") and last and last.kind == "item":
                last.body += "\n" + line  # an item's continuation line
            elif last and last.kind in ("text", "item") and lines[i - 1].strip():
                last.body += "\n" + line  # the paragraph (or a lazy item line) goes on
            else:
                out.append(Block("text", i + 1, body=line))
        i += 1
    return out


def chapter_blocks(name: str) -> list[Block]:
    return blocks(find_chapters()[name].text())


def sections(parts: list[Block]) -> list[tuple[Block, list[Block]]]:
    """``(heading, blocks up to the next level-2 heading)`` for every level-2 heading."""
    out: list[tuple[Block, list[Block]]] = []
    for block in parts:
        if block.kind == "heading" and block.level <= 2:
            if block.level == 2:
                out.append((block, []))
        elif out:
            out[-1][1].append(block)
    return out


def where(name: str, block: Block) -> str:
    return f"{name}.md line {block.line}"


@pytest.mark.parametrize("name", ALL)
def test_front_matter_title_and_provenance_box_open_the_chapter(name):
    meta = find_chapters()[name].front_matter()
    assert meta.get("jupytext") and meta.get("kernelspec"), f"{name}: no Jupytext front matter"
    parts = chapter_blocks(name)
    assert parts[0].kind == "heading" and parts[0].level == 1, f"{name}: must open with its title"
    titles = [b for b in parts if b.kind == "heading" and b.level == 1]
    assert len(titles) == 1, f"{name}: one title, found {[t.title for t in titles]}"
    first_h2 = next(i for i, b in enumerate(parts) if b.kind == "heading" and b.level == 2)
    opening = parts[1:first_h2]
    assert opening and opening[0].kind == "text", f"{name}: an opening paragraph after the title"
    boxes = [b for b in opening if b.kind == "directive" and PROVENANCE.match(b.title)]
    assert len(boxes) == 1, f"{name}: one provenance box before the first section"
    assert not [b for b in opening if b.kind == "code"], f"{name}: code before ## Parameters"


@pytest.mark.parametrize("name", ALL)
def test_parameters_come_first(name):
    secs = sections(chapter_blocks(name))
    heading, body = secs[0]
    assert heading.title == "Parameters", f"{name}: the first section must be ## Parameters"
    code = [b for b in body if b.kind == "code"]
    assert code and "parameters" in code[0].options.get("tags", ""), (
        f"{where(name, heading)}: ## Parameters must open with the parameters cell")


@pytest.mark.parametrize("name", ALL)
def test_claims_summary_exercises_close_the_chapter_in_this_order(name):
    titles = [h.title for h, _ in sections(chapter_blocks(name))]
    for title in TAIL:
        assert titles.count(title) == 1, f"{name}: ## {title} {titles.count(title)} times"
    assert titles[-len(TAIL):] == TAIL, (
        f"{name}: the chapter must end with the sections {TAIL}, in that order; "
        f"its last sections are {titles[-len(TAIL):]}")


@pytest.mark.parametrize("name", ALL)
def test_claims_section_holds_only_the_claims_table(name):
    secs = dict((h.title, body) for h, body in sections(chapter_blocks(name)))
    body = secs.get(CLAIMS)
    assert body is not None, f"{name}: no ## {CLAIMS}"
    assert [b.kind for b in body] == ["code"] and body[0].body == "ledger.finish()", (
        f"{name}: ## {CLAIMS} holds exactly the cell `ledger.finish()`, "
        f"found {[b.kind for b in body]}")
    later = [b for h, bs in sections(chapter_blocks(name)) if h.title in TAIL[1:]
             for b in bs if b.kind == "code"]
    assert not later, f"{where(name, later[0])}: no code after the claims table"


@pytest.mark.parametrize("name", ALL)
def test_summary_says_what_the_results_mean(name):
    secs = dict((h.title, body) for h, body in sections(chapter_blocks(name)))
    body = secs.get(SUMMARY, [])
    assert any(b.kind in ("text", "item") for b in body), f"{name}: ## {SUMMARY} is empty"


def _is_solution(block: Block, number: int) -> bool:
    return (block.kind == "directive" and block.name == "admonition"
            and block.title == f"Solution {number}"
            and "dropdown" in block.options.get("class", "").split()
            and bool(block.body))


@pytest.mark.parametrize("name", ALL)
def test_every_exercise_has_its_own_dropdown_solution_below_it(name):
    secs = dict((h.title, body) for h, body in sections(chapter_blocks(name)))
    body = secs.get(EXERCISES)
    assert body is not None, f"{name}: no ## {EXERCISES}"
    exercises = [b for b in body if b.kind == "item"]
    dropdowns = [b for b in body
                 if b.kind == "directive" and "dropdown" in b.options.get("class", "")]
    assert exercises, f"{name}: ## {EXERCISES} has no numbered exercise"
    assert len(dropdowns) == len(exercises), (
        f"{name}: {len(exercises)} exercises but {len(dropdowns)} solution dropdowns")
    pairs = body[:2 * len(exercises)]
    for k, number in enumerate(range(1, len(exercises) + 1)):
        item, solution = pairs[2 * k], pairs[2 * k + 1]
        assert item.kind == "item" and item.level == number, (
            f"{where(name, item)}: exercise {number} expected here")
        assert _is_solution(solution, number), (
            f"{where(name, solution)}: exercise {number} must be followed directly by "
            f"```{{admonition}} Solution {number}``` with :class: dropdown")


@pytest.mark.parametrize("name", ALL)
def test_rerun_box_comes_last_with_the_command(name):
    parts = chapter_blocks(name)
    boxes = [b for b in parts if b.kind == "directive" and b.title == RERUN]
    assert len(boxes) == 1, f"{name}: one '{RERUN}' box, found {len(boxes)}"
    assert parts[-1] is boxes[0], f"{name}: the '{RERUN}' box must close the chapter"
    assert "tip" in boxes[0].options.get("class", ""), f"{name}: the rerun box is a tip"
    assert re.search(rf"selfdistill run {re.escape(name)}\b", boxes[0].body), (
        f"{name}: the rerun box must give the command `selfdistill run {name} ...`")


def test_the_splitter_sees_what_a_reader_sees():
    """Comment lines in code cells are not headings; items keep their continuation lines."""
    text = """---
kernelspec: {}
---

# Title

Opening.

## Parameters

```{code-cell} ipython3
:tags: [parameters]

# not a heading
x = 1
```

## Exercises

1. First,
   continued.

```{admonition} Solution 1
:class: dropdown

Yes.
```
"""
    parts = blocks(text)
    assert [b.kind for b in parts] == ["heading", "text", "heading", "code", "heading", "item",
                                       "directive"]
    assert parts[3].options == {"tags": "[parameters]"} and parts[3].body.startswith("# not")
    assert parts[5].body.endswith("continued.") and _is_solution(parts[6], 1)
    assert not _is_solution(parts[6], 2)
