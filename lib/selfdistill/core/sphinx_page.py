"""Sphinx extension: every page's scripts loaded once, and a version, commit and date stamp.

* **Scripts once.** sphinx-thebe and sphinx-togglebutton add their inline configuration scripts on
  an event Jupyter Book fires twice, so every page declared ``const THEBE_JS_URL`` twice and
  Chromium reported ``Identifier 'THEBE_JS_URL' has already been declared`` (issue 18 §9). The page
  context keeps the first of identical scripts.
* **Mode.** The theme's ``default_mode`` page variable is ``auto``: unset, a reader's first
  visit logged ``Got invalid theme mode: .`` in the console.
* **One search box.** ``navbar_persistent`` is empty: newer pydata-sphinx-theme releases draw a
  second search box in a top bar that sphinx-book-theme does not use.
* **One repository URL.** ``repository: url:`` in ``_config.yml`` turns the repository, issue,
  edit and Binder launch buttons on together; while it is empty they are all off
  (:func:`repository_options`). Binder opens the chapter's text source, the file the repository
  holds (:func:`launch_text_sources`); there is no Colab button (Colab opens only ``.ipynb``
  files from GitHub, and the repository keeps chapters as text).
* **Jupyter-ready downloads.** After the build, each chapter's ``.ipynb`` download in ``_sources/``
  is rewritten by :func:`selfdistill.core.notebook_export.jupyter_ready`: no MyST markup, no
  papermill metadata, no build paths.
* **Stamp.** The footer of every page says which version of the library, which commit (``-dirty``
  when the work tree had changes) and which commit date built it: :func:`build_stamp`.
"""

from __future__ import annotations

import html
import json
import subprocess
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

__all__ = ["build_stamp", "launch_text_sources", "repository_options", "unique_scripts"]


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def build_stamp(root: Path) -> str:
    """``selfdistill 0.1.0 · commit abc1234 · 2026-12-07`` for the book at ``root``.

    The date is the commit's (so a rebuild of one commit stamps the same page); ``-dirty`` follows
    the commit when the work tree had changes; without git the stamp says ``commit unknown``.

    Parameters
    ----------
    root : pathlib.Path
        The book's source folder (inside a git checkout, or not).

    Returns
    -------
    str
        The stamp.
    """
    from selfdistill import __version__

    commit = _git(root, "rev-parse", "--short=10", "HEAD")
    if commit is None:
        return f"selfdistill {__version__} · commit unknown"
    if _git(root, "status", "--porcelain", "--untracked-files=no"):
        commit += "-dirty"
    date = (_git(root, "log", "-1", "--format=%cs") or "").strip()
    return f"selfdistill {__version__} · commit {commit}" + (f" · {date}" if date else "")


def unique_scripts(scripts: list) -> list:
    """The scripts in order, each (file, attributes and body) kept once.

    Parameters
    ----------
    scripts : list
        The page context's ``script_files`` (Sphinx's ``JavaScript`` entries or plain names).

    Returns
    -------
    list
        ``scripts`` without repeats, the first of each kept.
    """
    seen: set[tuple] = set()
    kept = []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        # the same inline script is registered once with filename None and once with ""
        key = (str(getattr(script, "filename", script) or ""), getattr(script, "priority", 0),
               tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    return kept


#: the header buttons that one repository URL turns on (sphinx-book-theme options)
REPOSITORY_BUTTONS = ("use_repository_button", "use_issues_button", "use_edit_page_button")
#: where the launch buttons open a chapter (with the repository URL). Binder only: a chapter is a
#: Jupytext MyST ``.md`` file in the repository (:func:`launch_text_sources` points Binder at it),
#: and Colab opens only ``.ipynb`` files from GitHub, of which the repository has none. A Colab
#: reader uploads the page's downloaded ``.ipynb`` (:mod:`selfdistill.core.notebook_export`).
LAUNCH_BUTTONS = {"binderhub_url": "https://mybinder.org",
                  "notebook_interface": "jupyterlab"}
#: the chapters' folder in the repository and in the book, and their text suffix
CHAPTERS, TEXT_SUFFIX = "notebooks/", ".md"


def repository_options(options: dict) -> dict:
    """Theme options with every repository-driven button on if a repository URL is set, else off.

    ``repository: url:`` in ``_config.yml`` is the one place the book's repository is named
    (Jupyter Book passes it on as ``repository_url``): it drives the repository, open-issue and
    edit-this-page buttons and the Binder launch button together.

    Parameters
    ----------
    options : dict
        ``html_theme_options`` as Jupyter Book sets them.

    Returns
    -------
    dict
        A new dict: the buttons and launch buttons set from ``repository_url``; without a URL
        every one is off and ``repository_url`` is dropped.

    Examples
    --------
    >>> repository_options({"repository_url": ""})["use_repository_button"]
    False
    """
    url = str(options.get("repository_url") or "").strip()
    updated = dict(options)
    for key in REPOSITORY_BUTTONS:
        updated[key] = bool(url)
    updated["launch_buttons"] = dict(LAUNCH_BUTTONS) if url else {}
    if not url:
        updated.pop("repository_url", None)
    return updated


def launch_text_sources(buttons: list, pagename: str) -> int:
    """Point the launch links of a chapter at its text source; returns how many it changed.

    The book renders a chapter from its executed copy ``notebooks/<name>.ipynb``, so the theme's
    launch links name that file, which the repository does not hold: its chapter is
    ``notebooks/<name>.md``, a Jupytext notebook that Binder's JupyterLab (with Jupytext, a
    dependency of the library) opens as a notebook through *Open With → Notebook*.

    Parameters
    ----------
    buttons : list of dict
        The theme's header buttons (its ``header_buttons`` context): the group labelled
        ``launch-buttons`` is changed in place, the others are left alone.
    pagename : str
        The page's docname (``notebooks/sd-rounds``).

    Returns
    -------
    int
        How many launch links now name the text source.
    """
    executed, text = f"{pagename}.ipynb", f"{pagename}{TEXT_SUFFIX}"
    changed = 0
    for group in buttons:
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            url = str(button.get("url", ""))
            if executed in url:
                button["url"] = url.replace(executed, text)
                changed += 1
    return changed


def _on_page_early(app: Sphinx, pagename: str, templatename: str, context: dict,
                   doctree) -> None:
    # a chapter built from its text (``jupyter-book build .``): offer the executed notebook too,
    # which _on_build_finished writes, Jupyter-ready, beside the text source
    if (pagename.startswith(CHAPTERS) and context.get("page_source_suffix") == TEXT_SUFFIX
            and _executed(app, pagename) is not None):
        context["ipynb_source"] = f"{pagename}.ipynb"


def _on_page(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if pagename.startswith(CHAPTERS):
        launch_text_sources(context.get("header_buttons", []), pagename)
        if context.get("page_source_suffix") == ".ipynb":
            context["page_source_suffix"] = TEXT_SUFFIX  # edit the text source, not the copy
    if "script_files" in context:
        context["script_files"] = unique_scripts(context["script_files"])
    # without it a first visit (empty localStorage) sets the mode "" and the theme logs an error
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def _on_config(app: Sphinx, config: Config) -> None:
    stamp = html.escape(build_stamp(Path(app.srcdir)))
    options = repository_options(config.html_theme_options or {})
    # one search box, in the sidebar: pydata-sphinx-theme >= 0.16 adds a second one in a top bar
    options.setdefault("navbar_persistent", [])
    footer = options.get("extra_footer", "")
    options["extra_footer"] = f'{footer}<p class="selfdistill-stamp">Built from {stamp}.</p>'
    config.html_theme_options = options


def _executed(app: Sphinx, docname: str) -> Path | None:
    """The executed notebook of a chapter: its source when the book is staged, else MyST-NB's."""
    source = Path(app.env.doc2path(docname))
    if source.suffix == ".ipynb":
        return source
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{docname}.ipynb"
    return executed if executed.is_file() else None


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    """Each chapter's download, ``_sources/notebooks/<name>.ipynb``, made Jupyter-ready."""
    if exception is not None or app.builder.format != "html":
        return
    from selfdistill.core.notebook_export import citation_labels, jupyter_ready, reference_texts

    src = Path(app.srcdir)
    citations: dict[str, str] = {}
    for bib in app.config.bibtex_bibfiles if "bibtex_bibfiles" in app.config else []:
        citations.update(citation_labels(src / bib))
    titles = {name: title.astext() for name, title in app.env.titles.items()}
    out = Path(app.outdir)  # <repository>/_build/html
    roots = [str(p) for p in (out, out.parent, out.parent.parent, src) if len(p.parts) > 2]
    chapters = {name: _executed(app, name) for name in sorted(app.env.found_docs)
                if name.startswith(CHAPTERS)}
    chapters = {name: path for name, path in chapters.items() if path is not None}
    elsewhere = reference_texts({name: json.loads(path.read_text(encoding="utf-8"))
                                 for name, path in chapters.items()}, titles)
    for docname, executed in chapters.items():
        jupyter_ready(executed, out / "_sources" / f"{docname}.ipynb", titles=titles,
                      citations=citations, roots=roots, docname=docname, elsewhere=elsewhere,
                      strict=True)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _on_config)
    app.connect("html-page-context", _on_page_early, priority=500)
    app.connect("html-page-context", _on_page, priority=900)
    app.connect("build-finished", _on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "0.1"}
