"""Building the book: every chapter executed once, in parallel, then rendered.

``selfdistill book`` runs each chapter of ``_toc.yml`` atomically into ``_build/runs/<chapter>/``
(one worker per core), prints each chapter's time against its budget, copies the ledgers to
``_build/claims/``, stages the book's sources with the *executed* notebooks in ``_build/src/`` and
builds it there with Jupyter Book, execution off and warnings as errors, into ``_build/html``.
Each chapter therefore executes exactly once per build, and the page offers the executed ``.ipynb``
for download, made Jupyter-ready (:mod:`selfdistill.core.notebook_export`). ``jupyter-book build .``
still works on its own (``execute_notebooks: force``), one chapter after another.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from selfdistill.core.chapters import ParameterError, find_chapters
from selfdistill.core.claim import PRINT_WIDTH  # one width for the page and the ledger
from selfdistill.core.provenance import atomic_path, write_json_atomic, write_text_atomic
from selfdistill.core.runner import LEDGER, RunJob, RunResult, check_out, run_many, timing_table
from selfdistill.core.validate import Integer, Optional, validate_params

__all__ = ["build_book", "stage_notebook", "toc_chapters"]


def toc_chapters(root: Path) -> list[str]:
    """The chapter names listed in ``_toc.yml`` (entries under ``notebooks/``), in book order.

    Parameters
    ----------
    root : pathlib.Path
        The repository root (holding ``_toc.yml``).

    Returns
    -------
    list of str
        The chapters' names, e.g. ``["greens-function", "sd-rounds", ...]``.
    """
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            file = node.get("file")
            if isinstance(file, str) and file.startswith("notebooks/"):
                found.append(Path(file).stem)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return found


def _stage(root: Path, build: Path, results: list[RunResult]) -> Path:
    src = build / "src"
    shutil.rmtree(src, ignore_errors=True)
    (src / "notebooks").mkdir(parents=True)
    shutil.copytree(root / "book", src / "book")
    shutil.copytree(root / "_static", src / "_static")
    if (root / "results").is_dir():  # committed summaries (sweep figures) that pages show
        shutil.copytree(root / "results", src / "results")
    shutil.copy(root / "_toc.yml", src / "_toc.yml")
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    config["execute"]["execute_notebooks"] = "off"  # executed once already, by the runs
    write_text_atomic(src / "_config.yml",
                      yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    for result in results:
        stage_notebook(result.out / f"{result.chapter}.ipynb",
                          src / "notebooks" / f"{result.chapter}.ipynb")
    return src


#: the tag of the cells that record claims (compared by nbval); the page folds their code
LEDGER_TAG = "nbval-check-output"
#: Jupyter Book's tag for a cell whose code is folded behind a "Show code cell source" toggle
FOLD_TAG = "hide-input"


def stage_notebook(source: Path, target: Path) -> int:
    """Copy an executed notebook for the page and its download; count the cells it folded.

    * A cell tagged ``nbval-check-output`` records claims: its ``ledger.check_*`` call is long
      boilerplate, its output (the claims table) is what a reader wants. The copy tags such cells
      ``hide-input`` as well, so the page shows the table and keeps the code one click away.
    * The copy drops papermill's metadata: the notebook's holds a second copy of the whole notebook
      (``input_path``) and the build's own paths (``output_path``), each cell's the run's times.

    The page is rendered from this copy, MyST markup and all; the ``.ipynb`` a reader downloads
    is made from it after the build by :func:`selfdistill.core.notebook_export.jupyter_ready`
    (``selfdistill.core.sphinx_page``), with the markup turned into plain Markdown. The chapter's
    text source is not changed.
    Parameters
    ----------
    source : pathlib.Path
        The executed notebook.
    target : pathlib.Path
        Where the copy goes.

    Returns
    -------
    int
        How many cells the copy folded.
    """
    import nbformat

    nb = nbformat.read(source, as_version=4)
    nb.metadata.pop("papermill", None)
    folded = 0
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") == "code" and LEDGER_TAG in tags and FOLD_TAG not in tags:
            cell.metadata["tags"] = [*tags, FOLD_TAG]
            folded += 1
    with atomic_path(target) as tmp:
        nbformat.write(nb, tmp)
    return folded


def _collect_ledgers(build: Path, results: list[RunResult]) -> None:
    claims = build / "claims"
    shutil.rmtree(claims, ignore_errors=True)
    claims.mkdir(parents=True)
    for result in results:
        with atomic_path(claims / f"{result.chapter}.json") as tmp:
            shutil.copyfile(result.out / LEDGER, tmp)


def wide_printed_lines(results: list[RunResult], width: int = PRINT_WIDTH) -> list[str]:
    """Lines the chapters printed that are wider than the page, as ``chapter: line``."""
    import nbformat

    found = []
    for result in results:
        nb = nbformat.read(result.out / f"{result.chapter}.ipynb", as_version=4)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream":
                    found += [f"{result.chapter}: {line[:60]}… ({len(line)} characters)"
                              for line in out["text"].splitlines() if len(line) > width]
    return found


@validate_params(workers=Optional(Integer(1)))
def build_book(root: Path, workers: int | None = None, chapters: list[str] | None = None) -> int:
    """Run the book's chapters, build the book with warnings as errors, print timings.

    Parameters
    ----------
    root : pathlib.Path
        The repository root.
    workers : int, optional
        Chapters run at once, ``≥ 1``; one per core when omitted.
    chapters : list of str, optional
        Only these chapters (for a quick look); every chapter of ``_toc.yml`` when omitted.

    Returns
    -------
    int
        0 when every chapter passed and the book built, 1 otherwise (the reason is printed).

    Raises
    ------
    ParameterError
        If a chapter asked for is not in ``notebooks/``, or a run folder under ``_build/runs``
        holds something this tool did not write.
    """
    known = find_chapters(root / "notebooks")
    names = chapters or toc_chapters(root)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ParameterError(f"chapters not in notebooks/: {', '.join(unknown)}")
    workers = workers if workers is not None else os.cpu_count() or 1
    build = root / "_build"
    # each chapter's folder is one this tool wrote (or new): refused before anything runs
    jobs = [RunJob(chapter=known[n], values={},
                   out=check_out(build / "runs" / n, n, flag="_build/runs folder"))
            for n in names]
    print(f"book: running {len(jobs)} chapters on {workers} worker(s)", flush=True)
    start = time.perf_counter()

    def report(result: RunResult) -> None:
        print(f"  {result.status:<11} {result.chapter} ({result.seconds:.1f} s)", flush=True)
        if not result.ok:
            print("    " + result.message.replace("\n", "\n    "), flush=True)

    results = run_many(jobs, workers, on_done=report)
    wall = time.perf_counter() - start
    table = timing_table(results) + f"\nwall time {wall:.1f} s on {workers} worker(s)"
    build.mkdir(exist_ok=True)
    write_text_atomic(build / "timings.txt", table + "\n")
    write_json_atomic(build / "timings.json", [
        {"chapter": r.chapter, "seconds": r.seconds, "budget": r.budget, "status": r.status}
        for r in results])
    print(table, flush=True)
    failed = [r for r in results if not r.ok]
    if failed:
        print(f"book: {len(failed)} chapter(s) failed: "
              f"{', '.join(r.chapter for r in failed)}; the book was not built", file=sys.stderr)
        return 1
    wide = wide_printed_lines(results)
    if wide:
        print("book: printed lines wider than the page (they are cut off):\n  "
              + "\n  ".join(wide), file=sys.stderr)
        return 1
    _collect_ledgers(build, results)
    src = _stage(root, build, results)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", str(src), "--path-output", str(root), "--all", "-W",
               "--keep-going"]
    if subprocess.run(command, cwd=root).returncode != 0:
        print("book: the Jupyter Book build failed (warnings are errors)", file=sys.stderr)
        return 1
    print(f"book: open {build / 'html' / 'index.html'}")
    return 0

