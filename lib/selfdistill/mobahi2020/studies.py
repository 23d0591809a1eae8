"""Studies over the self-distillation rounds (mobahi2020, §3–§4): sweeps of ε and basis counts.

The chapters ``sd-rounds``, ``bt-sparsification`` and ``collapse-bound`` call these; the engine
itself is :mod:`selfdistill.mobahi2020.rounds`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from selfdistill.core.validate import (
    Integer,
    Positive,
    Real,
    Tensor,
    check_in_range,
    check_int,
    validate_params,
)
from selfdistill.mobahi2020.hilbert import Eigenbasis
from selfdistill.mobahi2020.oracles import refit_rounds
from selfdistill.mobahi2020.rounds import collapse_bounds, self_distill

__all__ = ["CollapseSweep", "RatioSweep", "collapse_sweep", "count_above", "data_free_ratio_bound",
           "data_free_ratio_limit", "data_free_worst", "final_alignment", "ratio_sweep",
           "sparsity_sweep", "top_alignment"]


@validate_params(b=Tensor((1, 2)), tau=Real(0.0, 1.0, lower_open=True))
def count_above(b: torch.Tensor, tau: float) -> torch.Tensor:
    """Basis functions whose weight is at least ``τ`` times the largest: ``#{k: b_k ≥ τ max b}``.

    Relative to the largest weight because ``B_t`` shrinks as a whole every round. For the
    diagonals of ``B_t`` this count never grows from one round to the next: by ``thm-bt-ratio``
    every ratio ``B_t[k]/B_t[top]`` falls.

    Parameters
    ----------
    b : torch.Tensor, shape ``(K,)`` or ``(n, K)``
        Weights, finite, any dtype and device.
    tau : float
        ``τ`` in ``(0, 1]``.

    Returns
    -------
    torch.Tensor
        Shape ``()`` or ``(n,)``, integer, on ``b``'s device.

    Raises
    ------
    ValueError
        ``b`` not a finite real tensor of 1 or 2 dimensions, or ``tau`` outside ``(0, 1]``.

    Examples
    --------
    >>> import torch
    >>> int(count_above(torch.tensor([1.0, 0.6, 0.4, 0.1]), 0.5))
    2
    """
    return (b >= tau * b.max(dim=-1, keepdim=True).values).sum(-1)


@validate_params(y=Tensor((2,)), m=Integer(1))
def top_alignment(y: torch.Tensor, basis: Eigenbasis, m: int = 1) -> torch.Tensor:
    """``cos²`` between each ``y_t`` and the span of the ``m`` eigenvectors of largest
    eigenvalue: ``Σ_{top m} z_k² / ‖z‖²``.

    Parameters
    ----------
    y : torch.Tensor, shape ``(n, K)``
        Targets ``y_t`` as rows, finite, float64 (on any device).
    basis : Eigenbasis
        ``K`` eigenvalues, ascending.
    m : int
        ``≥ 1``.

    Returns
    -------
    torch.Tensor
        Shape ``(n,)``, on ``y``'s device.

    Raises
    ------
    ValueError
        ``y`` not a finite 2-D real tensor, or ``m < 1``.
    """
    z = y @ basis.V.T.to(y.device)
    return z[:, -m:].square().sum(1) / z.square().sum(1)


@dataclass(frozen=True)
class CollapseSweep:
    """Collapse rounds over a sweep of ε (arrays of the sweep's length, NumPy float64/int).

    Attributes
    ----------
    eps, r0 : numpy.ndarray, shape ``(n,)``
        The budgets and ``r_0 = ‖y_0‖/√(Kε)``.
    count : numpy.ndarray of int, shape ``(n,)``
        The collapse round ``t⋆`` (= number of non-collapsed rounds).
    lower_notes, lower, upper : numpy.ndarray, shape ``(n,)``
        ``(r0 − 1)/κ``, ``⌈r0 − 1⌉`` and ``⌈κ(r0 − 1)⌉`` (:func:`~selfdistill.mobahi2020.
        rounds.collapse_bounds`).
    kappa : float
        ``κ``.
    steps : numpy.ndarray
        The per-round drops ``r_t − r_{t+1}`` of every ε, concatenated.
    """

    eps: np.ndarray
    r0: np.ndarray
    count: np.ndarray
    lower_notes: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    kappa: float
    steps: np.ndarray


@validate_params(y0=Tensor((1, 2)), kappa=Real(1.0, math.inf, upper_open=True))
def collapse_sweep(G: torch.Tensor, y0: torch.Tensor, eps: np.ndarray, kappa: float, *,
                   basis: Eigenbasis | None = None) -> CollapseSweep:
    """Run every ε of a sweep to collapse and record ``t⋆`` with its bounds (``collapse-bound``).

    With ``basis`` the spectral engine runs; without it the refit route (dense solves, no
    eigendecomposition).

    Parameters
    ----------
    G : torch.Tensor, shape ``(K, K)``
        The Gram matrix (used by the refit route).
    y0 : torch.Tensor, shape ``(K,)`` or ``(K, C)``
        Labels, finite, on ``G``'s device.
    eps : array_like, shape ``(n,)``
        Budgets, each in ``(0, inf)``.
    kappa : float
        ``κ = d_max/d_min`` in ``[1, inf)``, given by the caller so that the bounds can come from
        an eigensolver other than the one under test.
    basis : Eigenbasis, optional
        The eigenbasis of ``G`` for the spectral engine.

    Returns
    -------
    CollapseSweep

    Raises
    ------
    ValueError
        ``y0`` not a finite real tensor, ``kappa`` outside ``[1, inf)``, a budget outside
        ``(0, inf)``, or what the engine refuses.
    """
    eps = np.asarray(eps, dtype=np.float64)
    K = y0.shape[0]
    sq = float(y0.square().sum())
    counts, r0s, steps = [], [], []
    for e in eps:
        e = check_in_range("eps", float(e), 0.0, math.inf, lower_open=True, upper_open=True)
        if basis is None:
            ys = refit_rounds(G, y0, e)
            y, t_star = ys.y, ys.collapse_round
        else:
            rs = self_distill(basis, y0, e)
            y, t_star = rs.y, rs.collapse_round
        r = y.flatten(1).norm(dim=1).cpu().numpy() / np.sqrt(K * e)
        counts.append(t_star)
        r0s.append(np.sqrt(sq / (K * e)))
        steps.append(r[:-1] - r[1:])
    bounds = [collapse_bounds(r0, kappa) for r0 in r0s]
    return CollapseSweep(
        eps=eps, r0=np.array(r0s), count=np.array(counts),
        lower_notes=np.array([b.lower_notes for b in bounds]),
        lower=np.array([b.lower for b in bounds]), upper=np.array([b.upper for b in bounds]),
        kappa=float(kappa), steps=np.concatenate(steps) if steps else np.zeros(0))


@validate_params(tau=Real(0.0, 1.0, lower_open=True))
def sparsity_sweep(basis: Eigenbasis, y0: torch.Tensor, eps: np.ndarray, tau: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """For each ε: the rounds before collapse ``t⋆`` and ``count_above(B_{t⋆−1}, τ)``, the
    count at the last non-collapsed round (``K`` where round 0 already collapses).

    Parameters
    ----------
    basis, y0
        As in :func:`~selfdistill.mobahi2020.rounds.self_distill`.
    eps : array_like, shape ``(n,)``
        Budgets, each in ``(0, inf)``.
    tau : float
        ``τ`` in ``(0, 1]``.

    Returns
    -------
    tuple of numpy.ndarray
        ``t⋆`` and the counts, each of shape ``(n,)``.

    Raises
    ------
    ValueError
        ``tau`` outside ``(0, 1]``, or what ``self_distill`` refuses.
    """
    rounds, counts = [], []
    for e in np.asarray(eps, dtype=np.float64):
        rs = self_distill(basis, y0, float(e))
        rounds.append(rs.collapse_round)
        last = rs.B[-1] if rs.n_rounds else torch.ones_like(basis.d)
        counts.append(int(count_above(last, tau)))
    return np.array(rounds), np.array(counts)


@validate_params(d_k=Positive(), d_j=Positive(), d_min=Positive(),
                 r0=Real(1.0, math.inf, lower_open=True, upper_open=True), t=Integer(0))
def data_free_ratio_bound(d_k: float, d_j: float, d_min: float, r0: float, t: int) -> float:
    """Data-free bound on ``B_t[k,k]/B_t[j,j]`` for ``d_k < d_j`` (chapter
    ``bt-sparsification``).

    The ratio bound ``φ(c_0)^{t+1}`` with ``c_0`` replaced by its lower bound
    ``c̄ = d_min/(r_0 − 1)``: since ``φ`` decreases in ``c`` and every ``c_i ≥ c_0 ≥ c̄``,

    ``ratio ≤ φ(c̄)^{t+1} = ((1 + a/(r_0 − 1)) / (1 + b/(r_0 − 1)))^{t+1}``,
    ``a = d_min/d_j``, ``b = d_min/d_k``,

    a bound in the eigenvalues and ``r_0 = ‖y_0‖/√(Kε) > 1`` alone (no ``c_0``, no root-find).

    Parameters
    ----------
    d_k, d_j, d_min : float
        Eigenvalues in ``(0, inf)`` with ``d_min ≤ d_k < d_j``.
    r0 : float
        ``r_0`` in ``(1, inf)``.
    t : int
        The round, ``≥ 0``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        A parameter outside its range, or the eigenvalues out of order.

    Examples
    --------
    >>> round(data_free_ratio_bound(1.0, 2.0, 1.0, 2.0, 0), 6)  # (1 + 1/2) / (1 + 1)
    0.75
    """
    if not d_min <= d_k < d_j:
        raise ValueError(f"need d_min <= d_k < d_j; got d_min = {d_min!r}, d_k = {d_k!r}, "
                         f"d_j = {d_j!r}")
    m = r0 - 1.0
    a, b = d_min / d_j, d_min / d_k
    return float(((1 + a / m) / (1 + b / m)) ** (t + 1))


@validate_params(d_k=Positive(), d_j=Positive(), d_min=Positive())
def data_free_ratio_limit(d_k: float, d_j: float, d_min: float) -> float:
    """The ε → 0 limit of :func:`data_free_ratio_bound` at round ``t + 1 = r_0 − 1``:
    ``((1 + a/m)/(1 + b/m))^m → e^{a − b}`` as ``m = r_0 − 1 → ∞``, with ``a = d_min/d_j`` and
    ``b = d_min/d_k``. Below 1 for ``d_k < d_j``: the guaranteed sparsification before collapse
    does not vanish near interpolation, while one fit's ratio ``φ(c_0) → 1`` (``c_0 → 0``).

    Parameters
    ----------
    d_k, d_j, d_min : float
        Eigenvalues in ``(0, inf)``.

    Returns
    -------
    float
        ``e^{a − b}``.

    Raises
    ------
    ValueError
        A parameter outside ``(0, inf)``, naming it.
    """
    return float(math.exp(d_min / d_j - d_min / d_k))


@dataclass(frozen=True)
class RatioSweep:
    """Per ε of a sweep, the ratio ``B_t[k,k]/B_t[j,j]`` of the pair ``(k, j)``.

    Attributes
    ----------
    eps, r0 : numpy.ndarray, shape ``(n,)``
        The budgets and ``r_0``.
    t_star : numpy.ndarray of int, shape ``(n,)``
        The non-collapsed rounds.
    last : numpy.ndarray, shape ``(n,)``
        The ratio at the last non-collapsed round.
    at_guaranteed : numpy.ndarray, shape ``(n,)``
        At round ``⌈r_0 − 1⌉ − 1`` (non-collapsed by the collapse lemma; NaN if it is collapsed).
    one_fit : numpy.ndarray, shape ``(n,)``
        One fit's ratio, ``φ(c_0)``.
    """

    eps: np.ndarray
    r0: np.ndarray
    t_star: np.ndarray
    last: np.ndarray
    at_guaranteed: np.ndarray
    one_fit: np.ndarray


@validate_params(k=Integer(0), j=Integer(0))
def ratio_sweep(basis: Eigenbasis, y0: torch.Tensor, eps: np.ndarray, k: int, j: int
                ) -> RatioSweep:
    """The pair ``(k, j)``'s weight ratio over a sweep of ε (chapter ``bt-sparsification``).

    Parameters
    ----------
    basis, y0
        As in :func:`~selfdistill.mobahi2020.rounds.self_distill`.
    eps : array_like, shape ``(n,)``
        Budgets, each in ``(0, ‖y_0‖²/K)``, below the collapse threshold.
    k, j : int
        Indices into ``basis.d`` (ascending), each in ``[0, K − 1]`` (≥ 0 declared, the upper end
        checked in the body).

    Returns
    -------
    RatioSweep

    Raises
    ------
    ValueError
        ``k`` or ``j`` outside ``[0, K − 1]``, a budget outside ``(0, ‖y_0‖²/K)``, or what
        ``self_distill`` refuses.
    """
    K = int(basis.d.shape[0])
    k, j = check_int("k", k, 0, K - 1), check_int("j", j, 0, K - 1)
    norm = float(torch.linalg.vector_norm(y0))
    rows = []
    for e in np.asarray(eps, dtype=np.float64):
        if not 0 < e < norm**2 / K:
            raise ValueError(f"eps = {e!r} is outside the accepted range (0, ‖y_0‖²/K = "
                             f"{norm**2 / K:.4g})")
        rs = self_distill(basis, y0, float(e))
        B = rs.B.cpu().double()
        r0 = norm / math.sqrt(K * e)
        g = max(math.ceil(r0 - 1) - 1, 0)
        ratio = (B[:, k] / B[:, j]).numpy()
        # NaN where round g is collapsed (the collapse lemma would be violated)
        at_g = ratio[g] if g < len(ratio) else math.nan
        rows.append((r0, rs.collapse_round, ratio[-1], at_g, ratio[0]))
    r0, t_star, last, at_g, one = (np.array(v) for v in zip(*rows, strict=True))
    return RatioSweep(np.asarray(eps, dtype=np.float64), r0, t_star.astype(int), last, at_g, one)


def data_free_worst(d: np.ndarray, y0: torch.Tensor, basis: Eigenbasis, eps: np.ndarray
                    ) -> float:
    """How loose the data-free bound (:func:`data_free_ratio_bound`) is, at its tightest: the
    smallest ``log(B_t[k,k]/B_t[j,j]) / log φ(c̄)^{t+1}`` over every ε of ``eps``, every pair
    ``d_k < d_j`` and every non-collapsed round. The bound holds iff this is at least 1 (both
    logarithms are negative); for close eigenvalues it is about the mean of ``c_i/c̄``.

    ``B_t`` comes from the engine on ``basis``; the bound from the eigenvalues ``d`` and ``r_0``
    alone. Entries where a weight underflows to 0 are skipped (the bound then holds trivially).

    Parameters
    ----------
    d : array_like, shape ``(K,)``
        Eigenvalues, ascending (pass another eigensolver's).
    y0 : torch.Tensor, shape ``(K,)``
        Labels.
    basis : Eigenbasis
        The eigenbasis the engine runs on.
    eps : array_like, shape ``(n,)``
        Budgets below the collapse threshold.

    Returns
    -------
    float
        The smallest ratio of logarithms (``inf`` when nothing is compared).
    """
    d = np.asarray(d, dtype=np.float64)
    K = d.shape[0]
    norm = float(torch.linalg.vector_norm(y0))
    k, j = np.triu_indices(K, 1)
    keep = d[k] < d[j]
    k, j = k[keep], j[keep]
    worst = math.inf
    for e in np.asarray(eps, dtype=np.float64):
        B = self_distill(basis, y0, float(e)).B.cpu().double().numpy()
        m = norm / math.sqrt(K * e) - 1.0
        a, b = d[0] / d[j], d[0] / d[k]
        t = np.arange(B.shape[0])[:, None]
        log_bound = (t + 1) * (np.log1p(a / m) - np.log1p(b / m))
        ok = (B[:, k] > 0) & (B[:, j] > 0)
        with np.errstate(divide="ignore"):
            log_ratio = np.log(B[:, k]) - np.log(B[:, j])
        worst = min(worst, float((log_ratio / log_bound)[ok].min(initial=math.inf)))
    return worst


@validate_params(y0=Tensor((1,)), m=Integer(1))
def final_alignment(basis: Eigenbasis, y0: torch.Tensor, eps: np.ndarray, m: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """For each ε: the :func:`top_alignment` of the targets ``y_t`` with the top ``m``
    eigenvectors at the last non-collapsed round, and that round's index.

    Parameters
    ----------
    basis : Eigenbasis
        ``K`` eigenvalues.
    y0 : torch.Tensor, shape ``(K,)``
        Labels, finite.
    eps : array_like, shape ``(n,)``
        Budgets, each in ``(0, ‖y_0‖²/K)``.
    m : int
        ``≥ 1``.

    Returns
    -------
    tuple of numpy.ndarray
        The alignments and the round indices, each of shape ``(n,)``.

    Raises
    ------
    ValueError
        ``y0`` not a finite 1-D tensor, ``m < 1``, or a budget outside ``(0, ‖y_0‖²/K)``.
    """
    K = int(y0.shape[0])
    threshold = float(y0.square().sum()) / K
    out, last = [], []
    for e in np.asarray(eps, dtype=np.float64):
        if not 0 < e < threshold:
            raise ValueError(f"eps = {e!r} is outside the accepted range (0, ‖y_0‖²/K = "
                             f"{threshold:.4g})")
        rs = self_distill(basis, y0, float(e))
        t = rs.n_rounds - 1
        out.append(float(top_alignment(rs.y[t:t + 1], basis, m)[0]))
        last.append(t)
    return np.array(out), np.array(last)
