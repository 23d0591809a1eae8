"""Approved golden notebooks for nbval: written deliberately, committed, reviewed as a diff."""

from __future__ import annotations

import tempfile
from pathlib import Path

from selfdistill.core.chapters import Chapter
from selfdistill.core.paths import repository_root
from selfdistill.core.provenance import atomic_path
from selfdistill.core.runner import execute_notebook

__all__ = ["CHECK_TAG", "golden_dir", "write_golden"]

#: cells whose outputs nbval compares against the approved golden notebook
CHECK_TAG = "nbval-check-output"


def golden_dir() -> Path:
    """``tests/golden`` of the repository, where the approved golden notebooks live.

    Returns
    -------
    pathlib.Path
        The folder (it need not exist yet).

    Raises
    ------
    FileNotFoundError
        Outside a checkout of the repository (:func:`~selfdistill.core.paths.repository_root`).
    """
    root = repository_root()
    if root is None:
        raise FileNotFoundError("no repository checkout: golden notebooks live in tests/golden")
    return root / "tests" / "golden"


def write_golden(chapter: Chapter, folder: Path | None = None) -> Path:
    """Execute a chapter with its defaults and write its approved golden notebook.

    Only the cells tagged for nbval (:data:`CHECK_TAG`) keep their outputs and a stable execution
    count; cell ids are fixed and run metadata dropped, so the file changes only when an approved
    output does.

    Parameters
    ----------
    chapter : Chapter
        The chapter (:func:`~selfdistill.core.chapters.get_chapter`).
    folder : pathlib.Path, optional
        Where to write ``<chapter>.ipynb``; :func:`golden_dir` when omitted.

    Returns
    -------
    pathlib.Path
        The notebook written.

    Raises
    ------
    papermill.PapermillExecutionError
        If a cell fails (a failed claim raises in its cell); nothing is written then.
    """
    import nbformat

    folder = folder or golden_dir()
    target = folder / f"{chapter.name}.ipynb"
    with tempfile.TemporaryDirectory() as scratch:
        executed = Path(scratch) / "executed.ipynb"
        execute_notebook(chapter, {}, executed, Path(scratch) / "claims.json")
        nb = nbformat.read(executed, as_version=4)
    for index, cell in enumerate(nb.cells):  # no timings, no random ids: a stable file
        cell.id = f"cell-{index}"
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    for count, cell in enumerate(code_cells, start=1):
        checked = CHECK_TAG in cell.metadata.get("tags", [])
        # nbval compares only reference cells that ran: a stable count marks them as run
        cell.execution_count = count if checked else None
        if not checked:
            cell.outputs = []
    nb.metadata.pop("papermill", None)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        nbformat.write(nb, tmp)
    return target
