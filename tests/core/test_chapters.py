"""Reading chapters and checking command-line parameters against their parameters cells."""

from __future__ import annotations

import math
import re

import pytest

from selfdistill.core.chapters import ParameterError, find_chapters, parse_parameters

CELL = '''
eps = 0.05  # in (0, inf): training-error budget
rounds = 3  # in [1, 20]: rounds of self-distillation
scale = "book"  # in {"book", "paper"}: run size
plot = True  # draw figures
'''


def test_comment_lines_continue_the_meaning():
    p = parse_parameters('tau = 0.5  # in [0.4, 0.6]: a basis function counts\n'
                         '#   if its weight is at least tau times the largest\n'
                         'k = 2  # in [1, 3]: rounds\n')
    assert (p["tau"].lower, p["tau"].upper) == (0.4, 0.6)
    assert p["tau"].meaning == ("a basis function counts if its weight is at least tau times "
                                "the largest")
    assert p["k"].meaning == "rounds"


def test_parse_ranges_choices_and_meanings():
    p = parse_parameters(CELL)
    assert list(p) == ["eps", "rounds", "scale", "plot"]
    assert (p["eps"].lower, p["eps"].upper, p["eps"].lower_open) == (0.0, math.inf, True)
    assert p["rounds"].accepted() == "integers in [1, 20]"
    assert p["scale"].choices == ("book", "paper")
    assert p["plot"].meaning == "draw figures"


@pytest.mark.parametrize("name, text, value", [
    ("eps", "0.02", 0.02), ("eps", "1", 1.0), ("rounds", "20", 20), ("scale", "paper", "paper"),
    ("plot", "false", False),
])
def test_convert_accepts(name, text, value):
    assert parse_parameters(CELL)[name].convert(text) == value


@pytest.mark.parametrize("name, text, message", [
    ("eps", "0", "outside the accepted range"), ("eps", "nan", "is not a float"),
    ("eps", "abc", "is not a float"), ("rounds", "2.5", "is not a int"),
    ("rounds", "21", "integers in [1, 20]"), ("scale", "huge", "one of 'book', 'paper'"),
    ("plot", "maybe", "is not a bool"),
])
def test_convert_refuses_with_name_value_and_range(name, text, message):
    with pytest.raises(ParameterError, match=name) as err:
        parse_parameters(CELL)[name].convert(text)
    assert message in str(err.value) and text in str(err.value)


def test_every_chapter_has_a_documented_parameters_cell():
    chapters = find_chapters()
    assert "greens-function" in chapters
    for chapter in chapters.values():
        params = chapter.parameters()
        assert params, chapter.name
        for p in params.values():
            assert p.meaning, f"{chapter.name}: parameter {p.name} has no meaning comment"
            p.convert(str(p.default))  # each default is itself accepted


def test_unknown_parameter_suggests_the_close_name():
    chapter = find_chapters()["greens-function"]
    with pytest.raises(ParameterError, match="unknown parameter 'epss'.*did you mean 'eps'"):
        chapter.convert([("epss", "0.1")])


# --- the book's structure: one chapter list, said once ------------------------------------------

REPO = find_chapters()["greens-function"].path.parents[1]
ALL = sorted(find_chapters())


@pytest.mark.parametrize("name", ALL)
def test_light_reader_agrees_with_jupytext(name):
    """`selfdistill list` reads MyST text directly; it must see what Jupytext (the run) sees."""
    chapter = find_chapters()[name]
    nb = chapter.notebook()
    code = [c for c in nb.cells if c.cell_type == "code"]
    light = chapter.code_cells()
    assert [src for _, src in light] == [c.source for c in code]
    assert [sorted(o.get("tags", [])) for o, _ in light] == \
        [sorted(c.metadata.get("tags", [])) for c in code]
    heading = next(line for c in nb.cells if c.cell_type == "markdown"
                   for line in c.source.splitlines() if line.startswith("# "))
    assert chapter.title == heading[2:].strip()


def test_toc_notebooks_and_readme_agree():
    from selfdistill.core.build import toc_chapters

    in_toc = toc_chapters(REPO)
    assert sorted(in_toc) == ALL, "every notebook is a chapter of _toc.yml and vice versa"
    assert len(in_toc) == len(set(in_toc))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    listed = re.findall(r"`notebooks/([\w-]+)\.md`", readme)
    assert sorted(listed) == ALL, "the README's chapter table lists exactly the chapters"


@pytest.mark.parametrize("name", ALL)
def test_code_lines_fit_the_page(name):
    """The book shows about 80 characters of code; longer lines are cut off on the right."""
    chapter = find_chapters()[name]
    long = [line for _, src in chapter.code_cells() for line in src.splitlines()
            if len(line) > 80]
    assert not long, f"{name}: {len(long)} code lines over 80 characters, e.g. {long[0]!r}"


@pytest.mark.parametrize("name", ALL)
def test_chapter_ends_with_its_claims_table(name):
    cells = find_chapters()[name].code_cells()
    assert cells[-1][1].strip() == "ledger.finish()", f"{name}: last code cell must close the run"


@pytest.mark.parametrize("name", ALL)
def test_figures_have_caption_alt_text_and_are_referred_to(name):
    """A reader needs the caption; a screen reader needs the alt text; the prose refers to each
    figure by its name."""
    chapter = find_chapters()[name]
    text = chapter.text()
    for options, _ in chapter.code_cells():
        figure = (options.get("mystnb") or {}).get("figure")
        if figure is None:
            continue
        assert figure.get("caption") and figure.get("name"), f"{name}: figure without caption/name"
        alt = ((options.get("mystnb") or {}).get("image") or {}).get("alt")
        assert alt, f"{name}: figure {figure['name']} has no alt text (mystnb: image: alt:)"
        refs = re.findall(r"\{(?:numref|ref)\}`[^`]*?<?" + re.escape(figure["name"]) + ">?`", text)
        assert refs, f"{name}: the prose never refers to figure {figure['name']}"


def test_equation_and_figure_labels_are_unique_across_the_book():
    """Sphinx warns on a duplicate label (and -W fails the build late); catch it at once."""
    seen: dict[str, str] = {}
    for name in ALL:
        text = find_chapters()[name].text()
        labels = re.findall(r"^:label: *(\S+)", text, re.M)
        labels += re.findall(r"^ *name: *(fig-\S+)", text, re.M)
        labels += re.findall(r"^\(([\w-]+)\)=$", text, re.M)
        for label in labels:
            assert label not in seen, f"label {label} in {name} and {seen[label]}"
            seen[label] = name



@pytest.mark.parametrize("name", ALL)
def test_glue_keys_are_glued_once(name):
    """A key glued twice is a warning, and the book builds with warnings as errors."""
    keys = re.findall(r"\bglue\(\s*[\"']([^\"']+)[\"']", find_chapters()[name].text())
    twice = sorted({k for k in keys if keys.count(k) > 1})
    assert not twice, f"{name}: glued twice: {twice}"
