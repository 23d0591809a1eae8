"""Sphinx extension: every page's scripts loaded once, and a version, commit and date stamp.

* **Scripts once.** sphinx-thebe and sphinx-togglebutton add their inline configuration scripts on
  an event Jupyter Book fires twice, so every page declared ``const THEBE_JS_URL`` twice and
  Chromium reported ``Identifier 'THEBE_JS_URL' has already been declared`` (issue 18 §9). The page
  context keeps the first of identical scripts.
* **Mode.** The theme's ``default_mode`` page variable is ``auto``: unset, a reader's first
  visit logged ``Got invalid theme mode: .`` in the console.
* **One search box.** ``navbar_persistent`` is empty: newer pydata-sphinx-theme releases draw a
  second search box in a top bar that sphinx-book-theme does not use.
* **Stamp.** The footer of every page says which version of the library, which commit (``-dirty``
  when the work tree had changes) and which commit date built it: :func:`build_stamp`.
"""

from __future__ import annotations

import html
import subprocess
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

__all__ = ["build_stamp", "unique_scripts"]


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def build_stamp(root: Path) -> str:
    """``selfdistill 0.1.0 · commit abc1234 · 2026-12-07`` for the book at ``root``.

    The date is the commit's (so a rebuild of one commit stamps the same page); without git the
    stamp says ``commit unknown``.
    """
    from . import __version__

    commit = _git(root, "rev-parse", "--short=10", "HEAD")
    if commit is None:
        return f"selfdistill {__version__} · commit unknown"
    if _git(root, "status", "--porcelain", "--untracked-files=no"):
        commit += "-dirty"
    date = (_git(root, "log", "-1", "--format=%cs") or "").strip()
    return f"selfdistill {__version__} · commit {commit}" + (f" · {date}" if date else "")


def unique_scripts(scripts: list) -> list:
    """The scripts in order, each (file, attributes and body) kept once."""
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


def _on_page(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if "script_files" in context:
        context["script_files"] = unique_scripts(context["script_files"])
    # without it a first visit (empty localStorage) sets the mode "" and the theme logs an error
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def _on_config(app: Sphinx, config: Config) -> None:
    stamp = html.escape(build_stamp(Path(app.srcdir)))
    options = dict(config.html_theme_options or {})
    # one search box, in the sidebar: pydata-sphinx-theme >= 0.16 adds a second one in a top bar
    options.setdefault("navbar_persistent", [])
    footer = options.get("extra_footer", "")
    options["extra_footer"] = f'{footer}<p class="selfdistill-stamp">Built from {stamp}.</p>'
    config.html_theme_options = options


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _on_config)
    app.connect("html-page-context", _on_page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "0.1"}
