"""Checkpoints and results, written atomically, with a fingerprint of the configuration.

A checkpoint is refused (``ValueError``, before any training, nothing overwritten) when its
fingerprint differs from the run's: another configuration, data set, size, objective or teacher.
Results are JSON with provenance (:func:`provenance`): command, commit, device, seeds, library
versions, date, dtype, TF32 and determinism settings.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import tempfile
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

__all__ = ["fingerprint", "load", "precision_settings", "provenance", "save", "write_results"]


def _model_digest(model: torch.nn.Module | None) -> str | None:
    if model is None:
        return None
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def fingerprint(config, data, objective, teacher) -> dict[str, Any]:
    """What a checkpoint must match: config, data set name and sizes, objective, teacher digest."""
    labels = hashlib.sha256(data.y_train.cpu().numpy().tobytes()).hexdigest()[:16]
    return json.loads(json.dumps({
        "config": asdict(config), "data": data.name, "n_train": int(data.x_train.shape[0]),
        "n_val": int(data.x_val.shape[0]), "labels": labels, "objective": objective.describe(),
        "teacher": _model_digest(teacher)}, default=str))


def save(path: str | Path, fp: dict[str, Any], state: dict[str, Any]) -> None:
    """Write ``state`` with its fingerprint to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        torch.save({"fingerprint": fp, "state": state}, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load(path: str | Path, fp: dict[str, Any], device: torch.device) -> dict[str, Any] | None:
    """The saved state if ``path`` exists, ``None`` if not; ``ValueError`` if it does not match."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        saved = torch.load(path, map_location=device, weights_only=False)
        other = saved["fingerprint"]
    except Exception as err:  # noqa: BLE001 (any unreadable file is a bad checkpoint)
        raise ValueError(f"checkpoint = {str(path)!r} cannot be read: {err}") from None
    if other != fp:
        keys = sorted(k for k in set(fp) | set(other) if fp.get(k) != other.get(k))
        raise ValueError(f"checkpoint = {str(path)!r} comes from another configuration "
                         f"(differs in {keys}); remove it or choose another path")
    return saved["state"]


def precision_settings(device: torch.device) -> dict[str, Any]:
    """dtype, TF32 and determinism settings in force for a run on ``device``."""
    return {
        "dtype": "bfloat16 autocast" if device.type == "cuda" else "float32",
        "channels_last": device.type == "cuda",
        "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
        "tf32_cudnn": bool(torch.backends.cudnn.allow_tf32),
        "deterministic_algorithms": bool(torch.are_deterministic_algorithms_enabled()),
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
    }


def provenance(device: torch.device, seeds: list[int]) -> dict[str, Any]:
    """Command, commit, device, seeds, library versions, date and precision settings."""
    import numpy

    from .claims import git_commit

    name = (torch.cuda.get_device_name(device) if device.type == "cuda"
            else platform.processor() or platform.machine())
    return {"command": " ".join(sys.argv), "commit": git_commit(), "device": str(device),
            "device_name": name, "seeds": list(seeds),
            "versions": {"python": platform.python_version(), "torch": torch.__version__,
                         "numpy": numpy.__version__},
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **precision_settings(device)}


def write_results(path: str | Path, results: dict[str, Any], device: torch.device,
                  seeds: list[int]) -> dict[str, Any]:
    """Write ``{"provenance": ..., "results": results}`` as JSON atomically; return it."""
    from .claims import write_json_atomic

    payload = {"provenance": provenance(device, seeds), "results": results}
    write_json_atomic(Path(path), payload)
    return payload
