"""Data sets: embedded ones that never download, and CIFAR from a local folder.

Embedded: the 11-point toy problem of mobahi2020 §7 (:func:`toy_sine`); scikit-learn's handwritten
digits (1797 images of 8×8, 10 classes) as images (``"digits"``, shape (1, 8, 8)) or as vectors
(``"digits-vec"``, shape (64,)); and a synthetic clusterable set (``"blobs"``: Gaussian clusters,
several per class, in 16 dimensions).

CIFAR-10/100 are read from a local folder (parameter ``root`` or the environment variable
``SELFDISTILL_DATA``) in their standard python format (``cifar-10-batches-py/``,
``cifar-100-python/``). **Loader choice**: torchvision's ``datasets.CIFAR10/100`` are used when
torchvision imports; beside torch 2.13 on the development machine it does not (installing a matching
torchvision costs a multi-gigabyte CUDA build in every fresh environment), so otherwise a small
loader reads the same pickles and verifies the official md5 checksums torchvision uses. Nothing is
downloaded. A missing folder, a missing file or a wrong checksum raises ``ValueError`` before any
work.

Whole data sets live on the device as tensors (:class:`Dataset`); augmentation (random crop with
zero padding, horizontal flip) is batched on the device and seeded (:func:`augment`).
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .validate import check_choice, check_in_range, check_int

__all__ = ["CIFAR_CHECKSUMS", "DATASETS", "Dataset", "augment", "jittered_sine", "load_dataset",
           "noisy_sine", "read_cifar", "toy_sine"]

# mobahi2020 §7's illustrative example, y = sin(2πx) + N(0, 0.5²) noise at x = 0, 0.1, ..., 1; the
# noisy values as published by a later reproduction (see shared/papers/mobahi2020.md §7).
_TOY_Y = (
    0.38476636465198066, 1.2333967683416893, 1.33232242218057, 0.6920159488889518,
    -0.29756145531871736, -0.24189291901377769, -0.7964485769175675, -0.9616480167034174,
    -0.49672509509916934, -0.3469066003991437, 0.5589512650600734,
)

#: accepted data set names
DATASETS = ("digits", "digits-vec", "blobs", "cifar10", "cifar100")

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
_CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
_CIFAR_STD = (0.2470, 0.2435, 0.2616)
_TEST_SEED = 20260101  # fixed test split of the embedded sets, independent of the run seed


def toy_sine() -> tuple[np.ndarray, np.ndarray]:
    """The 11-point toy problem: ``x`` (11,) on [0, 1] and noisy ``y`` (11,), float64."""
    return np.linspace(0.0, 1.0, 11), np.array(_TOY_Y, dtype=np.float64)


def jittered_sine(K: int, seed: int, noise: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """``K`` seeded points, one uniformly placed in the middle 80% of each cell ``[k/K, (k+1)/K)``
    (so neighbours are at least ``0.2/K`` apart and Gram matrices stay positive definite), with
    targets ``sin(2πx) + N(0, noise²)``. Returns ``x`` (K,) ascending and ``y`` (K,), float64."""
    from .validate import check_in_range, check_int

    K = check_int("K", K, 1)
    noise = check_in_range("noise", noise, 0.0, np.inf)
    rng = np.random.default_rng(check_int("seed", seed, 0, 2**63 - 1))
    x = (np.arange(K) + rng.uniform(0.1, 0.9, K)) / K
    return x, np.sin(2 * np.pi * x) + noise * rng.standard_normal(K)


def noisy_sine(K: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The toy problem's model at ``K`` points: ``x`` equispaced on [0, 1] (shape ``(K,)``) and
    ``y = sin(2πx) + N(0, noise²)`` drawn with NumPy's generator seeded by ``seed``; float64."""
    from .validate import check_in_range, check_int

    K = check_int("K", K, 2, 10_000)
    noise = check_in_range("noise", noise, 0.0, 10.0)
    rng = np.random.default_rng(check_int("seed", seed, 0, 2**63 - 1))
    x = np.linspace(0.0, 1.0, K)
    return x, np.sin(2 * np.pi * x) + noise * rng.standard_normal(K)
@dataclass
class Dataset:
    """A classification data set held whole on one device.

    ``x_*`` are float32 tensors (n, *shape), normalised; ``y_*`` int64 (n,) class indices in
    [0, num_classes). The training and validation parts come from one seeded split.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one input, e.g. (3, 32, 32) or (64,)."""
        return tuple(self.x_train.shape[1:])

    def with_train_labels(self, y: torch.Tensor) -> Dataset:
        """A copy whose training labels are replaced (e.g. corrupted labels), checked."""
        y = torch.as_tensor(y, device=self.y_train.device, dtype=torch.int64)
        if y.shape != self.y_train.shape:
            raise ValueError(f"y has shape {tuple(y.shape)}; expected {tuple(self.y_train.shape)}")
        if int(y.min()) < 0 or int(y.max()) >= self.num_classes:
            raise ValueError(f"y has labels outside [0, {self.num_classes})")
        return Dataset(self.name, self.x_train, y, self.x_val, self.y_val, self.x_test,
                       self.y_test, self.num_classes)


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


def read_cifar(name: str, root: str | os.PathLike | None = None,
               checksums: dict[str, str] | None = None) -> tuple[np.ndarray, ...]:
    """Read CIFAR-10/100 from the standard python-format folder, checksums first.

    Returns ``x_train`` uint8 (50000, 3, 32, 32), ``y_train`` int64, ``x_test``, ``y_test``.
    ``checksums`` (folder and file → md5) defaults to the official ones, :data:`CIFAR_CHECKSUMS`;
    tests pass their own for generated files. Every file is verified before any is unpickled.
    """
    check_choice("name", name, ("cifar10", "cifar100"))
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


def _cifar_arrays(name: str, root, checksums) -> tuple[np.ndarray, ...]:
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


def _blobs(n: int = 2000, dim: int = 16, classes: int = 4, per_class: int = 3,
           spread: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(_TEST_SEED)
    centres = rng.normal(size=(classes * per_class, dim))
    cluster = rng.integers(0, classes * per_class, size=n)
    x = centres[cluster] + spread * rng.normal(size=(n, dim))
    return x.astype(np.float32), (cluster % classes).astype(np.int64)


def load_dataset(name: str, device: torch.device, seed: int = 0, val_fraction: float = 0.1,
                 root: str | os.PathLike | None = None, checksums: dict[str, str] | None = None,
                 train_size: int | None = None) -> Dataset:
    """Load a data set whole onto ``device`` with a seeded train/validation split.

    The embedded sets have a fixed test split (30 %, seed independent of ``seed``); CIFAR uses its
    official test set. ``val_fraction`` of the remaining training data, chosen by ``seed``, is held
    out for validation. ``train_size`` optionally keeps only the first examples of the seeded
    training part (small runs). Inputs are standardised (per channel for images).
    """
    check_choice("name", name, DATASETS)
    check_int("seed", seed, 0, 2**63 - 1)
    check_in_range("val_fraction", val_fraction, 0.0, 0.5, upper_open=True)
    if name.startswith("cifar"):
        x_tr, y_tr, x_te, y_te = _cifar_arrays(name, root, checksums)
        x_tr = x_tr.astype(np.float32) / 255.0
        x_te = x_te.astype(np.float32) / 255.0
        mean = np.array(_CIFAR_MEAN, np.float32)[:, None, None]
        std = np.array(_CIFAR_STD, np.float32)[:, None, None]
        x_tr, x_te = (x_tr - mean) / std, (x_te - mean) / std
        classes = 10 if name == "cifar10" else 100
    else:
        if name == "blobs":
            x, y = _blobs()
            classes = 4
        else:
            from sklearn.datasets import load_digits

            digits = load_digits()
            x, y = digits.data.astype(np.float32) / 16.0, digits.target.astype(np.int64)
            classes = 10
        order = np.random.default_rng(_TEST_SEED).permutation(len(y))
        n_test = int(round(0.3 * len(y)))
        test, rest = order[:n_test], order[n_test:]
        x_tr, y_tr, x_te, y_te = x[rest], y[rest], x[test], y[test]
        mean, std = x_tr.mean(0), x_tr.std(0) + 1e-3
        x_tr, x_te = (x_tr - mean) / std, (x_te - mean) / std
        if name == "digits":
            x_tr, x_te = x_tr.reshape(-1, 1, 8, 8), x_te.reshape(-1, 1, 8, 8)
    perm = np.random.default_rng(seed).permutation(len(y_tr))
    n_val = int(round(val_fraction * len(y_tr)))
    val, train = perm[:n_val], perm[n_val:]
    if train_size is not None:
        check_int("train_size", train_size, 1, len(train))
        train = train[:train_size]

    def put(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(a), device=device)

    return Dataset(name, put(x_tr[train]), put(y_tr[train]), put(x_tr[val]), put(y_tr[val]),
                   put(x_te), put(y_te), classes)


def augment(x: torch.Tensor, generator: torch.Generator, padding: int = 4,
            flip: bool = True) -> torch.Tensor:
    """Random crop after zero padding, and random horizontal flip, batched on ``x``'s device.

    ``x`` (n, C, H, W); ``generator`` a torch generator on ``x``'s device (seeded: the same
    generator state gives the same crops and flips). Each image gets its own offset in
    [0, 2·padding]² and flips with probability 1/2.
    """
    if x.ndim != 4:
        raise ValueError(f"x has shape {tuple(x.shape)}; augment takes images (n, C, H, W)")
    check_int("padding", padding, 0, 64)
    n, _, h, w = x.shape
    out = x
    if padding:
        padded = F.pad(x, (padding,) * 4)
        dy = torch.randint(0, 2 * padding + 1, (n, 1), device=x.device, generator=generator)
        dx = torch.randint(0, 2 * padding + 1, (n, 1), device=x.device, generator=generator)
        rows = (dy + torch.arange(h, device=x.device))[:, None, :, None]
        cols = (dx + torch.arange(w, device=x.device))[:, None, None, :]
        batch = torch.arange(n, device=x.device)[:, None, None, None]
        chan = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
        out = padded[batch, chan, rows, cols]
    if flip:
        mask = torch.rand(n, device=x.device, generator=generator) < 0.5
        out = torch.where(mask[:, None, None, None], out.flip(3), out)
    return out
