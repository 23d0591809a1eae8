"""Kernels as Green's functions of regularisers (mobahi2020, Section 1).

A regulariser ``R(f) = ∫∫ u(x, x') f(x) f(x') dx dx'`` has the Green's function ``g`` with
``∫ u(x, x') g(x', t) dx' = δ(x - t)``. On the whole line, with the Fourier convention
``ĝ(ω) = ∫ g(x) e^{-iωx} dx``, that reads ``ĝ(ω) = 1 / û(ω)``: :meth:`symbol` returns ``û``.

Each kernel is a frozen dataclass; calling it on inputs ``x`` of shape ``(n,)`` or ``(n, d)`` and
``t`` of shape ``(m,)`` or ``(m, d)`` returns the ``(n, m)`` matrix ``g(x_i, t_j)``. Input contract:
floating torch tensors keep their dtype (float32 computes in float32) and device, and ``x`` and
``t`` must share both; anything else real (NumPy arrays, lists, integer tensors) is converted to
float64 (on ``x``'s device when ``x`` is a tensor, else the CPU); complex input is refused. Each
violation raises a ``ValueError`` naming the argument. The Gram matrix of the paper,
``G[j, k] = g(x_j, x_k) / K``, is built in
:mod:`selfdistill.mobahi2020.hilbert`, which owns the ``1/K``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import torch

from selfdistill.core.device import as_tensor
from selfdistill.core.validate import (
    Constraint,
    Options,
    Real,
    check_finite,
    check_in_range,
    check_ndim,
    validate_params,
)

__all__ = [
    "KERNEL_NAMES", "ExponentialKernel", "GaussianKernel", "Kernel", "NeumannExponentialKernel",
    "kernel_by_name",
]


def _as_tensor(name: str, x, like: torch.Tensor | None = None) -> torch.Tensor:
    if isinstance(x, torch.Tensor) and x.is_complex():
        raise ValueError(f"{name} is complex; accepted: real numbers only")
    if isinstance(x, torch.Tensor) and x.is_floating_point():
        if like is not None and (x.dtype != like.dtype or x.device != like.device):
            raise ValueError(f"{name} is {x.dtype} on {x.device} but x is {like.dtype} on "
                             f"{like.device}; they must match")
        return x
    device = x.device if isinstance(x, torch.Tensor) else (
        like.device if like is not None else torch.device("cpu"))
    return as_tensor(name, x, device, like.dtype if like is not None else torch.float64)


def _pair(x, t, dim: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Both inputs as ``(n, d)`` points under the module's input contract."""
    x = _as_tensor("x", x)
    xs = _as_points("x", x, dim)
    ts = _as_points("t", _as_tensor("t", t, like=x), xs.shape[1])
    return xs, ts


def _as_points(name: str, x: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    check_ndim(name, x, (1, 2))
    check_finite(name, x)
    points = x[:, None] if x.ndim == 1 else x
    if dim is not None and points.shape[1] != dim:
        raise ValueError(
            f"{name} has shape {tuple(x.shape)}; this kernel is defined for {dim}-dimensional "
            f"inputs, shape (n,) or (n, {dim})"
        )
    return points


#: a length or width: a real number (not a string) in ``(0, inf)``
_SCALE = Real(0.0, math.inf, lower_open=True, upper_open=True, strict=True)


@dataclass(frozen=True)
class Kernel:
    """Base class: a symmetric kernel ``g(x, t)`` that is a regulariser's Green's function.

    Subclasses are frozen dataclasses whose fields are declared in ``__constraints__`` (name →
    :class:`~selfdistill.core.validate.Constraint`) and checked when an instance is made, so a
    kernel never exists with a bad parameter.

    Raises
    ------
    ValueError
        At construction, naming the field, its value and the accepted range.
    """

    __constraints__: ClassVar[dict[str, Constraint]] = {}

    def __post_init__(self) -> None:
        for field in fields(self):
            if field.name in self.__constraints__:
                self.__constraints__[field.name](field.name, getattr(self, field.name))

    def __call__(self, x: Any, t: Any) -> torch.Tensor:
        """The matrix ``g(x_i, t_j)``.

        Parameters
        ----------
        x : torch.Tensor or array_like, shape ``(n,)`` or ``(n, d)``
            Inputs, real and finite. A floating tensor keeps its dtype and device; anything else
            real is converted to float64 (on the CPU, or ``x``'s device for an integer tensor).
        t : torch.Tensor or array_like, shape ``(m,)`` or ``(m, d)``
            Second inputs; a floating tensor must share ``x``'s dtype and device.

        Returns
        -------
        torch.Tensor
            Shape ``(n, m)``, ``x``'s dtype and device.

        Raises
        ------
        ValueError
            Complex input, a dtype or device differing from ``x``'s, a wrong number of
            dimensions or of coordinates, or non-finite entries, naming ``x`` or ``t``.
        """
        raise NotImplementedError

    def symbol(self, omega: torch.Tensor) -> torch.Tensor:
        """Fourier symbol ``û(ω)`` of the regulariser (whole-line kernels only).

        Parameters
        ----------
        omega : torch.Tensor
            Frequencies, any shape, real.

        Returns
        -------
        torch.Tensor
            ``û(ω)``, the shape, dtype and device of ``omega``; ``ĝ(ω) = 1 / û(ω)``.

        Raises
        ------
        NotImplementedError
            For kernels on an interval, which have no whole-line symbol.
        """
        raise NotImplementedError(f"{type(self).__name__} has no whole-line Fourier symbol")


@dataclass(frozen=True)
class ExponentialKernel(Kernel):
    """``g(x, t) = exp(-|x - t| / ℓ) / (2ℓ)``: Green's function of ``R(f) = ∫ f² + ℓ² f'²`` on ℝ.

    The operator is ``u = 1 - ℓ² d²/dx²``, with symbol ``û(ω) = 1 + ℓ²ω²``. One-dimensional inputs;
    calling it follows :meth:`Kernel.__call__`.

    Parameters
    ----------
    length : float
        ``ℓ > 0``, finite, a real number (not a string).

    Raises
    ------
    ValueError
        If ``length`` is outside ``(0, inf)`` or not a real number.

    Examples
    --------
    >>> import torch
    >>> g = ExponentialKernel(0.5)
    >>> g([0.0, 1.0], [0.0])  # lists are converted to float64
    tensor([[1.0000],
            [0.1353]], dtype=torch.float64)
    >>> float(g.symbol(torch.tensor(2.0)))
    2.0
    """

    __constraints__: ClassVar[dict[str, Constraint]] = {"length": _SCALE}

    length: float

    def __call__(self, x: Any, t: Any) -> torch.Tensor:
        xs, ts = _pair(x, t, 1)
        ell = self.length
        return torch.exp(-(xs - ts.T).abs() / ell) / (2 * ell)

    def symbol(self, omega: torch.Tensor) -> torch.Tensor:
        return 1 + (self.length * omega) ** 2


@dataclass(frozen=True)
class NeumannExponentialKernel(Kernel):
    """Green's function of ``R(f) = ∫_a^b f² + ℓ² f'²`` on ``[a, b]`` with free ends.

    ``g(x, t) = cosh((min - a)/ℓ) cosh((b - max)/ℓ) / (ℓ sinh((b - a)/ℓ))`` with ``min, max`` of
    ``x, t``: the solution of ``g - ℓ² g'' = δ_t`` with ``g'(a) = g'(b) = 0``, which a plain
    discretisation of ``R`` on ``[a, b]`` approximates. It tends to :class:`ExponentialKernel`
    as the interval grows around the data. Evaluated in a form that cannot overflow; calling it
    follows :meth:`Kernel.__call__` and also refuses points outside ``[lower, upper]``.

    Parameters
    ----------
    length : float
        ``ℓ > 0``, finite, a real number.
    lower, upper : float
        The interval ``[a, b]``, finite, ``lower < upper``.

    Raises
    ------
    ValueError
        If ``length`` is outside ``(0, inf)``, ``lower`` not finite, or ``upper ≤ lower``.
    """

    __constraints__: ClassVar[dict[str, Constraint]] = {
        "length": _SCALE,
        "lower": Real(-math.inf, math.inf, lower_open=True, upper_open=True, strict=True),
        "upper": Real(-math.inf, math.inf, lower_open=True, upper_open=True, strict=True),
    }

    length: float
    lower: float
    upper: float

    def __post_init__(self) -> None:
        super().__post_init__()
        check_in_range("upper", self.upper, self.lower, math.inf, lower_open=True,
                       upper_open=True)

    def __call__(self, x: Any, t: Any) -> torch.Tensor:
        xs, ts = _pair(x, t, 1)
        for name, pts in (("x", xs), ("t", ts)):
            if bool((pts < self.lower).any() or (pts > self.upper).any()):
                raise ValueError(
                    f"{name} has points outside the kernel's domain "
                    f"[{self.lower:g}, {self.upper:g}]"
                )
        ell = self.length
        lo = torch.minimum(xs, ts.T)
        hi = torch.maximum(xs, ts.T)
        alpha = (lo - self.lower) / ell
        beta = (self.upper - hi) / ell
        span = (self.upper - self.lower) / ell
        # cosh(α)cosh(β)/sinh(S) = e^{-(S-α-β)} (1+e^{-2α})(1+e^{-2β}) / (2 (1-e^{-2S}))
        num = torch.exp(-(hi - lo) / ell) * (1 + torch.exp(-2 * alpha)) * (1 + torch.exp(-2 * beta))
        return num / (2 * ell * -math.expm1(-2 * span))


@dataclass(frozen=True)
class GaussianKernel(Kernel):
    """``g(x, t) = (2πσ²)^{-d/2} exp(-|x - t|² / (2σ²))``, any dimension ``d``.

    Green's function of ``R(f) = Σ_m σ^{2m} / (m! 2^m) ∫ |D^m f|²``, whose symbol is
    ``û(ω) = Σ_m (σ²|ω|²/2)^m / m! = exp(σ²|ω|²/2)`` (Yuille and Grzywacz 1989). Calling it
    follows :meth:`Kernel.__call__`.

    Parameters
    ----------
    width : float
        ``σ > 0``, finite, a real number.

    Raises
    ------
    ValueError
        If ``width`` is outside ``(0, inf)`` or not a real number.

    Examples
    --------
    >>> g = GaussianKernel(1.0)
    >>> round(float(g([0.0], [0.0])[0, 0]), 6)
    0.398942
    """

    __constraints__: ClassVar[dict[str, Constraint]] = {"width": _SCALE}

    width: float

    def __call__(self, x: Any, t: Any) -> torch.Tensor:
        xs, ts = _pair(x, t)
        d = xs.shape[1]
        # explicit differences: cdist's matrix-product path loses digits near the diagonal
        sq = (xs[:, None, :] - ts[None, :, :]).square().sum(-1)
        return torch.exp(-sq / (2 * self.width**2)) / (2 * math.pi * self.width**2) ** (d / 2)

    def symbol(self, omega: torch.Tensor) -> torch.Tensor:
        return torch.exp((self.width * omega) ** 2 / 2)


#: the kernels a chapter's ``kernel`` parameter names, each with its one width parameter
KERNEL_NAMES = ("exponential", "gaussian")


@validate_params(name=Options(*KERNEL_NAMES), width=_SCALE)
def kernel_by_name(name: str, width: float) -> Kernel:
    """The kernel a chapter's ``kernel`` parameter names.

    Parameters
    ----------
    name : {"exponential", "gaussian"}
        :class:`ExponentialKernel` (length ``ℓ = width``) or :class:`GaussianKernel`
        (``σ = width``).
    width : float
        ``ℓ`` or ``σ``, a real number (not a string) in ``(0, inf)``.

    Returns
    -------
    Kernel

    Raises
    ------
    ValueError
        An unknown ``name``, or ``width`` outside ``(0, inf)``.

    Examples
    --------
    >>> kernel_by_name("gaussian", 0.15)
    GaussianKernel(width=0.15)
    """
    return ExponentialKernel(width) if name == "exponential" else GaussianKernel(width)
