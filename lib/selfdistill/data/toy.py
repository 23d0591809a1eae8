"""The 1-D toy problems of mobahi2020: the published 11-point noisy sine of §7 and seeded
variants of it (``x`` in [0, 1], ``y = sin(2πx)`` plus Gaussian noise). Shapes: (K,) float64.
"""

from __future__ import annotations

import numpy as np

from selfdistill.core.validate import check_in_range, check_int

__all__ = ["jittered_sine", "noisy_sine", "toy_sine"]

# mobahi2020 §7's illustrative example, y = sin(2πx) + N(0, 0.5²) noise at x = 0, 0.1, ..., 1; the
# noisy values as published by a later reproduction (see shared/papers/mobahi2020.md §7).
_TOY_Y = (
    0.38476636465198066, 1.2333967683416893, 1.33232242218057, 0.6920159488889518,
    -0.29756145531871736, -0.24189291901377769, -0.7964485769175675, -0.9616480167034174,
    -0.49672509509916934, -0.3469066003991437, 0.5589512650600734,
)


def toy_sine() -> tuple[np.ndarray, np.ndarray]:
    """The 11-point toy problem: ``x`` (11,) on [0, 1] and noisy ``y`` (11,), float64."""
    return np.linspace(0.0, 1.0, 11), np.array(_TOY_Y, dtype=np.float64)


def jittered_sine(K: int, seed: int, noise: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """``K`` seeded points, one uniformly placed in the middle 80% of each cell ``[k/K, (k+1)/K)``
    (so neighbours are at least ``0.2/K`` apart and Gram matrices stay positive definite), with
    targets ``sin(2πx) + N(0, noise²)``. Returns ``x`` (K,) ascending and ``y`` (K,), float64."""
    K = check_int("K", K, 1)
    noise = check_in_range("noise", noise, 0.0, np.inf)
    rng = np.random.default_rng(check_int("seed", seed, 0, 2**63 - 1))
    x = (np.arange(K) + rng.uniform(0.1, 0.9, K)) / K
    return x, np.sin(2 * np.pi * x) + noise * rng.standard_normal(K)


def noisy_sine(K: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The toy problem's model at ``K`` points: ``x`` equispaced on [0, 1] (shape ``(K,)``) and
    ``y = sin(2πx) + N(0, noise²)`` drawn with NumPy's generator seeded by ``seed``; float64."""
    K = check_int("K", K, 2, 10_000)
    noise = check_in_range("noise", noise, 0.0, 10.0)
    rng = np.random.default_rng(check_int("seed", seed, 0, 2**63 - 1))
    x = np.linspace(0.0, 1.0, K)
    return x, np.sin(2 * np.pi * x) + noise * rng.standard_normal(K)
