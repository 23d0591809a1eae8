"""The book build must fail on a failing cell or a warning: a tiny book built with our config."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
HEADER = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---

# A chapter

```{code-cell} ipython3
"""


def test_config_executes_every_build_and_raises():
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    assert config["execute"]["execute_notebooks"] == "force"  # cache mode misses lib/ changes
    assert config["execute"]["raise_on_error"] is True
    assert config["only_build_toc_files"] is True


def _build(tmp_path: Path, cell: str) -> subprocess.CompletedProcess:
    shutil.copy(REPO / "_config.yml", tmp_path / "_config.yml")
    shutil.copytree(REPO / "_static", tmp_path / "_static")  # the favicon and CSS it names
    (tmp_path / "book").mkdir()
    shutil.copy(REPO / "book" / "references.bib", tmp_path / "book" / "references.bib")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: ch\n")
    (tmp_path / "intro.md").write_text("# Intro\n")
    (tmp_path / "ch.md").write_text(HEADER + cell + "\n```\n")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", str(tmp_path), "--all", "-W", "--keep-going"]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("cell, reason", [
    ("print('fine')", None),
    ("raise RuntimeError('a claim failed')", "failing cell"),
    ("import sys; print('trouble', file=sys.stderr)", "stderr output"),
])
@pytest.mark.slow
def test_build_fails_on_failing_cell_or_warning(tmp_path, cell, reason):
    proc = _build(tmp_path, cell)
    if reason is None:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    else:
        assert proc.returncode != 0, f"the build passed despite a {reason}"
