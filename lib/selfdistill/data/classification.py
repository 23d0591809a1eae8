"""Classification data sets on the device: embedded ones that never download, and CIFAR.

Embedded: scikit-learn's handwritten digits (1797 images of 8×8, 10 classes, read by the one
loader :func:`selfdistill.data.digits.load_digits_arrays`; labels are the digits, class indices
``0 … 9``) as images (``"digits"``, shape (1, 8, 8)) or as vectors (``"digits-vec"``, shape
(64,)); and a synthetic
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

from selfdistill.core.validate import (
    Integer,
    Optional,
    Options,
    Real,
    Seed,
    Tensor,
    check_int,
    check_labels,
    validate_params,
)
from selfdistill.data.cifar import cifar_arrays
from selfdistill.data.digits import load_digits_arrays

__all__ = ["DATASETS", "Dataset", "augment", "load_dataset"]


#: accepted data set names
DATASETS = ("digits", "digits-vec", "blobs", "cifar10", "cifar100")

_CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
_CIFAR_STD = (0.2470, 0.2435, 0.2616)
_TEST_SEED = 20260101  # fixed test split of the embedded sets, independent of the run seed


@dataclass
class Dataset:
    """A classification data set held whole on one device (:func:`load_dataset` makes one).

    The training and validation parts come from one seeded split; the test part is fixed.

    Attributes
    ----------
    name : str
        One of :data:`DATASETS` (a checkpoint's fingerprint records it).
    x_train, x_val, x_test : torch.Tensor
        Shape ``(n, *shape)``, float32, standardised inputs (``shape`` is ``(64,)``,
        ``(1, 8, 8)``, ``(16,)`` or ``(3, 32, 32)``), all on one device.
    y_train, y_val, y_test : torch.Tensor
        Shape ``(n,)``, int64 class indices in ``[0, num_classes − 1]``, on the same device.
    num_classes : int
        ``C``, the number of classes.
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
        """Shape of one input, e.g. ``(3, 32, 32)`` or ``(64,)``."""
        return tuple(self.x_train.shape[1:])

    def with_train_labels(self, y: torch.Tensor) -> Dataset:
        """A copy whose training labels are replaced (e.g. corrupted labels), checked.

        Parameters
        ----------
        y : torch.Tensor or array_like
            Shape ``(n_train,)``, integer class indices in ``[0, num_classes − 1]`` (any integer
            dtype; NumPy arrays and lists are converted), placed on the training labels' device.

        Returns
        -------
        Dataset
            The same tensors, with ``y_train`` replaced by ``y`` as int64.

        Raises
        ------
        ValueError
            If ``y`` is not integer, not ``(n_train,)``, or out of range
            (:func:`selfdistill.core.validate.check_labels`).
        """
        device = self.y_train.device
        y = y.to(device) if isinstance(y, torch.Tensor) else torch.as_tensor(y, device=device)
        y = check_labels("y", y, self.num_classes, rows=self.y_train.shape[0])
        return Dataset(self.name, self.x_train, y, self.x_val, self.y_val, self.x_test,
                       self.y_test, self.num_classes)


def _blobs(n: int = 2000, dim: int = 16, classes: int = 4, per_class: int = 3,
           spread: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(_TEST_SEED)
    centres = rng.normal(size=(classes * per_class, dim))
    cluster = rng.integers(0, classes * per_class, size=n)
    x = centres[cluster] + spread * rng.normal(size=(n, dim))
    return x.astype(np.float32), (cluster % classes).astype(np.int64)


@validate_params(name=Options(*DATASETS), seed=Seed(),
                 val_fraction=Real(0.0, 0.5, upper_open=True), train_size=Optional(Integer(1)))
def load_dataset(name: str, device: torch.device, seed: int = 0, val_fraction: float = 0.1,
                 root: str | os.PathLike | None = None, checksums: dict[str, str] | None = None,
                 train_size: int | None = None) -> Dataset:
    """Load a data set whole onto ``device`` with a seeded train/validation split.

    The embedded sets have a fixed test split (30 %, independent of ``seed``); CIFAR uses its
    official test set. ``val_fraction`` of the remaining training data, chosen by ``seed``, is held
    out for validation. Inputs are standardised: the embedded sets per feature with the training
    part's mean and standard deviation (+ 10⁻³), CIFAR per channel with the usual constants.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`: ``"digits"``, ``"digits-vec"``, ``"blobs"``, ``"cifar10"``,
        ``"cifar100"``.
    device : torch.device
        Where the whole data set is placed.
    seed : int, optional
        Seed of the train/validation split, in ``[0, 2**32 − 1]``.
    val_fraction : float, optional
        Fraction of the training data held out for validation, in ``[0, 0.5)``.
    root : str or os.PathLike, optional
        CIFAR only: the folder holding the python-format data (default: ``SELFDISTILL_DATA``).
    checksums : dict, optional
        CIFAR only: file → md5 table (default: the official one, :data:`CIFAR_CHECKSUMS`).
    train_size : int, optional
        Keep only the first ``train_size`` examples of the seeded training part (small runs), in
        ``[1, number of training examples]``.

    Returns
    -------
    Dataset
        float32 inputs and int64 labels on ``device``.

    Raises
    ------
    ValueError
        If an argument is out of range (naming it, its value and the accepted range), or the
        CIFAR folder is missing or fails its checksums.

    Examples
    --------
    >>> data = load_dataset("digits", torch.device("cpu"), seed=0)
    >>> data.shape, data.num_classes, data.x_train.dtype, data.y_train.dtype
    ((1, 8, 8), 10, torch.float32, torch.int64)
    >>> data.x_train.shape[0], data.x_val.shape[0], data.x_test.shape[0]
    (1132, 126, 539)
    """
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
            images, labels = load_digits_arrays()
            x, y = images.astype(np.float32) / 16.0, labels.copy()
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


@validate_params(x=Tensor((4,), finite=False), padding=Integer(0, 64))
def augment(x: torch.Tensor, generator: torch.Generator, padding: int = 4,
            flip: bool = True) -> torch.Tensor:
    """Random crop after zero padding, and random horizontal flip, batched on ``x``'s device.

    Each image gets its own offset in ``[0, 2·padding]²`` and flips with probability 1/2; the
    draws come from ``generator`` in a fixed order (row offsets, column offsets, flips), so the
    same generator state gives the same crops and flips.

    Parameters
    ----------
    x : torch.Tensor
        Shape ``(n, C, H, W)``, images of any floating dtype, on any device (not checked for
        finiteness: this runs on every batch).
    generator : torch.Generator
        A seeded generator on ``x``'s device.
    padding : int, optional
        Zero padding on each side before the crop, in ``[0, 64]`` (0: no crop).
    flip : bool, optional
        Whether to flip horizontally at random.

    Returns
    -------
    torch.Tensor
        Shape ``(n, C, H, W)``, the dtype and device of ``x``.

    Raises
    ------
    ValueError
        If ``x`` is not a 4-D real tensor, or ``padding`` is out of range.

    Examples
    --------
    >>> x = torch.arange(4.0).reshape(1, 1, 2, 2)
    >>> augment(x, torch.Generator().manual_seed(0), padding=0, flip=True).flatten().tolist()
    [1.0, 0.0, 3.0, 2.0]
    """
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
