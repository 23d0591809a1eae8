"""Does self-distillation beat a tuned baseline? Every arm as a spectral filter on one eigenbasis.

All arms of the comparison are linear spectral filters of the Gram matrix ``G = Vᵀ diag(d) V``
(``G[j, k] = g(x_j, x_k)/K``, the mobahi2020 convention) applied to the targets' eigen-coordinates
``z0 = V y``; the function at new inputs is ``g_x Vᵀ diag(F/d) z0`` (``g_x`` rows ``g(x, x_k)/K``):

* ``ridge`` — one kernel ridge fit, ``F = d/(c + d)``, one knob ``c``;
* ``sd`` — mobahi2020's self-distillation rounds with budget ``ε``:
  ``F = B_t = Π_{i≤t} d/(c_i + d)`` with each ``c_i`` solved from
  ``(1/K) Σ_k (c z_{i,k}/(c + d_k))² = ε`` (thm-sd-recursion); two knobs, ``ε`` and the round ``t``;
* ``gd`` — gradient descent from zero (Landweber iteration) stopped after ``k`` steps of size
  ``η = 1/d_max`` (``lr`` in the code's vocabulary): ``F = 1 − (1 − ηd)^k`` (dong2019's early
  stopping), one knob ``k``;
* ``gd-rounds`` — ``j`` rounds of early-stopped students, ``F = (1 − (1 − ηd)^k)^j`` (dong2019's
  product filter), two knobs.

Inputs are fixed and only the targets are redrawn (noise draws), so one eigendecomposition per
fold serves every draw and every hyper-parameter: :func:`compare_arms` returns, per arm and draw,
the test error of the best hyper-parameters chosen on the truth (an *oracle*) and of those chosen
honestly by ``F``-fold cross-validation on the noisy targets (then refitted on all of them). The
independent route is refitting each arm from scratch (tests and ``bench/bench_baselines.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from selfdistill.core.validate import (
    Integer,
    Options,
    Positive,
    Real,
    Seed,
    check_int,
    validate_params,
)

if TYPE_CHECKING:
    import torch

__all__ = [
    "ARMS", "Comparison", "Design", "Grids", "compare_arms", "digits_design", "error_table",
    "gd_filters", "picks_better", "ridge_filters", "sd_round_filters", "toy_design",
]

#: the arms, in the order they are reported
ARMS = ("ridge", "sd", "gd", "gd-rounds")


@dataclass(frozen=True)
class Design:
    """Fixed inputs with many noisy target draws (NumPy float64).

    Attributes
    ----------
    G : numpy.ndarray, shape ``(K, K)``
        Training Gram matrix ``g(x_j, x_k)/K``, positive definite.
    g_test : numpy.ndarray, shape ``(n, K)``
        Rows ``g(x, x_k)/K`` at the test inputs.
    truth : numpy.ndarray, shape ``(n,)``
        The noiseless function (or clean labels) at the test inputs.
    Y : numpy.ndarray, shape ``(draws, K)``
        Noisy training targets, one row per draw.
    name : str
        What the design is, for tables.
    """

    G: np.ndarray
    g_test: np.ndarray
    truth: np.ndarray
    Y: np.ndarray
    name: str = ""


@dataclass(frozen=True)
class Grids:
    """Hyper-parameter grids, fixed before looking.

    Ridge ``c`` and GD steps are set relative to each basis (``c = c_rel · d_max``, step size
    ``lr = 1/d_max``); ``ε`` relative to each draw's collapse threshold ``‖y‖²/K``.

    Attributes
    ----------
    c_rel : numpy.ndarray
        Ridge constants over ``d_max``.
    eps_rel : numpy.ndarray
        Budgets over ``‖y‖²/K``.
    steps : numpy.ndarray of int
        Gradient-descent steps ``k``.
    gd_rounds : int
        Rounds ``j`` of the ``gd-rounds`` arm.
    max_rounds : int
        Self-distillation rounds computed at most.
    """

    c_rel: np.ndarray = field(default_factory=lambda: np.logspace(-7, 1, 49))
    eps_rel: np.ndarray = field(default_factory=lambda: np.logspace(-2.5, -0.05, 15))
    steps: np.ndarray = field(
        default_factory=lambda: np.unique(np.round(np.logspace(0, 6, 49)).astype(np.int64)))
    gd_rounds: int = 4
    max_rounds: int = 40


def ridge_filters(d: np.ndarray, c: np.ndarray) -> np.ndarray:
    """One kernel ridge fit's filter ``d/(c + d)`` for each ``c``.

    Parameters
    ----------
    d : numpy.ndarray, shape ``(K,)``
        Eigenvalues, positive.
    c : array_like, shape ``(H,)``
        Ridge constants, ``≥ 0``.

    Returns
    -------
    numpy.ndarray
        Shape ``(H, K)``.

    Examples
    --------
    >>> import numpy as np
    >>> ridge_filters(np.array([1.0, 3.0]), [1.0])
    array([[0.5 , 0.75]])
    """
    return d[None, :] / (np.asarray(c, dtype=np.float64)[:, None] + d[None, :])


@validate_params(rounds=Integer(1))
def gd_filters(d: np.ndarray, steps: np.ndarray, rounds: int = 1) -> np.ndarray:
    """``(1 − (1 − lr·d)^k)^j`` with ``lr = 1/d_max``, for ``j = 1 … rounds`` and each ``k``.

    Computed as ``-expm1(k log1p(−lr·d))``, accurate for small ``lr·d``.

    Parameters
    ----------
    d : numpy.ndarray, shape ``(K,)``
        Eigenvalues, positive.
    steps : array_like, shape ``(S,)``
        Gradient-descent steps ``k ≥ 0``.
    rounds : int
        ``≥ 1``.

    Returns
    -------
    numpy.ndarray
        Shape ``(rounds, S, K)``.

    Raises
    ------
    ValueError
        ``rounds < 1``.

    Examples
    --------
    >>> import numpy as np
    >>> gd_filters(np.array([1.0, 2.0]), [1, 2])[0]
    array([[0.5 , 1.  ],
           [0.75, 1.  ]])
    """
    lr_d = np.minimum(d / d.max(), 1.0)
    with np.errstate(divide="ignore"):  # log1p(-1) = -inf: the top direction is fitted at once
        one = -np.expm1(np.asarray(steps, dtype=np.float64)[:, None] * np.log1p(-lr_d[None, :]))
    return np.stack([one ** j for j in range(1, rounds + 1)])


@validate_params(max_rounds=Integer(1, 10**5))
def sd_round_filters(d: np.ndarray, Z: np.ndarray, eps: np.ndarray, max_rounds: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Self-distillation filters ``B_t`` for every draw, budget and round, all at once.

    One row per (draw, budget) of :func:`selfdistill.mobahi2020.draws.batch_rounds`, the batched
    engine.

    Parameters
    ----------
    d : numpy.ndarray, shape ``(K,)``
        Ascending positive eigenvalues.
    Z : numpy.ndarray, shape ``(draws, K)``
        Eigen-coordinates ``V y`` of each draw's targets.
    eps : numpy.ndarray, shape ``(draws, E)``
        The budgets of each draw (positive).
    max_rounds : int
        Rounds computed at most, in ``[1, 1e5]``.

    Returns
    -------
    B : numpy.ndarray, shape ``(draws, E, max_rounds, K)``
        ``B_t``; zero from the collapse round on.
    live : numpy.ndarray of bool, shape ``(draws, E, max_rounds)``
        Round ``t`` exists (not collapsed).

    Raises
    ------
    ValueError
        ``max_rounds`` outside its range, or what ``batch_rounds`` refuses.
    """
    from selfdistill.mobahi2020.draws import batch_rounds

    n, K = Z.shape
    E = eps.shape[1]
    rows, c = batch_rounds(d, np.repeat(Z, E, axis=0), eps.reshape(-1), max_rounds)
    T = rows.shape[0]
    B = np.zeros((n, E, max_rounds, K))
    live = np.zeros((n, E, max_rounds), dtype=bool)
    B[:, :, :T] = rows.transpose(1, 0, 2).reshape(n, E, T, K)
    live[:, :, :T] = np.isfinite(c).T.reshape(n, E, T)
    return B, live


def _basis(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.linalg import eigh

    d, W = eigh(G)
    if d[0] <= G.shape[0] * np.finfo(np.float64).eps * d[-1]:
        raise ValueError(f"G is not positive definite: smallest eigenvalue {d[0]:.3e}")
    return d, W.T  # rows of V are eigenvectors


def _arm_predictions(G: np.ndarray, Y: np.ndarray, g_new: np.ndarray, grids: Grids
                     ) -> dict[str, np.ndarray]:
    """Predictions at ``g_new`` of every arm, draw and hyper-parameter:
    ``{arm: (draws, H_arm, n_new)}`` (NaN where an SD round has collapsed)."""
    d, V = _basis(G)
    K = d.size
    Z = Y @ V.T  # (draws, K)
    P = g_new @ V.T / d  # (n_new, K): predictions are P @ (F * z)
    n = Y.shape[0]

    def apply(F: np.ndarray) -> np.ndarray:  # F (draws or 1, H, K) -> (draws, H, n_new)
        return (F * Z[:, None, :]) @ P.T

    out = {"ridge": apply(ridge_filters(d, grids.c_rel * d[-1])[None])}
    gd = apply(gd_filters(d, grids.steps, grids.gd_rounds).reshape(1, -1, K))
    out["gd"], out["gd-rounds"] = gd[:, : grids.steps.size], gd
    eps = (Y * Y).sum(1, keepdims=True) / K * grids.eps_rel[None, :]
    B, live = sd_round_filters(d, Z, eps, grids.max_rounds)
    sd = apply(B.reshape(n, -1, K))
    sd[~live.reshape(n, -1)] = np.nan
    out["sd"] = sd
    return out


@dataclass(frozen=True)
class Comparison:
    """Per arm, per draw: test errors with oracle and with honestly tuned hyper-parameters.

    Attributes
    ----------
    oracle, honest : dict of str to numpy.ndarray, shape ``(draws,)``
        Mean squared test error against the truth, per arm.
    cv : dict of str to numpy.ndarray, shape ``(draws,)``
        The cross-validation error of the chosen hyper-parameters.
    chosen : dict of str to numpy.ndarray of int, shape ``(draws,)``
        Index of the honestly chosen hyper-parameter.
    """

    oracle: dict[str, np.ndarray]
    honest: dict[str, np.ndarray]
    cv: dict[str, np.ndarray]
    chosen: dict[str, np.ndarray]


@validate_params(folds=Integer(2), seed=Seed())
def compare_arms(design: Design, folds: int = 5, grids: Grids | None = None,
                 seed: int = 0) -> Comparison:
    """Tune every arm by an oracle and by ``folds``-fold cross-validation, for every draw.

    Parameters
    ----------
    design : Design
        ``K`` training inputs and ``draws`` target draws.
    folds : int
        In ``[2, K]``: the cross-validation folds (a seeded random partition of the inputs, the
        same for every draw); an integer ≥ 2 is declared, the upper end ``K`` checked in the body.
    grids : Grids, optional
        The defaults are fixed before looking.
    seed : int
        The fold partition's seed, in ``[0, SEED_MAX]``.

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError
        ``folds`` outside ``[2, K]`` or ``seed`` outside its range.
    """
    grids = grids or Grids()
    K = design.G.shape[0]
    folds = check_int("folds", folds, 2, K)
    rng = np.random.default_rng(seed)
    part = rng.permutation(K) % folds
    full = _arm_predictions(design.G, design.Y, design.g_test, grids)
    cv_err = {arm: 0.0 for arm in ARMS}
    for f in range(folds):
        tr, va = np.flatnonzero(part != f), np.flatnonzero(part == f)
        # the training Gram of the fold keeps the 1/K of the whole design: c, ε and steps mean
        # the same thing in every fold
        preds = _arm_predictions(design.G[np.ix_(tr, tr)], design.Y[:, tr],
                                 design.G[np.ix_(va, tr)], grids)
        for arm in ARMS:
            err = ((preds[arm] - design.Y[:, None, va]) ** 2).mean(-1)
            cv_err[arm] = cv_err[arm] + np.where(np.isnan(err), np.inf, err) * va.size / K
    oracle, honest, cv, chosen = {}, {}, {}, {}
    draws = np.arange(design.Y.shape[0])
    for arm in ARMS:
        test = ((full[arm] - design.truth) ** 2).mean(-1)
        test = np.where(np.isnan(test), np.inf, test)
        oracle[arm] = test.min(1)
        pick = np.argmin(cv_err[arm], axis=1)
        honest[arm], cv[arm], chosen[arm] = test[draws, pick], cv_err[arm][draws, pick], pick
    return Comparison(oracle=oracle, honest=honest, cv=cv, chosen=chosen)


@validate_params(kernel=Options("exponential", "gaussian"), width=Positive(), K=Integer(3, 2000),
                 noise=Real(0.0, 10.0), draws=Integer(1, 100_000), seed=Seed(),
                 n_test=Integer(2, 100_000))
def toy_design(kernel: str = "gaussian", width: float = 0.15, K: int = 11, noise: float = 0.5,
               draws: int = 100, seed: int = 0, n_test: int = 1001) -> Design:
    """The toy problem of mobahi2020's illustrative example with ``draws`` noise draws.

    ``K`` equispaced inputs on ``[0, 1]``, targets ``sin 2πx + N(0, noise²)``, truth ``sin 2πx``
    on ``n_test`` points. Draw ``i`` uses the seed ``seed + i``
    (:func:`selfdistill.data.toy.noisy_sine`).

    Parameters
    ----------
    kernel : {"exponential", "gaussian"}
        The Green's function.
    width : float
        Its ``ℓ`` or ``σ``, in ``(0, inf)``.
    K : int
        Training inputs, in ``[3, 2000]``.
    noise : float
        Standard deviation of the noise, in ``[0, 10]``.
    draws : int
        In ``[1, 1e5]``.
    seed : int
        In ``[0, SEED_MAX]``; ``seed + draws - 1`` must be one too.
    n_test : int
        Test points, in ``[2, 1e5]``.

    Returns
    -------
    Design

    Raises
    ------
    ValueError
        A parameter outside its range, naming it.
    """
    import torch

    from selfdistill.data.toy import noisy_sine
    from selfdistill.mobahi2020.hilbert import gram
    from selfdistill.mobahi2020.kernels import kernel_by_name

    g = kernel_by_name(kernel, width)
    x = np.linspace(0.0, 1.0, K)
    grid = np.linspace(0.0, 1.0, n_test)
    xt, gt = torch.as_tensor(x), torch.as_tensor(grid)
    G = gram(g, xt).numpy()
    g_test = (g(gt, xt) / K).numpy()
    Y = np.stack([noisy_sine(K, noise, seed + i)[1] for i in range(draws)])
    return Design(G=G, g_test=g_test, truth=np.sin(2 * np.pi * grid), Y=Y,
                  name=f"toy sine, {kernel} ℓ = {width:g}, K = {K}, noise {noise:g}")


@validate_params(n_train=Integer(1, 10_000), n_test=Integer(1, 10_000),
                 flip=Real(0.0, 0.49), draws=Integer(1, 100_000), seed=Seed())
def digits_design(kernel: Callable[..., torch.Tensor], kernel_name: str,
                  classes: tuple[int, int] = (3, 8), n_train: int = 60, n_test: int = 200,
                  flip: float = 0.2, draws: int = 100, seed: int = 0) -> Design:
    """Two digit classes on the sphere with a kernel: a fixed split of ``n_train`` training and
    ``n_test`` test images per class, ±1 labels flipped at rate ``flip`` independently in each
    draw (draw ``i`` uses seed ``seed + i``); the truth is the clean test labels.

    ``kernel(X)`` returns the (n, n) Gram matrix of points ``X`` (n, d) and ``kernel(X, Z)`` the
    (n, m) cross matrix; the tuned-baselines chapter passes dong2019's infinite-width NTK
    (:func:`selfdistill.dong2019.ntk.ntk_infinite`, ``kernel_name="NTK"``), so this package
    imports no other paper. ``kernel_name`` goes into the design's name.

    Parameters
    ----------
    kernel : callable
        ``kernel(X)`` and ``kernel(X, Z)`` as above, float64 CPU tensors.
    kernel_name : str
        For the design's name.
    classes : tuple of int
        The two digits (:func:`selfdistill.data.sphere.digits_sphere`).
    n_train, n_test : int
        Images per class, each in ``[1, 1e4]`` (capped by what the class holds).
    flip : float
        Label-flip rate, in ``[0, 0.49]``.
    draws : int
        In ``[1, 1e5]``.
    seed : int
        The split's seed, in ``[0, SEED_MAX]``.

    Returns
    -------
    Design

    Raises
    ------
    TypeError
        ``kernel`` not callable.
    ValueError
        A parameter outside its range, naming it.
    """
    import torch

    from selfdistill.data.sphere import digits_sphere

    if not callable(kernel):
        raise TypeError(f"kernel = {type(kernel).__name__} is not callable; accepted: a function "
                        "kernel(X, Z=None) returning a Gram matrix")
    X, y, _ = digits_sphere(tuple(classes))
    rng = np.random.default_rng(seed)
    y_np = y.numpy()
    train, test = [], []
    for label in (-1.0, 1.0):
        idx = rng.permutation(np.flatnonzero(y_np == label))
        train.append(idx[:n_train])
        test.append(idx[n_train:n_train + n_test])
    tr, te = np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
    K = tr.size
    H = kernel(X[torch.as_tensor(tr)]).numpy()
    h_test = kernel(X[torch.as_tensor(te)], X[torch.as_tensor(tr)]).numpy()
    flips = np.stack([np.random.default_rng(seed + 1 + i).random(K) < flip
                      for i in range(draws)])
    Y = np.where(flips, -y_np[tr], y_np[tr])
    return Design(G=H / K, g_test=h_test / K, truth=y_np[te], Y=Y,
                  name=f"digits {classes[0]} vs {classes[1]}, {kernel_name}, K = {K}, "
                       f"flips {flip:g}")


@validate_params(a=Options(*ARMS), b=Options(*ARMS))
def picks_better(comparison: Comparison, a: str, b: str) -> np.ndarray:
    """Per draw, whether cross-validation, choosing between arms ``a`` and ``b`` (the one with
    the lower CV error), chose the arm whose honestly tuned test error is lower.

    Parameters
    ----------
    comparison : Comparison
    a, b : str
        Arms, among :data:`ARMS`.

    Returns
    -------
    numpy.ndarray, shape ``(draws,)``
        1.0 where it chose right (ties count as right), else 0.0.

    Raises
    ------
    ValueError
        ``a`` or ``b`` not an arm.
    """
    pick_a = comparison.cv[a] < comparison.cv[b]
    a_better = comparison.honest[a] <= comparison.honest[b]
    b_better = comparison.honest[b] <= comparison.honest[a]
    return np.where(pick_a, a_better, b_better).astype(np.float64)


def error_table(comparisons: dict[str, Comparison]) -> str:
    """Mean test error ± one standard error: a row per arm, a column per design and tuning.

    Parameters
    ----------
    comparisons : dict of str to Comparison
        One per design, keyed by a short name.

    Returns
    -------
    str
        Aligned text, at most 80 characters wide for four columns.
    """
    columns = [(name, tuning) for name in comparisons for tuning in ("oracle", "honest")]
    lines = [f"{'arm':<10}" + "".join(f"{f'{n} {t}':>17}" for n, t in columns)]
    for arm in ARMS:
        cells = []
        for name, tuning in columns:
            v = getattr(comparisons[name], tuning)[arm]
            cells.append(f"{v.mean():.4f} ± {v.std(ddof=1) / np.sqrt(v.size):.4f}")
        lines.append(f"{arm:<10}" + "".join(f"{c:>17}" for c in cells))
    return "\n".join(lines)
