"""Output folders: which ones a command may write, the marker that says selfdistill wrote one, and
the clean-up of staging folders left by killed runs.

A command's ``--out`` may be

* a path that does not exist yet (its parents are created),
* an empty folder, or
* a folder this tool wrote: it holds the marker :data:`MARKER` (a small JSON file with the marker
  schema, the kind — ``run``, ``sweep`` or ``report`` — and the chapter) of the same kind and
  chapter, or, for folders written before the marker existed, exactly what such a folder held
  (see ``legacy`` of :func:`check_out_folder`).

Anything else is refused with :class:`~selfdistill.core.chapters.ParameterError` before anything
runs: a file, a folder with other files, a folder of another kind or chapter, an empty name
(``""``), the working folder or a folder above it (a run replaces its folder), a mount point, a name
too long for the file system once the staging suffix is added, a dangling symlink, an unwritable
place. A symlink to a folder is followed: the run is written through to its target and the link is
left as it is.

A run stages its attempt in ``.NAME.partial-XXXX`` beside ``NAME``; the staging folder records
its owner (:data:`OWNER`: process id, its start time, host and boot id). :func:`clean_stale_staging`
removes, at the next run into the same parent, only staging folders whose owner is provably gone
(same host; another boot, or no such process, or a process with another start time). Staging
folders without a readable owner record, or from another host, are left alone.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from selfdistill.core.chapters import ParameterError, shorten

__all__ = ["MARKER", "OWNER", "check_out_folder", "clean_stale_staging", "read_marker",
           "write_marker", "write_owner"]

#: the marker file in every folder this tool writes: visible, so a reader sees who wrote the folder,
#: and not ``*.json``, which ``selfdistill claims`` reads as ledgers (its JSON content is YAML too)
MARKER = "selfdistill-out.yaml"
#: the owner record in a staging folder
OWNER = ".selfdistill-staging.json"
MARKER_SCHEMA = 1
Kind = Literal["run", "sweep", "report"]
KINDS: tuple[str, ...] = ("run", "sweep", "report")
#: characters a run adds to a folder's name for its staging and backup folders
#: (``.NAME.partial-XXXXXXXX``, ``.NAME.old-PID``)
SUFFIX_ROOM = 24


def _quote(text: str) -> str:
    return repr(shorten(str(text)))


def write_marker(folder: Path, kind: Kind, chapter: str) -> Path:
    """Write the marker that says ``folder`` holds a ``kind`` of ``chapter`` written by this tool.

    The file (:data:`MARKER`) is written atomically (mode 0644).

    Parameters
    ----------
    folder : pathlib.Path
        The folder (it must exist).
    kind : {"run", "sweep", "report"}
        What the folder holds.
    chapter : str
        The chapter it belongs to.

    Returns
    -------
    pathlib.Path
        The marker's path.

    Raises
    ------
    ValueError
        If ``kind`` is not one of the kinds.
    """
    if kind not in KINDS:
        raise ValueError(f"kind = {_quote(kind)} is not one of {', '.join(KINDS)}")
    from selfdistill.core.provenance import write_json_atomic

    path = Path(folder) / MARKER
    write_json_atomic(path, {"tool": "selfdistill", "schema": MARKER_SCHEMA, "kind": kind,
                             "chapter": chapter})
    return path


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The marker of ``folder`` as a dict, or ``None`` without one.

    Parameters
    ----------
    folder : pathlib.Path
        The folder.

    Returns
    -------
    dict or None
        The marker's keys (``tool``, ``schema``, ``kind``, ``chapter``); ``None`` when the folder
        has no marker.

    Raises
    ------
    ParameterError
        If the marker is unreadable or not one this tool writes.
    """
    path = Path(folder) / MARKER
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as err:
        raise ParameterError(f"its {MARKER} is not readable ({shorten(str(err))})") from None
    if not (isinstance(data, dict) and data.get("tool") == "selfdistill"
            and data.get("kind") in KINDS and isinstance(data.get("chapter"), str)
            and isinstance(data.get("schema"), int)):
        raise ParameterError(f"its {MARKER} is not a selfdistill marker (expected tool, "
                             "schema, kind and chapter)")
    return data


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _check_names(parts: tuple[str, ...], limit: int, flag: str, shown: str) -> None:
    """Every name short enough for the file system, the last with room for the staging suffix."""
    for i, part in enumerate(parts):
        room = SUFFIX_ROOM if i == len(parts) - 1 else 0
        if len(os.fsencode(part)) + room > limit:
            raise ParameterError(f"{flag} {shown}: the name {_quote(part)} has "
                                 f"{len(os.fsencode(part))} bytes; this file system allows "
                                 f"{limit - room} for {'an output folder' if room else 'a folder'}")


def check_out_folder(out: str | os.PathLike, kind: Kind, chapter: str, *, flag: str = "--out",
                     legacy: Callable[[Path], bool] | None = None) -> Path:
    """Decide, before anything runs, whether ``out`` may be written by a ``kind`` of ``chapter``.

    Parameters
    ----------
    out
        The folder the user named.
    kind
        ``"run"`` (the folder is replaced as a whole), ``"sweep"`` or ``"report"`` (files are
        written into it).
    chapter
        The chapter whose result goes there.
    flag
        The option named in error messages.
    legacy
        Optional test for a folder this tool wrote before it wrote markers.

    Returns
    -------
    Path
        The absolute folder to write, symlinks resolved (a symlinked ``out`` is written through).

    Raises
    ------
    ParameterError
        One line naming ``flag``, the value (cut to about 80 characters) and what is accepted.
    """
    try:
        return _check_out_folder(os.fspath(out), kind, chapter, flag, legacy)
    except OSError as err:  # a lookup the file system refuses (permissions, I/O)
        raise ParameterError(f"{flag} {_quote(os.fspath(out))} cannot be used "
                             f"({shorten(err.strerror or str(err))})") from None


def _check_out_folder(text: str, kind: Kind, chapter: str, flag: str,
                      legacy: Callable[[Path], bool] | None) -> Path:
    accepted = f"give a new or empty folder, or a {kind} folder selfdistill wrote"
    if not text.strip():
        raise ParameterError(f"{flag} {text!r} is empty; {accepted}")
    if "\x00" in text:
        raise ParameterError(f"{flag} {_quote(text)} contains a NUL character; {accepted}")
    given = Path(text)
    shown = _quote(text)
    _check_names(given.parts, 255, flag, shown)  # before any lookup: ENAMETOOLONG otherwise
    try:
        if given.is_symlink() and not given.exists():
            raise ParameterError(f"{flag} {shown} is a symlink to {_quote(os.readlink(given))}, "
                                 f"which does not exist (or loops); {accepted}")
        path = given.resolve()
    except (OSError, RuntimeError) as err:  # a symlink loop, a name too long to look up
        raise ParameterError(f"{flag} {shown} cannot be used ({shorten(str(err))}); "
                             f"{accepted}") from None
    if not path.name:
        raise ParameterError(f"{flag} {shown} names no folder (it is {_quote(path)}); {accepted}")
    existing = next(p for p in [path, *path.parents] if p.exists())
    limit = _name_max(existing if existing.is_dir() else existing.parent)
    _check_names(path.relative_to(existing).parts or (path.name,), limit, flag, shown)
    if len(os.fsencode(str(path))) + SUFFIX_ROOM > 4096:
        raise ParameterError(f"{flag} {shown}: the path is too long for this file system")
    if kind == "run":
        cwd = Path.cwd().resolve()
        if path == cwd or path in cwd.parents:
            raise ParameterError(f"{flag} {shown} is the working folder or a folder above it; "
                                 "a run replaces its output folder: give a subfolder such as "
                                 f"runs/{chapter}")
    if path.exists():
        _check_existing(path, kind, chapter, flag, shown, accepted, legacy)
    probe_in = existing if (kind != "run" and existing == path) else \
        next(p for p in path.parents if p.exists())
    try:  # permissions alone do not tell (root, read-only mounts, /proc): try it
        os.rmdir(tempfile.mkdtemp(dir=probe_in, prefix=".selfdistill-probe-"))
    except OSError as err:
        raise ParameterError(f"{flag} {shown} cannot be written ({_quote(probe_in)}: "
                             f"{err.strerror or err})") from None
    return path


def _check_existing(path: Path, kind: str, chapter: str, flag: str, shown: str, accepted: str,
                    legacy: Callable[[Path], bool] | None) -> None:
    if not path.is_dir():
        raise ParameterError(f"{flag} {shown} is a file; {accepted}")
    if kind == "run" and os.path.ismount(path):
        raise ParameterError(f"{flag} {shown} is a mount point, which a run cannot replace; "
                             "give a subfolder of it")
    try:
        names = sorted(p.name for p in path.iterdir())
    except OSError as err:
        raise ParameterError(f"{flag} {shown} cannot be read ({err.strerror or err})") from None
    if not names:
        return
    try:
        marker = read_marker(path)
    except ParameterError as err:
        raise ParameterError(f"{flag} {shown}: {err}; {accepted}") from None
    if marker is not None:
        if marker["kind"] != kind or marker["chapter"] != chapter:
            raise ParameterError(f"{flag} {shown} holds a {marker['kind']} of chapter "
                                 f"{_quote(marker['chapter'])}, not a {kind} of "
                                 f"{_quote(chapter)}; choose another folder")
        return
    if legacy is not None and legacy(path):
        return
    listed = ", ".join(repr(shorten(n, 40)) for n in names[:3]) + (", …" if len(names) > 3 else "")
    raise ParameterError(f"{flag} {shown} holds files other than a {kind}'s ({listed}) and no "
                         f"selfdistill marker; {accepted}")


# ---------------------------------------------------------------- staging


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (``/proc``), or ``""``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]  # field 22 of stat(5), after "pid (comm)"


def write_owner(staging: Path) -> None:
    """Record in ``staging`` which process owns it (pid, start time, host, boot id).

    Parameters
    ----------
    staging : pathlib.Path
        A staging folder this process just created.
    """
    from selfdistill.core.provenance import write_json_atomic

    pid = os.getpid()
    write_json_atomic(Path(staging) / OWNER, {"pid": pid, "start": _start_time(pid),
                                              "host": socket.gethostname(),
                                              "boot": _boot_id()})


def _owner_gone(owner: Any) -> bool:
    if not isinstance(owner, dict) or owner.get("host") != socket.gethostname():
        return False  # another machine's (a shared file system), or unknown: not ours to judge
    pid = owner.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    boot = _boot_id()
    if boot and owner.get("boot") and owner["boot"] != boot:
        return True  # the machine rebooted since
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it exists, under another user
    start = _start_time(pid)
    return bool(start and owner.get("start") and start != owner["start"])  # a reused pid


def clean_stale_staging(parent: Path) -> list[Path]:
    """Remove the staging folders ``.NAME.partial-*`` in ``parent`` whose owner is gone.

    Folders without a readable owner record, and those whose owner still runs, are kept.

    Parameters
    ----------
    parent : pathlib.Path
        The folder holding the staging folders (that of the run's folder).

    Returns
    -------
    list of pathlib.Path
        The folders removed.
    """
    removed = []
    try:
        candidates = sorted(Path(parent).glob(".*.partial-*"))
    except OSError:
        return removed
    for folder in candidates:
        if folder.is_symlink() or not folder.is_dir():
            continue
        try:
            owner = json.loads((folder / OWNER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if _owner_gone(owner):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
