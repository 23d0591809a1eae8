"""Neural tangent kernels of two-layer ReLU networks: infinite width and empirical (dong2019, §1).

The network, in the NTK parameterisation (Du et al. 2019; Arora et al. 2019)::

    f(x) = (1/√m) Σ_r a_r σ(w_rᵀx),   σ(z) = max(z, 0),   w_r ~ N(0, I_d),   a_r ~ ±1.

Its tangent kernel is the Gram matrix of parameter gradients, ``H(x, z) = ⟨∂_θ f(x), ∂_θ f(z)⟩``.
With the first layer trained (``a`` fixed) it is

    H_W(x, z) = xᵀz · (1/m) Σ_r a_r² 1{w_rᵀx ≥ 0} 1{w_rᵀz ≥ 0},

and training the output layer as well adds ``H_a(x, z) = (1/m) Σ_r σ(w_rᵀx) σ(w_rᵀz)``. As
``m → ∞`` they tend to (θ the angle between ``x`` and ``z``)

    H∞_W(x, z) = xᵀz (π − θ) / (2π),
    H∞_a(x, z) = ‖x‖‖z‖ (sin θ + (π − θ) cos θ) / (2π).

Both formulas hold for inputs of any norm (the indicator depends on directions only, σ is
positively homogeneous); on the unit sphere ``xᵀz = cos θ`` and they reduce to dong2019's
``H∞_ij = x_iᵀx_j (π − arccos x_iᵀx_j) / (2π)``. A zero input has kernel 0 with everything.

Three routes, which the tests and the chapter ``neural-tangent-kernel`` compare:

* :func:`ntk_infinite` — the closed forms above;
* :func:`ntk_two_layer` — the empirical kernel of a :class:`TwoLayerReLU` by matrix products,
  ``H = (X Zᵀ) ∘ (S_X diag(a²) S_Zᵀ) / m + Σ_X Σ_Zᵀ / m`` with ``S`` the activation pattern and
  ``Σ`` the activations; no per-sample Jacobians;
* :func:`ntk_empirical` — the empirical kernel of any ``torch.nn.Module`` from per-sample
  Jacobians (``torch.func.jacrev`` under ``vmap``), blockwise so it fits in memory.

All return float tensors on the inputs' device; verification runs in float64. TF32 matrix
products are switched off inside each call (they would cost float32 routes ~3 digits on GPUs).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
from torch import nn

from selfdistill.core.validate import (
    Integer,
    Options,
    Positive,
    Seed,
    check_finite,
    check_ndim,
    validate_params,
)

__all__ = ["TwoLayerReLU", "ntk_empirical", "ntk_infinite", "ntk_two_layer", "no_tf32"]

LAYERS = ("first", "both")


@contextlib.contextmanager
def no_tf32() -> Iterator[None]:
    """Context in which CUDA matrix products and convolutions do not use TF32; the previous
    settings are restored on exit.

    Yields
    ------
    None
        The body runs with ``torch.backends.cuda.matmul.allow_tf32`` and
        ``torch.backends.cudnn.allow_tf32`` off.

    Examples
    --------
    >>> with no_tf32():
    ...     torch.backends.cuda.matmul.allow_tf32
    False
    """
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _points(name: str, x: torch.Tensor, d: int | None = None) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (n, d), got {type(x).__name__}")
    check_ndim(name, x, (2,))
    if not x.is_floating_point():
        raise ValueError(f"{name} has dtype {x.dtype}; a floating dtype is required")
    check_finite(name, x)
    if d is not None and x.shape[1] != d:
        raise ValueError(f"{name} has shape {tuple(x.shape)}; expected (n, {d})")
    return x


@validate_params(layers=Options(*LAYERS))
def ntk_infinite(
    X: torch.Tensor, Z: torch.Tensor | None = None, *, layers: str = "first"
) -> torch.Tensor:
    """Infinite-width NTK of the two-layer ReLU net, in closed form (dong2019 §1; the book's
    ``ntk-closed-form``).

    Parameters
    ----------
    X : torch.Tensor
        Inputs ``(n, d)``, floating, finite, any device; of any norm (the unit sphere is the
        paper's).
    Z : torch.Tensor, optional
        Inputs ``(n', d)``, same dtype and device (default ``X``).
    layers : {"first", "both"}
        ``"first"`` (``a`` fixed, the paper's setting: ``H∞_W``) or ``"both"``
        (``H∞_W + H∞_a``).

    Returns
    -------
    torch.Tensor
        ``(n, n')``, dtype and device of ``X``: ``xᵀz (π − θ)/(2π)`` [+ ``‖x‖‖z‖(sin θ +
        (π − θ) cos θ)/(2π)``]; exactly symmetric without ``Z``. Angles near 0 and π are
        computed by Kahan's formula, so the kernel is accurate to rounding there too (plain
        ``arccos`` would lose half the digits).

    Raises
    ------
    ValueError
        If the inputs are not finite floating ``(n, d)`` tensors of one dtype, device and ``d``,
        or ``layers`` is unknown.

    Examples
    --------
    >>> import torch
    >>> x = torch.eye(2, dtype=torch.float64)
    >>> ntk_infinite(x).tolist()  # θ = 0 on the diagonal, θ = π/2 off it
    [[0.5, 0.0], [0.0, 0.5]]
    """
    X = _points("X", X)
    symmetric = Z is None
    Z = X if Z is None else _points("Z", Z, X.shape[1])
    if Z.dtype != X.dtype or Z.device != X.device:
        raise ValueError(f"Z has dtype {Z.dtype} on {Z.device}; X has {X.dtype} on {X.device}")
    with no_tf32():
        dot = X @ Z.T
        norms = X.norm(dim=1)[:, None] * Z.norm(dim=1)[None, :]
        theta = _angles(X, Z, dot, norms)
        kernel = dot * (math.pi - theta) / (2 * math.pi)
        if layers == "both":
            kernel = kernel + (norms * torch.sin(theta) + (math.pi - theta) * dot) / (2 * math.pi)
    return _symmetrise(kernel) if symmetric else kernel


def _symmetrise(kernel: torch.Tensor) -> torch.Tensor:
    """``(H + Hᵀ)/2``: a Gram matrix of a set with itself, exactly symmetric (BLAS is not)."""
    return (kernel + kernel.transpose(0, 1)) / 2


#: pairs with |cos θ| above this get their angle from Kahan's formula (arccos loses digits there)
_NEAR_PARALLEL = 0.999


def _angles(X, Z, dot, norms) -> torch.Tensor:
    """Angles θ ∈ [0, π] between rows of ``X`` and ``Z`` (π/2 where either is zero).

    ``arccos`` of the normalised Gram matrix, except near θ = 0 or π, where ``arccos`` has an
    error ~ √u ≈ 1e-8; there ``θ = 2 atan2(‖x̂ − ẑ‖, ‖x̂ + ẑ‖)`` (accurate to ~u) on those pairs.
    """
    safe = torch.where(norms > 0, norms, torch.ones_like(norms))
    cos = torch.where(norms > 0, dot / safe, torch.zeros_like(dot)).clamp(-1.0, 1.0)
    theta = torch.arccos(cos)
    rows, cols = torch.nonzero(cos.abs() > _NEAR_PARALLEL, as_tuple=True)
    if rows.numel():
        xh = X / X.norm(dim=1, keepdim=True).clamp_min(torch.finfo(X.dtype).tiny)
        zh = Z / Z.norm(dim=1, keepdim=True).clamp_min(torch.finfo(Z.dtype).tiny)
        diff = (xh[rows] - zh[cols]).norm(dim=1)
        summ = (xh[rows] + zh[cols]).norm(dim=1)
        theta[rows, cols] = 2 * torch.atan2(diff, summ)
    return theta


class TwoLayerReLU(nn.Module):
    """Two-layer ReLU net ``f(x) = (1/√m) Σ_r a_r σ(w_rᵀx)`` in the NTK parameterisation
    (dong2019 §1).

    Parameters
    ----------
    d : int
        Input dimension, ≥ 1.
    m : int
        Width (number of hidden units), ≥ 1; even (≥ 2) when ``symmetric``.
    train_output : bool
        Whether ``a`` is trained (``requires_grad``); the paper fixes it.
    seed : int
        Seeds the initialisation ``w_r ~ N(0, I_d)``, ``a_r`` uniform on ``{−1, +1}``; in
        ``[0, SEED_MAX]``.
    symmetric : bool
        If true, units come in pairs ``(w, a)`` and ``(w, −a)``, so ``f ≡ 0`` at initialisation
        (then ``u(0) = 0`` in the residual dynamics) while the NTK at initialisation is that of
        ``m/2`` independent units.
    dtype : torch.dtype
        Of the parameters (float64 by default, for verification).
    device : torch.device or str
        Of the parameters.

    Attributes
    ----------
    W : torch.nn.Parameter
        First layer ``(m, d)``.
    a : torch.nn.Parameter
        Output weights ``(m,)``; ``forward`` maps ``(n, d)`` to ``(n,)``.

    Raises
    ------
    ValueError
        If an argument is outside its range or ``m`` is odd with ``symmetric``.

    Examples
    --------
    >>> net = TwoLayerReLU(3, 4, symmetric=True)
    >>> net(torch.ones(2, 3, dtype=torch.float64)).tolist()  # f ≡ 0 at initialisation
    [0.0, 0.0]
    """

    @validate_params(d=Integer(1), m=Integer(1), seed=Seed())

    def __init__(
        self,
        d: int,
        m: int,
        train_output: bool = False,
        seed: int = 0,
        *,
        symmetric: bool = False,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        if symmetric and m % 2:
            raise ValueError(f"m = {m} must be even when symmetric = True")
        gen = torch.Generator().manual_seed(seed)
        half = m // 2 if symmetric else m
        W = torch.randn(half, d, generator=gen, dtype=torch.float64)
        a = torch.randint(0, 2, (half,), generator=gen).to(torch.float64) * 2 - 1
        if symmetric:
            W, a = torch.cat([W, W]), torch.cat([a, -a])
        self.width, self.dim, self.symmetric = m, d, symmetric
        self.W = nn.Parameter(W.to(device=device, dtype=dtype))
        self.a = nn.Parameter(a.to(device=device, dtype=dtype), requires_grad=train_output)

    @property
    def train_output(self) -> bool:
        """Whether the output weights ``a`` are trained."""
        return self.a.requires_grad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs ``(n,)`` of inputs ``x`` ``(n, d)`` on the parameters' device and dtype."""
        if self.symmetric:  # the halves by identical operations: exactly 0 at initialisation
            half = self.width // 2
            out = sum(torch.relu(x @ self.W[s].T) @ self.a[s]
                      for s in (slice(None, half), slice(half, None)))
        else:
            out = torch.relu(x @ self.W.T) @ self.a
        return out / math.sqrt(self.width)


def ntk_two_layer(
    model: TwoLayerReLU, X: torch.Tensor, Z: torch.Tensor | None = None
) -> torch.Tensor:
    """Empirical NTK of a :class:`TwoLayerReLU` by matrix products (the structured route).

    ``H = (X Zᵀ) ∘ (S_X diag(a²) S_Zᵀ) / m`` with ``S = 1{X Wᵀ ≥ 0}`` (n, m), plus
    ``relu(X Wᵀ) relu(Z Wᵀ)ᵀ / m`` when the output layer is trained. Cost ``O(n n' m)`` flops and
    ``O((n + n') m)`` memory, against ``O(n n' m d)`` for Jacobian contraction.

    Parameters
    ----------
    model : TwoLayerReLU
        The network; its parameters' dtype and device are used.
    X : torch.Tensor
        Inputs ``(n, d)``, finite, moved to the model's dtype and device.
    Z : torch.Tensor, optional
        Inputs ``(n', d)`` (default ``X``).

    Returns
    -------
    torch.Tensor
        ``(n, n')`` on the model's device and dtype; exactly symmetric without ``Z``. The
        gradient of ReLU at 0 is taken as 1 (``1{z ≥ 0}``), the convention :func:`ntk_infinite`
        integrates; with Gaussian weights a tie has probability 0, but autograd's
        ``relu'(0) = 0`` differs there.

    Raises
    ------
    ValueError
        If ``model`` is not a :class:`TwoLayerReLU` or the inputs do not match its dimension.
    """
    if not isinstance(model, TwoLayerReLU):
        raise ValueError(f"model must be a TwoLayerReLU, got {type(model).__name__}")
    W, a = model.W.detach(), model.a.detach()
    X = _points("X", X, model.dim).to(W)
    symmetric = Z is None
    Z = X if Z is None else _points("Z", Z, model.dim).to(W)
    m = model.width
    with no_tf32():
        px, pz = X @ W.T, Z @ W.T  # (n, m), (n', m) pre-activations
        sx, sz = (px >= 0).to(W.dtype), (pz >= 0).to(W.dtype)
        kernel = (X @ Z.T) * ((sx * a.square()) @ sz.T) / m
        if model.train_output:
            kernel = kernel + torch.relu(px) @ torch.relu(pz).T / m
    return _symmetrise(kernel) if symmetric else kernel


@validate_params(block_size=Integer(1), max_cache_bytes=Positive())
def ntk_empirical(
    model: nn.Module,
    X: torch.Tensor,
    Z: torch.Tensor | None = None,
    *,
    block_size: int = 64,
    max_cache_bytes: float = 2**30,
) -> torch.Tensor:
    """Empirical NTK of any ``nn.Module`` from per-sample Jacobians (the generic route).

    ``H[i, j] = Σ_p ∂f(x_i)/∂θ_p ∂f(z_j)/∂θ_p`` over the parameters with ``requires_grad``.
    Jacobians come from ``torch.func.jacrev`` under ``vmap`` (through ``functional_call``),
    ``block_size`` samples at a time; the blocks of ``Z`` are cached when they fit in
    ``max_cache_bytes``, else recomputed for every block of ``X``.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(b, d)`` to ``(b,)`` or ``(b, C)``; evaluated one sample at a time under ``vmap``,
        so it must not mix samples (no batch norm in training mode).
    X : torch.Tensor
        Inputs ``(n, d)``, finite, on the model's device.
    Z : torch.Tensor, optional
        Inputs ``(n', d)`` (default ``X``).
    block_size : int
        Samples per Jacobian block, ≥ 1 (memory ``block_size · C · P`` numbers, P the number
        of trained parameters).
    max_cache_bytes : float
        Largest cache of ``Z``'s Jacobian blocks, > 0.

    Returns
    -------
    torch.Tensor
        ``(n, n')`` for scalar outputs, ``(n, n', C, C)`` for C outputs; dtype of the
        parameters. Without ``Z`` the result is exactly symmetric (averaged with its transpose),
        as in the other two routes.

    Raises
    ------
    ValueError
        If ``model`` has no trainable parameter, an argument is outside its range or the inputs
        are not finite ``(n, d)`` tensors.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    if not params:
        raise ValueError("model has no parameter with requires_grad = True: the NTK is empty")
    X = _points("X", X)
    symmetric = Z is None
    Z = X if Z is None else _points("Z", Z, X.shape[1])
    buffers = dict(model.named_buffers())

    def f_single(p, x):
        out = torch.func.functional_call(model, (p, buffers), (x[None],))
        return out.reshape(-1)  # (C,)

    jac_fn = torch.func.vmap(torch.func.jacrev(f_single), in_dims=(None, 0))

    def jac_block(points: torch.Tensor) -> torch.Tensor:
        jac = jac_fn(params, points)  # dict of (b, C, *shape)
        return torch.cat([j.flatten(2) for j in jac.values()], dim=2)  # (b, C, P)

    starts_z = range(0, Z.shape[0], block_size)
    n_params = sum(p.numel() for p in params.values())
    with no_tf32():
        probe = jac_block(Z[:1])
        n_out = probe.shape[1]
        itemsize = probe.element_size()
        cache_fits = Z.shape[0] * n_out * n_params * itemsize <= max_cache_bytes
        cache = [jac_block(Z[s:s + block_size]) for s in starts_z] if cache_fits else None
        rows = []
        for s in range(0, X.shape[0], block_size):
            jx = jac_block(X[s:s + block_size])
            cols = []
            for k, t in enumerate(starts_z):
                jz = cache[k] if cache is not None else jac_block(Z[t:t + block_size])
                cols.append(torch.einsum("icp,jdp->ijcd", jx, jz))
            rows.append(torch.cat(cols, dim=1))
        kernel = torch.cat(rows, dim=0)
    if symmetric:  # (i, j, c, d) <-> (j, i, d, c)
        kernel = (kernel + kernel.permute(1, 0, 3, 2)) / 2
    return kernel[:, :, 0, 0] if n_out == 1 else kernel
