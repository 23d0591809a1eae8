"""CIFAR-10/100 from a local folder in their python format, checked against the official md5
checksums torchvision uses (nothing downloads).

The folder is the parameter ``root`` or the environment variable ``SELFDISTILL_DATA``
(``cifar-10-batches-py/``, ``cifar-100-python/``). torchvision's ``datasets.CIFAR10/100`` are used
when torchvision imports; otherwise a small loader reads the same pickles (beside torch 2.13 on the
development machine torchvision does not import, and a matching one costs a multi-gigabyte CUDA
build in every fresh environment). A missing folder, a missing file or a wrong checksum raises
``ValueError`` before any work.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from selfdistill.core.validate import Options, validate_params

__all__ = ["CIFAR_CHECKSUMS", "cifar_arrays", "read_cifar"]

#: folder, file → md5 of the official python-format archives (as torchvision checks them)
CIFAR_CHECKSUMS: dict[str, dict[str, str]] = {
    "cifar10": {
        "folder": "cifar-10-batches-py",
        "data_batch_1": "c99cafc152244af753f735de768cd75f",
        "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
        "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
        "data_batch_4": "634d18415352ddfa80567beed471001a",
        "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
        "test_batch": "40351d587109b95175f43aff81a1287e",
    },
    "cifar100": {
        "folder": "cifar-100-python",
        "train": "16019d7e3df5f24257cddd939b257f8d",
        "test": "f0ef6b0ae62326f3e7ffdfab6717acfc",
    },
}


def _md5(path: Path) -> str:
    digest = hashlib.md5()  # noqa: S324 (a checksum, not security)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cifar_root(root: str | os.PathLike | None) -> Path:
    if root is None:
        root = os.environ.get("SELFDISTILL_DATA")
    if root is None:
        raise ValueError("root = None and SELFDISTILL_DATA is unset; give the folder that holds "
                         "cifar-10-batches-py/ or cifar-100-python/ (nothing is downloaded)")
    return Path(root)


@validate_params(name=Options("cifar10", "cifar100"))
def read_cifar(name: str, root: str | os.PathLike | None = None,
               checksums: dict[str, str] | None = None) -> tuple[np.ndarray, ...]:
    """Read CIFAR-10/100 from the standard python-format folder, checksums first.

    Every file is verified before any is unpickled (and then read with its content checked:
    whole images, one label per image, labels in range).

    Parameters
    ----------
    name : {"cifar10", "cifar100"}
        The data set (CIFAR-100: the 100 fine labels).
    root : str or os.PathLike, optional
        The folder holding ``cifar-10-batches-py/`` or ``cifar-100-python/`` (default: the
        environment variable ``SELFDISTILL_DATA``).
    checksums : dict of str to str, optional
        ``"folder"`` → the subfolder, and file → md5; default: the official
        :data:`CIFAR_CHECKSUMS` (tests pass their own for generated files). Test files' names
        start with ``test``.

    Returns
    -------
    x_train : numpy.ndarray
        Shape ``(50000, 3, 32, 32)`` for the official data, uint8.
    y_train : numpy.ndarray
        Shape ``(50000,)``, int64.
    x_test, y_test : numpy.ndarray
        ``(10000, 3, 32, 32)`` uint8 and ``(10000,)`` int64.

    Raises
    ------
    ValueError
        If ``name`` is not accepted, the folder or a file is missing, a checksum is wrong, or a
        file's content is not a CIFAR batch (naming the file).
    """
    table = dict(CIFAR_CHECKSUMS[name] if checksums is None else checksums)
    folder = _cifar_root(root) / table.pop("folder")
    if not folder.is_dir():
        raise ValueError(f"root: no folder {folder}; expected the python-format {name} there")
    for file, md5 in table.items():
        path = folder / file
        if not path.is_file():
            raise ValueError(f"root: {path} is missing; the {name} folder is incomplete")
        if _md5(path) != md5:
            raise ValueError(f"root: {path} has a wrong md5 checksum (expected {md5}); "
                             "the file is corrupt or not the official one")
    key = b"labels" if name == "cifar10" else b"fine_labels"
    classes = 10 if name == "cifar10" else 100
    parts: dict[bool, list] = {True: [], False: []}
    for file in table:
        with open(folder / file, "rb") as handle:
            entry = pickle.load(handle, encoding="bytes")  # noqa: S301 (checksum verified)
        parts[file.startswith("test")].append(_cifar_part(folder / file, entry, key, classes))
    train, test = parts[False], parts[True]
    for split, found in (("training", train), ("test", test)):
        if not found:
            raise ValueError(f"checksums: the table names no {split} file (test files start with "
                             f"'test'); accepted: at least one training and one test file")
    return (np.concatenate([p[0] for p in train]), np.concatenate([p[1] for p in train]),
            np.concatenate([p[0] for p in test]), np.concatenate([p[1] for p in test]))


def _cifar_part(path: Path, entry: Any, key: bytes, classes: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(n, 3, 32, 32)`` uint8 and labels ``(n,)`` int64 of one unpickled CIFAR file,
    checked: a dict with ``b"data"`` and the labels' key, whole images, as many labels as images,
    integer labels in ``[0, classes)``; anything else is a ``ValueError`` naming the file."""
    where = f"root: {path}"
    if not isinstance(entry, dict) or b"data" not in entry or key not in entry:
        raise ValueError(f"{where} is not a CIFAR batch: it needs a dict with keys b'data' and "
                         f"{key!r}")
    data = np.asarray(entry[b"data"])
    labels = np.asarray(entry[key])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{where} holds images of shape {data.shape} and dtype {data.dtype}; "
                         "accepted: uint8 rows of 3072 = 3 × 32 × 32 values")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"{where} holds labels of shape {labels.shape} and dtype "
                         f"{labels.dtype}; accepted: a list of integers")
    if labels.shape[0] != data.shape[0]:
        raise ValueError(f"{where} holds {data.shape[0]} images but {labels.shape[0]} labels; "
                         "they must match")
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{where} holds labels in [{labels.min()}, {labels.max()}]; accepted: "
                         f"integers in [0, {classes - 1}]")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


@validate_params(name=Options("cifar10", "cifar100"))
def cifar_arrays(name: str, root: str | os.PathLike | None,
                 checksums: dict[str, str] | None) -> tuple[np.ndarray, ...]:
    """CIFAR's four arrays as :func:`read_cifar` returns them, through torchvision when it
    imports (it checks the same md5s) and no custom ``checksums`` are given, else through
    :func:`read_cifar`; a torchvision failure is a ``ValueError`` naming ``root``.

    Parameters
    ----------
    name : {"cifar10", "cifar100"}
        The data set (CIFAR-100: the 100 fine labels).
    root : str or os.PathLike or None
        The folder holding ``cifar-10-batches-py/`` or ``cifar-100-python/``; ``None``: the
        environment variable ``SELFDISTILL_DATA``. Nothing is downloaded.
    checksums : dict of str to str or None
        As for :func:`read_cifar`; given, the local reader is used.

    Returns
    -------
    tuple of numpy.ndarray
        ``(x_train, y_train, x_test, y_test)``: images ``(n, 3, 32, 32)`` uint8 (channels first)
        and labels ``(n,)`` int64, on the CPU.

    Raises
    ------
    ValueError
        ``root`` unset or its files missing, corrupt or failing their checksums; as
        :func:`read_cifar` for the local reader (which also refuses another ``name``).
    """
    try:  # torchvision when it imports (it checks the same md5s); else our reader
        from torchvision import datasets  # type: ignore[import-not-found]
    except Exception:  # noqa: BLE001 (any import failure means: use the local reader)
        return read_cifar(name, root, checksums)
    if checksums is not None:
        return read_cifar(name, root, checksums)
    cls = datasets.CIFAR10 if name == "cifar10" else datasets.CIFAR100
    folder = _cifar_root(root)
    try:
        train, test = cls(str(folder), train=True), cls(str(folder), train=False)
    except RuntimeError as err:
        raise ValueError(f"root: {err}") from None
    return (train.data.transpose(0, 3, 1, 2), np.asarray(train.targets, np.int64),
            test.data.transpose(0, 3, 1, 2), np.asarray(test.targets, np.int64))
