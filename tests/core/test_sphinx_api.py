"""The API reference: chapters link their library calls; a call with no entry fails the build."""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from selfdistill.core.paths import repository_root
from selfdistill.core.sphinx_api import library_calls, library_imports, resolve_name

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "data", "training", "mobahi2020", "zhang2020", "dong2019", "plots")


def test_imports_are_read_from_code_cells():
    code = ("%matplotlib inline\nimport numpy as np\nimport selfdistill.plots.style as st\n"
            "from selfdistill.mobahi2020 import (\n    gram, oracles as orc,\n)\n"
            "from selfdistillery import nothing\nfrom . import relative\n")
    found = [(i.alias, i.module, i.name) for i in library_imports(code)]
    assert found == [("st", "selfdistill.plots.style", ""),
                     ("gram", "selfdistill.mobahi2020", "gram"),
                     ("orc", "selfdistill.mobahi2020", "oracles")]
    assert library_imports("this is not python(") == []


def test_calls_through_a_module_alias_count_in_order_of_first_use():
    cells = ["from selfdistill.plots import mobahi2020 as figs\n"
             "from selfdistill.core import Ledger",
             "figs.plot_fits(x)\nother.figs.plot_no(x)\nfigs.plot_c_of_eps(s); figs.plot_fits(x)"]
    assert library_calls(cells) == {
        "selfdistill.plots": ["mobahi2020"],
        "selfdistill.core": ["Ledger"],
        "selfdistill.plots.mobahi2020": ["plot_fits", "plot_c_of_eps"],
    }


def test_names_resolve_to_where_they_are_documented():
    objects = {"selfdistill.core.paths.repository_root": 0, "selfdistill.core.paths": 0,
               "selfdistill.plots.mobahi2020_fits.plot_fits": 0,
               "selfdistill.x.a.twin": 0, "selfdistill.x.b.twin": 0}
    assert resolve_name(objects, "selfdistill.core", "paths") == "selfdistill.core.paths"
    # a package's re-export: where the object is defined
    assert resolve_name(objects, "selfdistill.core", "repository_root") == \
        "selfdistill.core.paths.repository_root"
    # a module's re-export of another module's function
    assert resolve_name(objects, "selfdistill.plots.mobahi2020", "plot_fits") == \
        "selfdistill.plots.mobahi2020_fits.plot_fits"
    assert resolve_name(objects, "selfdistill.core", "Ledger") is None  # not documented
    assert resolve_name(objects, "selfdistill.x", "twin") is None  # ambiguous: no guess


def _build(tmp_path: Path, chapter: str) -> tuple[str, str]:
    """A tiny book (the API of core.paths, one chapter) built with the extension."""
    src = tmp_path / "src"
    (src / "notebooks").mkdir(parents=True)
    (src / "conf.py").write_text(
        'extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", '
        '"selfdistill.core.sphinx_api"]\n', encoding="utf-8")
    (src / "index.rst").write_text(
        "API\n===\n\n.. automodule:: selfdistill.core\n\n"
        ".. automodule:: selfdistill.core.paths\n   :members:\n\n"
        ".. toctree::\n\n   notebooks/ch\n", encoding="utf-8")
    (src / "notebooks" / "ch.rst").write_text(chapter, encoding="utf-8")
    # in its own process: Sphinx registers docutils nodes globally, once per process
    done = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-E", "-b", "html", str(src),
                           str(tmp_path / "html")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return (tmp_path / "html" / "notebooks" / "ch.html").read_text(encoding="utf-8"), done.stderr


CHAPTER = """Chapter
=======

The root comes from ``repository_root()``; again ``repository_root()``.

.. code-block:: python

   from selfdistill.core import paths
   root = paths.repository_root()
"""


def test_a_chapter_links_its_calls_and_their_first_mention(tmp_path):
    page, warnings = _build(tmp_path, CHAPTER)
    assert "WARNING" not in warnings, warnings
    target = 'href="../index.html#selfdistill.core.paths.repository_root"'
    assert page.count(target) == 2  # the box after the import cell, and the first mention only
    # the module imported by name is one line of the box, with the call made through it, and
    # not also a name on its package's line
    assert page.count('href="../index.html#module-selfdistill.core.paths"') == 1
    assert 'href="../index.html#module-selfdistill.core"' not in page
    box = page.index("selfdistill-api")
    assert page.index("from") < box  # after the import cell
    assert page.index(target) < page.index("again")  # the first mention, not the second


def test_a_call_without_an_entry_fails_the_strict_build(tmp_path):
    _, warnings = _build(tmp_path, CHAPTER.replace("import paths", "import paths, stats"))
    assert "notebooks/ch uses selfdistill.core.stats, which has no entry" in warnings


def test_every_api_page_documents_every_module_of_its_package():
    for package in PACKAGES:
        page = (REPO / "book" / "api" / f"{package}.md").read_text(encoding="utf-8")
        documented = re.findall(r"^\.\. automodule:: (\S+)$", page, flags=re.MULTILINE)
        modules = [f"selfdistill.{package}"] + [
            f"selfdistill.{package}.{m.name}" for m in pkgutil.iter_modules(
                importlib.import_module(f"selfdistill.{package}").__path__)]
        if package == "core":
            modules.append("selfdistill.cli")  # the command line, above every package
        assert sorted(documented) == sorted(modules), package


def test_api_pages_are_in_the_book_and_the_extension_is_on():
    assert repository_root() == REPO
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    extensions = config["sphinx"]["extra_extensions"]
    for name in ("sphinx.ext.autodoc", "sphinx.ext.napoleon", "selfdistill.core.sphinx_api"):
        assert name in extensions
    toc = (REPO / "_toc.yml").read_text(encoding="utf-8")
    for package in PACKAGES:
        assert f"- file: book/api/{package}\n" in toc


@pytest.mark.parametrize("chapter", sorted(p.stem for p in (REPO / "notebooks").glob("*.md")))
def test_every_chapter_imports_the_library(chapter):
    """The box needs an import cell: a chapter without one would link nothing, silently."""
    text = (REPO / "notebooks" / f"{chapter}.md").read_text(encoding="utf-8")
    assert library_calls(re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, flags=re.S))


def test_a_class_method_call_is_not_read_as_a_module():
    """``Ledger.for_chapter(...)`` uses the class ``Ledger``, not a module
    ``selfdistill.core.Ledger`` (the strict build warned on every chapter when it was read so)."""
    from selfdistill.core.sphinx_api import library_calls

    cells = ["from selfdistill.core import Ledger\nfrom selfdistill.plots import mobahi2020 as f",
             "ledger = Ledger.for_chapter('x', globals())\nf.plot_fits(1)"]
    assert library_calls(cells) == {"selfdistill.core": ["Ledger"],
                                    "selfdistill.plots": ["mobahi2020"],
                                    "selfdistill.plots.mobahi2020": ["plot_fits"]}
