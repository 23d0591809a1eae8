"""Checkpoints and results, written atomically, with a fingerprint of the configuration.

A checkpoint is refused (``ValueError``, before any training, nothing overwritten) when its
fingerprint differs from the run's: another configuration, data set, size, inputs, labels,
objective or teacher. Checkpoints hold only tensors and plain containers and are read with
``torch.load(..., weights_only=True)``: a file that needs anything else (a crafted pickle that
would run code) is refused without running it. A checkpoint that lacks a key the run needs is
refused naming the file and the key; :func:`check_writable` refuses a path that cannot be written
before any training.
Results are JSON (:func:`write_results`) with the one provenance record of
:mod:`selfdistill.core.provenance` (command, commit, device, library versions, start and end, TF32
and determinism settings), the seeds and the arithmetic (dtype, channels-last).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from selfdistill.core.provenance import atomic_path, mark_finished, provenance, write_json_atomic
from selfdistill.core.validate import Integer, Seed, validate_params

__all__ = ["check_writable", "cut", "fingerprint", "load", "precision_settings", "save",
           "write_results"]


def _model_digest(model: torch.nn.Module | None) -> str | None:
    if model is None:
        return None
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def _tensor_digest(*tensors: torch.Tensor) -> str:
    """SHA-256 (16 hex digits) over the dtype, shape and bytes of each tensor, in order."""
    digest = hashlib.sha256()
    for tensor in tensors:
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def fingerprint(config: Any, data: Any, objective: Any,
                teacher: torch.nn.Module | None) -> dict[str, Any]:
    """What a checkpoint must match to be resumed.

    Parameters
    ----------
    config : TrainConfig
        The run's configuration (every field).
    data : Dataset
        Its name and sizes, and SHA-256 digests of the training inputs, the training labels and
        the validation set (which picks the best epoch); one pass over them, on their device.
    objective : Objective
        Its :meth:`~selfdistill.training.objectives.Objective.describe`.
    teacher : torch.nn.Module or None
        A digest of its weights.

    Returns
    -------
    dict
        JSON-compatible (what a JSON round trip gives), compared with ``==`` by :func:`load`.
    """
    return json.loads(json.dumps({
        "config": asdict(config), "data": data.name, "n_train": int(data.x_train.shape[0]),
        "n_val": int(data.x_val.shape[0]), "inputs": _tensor_digest(data.x_train),
        "labels": _tensor_digest(data.y_train),
        "validation": _tensor_digest(data.x_val, data.y_val),
        "objective": objective.describe(), "teacher": _model_digest(teacher)}, default=str))


@validate_params(limit=Integer(3))
def cut(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters in the middle (a path keeps its file name).

    Parameters
    ----------
    text : str
        Any text, e.g. a path in an error message.
    limit : int, optional
        The most characters returned, ``≥ 3``.

    Returns
    -------
    str
        ``text`` itself when short enough, else its head, ``…`` and its tail.

    Examples
    --------
    >>> cut("/a/very/long/folder/name/run.pt", 16)
    '/a/very…e/run.pt'
    """
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head):]


def check_writable(path: str | Path) -> Path:
    """Refuse a checkpoint path that :func:`save` could not write, before any work.

    The path must not be a folder, and its nearest existing ancestor must be a folder in which a
    file can be created (probed with a temporary file, removed at once; nothing else is written,
    no folder is created).

    Parameters
    ----------
    path : str or pathlib.Path
        The checkpoint file (it need not exist).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        Naming the path, if it is a folder or cannot be written.
    """
    path = Path(path)
    name = cut(repr(str(path)))
    if path.is_dir():
        raise ValueError(f"checkpoint = {name} is a folder; accepted: a file path")
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(f"checkpoint = {name} cannot be written: {cut(str(ancestor))} is not "
                         "a folder; accepted: a path in a writable folder")
    try:
        handle, probe = tempfile.mkstemp(dir=ancestor, prefix=".selfdistill-probe-")
    except OSError as err:
        raise ValueError(f"checkpoint = {name} cannot be written ({err.strerror}); accepted: "
                         "a path in a writable folder") from None
    os.close(handle)
    os.unlink(probe)
    return path


def save(path: str | Path, fp: dict[str, Any], state: dict[str, Any]) -> None:
    """Write ``state`` with its fingerprint to ``path`` atomically (temporary file, then rename).

    Parameters
    ----------
    path : str or pathlib.Path
        The checkpoint file; its folder is created when missing.
    fp : dict
        The run's :func:`fingerprint`.
    state : dict
        Tensors and plain containers only (what :func:`load` can read back with
        ``weights_only=True``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save({"fingerprint": fp, "state": state}, tmp)


def load(path: str | Path, fp: dict[str, Any], device: torch.device,
         required: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The saved state if ``path`` exists, ``None`` if not.

    Read with ``weights_only=True`` (tensors and plain containers only; no code runs).

    Parameters
    ----------
    path : str or pathlib.Path
        The checkpoint file.
    fp : dict
        The run's :func:`fingerprint`; the file's must be equal.
    device : torch.device
        Where the tensors are loaded.
    required : tuple of str, optional
        Keys the state must hold.

    Returns
    -------
    dict or None
        The state, its tensors on ``device``; ``None`` when there is no file.

    Raises
    ------
    ValueError
        Naming the file, when it cannot be read as tensors and plain containers, is not a
        checkpoint, comes from another configuration (naming the differing keys), or lacks a
        ``required`` key (naming it).
    """
    path = Path(path)
    name = cut(repr(str(path)))
    if not path.exists():
        return None
    try:
        saved = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # noqa: BLE001 (any unreadable file is a bad checkpoint)
        reason = cut(str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__)
        raise ValueError(f"checkpoint = {name} cannot be read as a checkpoint of tensors and "
                         f"plain containers ({reason}); remove it or choose another path") from None
    if not isinstance(saved, dict):
        raise ValueError(f"checkpoint = {name} holds a {type(saved).__name__}, not a "
                         "checkpoint; remove it or choose another path")
    for key in ("fingerprint", "state"):
        if key not in saved or not isinstance(saved[key], dict):
            raise ValueError(f"checkpoint = {name} lacks the key {key!r} (or it is not a dict); "
                             "remove it or choose another path")
    other = saved["fingerprint"]
    if other != fp:
        keys = sorted(k for k in set(fp) | set(other) if fp.get(k) != other.get(k))
        raise ValueError(f"checkpoint = {name} comes from another configuration "
                         f"(differs in {cut(str(keys))}); remove it or choose another path")
    state = saved["state"]
    missing = [key for key in required if key not in state]
    if missing:
        raise ValueError(f"checkpoint = {name} lacks the key {missing[0]!r} of its state "
                         f"(needs {list(required)}); remove it or choose another path")
    return state


def precision_settings(device: torch.device) -> dict[str, Any]:
    """The arithmetic a training run on ``device`` uses, beside its provenance record (which
    holds TF32 and determinism settings: :func:`selfdistill.core.provenance.provenance`).

    Parameters
    ----------
    device : torch.device
        The run's device (bf16 autocast and channels_last on CUDA, float32 on the CPU).

    Returns
    -------
    dict
        ``dtype`` (``"bfloat16 autocast"`` on CUDA, else ``"float32"``) and ``channels_last``.

    Examples
    --------
    >>> precision_settings(torch.device("cpu"))["dtype"]
    'float32'
    """
    return {"dtype": "bfloat16 autocast" if device.type == "cuda" else "float32",
            "channels_last": device.type == "cuda"}


@validate_params(seeds=Integer(1), seed=Seed())
def write_results(path: str | Path, results: dict[str, Any], device: torch.device,
                  seeds: int, seed: int = 0,
                  record: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write results as JSON atomically; return what was written.

    Parameters
    ----------
    path : str or Path
        The JSON file (its folder is created).
    results : dict
        What the run measured (JSON-serialisable).
    device : torch.device
        The device the run used.
    seeds : int
        The number of seeds, ``≥ 1``: the run used ``seed, seed + 1, …, seed + seeds − 1``.
    seed : int, optional
        The first seed, in ``[0, 2**32 − 1]``.
    record : dict, optional
        The provenance record made when the run started
        (:func:`selfdistill.core.provenance.provenance`); default: one made now. Its
        ``finished`` is set here.

    Returns
    -------
    dict
        ``{"provenance": record, "seeds": [seed, …], "precision": precision_settings(device),
        "results": results}``.

    Raises
    ------
    ValueError
        If ``seeds`` or ``seed`` is out of range (before anything is written).
    """
    record = provenance(device) if record is None else record
    payload = {"provenance": mark_finished(record), "seeds": list(range(seed, seed + seeds)),
               "precision": precision_settings(device), "results": results}
    write_json_atomic(Path(path), payload)
    return payload
