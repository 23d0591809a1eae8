"""Spectral gradient-descent dynamics of kernel (linearised-network) regression (dong2019, §1–§2).

Gradient descent with step ``η`` on ``½‖u − y‖²`` in the kernel regime moves the training outputs
by ``u(k+1) = u(k) − η H (u(k) − y)``, so with ``H = Σ_i λ_i v_i v_iᵀ`` (Arora et al. 2019)

    u(k) − y = (I − ηH)^k (u(0) − y),      v_iᵀ(u(k) − y) = (1 − ηλ_i)^k v_iᵀ(u(0) − y),

and gradient flow gives ``u(t) − y = e^{−tH}(u(0) − y)``. GD is the spectral filter
``1 − (1 − ηλ)^k`` (Landweber): large-λ directions are fitted first. From ``u(0) = 0`` on noisy
targets ``ỹ = y* + e``, ``u(k) − y* = −(I − ηH)^k y* + [I − (I − ηH)^k] e``; hence the
early-stopping risk (bias plus variance, plus a cross term when ``E e ≠ 0``)

    E‖u(k) − y*‖² = Σ_i (1−ηλ_i)^{2k} (v_iᵀy*)² + Σ_i [1 − (1−ηλ_i)^k]² E(v_iᵀe)²
                    − 2 Σ_i (1−ηλ_i)^k [1 − (1−ηλ_i)^k] (v_iᵀy*)(v_iᵀ E e).

Targets may be vectors (n,) or matrices (n, C) (one column per output); squared norms then sum
over the columns. Everything is torch, on the kernel's device and dtype (float64 for claims).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from selfdistill.core.validate import (
    check_finite,
    check_in_range,
    check_int,
    check_ndim,
    check_positive,
)

__all__ = [
    "RiskCurve",
    "Spectrum",
    "early_stopping_risk",
    "energy_profile",
    "flow_residuals",
    "gd_residuals",
    "optimal_stopping_step",
    "residual_factors",
    "spectrum",
]


@dataclass(frozen=True)
class Spectrum:
    """Eigen-decomposition ``H = V diag(λ) Vᵀ`` with ``λ`` in **descending** order.

    ``values`` (n,) and ``vectors`` (n, n) (columns ``v_i``), same dtype and device as ``H``.
    """

    values: torch.Tensor
    vectors: torch.Tensor

    @property
    def size(self) -> int:
        return int(self.values.shape[0])

    def coefficients(self, v: torch.Tensor) -> torch.Tensor:
        """``Vᵀ v``: coordinates of ``v`` (n,) or (n, C) along the eigenvectors, same shape."""
        v = _targets("v", v, self)
        return self.vectors.T @ v

    def reconstruct(self, coefficients: torch.Tensor) -> torch.Tensor:
        """``V c``: back from eigen-coordinates (n,) or (n, C) to the data coordinates."""
        return self.vectors @ coefficients


def spectrum(H: torch.Tensor) -> Spectrum:
    """Eigenvalues (descending) and eigenvectors of a symmetric kernel matrix ``H`` (n, n).

    Raises if ``H`` is not square, not finite, or not symmetric to 1e-10 relative (``eigh`` would
    silently read one triangle).
    """
    check_ndim("H", H, (2,))
    if H.shape[0] != H.shape[1]:
        raise ValueError(f"H has shape {tuple(H.shape)}; a square (n, n) matrix is required")
    check_finite("H", H)
    asym = float((H - H.T).abs().max())
    scale = float(H.abs().max())
    if asym > 1e-10 * max(scale, 1e-300):
        raise ValueError(f"H is not symmetric: max |H - Hᵀ| = {asym:.3g} (max |H| = {scale:.3g})")
    values, vectors = torch.linalg.eigh((H + H.T) / 2)
    return Spectrum(values.flip(0), vectors.flip(1))


def _targets(name: str, y: torch.Tensor, spec: Spectrum) -> torch.Tensor:
    if not isinstance(y, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (n,) or (n, C)")
    check_ndim(name, y, (1, 2))
    if y.shape[0] != spec.size:
        raise ValueError(f"{name} has shape {tuple(y.shape)}; its first dimension must be n = "
                         f"{spec.size}, the size of the kernel")
    check_finite(name, y)
    return y.to(spec.vectors)


def _steps(steps) -> torch.Tensor:
    k = torch.as_tensor(steps)
    if k.ndim > 1:
        raise ValueError(f"steps has shape {tuple(k.shape)}; a scalar or a 1-d list is required")
    k = k.reshape(-1)
    if k.is_floating_point() and not bool((k == k.round()).all()):
        raise ValueError(f"steps = {k.tolist()} must be integers")
    if bool((k < 0).any()):
        raise ValueError(f"steps = {k.tolist()} must be >= 0")
    return k


def residual_factors(values: torch.Tensor, lr: float, steps) -> torch.Tensor:
    """``(1 − ηλ_i)^k`` for each step ``k`` and eigenvalue ``λ_i``: shape (len(steps), n).

    The factor by which GD shrinks the residual along ``v_i`` after ``k`` steps (signed: it
    alternates when ``ηλ_i > 1`` and grows when ``ηλ_i > 2``, i.e. GD diverges there).
    """
    lr = check_positive("lr", lr)
    check_ndim("values", values, (1,))
    k = _steps(steps).to(values)
    return torch.pow(1 - lr * values[None, :], k[:, None])


def gd_residuals(spec: Spectrum, r0: torch.Tensor, lr: float, steps) -> torch.Tensor:
    """Predicted residuals ``(I − ηH)^k r0`` at the given steps.

    Parameters
    ----------
    spec : spectrum of ``H`` (n).
    r0 : initial residual ``u(0) − y``, (n,) or (n, C).
    lr : step size ``η > 0``; steps : integers ``k ≥ 0`` (scalar or list).

    Returns
    -------
    tensor (len(steps), n) or (len(steps), n, C).
    """
    factors = residual_factors(spec.values, lr, steps)
    return _apply(spec, factors, r0)


def _apply(spec: Spectrum, factors: torch.Tensor, r0: torch.Tensor) -> torch.Tensor:
    """``V diag(factors[k]) Vᵀ r0`` for each row k of ``factors`` (k, n)."""
    c0 = spec.coefficients(r0).reshape(spec.size, -1)  # (n, C)
    out = torch.einsum("ij,kjc->kic", spec.vectors, factors[:, :, None] * c0[None])
    return out[..., 0] if r0.ndim == 1 else out


def flow_residuals(spec: Spectrum, r0: torch.Tensor, times) -> torch.Tensor:
    """Gradient-flow residuals ``e^{−tH} r0`` at the given times ``t ≥ 0``: (len(times), n[, C])."""
    t = torch.as_tensor(times, dtype=spec.values.dtype, device=spec.values.device).reshape(-1)
    if bool((t < 0).any()) or not bool(torch.isfinite(t).all()):
        raise ValueError(f"times = {t.tolist()} must be finite and >= 0")
    return _apply(spec, torch.exp(-t[:, None] * spec.values[None, :]), r0)


@dataclass(frozen=True)
class RiskCurve:
    """``E‖u(k) − y*‖²`` along GD from ``u(0) = 0``: ``total = bias + variance + cross``.

    All fields are float64 CPU tensors of shape (len(steps),) except ``steps`` (int64).
    """

    steps: torch.Tensor
    bias: torch.Tensor
    variance: torch.Tensor
    cross: torch.Tensor

    @property
    def total(self) -> torch.Tensor:
        return self.bias + self.variance + self.cross


def _noise_moments(spec: Spectrum, noise_second, noise_mean, n_cols: int):
    second = torch.as_tensor(noise_second, dtype=spec.values.dtype, device=spec.values.device)
    if second.ndim == 0:
        check_in_range("noise_second", float(second), 0.0, math.inf, upper_open=True)
        second = second.expand(spec.size) * n_cols
    else:
        check_ndim("noise_second", second, (1,))
        if second.shape[0] != spec.size or bool((second < 0).any()):
            raise ValueError(f"noise_second must be a scalar or a non-negative (n,) = "
                             f"({spec.size},) tensor of E(v_iᵀe)², got shape {tuple(second.shape)}")
    mean_coef = None
    if noise_mean is not None:
        mean_coef = spec.coefficients(noise_mean)
    return second, mean_coef


def early_stopping_risk(
    spec: Spectrum,
    y_star: torch.Tensor,
    noise_second,
    lr: float,
    steps,
    noise_mean: torch.Tensor | None = None,
) -> RiskCurve:
    """Expected risk ``E‖u(k) − y*‖²`` of GD from ``u(0) = 0`` on ``ỹ = y* + e`` (dong2019 §2).

    Parameters
    ----------
    spec : spectrum of the kernel ``H`` (n).
    y_star : clean targets (n,) or (n, C).
    noise_second : ``E(v_iᵀe)²`` per eigen-direction, (n,) (summed over columns), or a scalar
        ``σ²`` for i.i.d. noise of variance σ² per entry (then ``E(v_iᵀe)² = C σ²``, flat).
        For noise with a mean, this is the full second moment, mean included.
    lr, steps : as in :func:`gd_residuals`.
    noise_mean : ``E e``, same shape as ``y_star``, optional (e.g. ``−2ρ y*`` for sign flips at
        rate ρ); it adds the cross term ``−2 Σ (1−ηλ)^k [1 − (1−ηλ)^k] (v_iᵀy*)(v_iᵀ E e)``.

    Returns
    -------
    :class:`RiskCurve` with bias ``Σ (1−ηλ_i)^{2k}(v_iᵀy*)²`` and variance
    ``Σ [1−(1−ηλ_i)^k]² E(v_iᵀe)²``.
    """
    coef = spec.coefficients(y_star)
    n_cols = 1 if coef.ndim == 1 else coef.shape[1]
    second, mean_coef = _noise_moments(spec, noise_second, noise_mean, n_cols)
    factors = residual_factors(spec.values, lr, steps)  # (k, n)
    energy = coef.square() if coef.ndim == 1 else coef.square().sum(1)
    bias = factors.square() @ energy
    variance = (1 - factors).square() @ second
    if mean_coef is None:
        cross = torch.zeros_like(bias)
    else:
        inner = (coef * mean_coef) if coef.ndim == 1 else (coef * mean_coef).sum(1)
        cross = -2 * (factors * (1 - factors)) @ inner
    cpu = dict(dtype=torch.float64, device="cpu")
    return RiskCurve(_steps(steps).to(torch.int64).cpu(), bias.to(**cpu), variance.to(**cpu),
                     cross.to(**cpu))


def optimal_stopping_step(
    spec: Spectrum,
    y_star: torch.Tensor,
    noise_second,
    lr: float,
    max_steps: int,
    noise_mean: torch.Tensor | None = None,
    chunk: int = 4096,
) -> tuple[int, float]:
    """The step ``k* ∈ {0, …, max_steps}`` that minimises :func:`early_stopping_risk`.

    Exhaustive over every integer step (in chunks of ``chunk`` steps), so it cannot miss an
    interior minimum. Returns ``(k*, risk(k*))``; ties go to the earliest step.
    """
    max_steps = check_int("max_steps", max_steps, 0)
    check_int("chunk", chunk, 1)
    best_k, best = 0, float("inf")
    for start in range(0, max_steps + 1, chunk):
        ks = torch.arange(start, min(start + chunk, max_steps + 1))
        total = early_stopping_risk(spec, y_star, noise_second, lr, ks, noise_mean).total
        i = int(torch.argmin(total))
        if float(total[i]) < best:
            best_k, best = int(ks[i]), float(total[i])
    return best_k, best


def energy_profile(spec: Spectrum, v: torch.Tensor) -> torch.Tensor:
    """Cumulative energy fraction of ``v`` along the eigenvectors, largest eigenvalue first.

    ``E_j = Σ_{i ≤ j} (v_iᵀv)² / ‖v‖²`` for j = 1..n (columns of an (n, C) ``v`` are pooled):
    a float tensor (n,) rising to 1. Clean labels on structured data rise fast; i.i.d. noise rises
    linearly, ``E_j ≈ j/n`` (dong2019 §2: AIR).
    """
    coef = spec.coefficients(v)
    energy = coef.square() if coef.ndim == 1 else coef.square().sum(1)
    total = energy.sum()
    if not float(total) > 0:
        raise ValueError("v is zero: its energy profile is undefined")
    return torch.cumsum(energy, 0) / total
