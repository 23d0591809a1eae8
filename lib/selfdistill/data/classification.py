"""Classification data sets on the device: embedded ones that never download, and CIFAR.

Embedded: scikit-learn's handwritten digits (1797 images of 8×8, 10 classes) as images
(``"digits"``, shape (1, 8, 8)) or as vectors (``"digits-vec"``, shape (64,)); and a synthetic
clusterable set (``"blobs"``: Gaussian clusters, several per class, in 16 dimensions). CIFAR-10/100
come from a local folder through :mod:`selfdistill.data.cifar`.

Whole data sets live on the device as tensors (:class:`Dataset`); augmentation (random crop with
zero padding, horizontal flip) is batched on the device and seeded (:func:`augment`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from selfdistill.core.validate import check_choice, check_in_range, check_int
from selfdistill.data.cifar import cifar_arrays

__all__ = ["DATASETS", "Dataset", "augment", "load_dataset"]


#: accepted data set names
DATASETS = ("digits", "digits-vec", "blobs", "cifar10", "cifar100")

_CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
_CIFAR_STD = (0.2470, 0.2435, 0.2616)
_TEST_SEED = 20260101  # fixed test split of the embedded sets, independent of the run seed


@dataclass
class Dataset:
    """A classification data set held whole on one device.

    ``x_*`` are float32 tensors ``(n, *shape)``, normalised; ``y_*`` int64 (n,) class indices in
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
        x_tr, y_tr, x_te, y_te = cifar_arrays(name, root, checksums)
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
