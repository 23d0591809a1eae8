"""Does self-distillation beat a tuned baseline? Every arm as a spectral filter on one eigenbasis.

All arms of the comparison are linear spectral filters of the Gram matrix ``G = Vᵀ diag(d) V``
(``G[j, k] = g(x_j, x_k)/K``, the mobahi2020 convention) applied to the targets' eigen-coordinates
``z0 = V y``; the function at new inputs is ``g_x Vᵀ diag(F/d) z0`` (``g_x`` rows ``g(x, x_k)/K``):

* ``ridge`` — one kernel ridge fit, ``F = d/(c + d)``, one knob ``c``;
* ``sd`` — mobahi2020's self-distillation rounds with budget ``ε``:
  ``F = B_t = Π_{i≤t} d/(c_i + d)`` with each ``c_i`` solved from
  ``(1/K) Σ_k (c z_{i,k}/(c + d_k))² = ε`` (thm-sd-recursion); two knobs, ``ε`` and the round ``t``;
* ``gd`` — gradient descent from zero (Landweber iteration) stopped after ``k`` steps of size
  ``η = 1/d_max``: ``F = 1 − (1 − ηd)^k`` (dong2019's early stopping), one knob ``k``;
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

from selfdistill.core.validate import check_in_range, check_int

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
    """Fixed inputs with many noisy target draws.

    Attributes
    ----------
    G : ndarray (K, K), float64 — training Gram matrix ``g(x_j, x_k)/K``, positive definite.
    g_test : ndarray (n, K) — rows ``g(x, x_k)/K`` at the test inputs.
    truth : ndarray (n,) — the noiseless function (or clean labels) at the test inputs.
    Y : ndarray (draws, K) — noisy training targets, one row per draw.
    name : str — what the design is, for tables.
    """

    G: np.ndarray
    g_test: np.ndarray
    truth: np.ndarray
    Y: np.ndarray
    name: str = ""


@dataclass(frozen=True)
class Grids:
    """Hyper-parameter grids, fixed before looking. Ridge ``c`` and GD steps are set relative to
    each basis (``c = c_rel · d_max``, ``η = 1/d_max``); ``ε`` relative to each draw's collapse
    threshold ``‖y‖²/K``."""

    c_rel: np.ndarray = field(default_factory=lambda: np.logspace(-7, 1, 49))
    eps_rel: np.ndarray = field(default_factory=lambda: np.logspace(-2.5, -0.05, 15))
    steps: np.ndarray = field(
        default_factory=lambda: np.unique(np.round(np.logspace(0, 6, 49)).astype(np.int64)))
    gd_rounds: int = 4
    max_rounds: int = 40


def ridge_filters(d: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``d/(c + d)`` for each ``c``: shape ``(len(c), K)``."""
    return d[None, :] / (np.asarray(c, dtype=np.float64)[:, None] + d[None, :])


def gd_filters(d: np.ndarray, steps: np.ndarray, rounds: int = 1) -> np.ndarray:
    """``(1 − (1 − d/d_max)^k)^j`` for ``j = 1 … rounds`` and each ``k``: ``(rounds, len(k), K)``.

    Computed as ``-expm1(k log1p(−d/d_max))``, accurate for small ``ηd``."""
    eta_d = np.minimum(d / d.max(), 1.0)
    with np.errstate(divide="ignore"):  # log1p(-1) = -inf: the top direction is fitted at once
        one = -np.expm1(np.asarray(steps, dtype=np.float64)[:, None] * np.log1p(-eta_d[None, :]))
    return np.stack([one ** j for j in range(1, rounds + 1)])


def sd_round_filters(d: np.ndarray, Z: np.ndarray, eps: np.ndarray, max_rounds: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Self-distillation filters ``B_t`` for every draw, budget and round, all at once.

    Parameters
    ----------
    d : ndarray (K,), ascending positive eigenvalues.
    Z : ndarray (draws, K), eigen-coordinates ``V y`` of each draw's targets.
    eps : ndarray (draws, E), the budgets of each draw (positive).
    max_rounds : int, rounds computed at most.

    Returns
    -------
    B : ndarray (draws, E, max_rounds, K) — ``B_t``; zero from the collapse round on.
    live : ndarray (draws, E, max_rounds), bool — round ``t`` exists (not collapsed).

    One row per (draw, budget) of :func:`selfdistill.mobahi2020.draws.batch_rounds`, the batched
    engine.
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
    oracle, honest : dict arm → ndarray (draws,) — mean squared test error against the truth.
    cv : dict arm → ndarray (draws,) — the cross-validation error of the chosen hyper-parameters.
    chosen : dict arm → ndarray (draws,) — index of the honestly chosen hyper-parameter.
    """

    oracle: dict[str, np.ndarray]
    honest: dict[str, np.ndarray]
    cv: dict[str, np.ndarray]
    chosen: dict[str, np.ndarray]


def compare_arms(design: Design, folds: int = 5, grids: Grids | None = None,
                 seed: int = 0) -> Comparison:
    """Tune every arm by an oracle and by ``folds``-fold cross-validation, for every draw.

    Parameters
    ----------
    design : :class:`Design` with ``K`` training inputs and ``draws`` target draws.
    folds : int in [2, K], the cross-validation folds (a seeded random partition of the inputs,
        the same for every draw).
    grids : :class:`Grids`; the defaults are fixed before looking.
    seed : int ≥ 0, the fold partition's seed.

    Returns
    -------
    Comparison
    """
    grids = grids or Grids()
    K = design.G.shape[0]
    folds = check_int("folds", folds, 2, K)
    rng = np.random.default_rng(check_int("seed", seed, 0, 2**63 - 1))
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


def toy_design(kernel: str = "gaussian", width: float = 0.15, K: int = 11, noise: float = 0.5,
               draws: int = 100, seed: int = 0, n_test: int = 1001) -> Design:
    """The toy problem of mobahi2020's illustrative example with ``draws`` noise draws:
    ``K`` equispaced inputs on [0, 1], targets ``sin 2πx + N(0, noise²)``, truth ``sin 2πx`` on
    ``n_test`` points. Draw ``i`` uses the seed ``seed + i``."""
    import torch

    from selfdistill.data.toy import noisy_sine
    from selfdistill.mobahi2020.hilbert import gram
    from selfdistill.mobahi2020.kernels import kernel_by_name

    draws = check_int("draws", draws, 1, 100_000)
    noise = check_in_range("noise", noise, 0.0, 10.0)
    g = kernel_by_name(kernel, width)
    x = np.linspace(0.0, 1.0, check_int("K", K, 3, 2000))
    grid = np.linspace(0.0, 1.0, check_int("n_test", n_test, 2, 100_000))
    xt, gt = torch.as_tensor(x), torch.as_tensor(grid)
    G = gram(g, xt).numpy()
    g_test = (g(gt, xt) / K).numpy()
    Y = np.stack([noisy_sine(K, noise, seed + i)[1] for i in range(draws)])
    return Design(G=G, g_test=g_test, truth=np.sin(2 * np.pi * grid), Y=Y,
                  name=f"toy sine, {kernel} ℓ = {width:g}, K = {K}, noise {noise:g}")


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
    """
    import torch

    from selfdistill.data.sphere import digits_sphere

    if not callable(kernel):
        raise TypeError(f"kernel = {type(kernel).__name__} is not callable; accepted: a function "
                        "kernel(X, Z=None) returning a Gram matrix")
    flip = check_in_range("flip", flip, 0.0, 0.49)
    draws = check_int("draws", draws, 1, 100_000)
    X, y, _ = digits_sphere(tuple(classes))
    rng = np.random.default_rng(check_int("seed", seed, 0, 2**63 - 1))
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


def picks_better(comparison: Comparison, a: str, b: str) -> np.ndarray:
    """Per draw, 1.0 where cross-validation chose between arms ``a`` and ``b`` (the one with the
    lower CV error) the arm whose honestly tuned test error is lower (ties count as right), else
    0.0: shape ``(draws,)``."""
    for name, arm in (("a", a), ("b", b)):
        if arm not in ARMS:
            raise ValueError(f"{name} = {arm!r} is not an arm; accepted: {', '.join(ARMS)}")
    pick_a = comparison.cv[a] < comparison.cv[b]
    a_better = comparison.honest[a] <= comparison.honest[b]
    b_better = comparison.honest[b] <= comparison.honest[a]
    return np.where(pick_a, a_better, b_better).astype(np.float64)


def error_table(comparisons: dict[str, Comparison]) -> str:
    """Mean test error ± one standard error: a row per arm, a column per design and tuning
    (aligned text, at most 80 characters wide for four columns)."""
    columns = [(name, tuning) for name in comparisons for tuning in ("oracle", "honest")]
    lines = [f"{'arm':<10}" + "".join(f"{f'{n} {t}':>17}" for n, t in columns)]
    for arm in ARMS:
        cells = []
        for name, tuning in columns:
            v = getattr(comparisons[name], tuning)[arm]
            cells.append(f"{v.mean():.4f} ± {v.std(ddof=1) / np.sqrt(v.size):.4f}")
        lines.append(f"{arm:<10}" + "".join(f"{c:>17}" for c in cells))
    return "\n".join(lines)
