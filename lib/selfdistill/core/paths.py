"""Where things are: the one home for finding the repository root (imports nothing heavy)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["repository_root"]


def _is_root(folder: Path) -> bool:
    return (folder / "_toc.yml").is_file() and (folder / "lib" / "selfdistill").is_dir()


def repository_root() -> Path | None:
    """The checkout this package was installed from (editable), else the working folder's.

    A checkout is a folder holding ``_toc.yml`` and ``lib/selfdistill``.

    Returns
    -------
    pathlib.Path or None
        The checkout's root; ``None`` outside a checkout (an installed wheel, run elsewhere).

    Examples
    --------
    >>> root = repository_root()
    >>> root is None or (root / "_toc.yml").is_file()
    True
    """
    here = Path(__file__).resolve().parents[2]
    if _is_root(here):
        return here
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if _is_root(folder):
            return folder
    return None
