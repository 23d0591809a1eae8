"""The page-level fixes of issue 18 that need no browser: scripts once, the stamp, folded ledger
cells, and the browser test's skip rule."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml
from sphinx.builders.html._assets import _JavaScript

from core import test_browser
from selfdistill import __version__
from selfdistill.core.build import FOLD_TAG, LEDGER_TAG, stage_notebook, toc_chapters
from selfdistill.core.sphinx_page import (
    REPOSITORY_BUTTONS,
    _on_page,
    build_stamp,
    repository_options,
    unique_scripts,
)

REPO = Path(__file__).resolve().parents[2]
THEBE = 'const THEBE_JS_URL = "https://unpkg.com/thebe@0.8.2/lib/index.js"'


def test_identical_inline_scripts_are_kept_once():
    # what sphinx-thebe left on every page: the same body once with filename None, once with ""
    scripts = [_JavaScript("_static/doctools.js"), _JavaScript(None, body=THEBE),
               _JavaScript("_static/sphinx-thebe.js", **{"async": "async"}),
               _JavaScript("", body=THEBE), _JavaScript(None, body="let other = 1")]
    kept = unique_scripts(scripts)
    assert [s.attributes.get("body") for s in kept] == [None, THEBE, None, "let other = 1"]
    assert sum(s.attributes.get("body") == THEBE for s in kept) == 1


def test_page_context_dedupes_scripts_and_sets_a_colour_mode():
    context = {"script_files": [_JavaScript(None, body=THEBE), _JavaScript("", body=THEBE)],
               "default_mode": ""}
    _on_page(None, "notebooks/x", "page.html", context, None)
    assert len(context["script_files"]) == 1
    assert context["default_mode"] == "auto"  # "" made the theme log an error on a first visit
    context = {"default_mode": "dark"}
    _on_page(None, "notebooks/x", "page.html", context, None)
    assert context["default_mode"] == "dark"


def test_stamp_names_version_commit_and_date():
    stamp = build_stamp(REPO)
    head = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=REPO,
                          capture_output=True, text=True).stdout.strip()
    assert stamp.startswith(f"selfdistill {__version__} · commit {head}")
    date = subprocess.run(["git", "log", "-1", "--format=%cs"], cwd=REPO, capture_output=True,
                          text=True).stdout.strip()
    assert stamp.endswith(date)


def test_stamp_without_git(tmp_path):
    assert build_stamp(tmp_path) == f"selfdistill {__version__} · commit unknown"


def test_staged_notebook_folds_ledger_cells_and_drops_run_metadata(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_code_cell("ledger.check_true(...)",
                                          metadata={"tags": [LEDGER_TAG]}),
                nbformat.v4.new_code_cell("ledger.check_at_most(...)",
                                          metadata={"tags": [LEDGER_TAG, FOLD_TAG]}),
                nbformat.v4.new_markdown_cell("text", metadata={"tags": [LEDGER_TAG]})]
    nb.metadata["papermill"] = {"input_path": {"cells": "a second copy"},
                                "output_path": "/work/_build/runs/.x.partial/x.ipynb"}
    nb.cells[0].metadata["papermill"] = {"duration": 0.1}
    nb.cells[0].metadata["execution"] = {"iopub.status.busy": "2026-12-07T02:21:38"}
    source, target = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, source)
    assert stage_notebook(source, target) == 1
    tags = [c.metadata.get("tags", []) for c in nbformat.read(target, as_version=4).cells]
    assert tags == [[], [LEDGER_TAG, FOLD_TAG], [LEDGER_TAG, FOLD_TAG], [LEDGER_TAG]]
    assert nbformat.read(source, as_version=4).cells[1].metadata["tags"] == [LEDGER_TAG]
    staged = target.read_text(encoding="utf-8")
    assert "papermill" not in staged and "_build" not in staged and "iopub" not in staged


@pytest.mark.parametrize("ci, outcome", [("true", pytest.fail.Exception),
                                         ("", pytest.skip.Exception)])
def test_browser_tests_skip_without_chromium_except_in_ci(monkeypatch, tmp_path, ci, outcome):
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "no-such-chromium"))
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="chromium"):
        test_browser._need_browser()


def test_browser_tests_skip_without_a_build(monkeypatch, tmp_path):
    monkeypatch.setattr(test_browser, "HTML", tmp_path)
    monkeypatch.setattr(test_browser, "chromium_path", lambda: "/usr/bin/chromium")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="no built book"):
        test_browser._need_browser()


def test_links_to_missing_files_and_anchors_are_broken(tmp_path):
    (tmp_path / "a.html").write_text('<p id="here">x</p>', encoding="utf-8")
    base = "http://127.0.0.1:8000/"
    report = test_browser.PageReport("b.html", 1280, links=[
        base + "a.html#here", base + "a.html#gone", base + "missing.html",
        "https://example.org/x", base + "a.html"])
    broken = test_browser.broken_links(tmp_path, report)
    assert broken == [f"b.html: {base}a.html#gone (no such anchor)",
                      f"b.html: {base}missing.html (no such file)"]


def test_buttons_follow_the_one_repository_url():
    off = repository_options({"repository_url": "", "use_issues_button": True})
    assert not any(off[key] for key in REPOSITORY_BUTTONS) and off["launch_buttons"] == {}
    assert "repository_url" not in off
    url = "https://github.com/someone/selfdistill"
    on = repository_options({"repository_url": url})
    assert all(on[key] for key in REPOSITORY_BUTTONS) and on["repository_url"] == url
    assert on["launch_buttons"]["binderhub_url"] and "colab_url" not in on["launch_buttons"]


def test_config_names_the_repository_in_one_place_only():
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    assert "url" in config["repository"]
    html = config.get("html", {})
    assert not any(key in html for key in REPOSITORY_BUTTONS + ("launch_buttons",)), \
        "buttons are derived from repository.url, not set by hand"
    assert "launch_buttons" not in config
    hosts = re.compile(r"https?://(?:www\.)?(github\.com|gitlab\.com|bitbucket\.org|mybinder\.org"
                       r"|colab\.research\.google\.com)/?[^\s\"'`)<>]*")
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split()
    allowed = {"lib/selfdistill/core/sphinx_page.py": {"https://mybinder.org"}}
    stray = []
    for name in files:
        path = REPO / name
        if (name in SELF or name.startswith("tests/golden/") or path.suffix not in TEXT
                or not path.is_file()):
            continue
        for match in hosts.finditer(path.read_text(encoding="utf-8", errors="replace")):
            found = match.group(0)
            if config["repository"]["url"] and found.startswith(config["repository"]["url"]):
                continue
            if found not in allowed.get(name, set()):
                stray.append(f"{name}: {found}")
    assert not stray, "repository URLs outside _config.yml's repository.url:\n" + "\n".join(stray)


SELF = {"tests/core/test_book_pages.py"}  # names example URLs on purpose
TEXT = {".md", ".py", ".yml", ".yaml", ".toml", ".cff", ".sh", ".txt", ".css", ".html", ".cfg"}


def test_workflow_runs_the_readme_command_and_deploys_only_from_main():
    flow = yaml.safe_load((REPO / ".github" / "workflows" / "book.yml").read_text(encoding="utf-8"))
    build = flow["jobs"]["build"]
    assert build["env"]["CI"] == "true"  # the browser test runs rather than skips
    assert any(step.get("run") == "bash .ci/run" for step in build["steps"])
    assert "scripts/test.sh" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
    deploy = flow["jobs"]["deploy"]
    assert deploy["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert "pull_request" in flow[True]  # PyYAML reads the key `on` as True


def _launch_links(theme: dict, pagename: str, source: Path) -> list[dict]:
    """The launch buttons the theme draws for a chapter, after this book's page handler."""
    from types import SimpleNamespace

    from sphinx_book_theme.header_buttons.launch import add_launch_buttons

    options = repository_options(theme)
    org, repo = options["repository_url"].rstrip("/").rsplit("/", 2)[1:]
    app = SimpleNamespace(config={"html_theme_options": options}, outdir=str(source.parent),
                          env=SimpleNamespace(doc2path=lambda name: str(source),
                                              metadata={pagename: {"kernelspec": {}}}))
    context = {"pagename": pagename, "sourcename": f"{pagename}{source.suffix}",
               "page_source_suffix": source.suffix, "header_buttons": [],
               "github_url": "https://github.com", "github_user": org, "github_repo": repo}
    add_launch_buttons(app, pagename, "page.html", context, None)
    _on_page(app, pagename, "page.html", context, None)
    return [b for group in context["header_buttons"] if group["label"] == "launch-buttons"
            for b in group["buttons"]]


@pytest.mark.slow
def test_launch_buttons_open_a_notebook_the_repository_holds(tmp_path):
    """With a repository URL set, every launch link names a file in git that the service opens.

    The book renders chapters from their executed copies (``_build/src/notebooks/*.ipynb``),
    which the repository does not hold: Binder must open the Jupytext ``.md`` (a notebook for
    JupyterLab with Jupytext), and Colab, which opens only GitHub ``.ipynb`` files, must be off.
    """
    from jupyter_book.config import get_final_config

    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    config["repository"]["url"] = "https://github.com/someone/selfdistill"
    sphinx, _ = get_final_config(user_yaml=config, cli_config={"latex_individualpages": False},
                                 sourcedir=REPO, validate=False)
    theme = sphinx["html_theme_options"]
    tracked = set(subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                                 check=True).stdout.split())
    staged = tmp_path / "_build" / "src" / "notebooks"
    checked = 0
    for chapter in toc_chapters(REPO):
        links = _launch_links(theme, f"notebooks/{chapter}", staged / f"{chapter}.ipynb")
        assert [b["text"] for b in links] == ["Binder"], "Colab cannot open the text chapters"
        for button in links:
            branch = config["repository"]["branch"]
            prefix = f"https://mybinder.org/v2/gh/someone/selfdistill/{branch}?urlpath=lab/tree/"
            assert button["url"].startswith(prefix), button["url"]
            path = button["url"][len(prefix):]
            assert path in tracked, f"{chapter}: Binder would open {path}, not in the repository"
            assert "jupytext:" in (REPO / path).read_text(encoding="utf-8")[:400], path
            checked += 1
    assert checked == len(toc_chapters(REPO)) > 0
