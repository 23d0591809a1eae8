"""Reading chapters and checking command-line parameters against their parameters cells."""

from __future__ import annotations

import math

import pytest

from selfdistill.chapters import ParameterError, find_chapters, parse_parameters

CELL = '''
eps = 0.05  # in (0, inf): training-error budget
rounds = 3  # in [1, 20]: rounds of self-distillation
scale = "book"  # in {"book", "paper"}: run size
plot = True  # draw figures
'''


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
