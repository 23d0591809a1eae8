"""Self-distillation rounds in Hilbert space (mobahi2020, Sections 2–4), from one eigenbasis.

Round ``t = 0, 1, 2, …`` fits the targets ``y_t`` with the same budget ``ε`` (``y_0`` = labels):
its constant ``c_t`` solves the c-equation for ``z_t = V y_t``, its fit is
``f_t(x) = g_xᵀ (c_t I + G)⁻¹ y_t``, and the next targets are the fit at the training inputs
(thm-sd-recursion):

    y_{t+1} = f_t(x_k) = Vᵀ A_t V y_t,   A_t = diag(d_k / (c_t + d_k)).

**Index convention** (thm-sd-recursion): ``B_t = ∏_{i=0}^{t} A_i`` — the product over rounds
``0..t`` *including* round ``t`` — so ``y_{t+1} = Vᵀ B_t V y_0`` and
``f_t(x) = g_xᵀ Vᵀ D⁻¹ B_t V y_0``. Arrays are indexed by round: ``c[t]``, ``A[t]``, ``B[t]`` belong
to round ``t``; ``y[t]`` are round ``t``'s targets, so ``y[t + 1]`` is round ``t``'s fit.

**Collapse**: round ``t`` collapses when ``‖y_t‖² ≤ Kε`` (then ``f_t ≡ 0`` and every later round
too). The *collapse round* ``t⋆`` is the first such ``t``; rounds ``0 … t⋆-1`` are the non-collapsed
ones, so ``t⋆`` is also their number. With ``r_t = ‖y_t‖ / √(Kε)`` and ``κ = d_max / d_min``:

* ``r_t - 1 ≤ r_{t+1} ≤ r_t - 1/κ`` (each non-collapsed round sits on its own constraint
  ``‖y_t - y_{t+1}‖ = √(Kε)``), hence ``⌈r_0 - 1⌉ ≤ t⋆ ≤ ⌈κ (r_0 - 1)⌉``, and ``t⋆ ≥ (r_0 - 1)/κ``,
  the notes' lower bound; ``κ = 1`` gives ``r_t = r_0 - t`` exactly (:func:`collapse_bounds`).
* For ``d_j > d_k``: ``(d_k/d_j)^{t+1} ≤ B_t[k]/B_t[j] ≤ φ(c_0)^{t+1}``,
  ``φ(c) = (d_k/d_j)(c + d_j)/(c + d_k)`` (E7, :func:`ratio_bounds`).

The spectral engine (:func:`self_distill`) costs one eigendecomposition plus ``O(K)`` per round;
:func:`refit_rounds` retrains from scratch every round with dense solves (the independent check and
the benchmark's baseline). Everything is float64 on the basis' device; ``c`` lives on the CPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import brentq

from selfdistill.core.device import VERIFY_DTYPE, as_tensor
from selfdistill.core.validate import check_finite, check_int, check_ndim, check_positive
from selfdistill.mobahi2020.hilbert import Eigenbasis, collapses, solve_c, squared_norm

__all__ = [
    "MAX_ROUNDS",
    "CollapseBounds",
    "RefitRounds",
    "Rounds",
    "collapse_bounds",
    "effective_count",
    "ratio_bounds",
    "refit_rounds",
    "self_distill",
    "self_distill_fixed_c",
]

#: largest number of rounds computed when ``rounds=None`` (run to collapse) before giving up
MAX_ROUNDS = 100_000


def _targets(name: str, y: torch.Tensor, K: int, device: torch.device) -> torch.Tensor:
    """Real targets of shape ``(K,)`` or ``(K, C)``, ``C ≥ 1``, as float64 on ``device``;
    complex or non-numeric input is refused (never cast, which would drop the imaginary part)."""
    y = as_tensor(name, y, device) if not isinstance(y, torch.Tensor) or y.is_complex() else y
    check_ndim(name, y, (1, 2))
    if y.ndim == 2 and y.shape[1] == 0:
        raise ValueError(f"{name} has shape {tuple(y.shape)} with no columns; accepted: (K,) or "
                         "(K, C) with C ≥ 1")
    if y.shape[0] != K:
        raise ValueError(f"{name} has shape {tuple(y.shape)}; its first dimension must be K = {K}")
    check_finite(name, y)
    return y.to(device=device, dtype=VERIFY_DTYPE)


def _check_basis(basis: Eigenbasis) -> Eigenbasis:
    if not isinstance(basis, Eigenbasis):
        what = (f"a tensor of shape {tuple(basis.shape)}" if isinstance(basis, torch.Tensor)
                else type(basis).__name__)
        raise ValueError(f"basis = {what} is not an Eigenbasis; accepted: eigenbasis(G) from "
                         "selfdistill.mobahi2020.hilbert (for a Gram matrix G itself, use "
                         "refit_rounds)")
    return basis


def _scale(s: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """``diag(s) z`` for ``z`` of shape ``(K,)`` or ``(K, C)``."""
    return s[:, None] * z if z.ndim == 2 else s * z


def _collapse_error(t: int, collapse_round: int) -> ValueError:
    return ValueError(
        f"round t = {t} is at or past the collapse round {collapse_round}: from round "
        f"{collapse_round} on ‖y_t‖² ≤ Kε and f_t ≡ 0; non-collapsed rounds are "
        f"0..{collapse_round - 1}"
    )


@dataclass(frozen=True)
class Rounds:
    """All rounds of self-distillation from one eigenbasis (see the module's index convention).

    Attributes
    ----------
    basis : the eigenbasis of ``G`` (``d`` ascending, rows of ``V`` eigenvectors).
    eps : the budget ``ε``; ``None`` for fixed-``c`` rounds (:func:`self_distill_fixed_c`).
    c : ``(n,)`` float64 on the CPU, ``c_t`` of the ``n = n_rounds`` computed non-collapsed
        rounds.
    y : ``(n + 1, K)`` or ``(n + 1, K, C)``: targets ``y_0 … y_n`` (``y[t + 1] = f_t(x_k)``).
    z : same shape as ``y``: eigen-coordinates ``z_t = V y_t``.
    A : ``(n, K)``: diagonals ``d / (c_t + d)`` in the order of ``basis.d`` (ascending).
    B : ``(n, K)``: diagonals of ``B_t = ∏_{i ≤ t} A_i``.
    collapse_round : the first round ``t⋆`` with ``‖y_t⋆‖² ≤ Kε`` (then ``n = t⋆``), or ``None``
        when the computed rounds stopped before collapse (``rounds`` given, or fixed ``c``).
    """

    basis: Eigenbasis
    eps: float | None
    c: torch.Tensor
    y: torch.Tensor
    z: torch.Tensor
    A: torch.Tensor
    B: torch.Tensor
    collapse_round: int | None

    @property
    def n_rounds(self) -> int:
        """Number of computed (non-collapsed) rounds."""
        return int(self.c.shape[0])

    @property
    def K(self) -> int:
        return int(self.basis.d.shape[0])

    @property
    def kappa(self) -> float:
        """``κ = d_max / d_min``."""
        return self.basis.condition

    def norms(self) -> torch.Tensor:
        """``‖y_t‖`` (Frobenius for vector targets), ``t = 0 … n``, shape ``(n + 1,)``, CPU."""
        return self.y.flatten(1).norm(dim=1).cpu()

    def r(self) -> torch.Tensor:
        """``r_t = ‖y_t‖ / √(Kε)``, shape ``(n + 1,)``, CPU; needs an ``ε``."""
        if self.eps is None:
            raise ValueError("r_t = ‖y_t‖/√(Kε) needs ε; these rounds used a fixed c")
        return self.norms() / math.sqrt(self.K * self.eps)

    def _check_round(self, t: int) -> int:
        t = check_int("t", t, 0)
        if self.collapse_round is not None and t >= self.collapse_round:
            raise _collapse_error(t, self.collapse_round)
        if t >= self.n_rounds:
            raise ValueError(
                f"t = {t} is outside the computed rounds: accepted integers in "
                f"[0, {self.n_rounds - 1}] (ask self_distill for more rounds)"
            )
        return t

    def alpha(self, t: int) -> torch.Tensor:
        """Coefficients of round ``t``: ``α_t = (c_t I + G)⁻¹ y_t``, shape ``(K,)``/``(K, C)``."""
        t = self._check_round(t)
        scale = 1 / (float(self.c[t]) + self.basis.d)
        return self.basis.V.T @ _scale(scale, self.z[t])

    def fit_at(self, t: int) -> torch.Tensor:
        """``f_t`` at the training inputs (``= y_{t+1}``), shape ``(K,)`` or ``(K, C)``."""
        return self.y[self._check_round(t) + 1]

    def predict(self, t: int, cross_gram: torch.Tensor) -> torch.Tensor:
        """``f_t`` at new inputs: ``cross_gram @ α_t``.

        ``cross_gram`` has shape ``(n, K)``: ``g(x_new_i, x_k) / K`` (the rows ``g_xᵀ`` of
        closed-form, with the same ``1/K`` as ``G``). Returns ``(n,)`` or ``(n, C)``.
        """
        check_ndim("cross_gram", cross_gram, (2,))
        if cross_gram.shape[1] != self.K:
            raise ValueError(f"cross_gram has shape {tuple(cross_gram.shape)}; it needs K = "
                             f"{self.K} columns")
        alpha = self.alpha(t)
        return cross_gram.to(device=alpha.device, dtype=VERIFY_DTYPE) @ alpha


def _run(basis: Eigenbasis, y0: torch.Tensor, eps: float | None, c_fixed: float | None,
         rounds: int | None) -> Rounds:
    d = basis.d
    z = basis.coords(y0)
    zs, cs, As = [z], [], []
    K = d.shape[0]
    collapse = None
    limit = MAX_ROUNDS if rounds is None else rounds
    # ‖y_0‖² from the targets themselves (the reader's threshold, as fit_greens computes it),
    # then ‖y_t‖² = ‖z_t‖²; the collapse test is hilbert.collapses, its one home
    sq = squared_norm(y0, "y0")
    for t in range(limit + 1):
        if eps is not None and collapses(sq, K, eps):
            collapse = t
            break
        if t == limit:
            break
        c = c_fixed if c_fixed is not None else solve_c(basis, z, eps, y_sq_norm=sq)
        a = d / (c + d)
        z = _scale(a, z)
        zs.append(z)
        cs.append(c)
        As.append(a)
        if eps is not None:
            sq = squared_norm(z, "z_t")
    if rounds is None and collapse is None:
        raise ValueError(f"no collapse within MAX_ROUNDS = {MAX_ROUNDS} rounds; pass rounds=")
    A = torch.stack(As) if As else d.new_zeros((0, K))
    zt = torch.stack(zs)
    y = torch.einsum("kj,tk...->tj...", basis.V, zt)
    return Rounds(basis=basis, eps=eps, c=torch.tensor(cs, dtype=VERIFY_DTYPE), y=y, z=zt, A=A,
                  B=torch.cumprod(A, dim=0), collapse_round=collapse)


def self_distill(basis: Eigenbasis, y0: torch.Tensor, eps: float, *,
                 rounds: int | None = None) -> Rounds:
    """Self-distillation rounds (thm-sd-recursion) with the same budget ``ε`` every round.

    Parameters
    ----------
    basis : :func:`selfdistill.mobahi2020.hilbert.eigenbasis` of a symmetric positive definite Gram
        matrix ``G`` (``G[j, k] = g(x_j, x_k) / K``); one decomposition serves every round.
    y0 : labels, shape ``(K,)`` or ``(K, C)`` (vector targets share one ``c_t`` per round).
    eps : ``ε > 0``.
    rounds : at most this many rounds (integer ≥ 0); ``None`` runs to collapse. If collapse comes
        first, the result stops there and ``collapse_round`` says when.

    Notes
    -----
    Each round solves the c-equation for ``c_t`` with :func:`selfdistill.mobahi2020.hilbert.solve_c`
    (Brent's method on the bracket c-bounds) and rescales the eigen-coordinates:
    ``z_{t+1} = A_t z_t``.
    """
    _check_basis(basis)
    eps = check_positive("eps", eps)
    if rounds is not None:
        rounds = check_int("rounds", rounds, 0, MAX_ROUNDS)
    y0 = _targets("y0", y0, basis.d.shape[0], basis.d.device)
    return _run(basis, y0, eps, None, rounds)


def self_distill_fixed_c(basis: Eigenbasis, y0: torch.Tensor, c: float, rounds: int) -> Rounds:
    """Rounds with the same ``c`` every round: kernel ridge with a fixed ``λ = 1/c``.

    ``z_t = A^t z_0`` with ``A = diag(d / (c + d))`` — a linear power iteration; nothing collapses
    (``collapse_round`` is ``None``). ``c > 0``, ``rounds`` an integer in ``[0, MAX_ROUNDS]``.
    """
    _check_basis(basis)
    c = check_positive("c", c)
    rounds = check_int("rounds", rounds, 0, MAX_ROUNDS)
    y0 = _targets("y0", y0, basis.d.shape[0], basis.d.device)
    return _run(basis, y0, None, c, rounds)


@dataclass(frozen=True)
class RefitRounds:
    """Rounds retrained from scratch (:func:`refit_rounds`): same layout as :class:`Rounds`.

    ``c`` ``(n,)`` CPU; ``y`` ``(n + 1, K[, C])``; ``alpha`` ``(n, K[, C])`` with
    ``f_t(x) = g_xᵀ alpha[t]``; ``collapse_round`` as in :class:`Rounds`; ``evaluations`` the
    number of dense solves spent.
    """

    c: torch.Tensor
    y: torch.Tensor
    alpha: torch.Tensor
    collapse_round: int | None
    evaluations: int


def refit_rounds(G: torch.Tensor, y0: torch.Tensor, eps: float,
                 rounds: int | None = None) -> RefitRounds:
    """Self-distillation by retraining every round: no eigendecomposition.

    Round ``t`` finds ``c_t`` as the root of ``‖c (cI + G)⁻¹ y_t‖² = Kε`` by Brent's method in
    ``log c``, each evaluation a dense LU solve (``torch.linalg.solve``). The bracket needs no
    eigenvalues: ``c_hi = 2ĝ / (r_t - 1)`` with ``ĝ = min(tr G, max_j Σ_k |G_jk|) ≥ d_max``
    (the residual there is ``≥ 4r_t²/(r_t + 1)² · Kε > Kε``), and ``c_lo`` steps down from
    ``c_hi`` by ``10³`` until the residual is ``< Kε``. Then ``α_t = (c_t I + G)⁻¹ y_t`` and
    ``y_{t+1} = G α_t = y_t - c_t α_t``. Arguments as in :func:`self_distill`, with ``G`` the
    ``(K, K)`` Gram matrix.

    Collapse is decided first, by :func:`selfdistill.mobahi2020.hilbert.collapses` on
    :func:`selfdistill.mobahi2020.hilbert.squared_norm` (as :func:`self_distill` and
    :func:`selfdistill.mobahi2020.hilbert.fit_greens` decide it). Just above the threshold the
    margin at ``c_hi`` tends to 0 as ``r_t → 1`` and rounding of the residual can erase it: the root
    then lies within rounding of ``c_hi`` and ``c_hi`` is returned, as
    :func:`selfdistill.mobahi2020.hilbert.solve_c` returns its bracket's end.
    """
    if not isinstance(G, torch.Tensor) or G.is_complex():
        what = f"{G.dtype} tensor" if isinstance(G, torch.Tensor) else type(G).__name__
        raise ValueError(f"G = {what} is not accepted; accepted: a real (K, K) torch tensor")
    eps = check_positive("eps", eps)
    if rounds is not None:
        rounds = check_int("rounds", rounds, 0, MAX_ROUNDS)
    check_ndim("G", G, (2,))
    if G.shape[0] != G.shape[1]:
        raise ValueError(f"G has shape {tuple(G.shape)}; a Gram matrix must be square")
    check_finite("G", G)
    G = G.to(VERIFY_DTYPE)
    K = G.shape[0]
    y = _targets("y0", y0, K, G.device)
    eye = torch.eye(K, dtype=VERIFY_DTYPE, device=G.device)
    g_hat = min(float(torch.trace(G)), float(G.abs().sum(dim=1).max()))
    target = K * eps
    counter = [0]

    def excess(log_c: float, targets: torch.Tensor) -> float:
        counter[0] += 1
        c = math.exp(log_c)
        return float((c * torch.linalg.solve(c * eye + G, targets)).square().sum()) - target

    ys, cs, alphas = [y], [], []
    collapse = None
    limit = MAX_ROUNDS if rounds is None else rounds
    for t in range(limit + 1):
        sq = squared_norm(y, "y0" if t == 0 else "y_t")
        if collapses(sq, K, eps):
            collapse = t
            break
        if t == limit:
            break
        r_minus_1 = (sq - target) / (target * (math.sqrt(sq / target) + 1))
        hi = math.log(2 * g_hat / r_minus_1)  # the factor 2 keeps the residual > Kε strictly
        if excess(hi, y) <= 0:
            log_c = hi  # r_t within rounding of 1: the root is not resolved beyond c_hi
        else:
            lo = hi - 3 * math.log(10)
            while excess(lo, y) >= 0:
                lo -= 3 * math.log(10)
            log_c = brentq(excess, lo, hi, args=(y,), xtol=1e-15, rtol=4 * np.finfo(float).eps,
                           maxiter=200)
        c = math.exp(log_c)
        alpha = torch.linalg.solve(c * eye + G, y)
        counter[0] += 1
        check_finite("alpha (the dense solve's result)", alpha)
        y = y - c * alpha
        ys.append(y)
        cs.append(c)
        alphas.append(alpha)
    if rounds is None and collapse is None:
        raise ValueError(f"no collapse within MAX_ROUNDS = {MAX_ROUNDS} rounds; pass rounds=")
    alpha_t = torch.stack(alphas) if alphas else y.new_zeros((0, *y.shape))
    return RefitRounds(c=torch.tensor(cs, dtype=VERIFY_DTYPE), y=torch.stack(ys), alpha=alpha_t,
                       collapse_round=collapse, evaluations=counter[0])


@dataclass(frozen=True)
class CollapseBounds:
    """Bounds on the collapse round ``t⋆`` (the number of non-collapsed rounds).

    ``lower_notes = (r0 - 1)/κ`` (the notes' guarantee); ``lower = ⌈r0 - 1⌉`` (from
    ``r_{t+1} ≥ r_t - 1``, sharper for every ``κ``); ``upper = ⌈κ (r0 - 1)⌉`` (from
    ``r_{t+1} ≤ r_t - 1/κ``). ``κ = 1``: ``lower = t⋆ = upper``.
    """

    r0: float
    kappa: float
    lower_notes: float
    lower: int
    upper: float


def collapse_bounds(r0: float, kappa: float) -> CollapseBounds:
    """:class:`CollapseBounds` for ``r0 = ‖y_0‖/√(Kε) > 0`` and ``κ = d_max/d_min ≥ 1``.

    For ``r0 ≤ 1`` round 0 already collapses and all bounds are 0. ``upper`` is a float so that
    huge ``κ`` stays representable.
    """
    r0 = check_positive("r0", r0)
    kappa = float(kappa)
    if not (kappa >= 1 and math.isfinite(kappa)):
        raise ValueError(f"kappa = {kappa!r} is outside the accepted range [1, inf)")
    excess = max(r0 - 1, 0.0)
    return CollapseBounds(r0=r0, kappa=kappa, lower_notes=excess / kappa,
                          lower=math.ceil(excess), upper=float(math.ceil(kappa * excess)))


def ratio_bounds(d_k: float, d_j: float, c0: float, t: int) -> tuple[float, float]:
    """Bounds (thm-bt-ratio) on ``B_t[k]/B_t[j]`` for eigenvalues ``d_k < d_j`` and round-0
    constant ``c0``.

    Returns ``((d_k/d_j)^{t+1}, φ(c0)^{t+1})`` with ``φ(c) = (d_k/d_j)(c + d_j)/(c + d_k)``; valid
    because ``c_i ≥ c_0`` and ``φ`` decreases towards ``d_k/d_j``.
    """
    d_k, d_j, c0 = check_positive("d_k", d_k), check_positive("d_j", d_j), check_positive("c0", c0)
    if not d_k < d_j:
        raise ValueError(f"d_k = {d_k!r} must be below d_j = {d_j!r} (E7 orders the pair)")
    t = check_int("t", t, 0)
    q = d_k / d_j
    return q ** (t + 1), (q * (c0 + d_j) / (c0 + d_k)) ** (t + 1)


def effective_count(b: torch.Tensor) -> torch.Tensor:
    """Effective number of basis functions ``(Σ_k b_k)² / Σ_k b_k²`` along the last dimension.

    The participation ratio of nonnegative weights: ``m`` for ``m`` equal weights and zeros
    elsewhere, unchanged by rescaling (``B_t`` shrinks as a whole every round; this counts its
    shape only). ``b`` of shape ``(K,)`` or ``(n, K)``, ``K ≥ 1``, real, finite and nonnegative
    (else ``ValueError``); returns shape ``()`` or ``(n,)`` (NaN for a row of zeros, where the
    ratio is undefined).
    """
    if not isinstance(b, torch.Tensor) or b.is_complex() or b.dtype == torch.bool:
        what = f"a {b.dtype} tensor" if isinstance(b, torch.Tensor) else type(b).__name__
        raise ValueError(f"b = {what} is not accepted; accepted: a real torch tensor of weights")
    check_ndim("b", b, (1, 2))
    if b.shape[-1] == 0:
        raise ValueError(f"b has shape {tuple(b.shape)} with no weights; accepted: K ≥ 1 weights "
                         "along the last dimension")
    check_finite("b", b)
    if bool((b < 0).any()):
        raise ValueError("b has negative entries; weights must be nonnegative")
    return b.sum(-1).square() / b.square().sum(-1)
