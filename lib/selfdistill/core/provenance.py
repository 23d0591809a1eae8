"""Provenance: one record of where, when and on what something ran, and one atomic write.

Everything the library writes to disk about a run carries the same record, made by
:func:`provenance` and checked by :func:`check_provenance`: a chapter's ledger (its ``run``), a
training run's results (:func:`selfdistill.training.checkpoint.write_results`), a sweep's
``sweep.yaml`` and the benchmarks' JSON (``bench/*.py --json``). Its keys (:data:`FIELDS`):

``command``
    the command line that started the run (``$SELFDISTILL_COMMAND`` where a runner set it, else
    ``sys.argv``; ``""`` inside a notebook kernel that no runner started)
``commit``
    the repository's commit, ``+dirty`` when the work tree differs, or ``unknown``
``host``, ``machine``, ``python``
    the machine's name, its architecture and usable cores (``x86_64, 2 cores``), Python's version
``versions``
    ``selfdistill`` and every library of :data:`LIBRARIES` that the process has already imported
    (nothing is imported to find a version)
``started``, ``finished``
    UTC times, ISO 8601 to the second; ``finished`` is ``None`` until :func:`mark_finished`
``device``, ``device_name``
    the device actually used (``cpu``, ``cuda:0``) and its processor or GPU name, or ``None`` for a
    record that names no device (a sweep's manifest)
``threads``, ``tf32_matmul``, ``tf32_cudnn``
    torch's thread count and TF32 settings when the record was made, ``None`` where the process
    has not loaded torch
``deterministic``, ``cudnn_deterministic``, ``cudnn_benchmark``
    torch's determinism settings and cuDNN's benchmark flag, likewise ``None`` without torch

The record holds exactly these keys: a writer that drifts (``date`` for ``started``,
``deterministic_algorithms`` for ``deterministic``) is refused by :func:`check_provenance`, which
the tests run on every writer's record. What a writer adds (seeds, a grid, an error) lives beside
the record, never inside it.

Every file goes to disk through :func:`atomic_path` (a unique temporary file beside the target,
then one rename): :func:`write_text_atomic`, :func:`write_json_atomic`, and ``torch.save`` for
checkpoints. This module imports neither torch nor numpy.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from selfdistill.core.paths import repository_root

__all__ = ["FIELDS", "LIBRARIES", "ProvenanceError", "atomic_path", "check_provenance",
           "git_commit", "mark_finished", "now_utc", "provenance", "write_json_atomic",
           "write_text_atomic"]

#: the record's keys, each with the types its value may have (``None``: not known or not loaded)
FIELDS: dict[str, tuple[type, ...]] = {
    "command": (str,),
    "commit": (str,),
    "host": (str,),
    "machine": (str,),
    "python": (str,),
    "versions": (dict,),
    "started": (str,),
    "finished": (str, type(None)),
    "device": (str, type(None)),
    "device_name": (str, type(None)),
    "threads": (int, type(None)),
    "tf32_matmul": (bool, type(None)),
    "tf32_cudnn": (bool, type(None)),
    "deterministic": (bool, type(None)),
    "cudnn_deterministic": (bool, type(None)),
    "cudnn_benchmark": (bool, type(None)),
}

#: libraries whose version is recorded once the process has imported them: import name → name
LIBRARIES: dict[str, str] = {
    "torch": "torch", "numpy": "numpy", "scipy": "scipy", "sklearn": "scikit-learn",
    "matplotlib": "matplotlib", "papermill": "papermill", "distributed": "distributed",
    "torchvision": "torchvision",
}

_TORCH_FIELDS = ("threads", "tf32_matmul", "tf32_cudnn", "deterministic", "cudnn_deterministic",
                 "cudnn_benchmark")


class ProvenanceError(ValueError):
    """A provenance record lacks a key, holds an unknown one, or a value of the wrong type."""


def now_utc() -> str:
    """The current UTC time, ISO 8601 to the second (``2026-12-07T03:05:06+00:00``).

    Returns
    -------
    str
        The time with its ``+00:00`` offset, as :func:`check_provenance` accepts it.
    """
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def git_commit(root: Path | None = None) -> str:
    """The repository's commit (``+dirty`` when the work tree differs), or ``unknown``.

    Parameters
    ----------
    root : pathlib.Path, optional
        The repository; default :func:`selfdistill.core.paths.repository_root`.

    Returns
    -------
    str
        The short (12-character) hash of ``HEAD``, with ``+dirty`` when a tracked file differs;
        ``"unknown"`` outside a repository or when git fails (never raises).
    """
    root = root or repository_root()
    if root is None:
        return "unknown"
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, text=True,
                              capture_output=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, text=True, capture_output=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty.strip() else "")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


@functools.lru_cache(maxsize=1)
def _own_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("selfdistill")
    except PackageNotFoundError:  # pragma: no cover - run from a plain source tree
        return "unknown"


def _versions(libraries: Iterable[str] = ()) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"selfdistill": _own_version()}
    for module, name in LIBRARIES.items():
        loaded = sys.modules.get(module)
        if loaded is not None and isinstance(getattr(loaded, "__version__", None), str):
            found[name] = str(loaded.__version__)  # a plain str (torch's is a subclass)
    for name in libraries:  # installed, not loaded here: read from its metadata, not imported
        if name not in found:
            try:
                found[name] = version(name)
            except PackageNotFoundError:
                pass
    return found


def _command() -> str:
    if os.environ.get("SELFDISTILL_COMMAND"):
        return os.environ["SELFDISTILL_COMMAND"]
    if "ipykernel" in sys.modules:  # a notebook kernel: its argv is the kernel's launcher
        return ""
    if not sys.argv or not sys.argv[0]:
        return ""
    program = Path(sys.argv[0])
    if program.name == "__main__.py":  # python -m package
        words = ["python", "-m", program.parent.name]
    elif program.is_absolute():  # an installed command (selfdistill): its name
        words = [program.name]
    else:  # a script as typed (bench/bench_rounds.py)
        words = [str(program)]
    return shlex.join([*words, *sys.argv[1:]])


def _device_fields(device: object) -> dict[str, Any]:
    """``device`` and ``device_name``; torch is imported only to resolve a device other than
    ``"cpu"`` (a run that never loaded torch and asks for the CPU records it without torch)."""
    if device is None:
        return {"device": None, "device_name": None}
    cpu_name = platform.processor() or platform.machine()
    if "torch" not in sys.modules and str(device) == "cpu":
        return {"device": "cpu", "device_name": cpu_name}
    import torch

    from selfdistill.core.device import resolve_device

    resolved = resolve_device(device)
    name = torch.cuda.get_device_name(resolved) if resolved.type == "cuda" else cpu_name
    return {"device": str(resolved), "device_name": name}


def _torch_fields() -> dict[str, Any]:
    torch = sys.modules.get("torch")
    if torch is None:
        return dict.fromkeys(_TORCH_FIELDS)
    return {"threads": torch.get_num_threads(),
            "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
            "tf32_cudnn": bool(torch.backends.cudnn.allow_tf32),
            "deterministic": bool(torch.are_deterministic_algorithms_enabled()),
            "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
            "cudnn_benchmark": bool(torch.backends.cudnn.benchmark)}


def provenance(device: object = None, *, command: str | None = None,
               libraries: Iterable[str] = ()) -> dict[str, Any]:
    """The provenance record of a run starting now (the schema in the module docstring).

    Parameters
    ----------
    device : str, torch.device or None
        The run's device (``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a ``torch.device``):
        the record holds the device actually used. ``None``: the record names no device.
    command : str or None
        The command line that started the run; ``None`` reads ``$SELFDISTILL_COMMAND`` or
        ``sys.argv`` (``""`` inside a notebook kernel no runner started).
    libraries : iterable of str
        Distribution names whose installed version is recorded too, read from their metadata
        without importing them (a sweep records the versions its points will run with).

    Returns
    -------
    dict
        A fresh record that :func:`check_provenance` accepts; ``finished`` is ``None``.

    Raises
    ------
    ValueError
        For a device that is not one (:func:`selfdistill.core.device.resolve_device`), or CUDA
        where there is none; ``TypeError`` for a ``command`` that is not a string.

    Examples
    --------
    >>> record = provenance()
    >>> record["finished"] is None and check_provenance(record) is record
    True
    """
    if command is not None and not isinstance(command, str):
        raise TypeError(f"command = {str(command)[:80]!r} is not accepted: a string or None")
    record = {"command": _command() if command is None else command, "commit": git_commit(),
              "host": platform.node(), "machine": f"{platform.machine()}, {_cores()} cores",
              "python": platform.python_version(), "versions": {}, "started": now_utc(),
              "finished": None, **_device_fields(device)}
    # after the device, which may load torch
    record.update(_torch_fields(), versions=_versions(libraries))
    return {k: record[k] for k in FIELDS}


def mark_finished(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``record`` with ``finished`` set to now (:func:`now_utc`).

    Parameters
    ----------
    record : Mapping
        A provenance record (:func:`provenance`); it is not changed.

    Returns
    -------
    dict
        The copy, ``finished`` set.

    Raises
    ------
    ProvenanceError
        If ``record`` is not a provenance record (:func:`check_provenance`).
    """
    return {**check_provenance(record), "finished": now_utc()}


def _time(value: str, where: str, key: str) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ProvenanceError(f"{where}: {key} = {value[:40]!r} is not an ISO 8601 time") from None
    if when.utcoffset() is None:
        raise ProvenanceError(f"{where}: {key} = {value[:40]!r} has no time zone; accepted: "
                              "UTC times such as 2026-12-07T03:05:06+00:00")
    return when


def check_provenance(record: object, where: str = "provenance") -> Mapping[str, Any]:
    """Check ``record`` against the one schema (:data:`FIELDS`); return it unchanged.

    Parameters
    ----------
    record : Mapping
        A record as :func:`provenance` makes it, or as read back from a file.
    where : str
        What the record belongs to, for the error message (a file name).

    Returns
    -------
    Mapping
        ``record`` itself, unchanged.

    Raises
    ------
    ProvenanceError
        (a ``ValueError``) naming the key: a record that is not a mapping, lacks a key, holds a
        key outside the schema, a value of the wrong type, ``versions`` that is not a mapping of
        names to strings or lacks ``selfdistill``, a time that is not ISO 8601 with a time zone,
        ``finished`` before ``started``, or a device without its name.
    """
    if not isinstance(record, Mapping):
        raise ProvenanceError(f"{where} is a {type(record).__name__}, not a provenance record")
    missing = [k for k in FIELDS if k not in record]
    if missing:
        raise ProvenanceError(f"{where} lacks {', '.join(missing)}")
    extra = [str(k) for k in record if k not in FIELDS]
    if extra:
        raise ProvenanceError(f"{where} holds keys outside the provenance schema: "
                              f"{', '.join(extra)[:80]}; accepted: {', '.join(FIELDS)}")
    for key, types in FIELDS.items():
        value = record[key]
        wrong_bool = isinstance(value, bool) and bool not in types
        if wrong_bool or not isinstance(value, types):
            names = " or ".join("None" if t is type(None) else t.__name__ for t in types)
            raise ProvenanceError(f"{where}: {key} = {str(value)[:80]!r} is a "
                                  f"{type(value).__name__}; accepted: {names}")
    versions = record["versions"]
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in versions.items()):
        raise ProvenanceError(f"{where}: versions = {str(versions)[:80]} must map library "
                              "names to version strings")
    if "selfdistill" not in versions:
        raise ProvenanceError(f"{where}: versions lacks selfdistill")
    started = _time(record["started"], where, "started")
    if record["finished"] is not None and _time(record["finished"], where, "finished") < started:
        raise ProvenanceError(f"{where}: finished = {record['finished']!r} is before started = "
                              f"{record['started']!r}")
    if (record["device"] is None) != (record["device_name"] is None):
        raise ProvenanceError(f"{where}: device = {record['device']!r} and device_name = "
                              f"{str(record['device_name'])[:40]!r} must be given together")
    return record


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path`` (a unique name, so two writers never
    share it); on success it replaces ``path`` in one rename (mode 0644), on failure it goes.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its folder must exist.

    Yields
    ------
    pathlib.Path
        The temporary file (created empty) to write to.

    Raises
    ------
    OSError
        If the temporary file cannot be created or renamed (the folder is missing or read-only).
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8, the bytes given: no newline translation) to ``path`` atomically
    (:func:`atomic_path`).

    Parameters
    ----------
    path : str or os.PathLike
        The file; its folder must exist.
    text : str
        The content.
    """
    with atomic_path(path) as tmp:
        tmp.write_bytes(text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike, payload: object) -> None:
    """Write JSON (indented, one final newline) to ``path`` atomically (:func:`atomic_path`),
    creating its folder.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    payload : object
        Anything ``json.dumps`` accepts (NaN and infinities written as JavaScript's literals).

    Raises
    ------
    TypeError
        If ``payload`` holds something JSON cannot encode (the file is not written then).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(payload, indent=2, allow_nan=True) + "\n")
