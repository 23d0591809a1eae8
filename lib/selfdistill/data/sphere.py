"""Small, seeded data on the unit sphere for the dong2019 chapters (nothing here downloads).

* :func:`clusterable_sphere` — Gaussian clusters around random centres, projected to the sphere,
  each cluster carrying one label (the "clusterable data" of Li, Soltanolkotabi, Oymak 2019);
* :func:`digits_sphere` — scikit-learn's 8×8 digits (shipped with scikit-learn), centred and
  normalised to unit norm.

Labels: ``y`` in {−1, +1} (n,) for two classes, one-hot (n, C) for more.
"""

from __future__ import annotations

import numpy as np
import torch

from selfdistill.core.validate import check_in_range, check_int

__all__ = ["clusterable_sphere", "digits_sphere", "labels_to_targets"]


def labels_to_targets(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Class indices (n,) to targets: ±1 (n,) when ``n_classes = 2`` (class 0 → −1), else
    one-hot (n, C), float64."""
    labels = np.asarray(labels)
    if n_classes == 2:
        return np.where(labels == 1, 1.0, -1.0)
    return np.eye(n_classes)[labels]


def clusterable_sphere(
    n: int, d: int, n_clusters: int, spread: float = 0.2, n_classes: int = 2, seed: int = 0,
    device: str | torch.device = "cpu",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Points in clusters on the unit sphere ``S^{d−1}`` with one class per cluster.

    Centres ``c_k`` uniform on the sphere; point ``i`` of cluster ``k = i mod n_clusters`` is
    ``(c_k + spread · g / √d) / ‖·‖`` with ``g ~ N(0, I_d)``; cluster ``k`` has class
    ``k mod n_classes`` (so every class has a cluster when ``n_clusters ≥ n_classes``).

    Returns ``X`` (n, d) float64 unit rows, ``y`` targets (±1 (n,) or one-hot (n, C)) float64,
    and the cluster index of each point (n,) int64, on ``device``.
    """
    check_int("n", n, 1)
    check_int("d", d, 2)
    check_int("n_clusters", n_clusters, 1, n)
    check_in_range("spread", spread, 0.0, 10.0)
    check_int("n_classes", n_classes, 2, n_clusters)
    check_int("seed", seed, 0, 2**32 - 1)
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    cluster = np.arange(n) % n_clusters
    X = centres[cluster] + spread * rng.standard_normal((n, d)) / np.sqrt(d)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = labels_to_targets(cluster % n_classes, n_classes)
    as_t = dict(dtype=torch.float64, device=device)
    return (torch.as_tensor(X, **as_t), torch.as_tensor(y, **as_t),
            torch.as_tensor(cluster, device=device))


def digits_sphere(
    classes: tuple[int, ...] = (0, 1), n_per_class: int | None = None, seed: int = 0,
    device: str | torch.device = "cpu",
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """scikit-learn's digits (1797 images, 64 pixels), restricted to ``classes``, on the sphere.

    Pixels are centred by the mean image of the selected data, then each row is scaled to unit
    norm. ``n_per_class`` (optional) keeps a seeded random subset of each class. Returns ``X``
    (n, 64) float64, targets (±1 for two classes: ``classes[1]`` → +1; one-hot otherwise), and
    the original digit labels (n,).
    """
    from sklearn.datasets import load_digits

    classes = tuple(int(c) for c in classes)
    if len(classes) < 2 or len(set(classes)) != len(classes) or not set(classes) <= set(range(10)):
        raise ValueError(f"classes = {classes} must be at least two distinct digits in 0..9")
    if n_per_class is not None:
        check_int("n_per_class", n_per_class, 1, 174)  # the smallest class has 174 images
    rng = np.random.default_rng(seed)
    data = load_digits()
    keep = []
    for c in classes:
        idx = np.flatnonzero(data.target == c)
        if n_per_class is not None:
            idx = np.sort(rng.choice(idx, n_per_class, replace=False))
        keep.append(idx)
    idx = np.sort(np.concatenate(keep))
    X = data.data[idx].astype(np.float64)
    X -= X.mean(axis=0)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    labels = data.target[idx]
    position = {c: i for i, c in enumerate(classes)}
    y = labels_to_targets(np.array([position[int(c)] for c in labels]), len(classes))
    return (torch.as_tensor(X, dtype=torch.float64, device=device),
            torch.as_tensor(y, dtype=torch.float64, device=device), labels)
