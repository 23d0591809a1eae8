"""scikit-learn's handwritten digits: one loader, one ±1 label convention (nothing downloads).

The digits (1797 grey images of 8×8 pixels with values 0 … 16, ten classes, shipped inside
scikit-learn) are read once per process by :func:`load_digits_arrays` and shared, read-only, by
every user in the library: :func:`selfdistill.data.classification.load_dataset` (``"digits"``,
``"digits-vec"``), :func:`selfdistill.data.sphere.digits_sphere` and :func:`binary_split`
(dong2019's two-class protocol).

The label convention
--------------------
Multi-class problems use the class indices ``0 … C − 1`` (int64). Binary problems use targets in
``{−1, +1}`` and there is one rule for them, :func:`signed_labels`: **+1 for the labels of the
positive set, −1 for all others.** Each binary problem names its positive set:

* two classes given as class indices ``0, 1`` (:func:`selfdistill.data.sphere.labels_to_targets`,
  :func:`selfdistill.data.sphere.digits_sphere` with ``classes = (a, b)``): the positive set is
  ``(1,)``, the class listed second; ``a → −1``, ``b → +1``;
* dong2019's digits split (:func:`binary_split`): the positive set is :data:`LOW_DIGITS`,
  ``0 … 4 → +1`` and ``5 … 9 → −1``.

Keeping each problem's positive set (rather than one fixed orientation) keeps every result
identical to what it was before the loaders were merged: the two-layer networks of dong2019 are
not exactly odd in their labels (a tie ``f = 0`` counts as +1), so flipping a sign would change
their numbers.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from selfdistill.core.validate import Integer, Optional, Seed, check_int, validate_params

__all__ = ["LOW_DIGITS", "N_DIGITS", "DigitsSplit", "binary_split", "load_digits_arrays",
           "signed_labels"]

#: the number of images in scikit-learn's digits
N_DIGITS = 1797
#: dong2019's positive set: digits 0–4 are +1, digits 5–9 are −1
LOW_DIGITS = (0, 1, 2, 3, 4)


@functools.lru_cache(maxsize=1)
def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as two read-only arrays, read once per process.

    Returns
    -------
    images : numpy.ndarray
        Shape ``(1797, 64)``, float64, the pixel values ``0 … 16`` of each 8×8 image, row by row.
    labels : numpy.ndarray
        Shape ``(1797,)``, int64, the digit ``0 … 9`` of each image.

    Notes
    -----
    Both arrays are shared by every caller and marked read-only (writing raises ``ValueError``):
    copy before changing them (``images.astype(...)``, ``images[idx]`` copy already).

    Examples
    --------
    >>> images, labels = load_digits_arrays()
    >>> images.shape, images.dtype, labels.shape, labels.dtype
    ((1797, 64), dtype('float64'), (1797,), dtype('int64'))
    >>> float(images.max()), sorted(set(labels.tolist())) == list(range(10))
    (16.0, True)
    >>> load_digits_arrays()[0] is images  # cached: read once per process
    True
    """
    from sklearn.datasets import load_digits

    images, labels = load_digits(return_X_y=True)
    images = np.ascontiguousarray(images, dtype=np.float64)
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    if images.shape != (N_DIGITS, 64) or labels.shape != (N_DIGITS,):
        raise RuntimeError(f"scikit-learn's digits have shapes {images.shape} and "
                           f"{labels.shape}; expected ({N_DIGITS}, 64) and ({N_DIGITS},)")
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def signed_labels(labels: Iterable[int] | np.ndarray, positive: Iterable[int]) -> np.ndarray:
    """The library's one ±1 convention: +1 for a label in ``positive``, −1 for any other.

    Parameters
    ----------
    labels : array_like of int
        Shape ``(n,)``: class indices or digits (NumPy, a list, or a CPU tensor).
    positive : iterable of int
        The labels that map to +1 (at least one).

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``, float64, entries ``+1.0`` or ``-1.0``.

    Raises
    ------
    ValueError
        If ``labels`` is not one-dimensional or holds non-integers, or ``positive`` is empty.

    Examples
    --------
    >>> signed_labels([0, 1, 1, 0], positive=(1,)).tolist()
    [-1.0, 1.0, 1.0, -1.0]
    >>> signed_labels([3, 7, 4, 5], positive=LOW_DIGITS).tolist()
    [1.0, -1.0, 1.0, -1.0]
    """
    array = np.asarray(labels)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        shown = " ".join(repr(labels).split())  # one line
        shown = shown if len(shown) <= 80 else shown[:79] + "…"
        raise ValueError(f"labels = {shown} has shape {array.shape} and dtype {array.dtype}; "
                         "accepted: a 1-D array of integer labels")
    chosen = [int(c) for c in positive]
    if not chosen:
        raise ValueError("positive = () is empty; accepted: at least one label that maps to +1")
    return np.where(np.isin(array, chosen), 1.0, -1.0)


@dataclass(frozen=True)
class DigitsSplit:
    """A seeded two-class split of the digits (dong2019's protocol, :func:`binary_split`).

    Attributes
    ----------
    x_train : torch.Tensor
        Shape ``(n_train, 64)``, float64, centred by the training mean, rows of unit norm.
    y_train : torch.Tensor
        Shape ``(n_train,)``, float64, the true ±1 labels (:func:`signed_labels`).
    x_test : torch.Tensor
        Shape ``(n_test, 64)``, float64, centred by the *training* mean, rows of unit norm.
    y_test : torch.Tensor
        Shape ``(n_test,)``, float64, ±1.

    All four live on one device.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


@validate_params(n_train=Integer(50, 1500), seed=Seed(),
                 n_test=Optional(Integer(1, N_DIGITS - 50)))
def binary_split(n_train: int, seed: int, device: torch.device | str = "cpu",
                 n_test: int | None = None,
                 positive: tuple[int, ...] = LOW_DIGITS) -> DigitsSplit:
    """Two-class digits on the unit sphere with a seeded random split (dong2019 §6, our protocol).

    The 1797 images are shuffled by ``numpy.random.default_rng(seed)``; the first ``n_train`` are
    the training set, the next ``n_test`` the test set. Labels follow :func:`signed_labels`
    (default: digits 0–4 → +1, 5–9 → −1). Inputs are centred by the mean of the *training* images
    only (the test set must not inform the preprocessing) and each row is scaled to unit norm.

    Parameters
    ----------
    n_train : int
        Training images, in ``[50, 1500]``.
    seed : int
        The split's seed, in ``[0, 2**32 - 1]``.
    device : torch.device or str, optional
        Where the tensors are placed (default ``"cpu"``); the arithmetic runs on the CPU in
        float64 first, so every device gets the same numbers.
    n_test : int, optional
        Test images, in ``[1, 1797 − n_train]``; default: all the rest.
    positive : tuple of int, optional
        The digits labelled +1 (default :data:`LOW_DIGITS`).

    Returns
    -------
    DigitsSplit
        ``x_train`` ``(n_train, 64)``, ``y_train`` ``(n_train,)``, ``x_test`` ``(n_test, 64)``,
        ``y_test`` ``(n_test,)``, all float64 on ``device``.

    Raises
    ------
    ValueError
        If ``n_train``, ``seed`` or ``n_test`` is out of range (naming it, its value and the
        accepted range), or ``positive`` is empty.

    Notes
    -----
    The inputs of the two-layer network ``two-layer-net`` (chapter ``neural-tangent-kernel``)
    must lie on the unit sphere, hence the normalisation; the noisy labels of the
    ``noisy-label-self-distillation`` chapter flip these ±1 labels
    (:func:`selfdistill.data.noise.binary_flip`).

    Examples
    --------
    >>> split = binary_split(100, seed=0, n_test=20)
    >>> tuple(split.x_train.shape), tuple(split.y_test.shape), split.x_train.dtype
    ((100, 64), (20,), torch.float64)
    >>> round(float(split.x_train.norm(dim=1).max()), 12), sorted(set(split.y_train.tolist()))
    (1.0, [-1.0, 1.0])
    """
    n_test = N_DIGITS - n_train if n_test is None else check_int("n_test", n_test, 1,
                                                                   N_DIGITS - n_train)
    images, labels = load_digits_arrays()
    order = np.random.default_rng(seed).permutation(N_DIGITS)
    x = torch.tensor(images[order], dtype=torch.float64)
    y = torch.tensor(signed_labels(labels[order], positive), dtype=torch.float64)
    x = x - x[:n_train].mean(0)  # centre by the training mean only
    x = x / x.norm(dim=1, keepdim=True)
    test = slice(n_train, n_train + n_test)
    return DigitsSplit(*(t.to(device) for t in (x[:n_train], y[:n_train], x[test], y[test])))
