"""Spectral gradient-descent dynamics of kernel (linearised-network) regression (dong2019, §1–§2).

Gradient descent with step size ``lr`` (η in the book) on ``½‖u − y‖²`` in the kernel regime
moves the training outputs by ``u(k+1) = u(k) − η H (u(k) − y)``, so with
``H = Σ_i λ_i v_i v_iᵀ`` (Arora et al. 2019)

    u(k) − y = (I − ηH)^k (u(0) − y),      v_iᵀ(u(k) − y) = (1 − ηλ_i)^k v_iᵀ(u(0) − y),

and gradient flow gives ``u(t) − y = e^{−tH}(u(0) − y)``. GD is the spectral filter
``1 − (1 − ηλ)^k`` (Landweber): large-λ directions are fitted first. From ``u(0) = 0`` on noisy
targets ``ỹ = y* + e``, ``u(k) − y* = −(I − ηH)^k y* + [I − (I − ηH)^k] e``; hence the
early-stopping risk (bias plus variance, plus a cross term when ``E e ≠ 0``)

    E‖u(k) − y*‖² = Σ_i (1−ηλ_i)^{2k} (v_iᵀy*)² + Σ_i [1 − (1−ηλ_i)^k]² E(v_iᵀe)²
                    − 2 Σ_i (1−ηλ_i)^k [1 − (1−ηλ_i)^k] (v_iᵀy*)(v_iᵀ E e)

(the book's ``risk-curve``).

Targets may be vectors (n,) or matrices (n, C) (one column per output); squared norms then sum
over the columns. Everything is torch, on the kernel's device and dtype (float64 for claims).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from selfdistill.core.validate import (
    Integer,
    Positive,
    SymmetricMatrix,
    Tensor,
    check_finite,
    check_in_range,
    check_ndim,
    validate_params,
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

    Attributes
    ----------
    values : torch.Tensor
        Eigenvalues ``(n,)``, same dtype and device as ``H``.
    vectors : torch.Tensor
        Eigenvectors ``(n, n)``, columns ``v_i``.
    """

    values: torch.Tensor
    vectors: torch.Tensor

    @property
    def size(self) -> int:
        """``n``."""
        return int(self.values.shape[0])

    def coefficients(self, v: torch.Tensor) -> torch.Tensor:
        """``Vᵀ v``: coordinates of ``v`` ``(n,)`` or ``(n, C)`` along the eigenvectors, same
        shape."""
        v = _targets("v", v, self)
        return self.vectors.T @ v

    def reconstruct(self, coefficients: torch.Tensor) -> torch.Tensor:
        """``V c``: back from eigen-coordinates (n,) or (n, C) to the data coordinates."""
        return self.vectors @ coefficients


@validate_params(H=SymmetricMatrix())
def spectrum(H: torch.Tensor) -> Spectrum:
    """Eigenvalues (descending) and eigenvectors of a symmetric kernel matrix.

    Parameters
    ----------
    H : torch.Tensor
        ``(n, n)``, real, finite, symmetric to rounding
        (:func:`~selfdistill.core.validate.check_symmetric`: ``eigh`` would silently read one
        triangle); any float dtype and device.

    Returns
    -------
    Spectrum
        Same dtype and device as ``H``.

    Raises
    ------
    ValueError
        If ``H`` is not a finite symmetric matrix.

    Examples
    --------
    >>> spectrum(torch.diag(torch.tensor([1.0, 3.0], dtype=torch.float64))).values
    tensor([3., 1.], dtype=torch.float64)
    """
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


@validate_params(values=Tensor((1,)), lr=Positive())
def residual_factors(values: torch.Tensor, lr: float, steps) -> torch.Tensor:
    """The factors ``(1 − ηλ_i)^k`` by which GD shrinks the residual along ``v_i`` after ``k``
    steps (signed: they alternate when ``ηλ_i > 1`` and grow when ``ηλ_i > 2``, where GD
    diverges).

    Parameters
    ----------
    values : torch.Tensor
        Eigenvalues ``(n,)``, finite; any float dtype and device.
    lr : float
        Step size η > 0.
    steps : int or sequence of int
        Steps ``k ≥ 0`` (a scalar or a 1-d list).

    Returns
    -------
    torch.Tensor
        ``(len(steps), n)``, ``values``' dtype and device.

    Raises
    ------
    ValueError
        If ``lr ≤ 0`` or the steps are not non-negative integers.

    Examples
    --------
    >>> residual_factors(torch.tensor([0.5, 1.5], dtype=torch.float64), 1.0, [1, 2])
    tensor([[ 0.5000, -0.5000],
            [ 0.2500,  0.2500]], dtype=torch.float64)
    """
    k = _steps(steps).to(values)
    return torch.pow(1 - lr * values[None, :], k[:, None])


@validate_params(lr=Positive())
def gd_residuals(spec: Spectrum, r0: torch.Tensor, lr: float, steps) -> torch.Tensor:
    """Predicted residuals ``(I − ηH)^k r0`` at the given steps.

    Parameters
    ----------
    spec : Spectrum
        Spectrum of ``H`` (n).
    r0 : torch.Tensor
        Initial residual ``u(0) − y``, ``(n,)`` or ``(n, C)``, finite.
    lr : float
        Step size η > 0.
    steps : int or sequence of int
        Steps ``k ≥ 0``.

    Returns
    -------
    torch.Tensor
        ``(len(steps), n)`` or ``(len(steps), n, C)``, the spectrum's dtype and device.

    Raises
    ------
    ValueError
        If ``r0`` does not match the spectrum or an argument is outside its range.
    """
    factors = residual_factors(spec.values, lr, steps)
    return _apply(spec, factors, r0)


def _apply(spec: Spectrum, factors: torch.Tensor, r0: torch.Tensor) -> torch.Tensor:
    """``V diag(factors[k]) Vᵀ r0`` for each row k of ``factors`` (k, n)."""
    c0 = spec.coefficients(r0).reshape(spec.size, -1)  # (n, C)
    out = torch.einsum("ij,kjc->kic", spec.vectors, factors[:, :, None] * c0[None])
    return out[..., 0] if r0.ndim == 1 else out


def flow_residuals(spec: Spectrum, r0: torch.Tensor, times) -> torch.Tensor:
    """Gradient-flow residuals ``e^{−tH} r0`` at the given times.

    Parameters
    ----------
    spec : Spectrum
        Spectrum of ``H`` (n).
    r0 : torch.Tensor
        Initial residual ``(n,)`` or ``(n, C)``, finite.
    times : float or sequence of float
        Times ``t ≥ 0``, finite.

    Returns
    -------
    torch.Tensor
        ``(len(times), n)`` or ``(len(times), n, C)``.

    Raises
    ------
    ValueError
        If a time is negative or not finite, or ``r0`` does not match the spectrum.
    """
    t = torch.as_tensor(times, dtype=spec.values.dtype, device=spec.values.device).reshape(-1)
    if bool((t < 0).any()) or not bool(torch.isfinite(t).all()):
        raise ValueError(f"times = {t.tolist()} must be finite and >= 0")
    return _apply(spec, torch.exp(-t[:, None] * spec.values[None, :]), r0)


@dataclass(frozen=True)
class RiskCurve:
    """``E‖u(k) − y*‖²`` along GD from ``u(0) = 0``: ``total = bias + variance + cross``.

    Attributes
    ----------
    steps : torch.Tensor
        int64 ``(K,)``, CPU.
    bias, variance, cross : torch.Tensor
        float64 ``(K,)``, CPU.
    """

    steps: torch.Tensor
    bias: torch.Tensor
    variance: torch.Tensor
    cross: torch.Tensor

    @property
    def total(self) -> torch.Tensor:
        """``bias + variance + cross``."""
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


@validate_params(lr=Positive())
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
    spec : Spectrum
        Spectrum of the kernel ``H`` (n).
    y_star : torch.Tensor
        Clean targets ``(n,)`` or ``(n, C)``, finite.
    noise_second : float or torch.Tensor
        ``E(v_iᵀe)²`` per eigen-direction, ``(n,)`` non-negative (summed over columns), or a
        scalar ``σ² ≥ 0`` for i.i.d. noise of variance σ² per entry (then ``E(v_iᵀe)² = C σ²``,
        flat). For noise with a mean, this is the full second moment, mean included.
    lr : float
        Step size η > 0.
    steps : int or sequence of int
        Steps ``k ≥ 0``.
    noise_mean : torch.Tensor, optional
        ``E e``, same shape as ``y_star`` (e.g. ``−2ρ y*`` for sign flips at rate ρ); it adds
        the cross term ``−2 Σ (1−ηλ)^k [1 − (1−ηλ)^k] (v_iᵀy*)(v_iᵀ E e)``.

    Returns
    -------
    RiskCurve
        Bias ``Σ (1−ηλ_i)^{2k}(v_iᵀy*)²`` and variance ``Σ [1−(1−ηλ_i)^k]² E(v_iᵀe)²``.

    Raises
    ------
    ValueError
        If a tensor does not match the spectrum or an argument is outside its range.
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


@validate_params(lr=Positive(), max_steps=Integer(0), chunk=Integer(1))
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
    interior minimum (the book's ``interior-condition`` says when there is one).

    Parameters
    ----------
    spec, y_star, noise_second, lr, noise_mean
        As in :func:`early_stopping_risk`.
    max_steps : int
        The last step searched, ≥ 0.
    chunk : int
        Steps per evaluation, ≥ 1 (memory, not the result).

    Returns
    -------
    tuple of (int, float)
        ``(k*, risk(k*))``; ties go to the earliest step.

    Raises
    ------
    ValueError
        As :func:`early_stopping_risk`, or if ``max_steps`` or ``chunk`` is out of range.
    """
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

    ``E_j = Σ_{i ≤ j} (v_iᵀv)² / ‖v‖²`` for j = 1..n. Clean labels on structured data rise fast;
    i.i.d. noise rises linearly, ``E_j ≈ j/n`` (dong2019 §2: anisotropic information retrieval).

    Parameters
    ----------
    spec : Spectrum
        Spectrum of ``H`` (n).
    v : torch.Tensor
        ``(n,)`` or ``(n, C)`` (columns pooled), finite, not zero.

    Returns
    -------
    torch.Tensor
        ``(n,)`` rising to 1, the spectrum's dtype and device.

    Raises
    ------
    ValueError
        If ``v`` does not match the spectrum or is zero.

    Examples
    --------
    >>> spec = spectrum(torch.diag(torch.tensor([2.0, 1.0], dtype=torch.float64)))
    >>> energy_profile(spec, torch.tensor([1.0, 1.0], dtype=torch.float64))
    tensor([0.5000, 1.0000], dtype=torch.float64)
    """
    coef = spec.coefficients(v)
    energy = coef.square() if coef.ndim == 1 else coef.square().sum(1)
    total = energy.sum()
    if not float(total) > 0:
        raise ValueError("v is zero: its energy profile is undefined")
    return torch.cumsum(energy, 0) / total
