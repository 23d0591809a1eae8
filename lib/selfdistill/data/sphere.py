"""Small, seeded data on the unit sphere for the dong2019 chapters (nothing here downloads).

* :func:`clusterable_sphere` — Gaussian clusters around random centres, projected to the sphere,
  each cluster carrying one label (the "clusterable data" of Li, Soltanolkotabi, Oymak 2019);
* :func:`digits_sphere` — scikit-learn's 8×8 digits (:mod:`selfdistill.data.digits`, the one
  loader), centred and normalised to unit norm.

Labels: ``y`` in {−1, +1} (n,) for two classes, one-hot (n, C) for more
(:func:`labels_to_targets`; the ±1 rule is :func:`selfdistill.data.digits.signed_labels` with
class index 1 positive).
"""

from __future__ import annotations

import numpy as np
import torch

from selfdistill.core.validate import (
    Integer,
    Optional,
    Real,
    Seed,
    check_int,
    validate_params,
)
from selfdistill.data.digits import load_digits_arrays, signed_labels

__all__ = ["clusterable_sphere", "digits_sphere", "labels_to_targets"]


@validate_params(num_classes=Integer(2))
def labels_to_targets(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Class indices to regression targets: ±1 for two classes, one-hot rows for more.

    Parameters
    ----------
    labels : numpy.ndarray
        Shape ``(n,)``, integer class indices in ``[0, num_classes − 1]``.
    num_classes : int
        ``C ≥ 2``, the number of classes.

    Returns
    -------
    numpy.ndarray
        float64: shape ``(n,)`` with class 1 → +1 and class 0 → −1 when ``C = 2``
        (:func:`~selfdistill.data.digits.signed_labels` with positive set ``(1,)``); else shape
        ``(n, C)``, one-hot rows.

    Raises
    ------
    ValueError
        If ``num_classes < 2``, or ``labels`` is not a 1-D integer array with values in
        ``[0, C − 1]``.

    Examples
    --------
    >>> labels_to_targets(np.array([0, 1, 1]), 2).tolist()
    [-1.0, 1.0, 1.0]
    >>> labels_to_targets(np.array([2, 0]), 3).tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iu"):
        raise ValueError(f"labels has shape {labels.shape} and dtype {labels.dtype}; accepted: "
                         "a 1-D array of integer class indices")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels ranges over [{labels.min()}, {labels.max()}]; accepted: "
                         f"[0, {num_classes - 1}] for {num_classes} classes")
    if num_classes == 2:
        return signed_labels(labels, positive=(1,))
    return np.eye(num_classes)[labels]


@validate_params(n=Integer(1), d=Integer(2), n_clusters=Integer(1), spread=Real(0.0, 10.0),
                 num_classes=Integer(2), seed=Seed())
def clusterable_sphere(
    n: int, d: int, n_clusters: int, spread: float = 0.2, num_classes: int = 2, seed: int = 0,
    device: str | torch.device = "cpu",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Points in clusters on the unit sphere ``S^{d−1}`` with one class per cluster.

    Centres ``c_k`` uniform on the sphere; point ``i`` of cluster ``k = i mod n_clusters`` is
    ``(c_k + spread · g / √d) / ‖·‖`` with ``g ~ N(0, I_d)``; cluster ``k`` has class
    ``k mod num_classes`` (so every class has a cluster when ``n_clusters ≥ num_classes``).

    Parameters
    ----------
    n : int
        Number of points, ``≥ 1``.
    d : int
        Ambient dimension, ``≥ 2``.
    n_clusters : int
        Number of clusters, in ``[1, n]``.
    spread : float, optional
        Noise scale around each centre, in ``[0, 10]`` (0: every point is its centre).
    num_classes : int, optional
        Number of classes, in ``[2, n_clusters]``.
    seed : int, optional
        Seed of the NumPy generator, in ``[0, 2**32 − 1]``.
    device : str or torch.device, optional
        Where the tensors are placed (the draws are made on the CPU).

    Returns
    -------
    X : torch.Tensor
        Shape ``(n, d)``, float64, unit rows.
    y : torch.Tensor
        float64 targets (:func:`labels_to_targets`): ``(n,)`` ±1 for two classes, one-hot
        ``(n, C)`` otherwise.
    cluster : torch.Tensor
        Shape ``(n,)``, int64, the cluster of each point.

    Raises
    ------
    ValueError
        If an argument is out of its range (naming it, its value and the range).

    Examples
    --------
    >>> X, y, cluster = clusterable_sphere(6, 3, 2, spread=0.1, seed=0)
    >>> tuple(X.shape), X.dtype, y.tolist(), cluster.tolist()
    ((6, 3), torch.float64, [-1.0, 1.0, -1.0, 1.0, -1.0, 1.0], [0, 1, 0, 1, 0, 1])
    """
    check_int("n_clusters", n_clusters, 1, n)
    check_int("num_classes", num_classes, 2, n_clusters)
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    cluster = np.arange(n) % n_clusters
    X = centres[cluster] + spread * rng.standard_normal((n, d)) / np.sqrt(d)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = labels_to_targets(cluster % num_classes, num_classes)
    as_t = dict(dtype=torch.float64, device=device)
    return (torch.as_tensor(X, **as_t), torch.as_tensor(y, **as_t),
            torch.as_tensor(cluster, device=device))


@validate_params(n_per_class=Optional(Integer(1, 174)), seed=Seed())
def digits_sphere(
    classes: tuple[int, ...] = (0, 1), n_per_class: int | None = None, seed: int = 0,
    device: str | torch.device = "cpu",
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """scikit-learn's digits (1797 images, 64 pixels), restricted to ``classes``, on the sphere.

    Pixels are centred by the mean image of the selected data, then each row is scaled to unit
    norm. ``n_per_class`` (optional) keeps a seeded random subset of each class.

    Parameters
    ----------
    classes : tuple of int, optional
        At least two distinct digits in ``0 … 9``; their order sets the targets: for two classes
        ``classes[1] → +1`` and ``classes[0] → −1`` (the library's one ±1 rule,
        :func:`selfdistill.data.digits.signed_labels`); for more, one-hot in this order.
    n_per_class : int, optional
        Images kept per class, in ``[1, 174]`` (the smallest class has 174); default: all.
    seed : int, optional
        Seed of the subset (used only with ``n_per_class``), in ``[0, 2**32 − 1]``.
    device : str or torch.device, optional
        Where the tensors are placed (the arithmetic runs in NumPy, float64).

    Returns
    -------
    X : torch.Tensor
        Shape ``(n, 64)``, float64, unit rows, in the order of the original data set.
    y : torch.Tensor
        float64: ``(n,)`` ±1 for two classes, one-hot ``(n, C)`` otherwise.
    labels : numpy.ndarray
        Shape ``(n,)``, int64, the original digits.

    Raises
    ------
    ValueError
        If ``classes`` are not at least two distinct digits, or ``n_per_class`` or ``seed`` is
        out of range.

    Examples
    --------
    >>> X, y, labels = digits_sphere((3, 8), n_per_class=2, seed=0)
    >>> tuple(X.shape), labels.tolist(), y.tolist()
    ((4, 64), [8, 8, 3, 3], [1.0, 1.0, -1.0, -1.0])
    """
    classes = tuple(int(c) for c in classes)
    if len(classes) < 2 or len(set(classes)) != len(classes) or not set(classes) <= set(range(10)):
        raise ValueError(f"classes = {classes} is not accepted; accepted: at least two distinct "
                         "digits in 0 … 9")
    rng = np.random.default_rng(seed)
    images, targets = load_digits_arrays()
    keep = []
    for c in classes:
        idx = np.flatnonzero(targets == c)
        if n_per_class is not None:
            idx = np.sort(rng.choice(idx, n_per_class, replace=False))
        keep.append(idx)
    idx = np.sort(np.concatenate(keep))
    X = images[idx]  # a copy: the shared arrays stay untouched
    X -= X.mean(axis=0)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    labels = targets[idx]
    position = {c: i for i, c in enumerate(classes)}
    y = labels_to_targets(np.array([position[int(c)] for c in labels]), len(classes))
    return (torch.as_tensor(X, dtype=torch.float64, device=device),
            torch.as_tensor(y, dtype=torch.float64, device=device), labels)
