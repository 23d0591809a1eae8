"""The 1-D toy problems of mobahi2020: the published 11-point noisy sine of §7 and seeded
variants of it (``x`` in [0, 1], ``y = sin(2πx)`` plus Gaussian noise). Shapes: (K,) float64 NumPy.
"""

from __future__ import annotations

import math

import numpy as np

from selfdistill.core.validate import Integer, Real, Seed, validate_params

__all__ = ["jittered_sine", "noisy_sine", "toy_sine"]

# mobahi2020 §7's illustrative example, y = sin(2πx) + N(0, 0.5²) noise at x = 0, 0.1, ..., 1; the
# noisy values as published by a later reproduction (see shared/papers/mobahi2020.md §7).
_TOY_Y = (
    0.38476636465198066, 1.2333967683416893, 1.33232242218057, 0.6920159488889518,
    -0.29756145531871736, -0.24189291901377769, -0.7964485769175675, -0.9616480167034174,
    -0.49672509509916934, -0.3469066003991437, 0.5589512650600734,
)


def toy_sine() -> tuple[np.ndarray, np.ndarray]:
    """The 11-point toy problem of mobahi2020's illustrative example (§7).

    Returns
    -------
    x : numpy.ndarray, shape ``(11,)``
        ``0, 0.1, …, 1``, float64.
    y : numpy.ndarray, shape ``(11,)``
        The published noisy targets ``sin(2πx) + N(0, 0.5²)``, float64.

    Examples
    --------
    >>> x, y = toy_sine()
    >>> x.shape, float(x[1]), round(float(y[0]), 6)
    ((11,), 0.1, 0.384766)
    """
    return np.linspace(0.0, 1.0, 11), np.array(_TOY_Y, dtype=np.float64)


@validate_params(K=Integer(1), seed=Seed(), noise=Real(0.0, math.inf, upper_open=True))
def jittered_sine(K: int, seed: int, noise: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """``K`` seeded points, one uniformly placed in the middle 80% of each cell ``[k/K, (k+1)/K)``,
    with targets ``sin(2πx) + N(0, noise²)``.

    Neighbours are at least ``0.2/K`` apart, so Gram matrices stay positive definite.

    Parameters
    ----------
    K : int
        Number of points, ``≥ 1``.
    seed : int
        Seed of NumPy's generator, in ``[0, SEED_MAX]``.
    noise : float
        Standard deviation, in ``[0, inf)``.

    Returns
    -------
    x : numpy.ndarray, shape ``(K,)``
        Ascending, float64.
    y : numpy.ndarray, shape ``(K,)``
        Float64.

    Raises
    ------
    ValueError
        A parameter outside its range, naming it.

    Examples
    --------
    >>> x, y = jittered_sine(4, seed=0, noise=0.0)
    >>> bool((x[1:] - x[:-1] >= 0.2 / 4).all()), bool(abs(y - np.sin(2 * np.pi * x)).max() == 0)
    (True, True)
    """
    rng = np.random.default_rng(seed)
    x = (np.arange(K) + rng.uniform(0.1, 0.9, K)) / K
    return x, np.sin(2 * np.pi * x) + noise * rng.standard_normal(K)


@validate_params(K=Integer(2, 10_000), noise=Real(0.0, 10.0), seed=Seed())
def noisy_sine(K: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The toy problem's model at ``K`` equispaced points of ``[0, 1]``:
    ``y = sin(2πx) + N(0, noise²)`` drawn with NumPy's generator seeded by ``seed``.

    Parameters
    ----------
    K : int
        Number of points, in ``[2, 1e4]``.
    noise : float
        Standard deviation, in ``[0, 10]``.
    seed : int
        In ``[0, SEED_MAX]``.

    Returns
    -------
    x, y : numpy.ndarray, shape ``(K,)``
        Float64.

    Raises
    ------
    ValueError
        A parameter outside its range, naming it.

    Examples
    --------
    >>> x, y = noisy_sine(5, 0.0, seed=1)
    >>> [round(float(v), 6) for v in y]
    [0.0, 1.0, 0.0, -1.0, -0.0]
    """
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, K)
    return x, np.sin(2 * np.pi * x) + noise * rng.standard_normal(K)
