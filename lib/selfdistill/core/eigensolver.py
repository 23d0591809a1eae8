"""The symmetric eigensolver, one route per device: :func:`symmetric_eigh`.

Every eigendecomposition of a Gram matrix in the library
(:func:`selfdistill.mobahi2020.hilbert.eigenbasis`) goes through :func:`symmetric_eigh`, which picks
the fastest route *measured* on each kind of device (``bench/bench_eigh.py``, results in
``bench/README.md``), recorded here as a documented default rather than timed at import:

* ``"torch"``: ``torch.linalg.eigh`` (LAPACK ``syevd`` from MKL on CPU wheels, cuSOLVER on CUDA);
* ``"numpy"``: ``numpy.linalg.eigh`` (LAPACK ``syevd`` from NumPy's bundled OpenBLAS);
* ``"scipy"``: ``scipy.linalg.eigh`` with ``driver=`` :data:`SCIPY_DRIVER` (SciPy's OpenBLAS).

``"auto"`` takes :data:`DEFAULT_ROUTE` for the device's type: on CUDA ``"torch"`` (the matrix stays
on the GPU), on CPU :data:`DEFAULT_ROUTE` ``["cpu"]``. A route is forced with the argument
``route=`` or, for a whole run (a chapter, the tests), the environment variable
:data:`ROUTE_ENV` (``SELFDISTILL_EIGH=numpy``); the argument wins. All routes are backward stable
LAPACK solvers of the lower triangle: the eigenvalues agree to about ``K u ‖G‖₂`` and the
eigenvectors up to sign (and to a rotation inside a cluster of close eigenvalues).

Torch is imported inside the functions only; this module imports nothing of the library but
:mod:`selfdistill.validate`.
"""

from __future__ import annotations

import os
from types import MappingProxyType
from typing import TYPE_CHECKING

from selfdistill.core.validate import check_finite, check_ndim

if TYPE_CHECKING:
    import torch

__all__ = ["DEFAULT_ROUTE", "ROUTES", "ROUTE_ENV", "SCIPY_DRIVER", "resolve_route",
           "checked_eigh", "symmetric_eigh"]

#: the routes accepted by :func:`symmetric_eigh` (``route=``) and by :data:`ROUTE_ENV`
ROUTES = ("auto", "torch", "numpy", "scipy")

#: environment variable that forces a route for a whole run when ``route`` is not given
ROUTE_ENV = "SELFDISTILL_EIGH"

#: ``scipy.linalg.eigh`` driver of the ``"scipy"`` route: divide and conquer (``syevd``).
#: Measured against ``"evr"`` (MRRR, SciPy's own default) by ``bench/bench_eigh.py``; see
#: ``bench/README.md``.
SCIPY_DRIVER = "evd"

#: the route ``"auto"`` takes per device type, from ``bench/bench_eigh.py`` (``bench/README.md``).
#: CPU: NumPy's OpenBLAS ``syevd``: on the 2-core development CPU it is as fast as the best
#: route idle and degrades least under load, where torch's MKL ``syevd`` slowed down several-fold.
#: CUDA: ``torch.linalg.eigh`` (cuSOLVER), the only route that keeps the matrix on the GPU.
DEFAULT_ROUTE = MappingProxyType({"cpu": "numpy", "cuda": "torch"})


def resolve_route(route: str | None, device_type: str) -> str:
    """The concrete route (``"torch"``, ``"numpy"`` or ``"scipy"``) for a device type.

    Parameters
    ----------
    route : str or None
        One of :data:`ROUTES`; ``None`` reads :data:`ROUTE_ENV` (unset or empty: ``"auto"``).
    device_type : str
        ``torch.device.type`` of the matrix (``"cpu"``, ``"cuda"``).

    Returns
    -------
    str
        ``route`` itself, or for ``"auto"`` :data:`DEFAULT_ROUTE` of ``device_type`` (``"torch"``
        for a device type it does not list).

    Raises
    ------
    ValueError
        Naming the argument (or the environment variable) and its value if it is not one of
        :data:`ROUTES`.

    Examples
    --------
    >>> resolve_route("auto", "cuda")
    'torch'
    >>> resolve_route("scipy", "cpu")
    'scipy'
    """
    if route is None:
        route = os.environ.get(ROUTE_ENV) or "auto"
        name = ROUTE_ENV
    else:
        name = "route"
    if not isinstance(route, str) or route not in ROUTES:
        raise ValueError(f"{name} = {_short(route)} is not accepted; choose one of {list(ROUTES)}")
    if route == "auto":
        return DEFAULT_ROUTE.get(device_type, "torch")
    return route


def symmetric_eigh(G: torch.Tensor, route: str | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (ascending) and eigenvectors of a real symmetric matrix, by the chosen route.

    Parameters
    ----------
    G : torch.Tensor, shape ``(K, K)``, ``K ≥ 1``, real floating (float32 or float64), finite,
        on any device. Only its lower triangle is read (as LAPACK does): symmetry is the
        caller's to check (:func:`selfdistill.mobahi2020.hilbert.eigenbasis` does).
    route : ``"auto"`` (default where :data:`ROUTE_ENV` is unset), ``"torch"``, ``"numpy"`` or
        ``"scipy"``; ``None`` reads :data:`ROUTE_ENV`. ``"numpy"`` and ``"scipy"`` on a CUDA
        tensor copy it to the CPU and the results back.

    Returns
    -------
    d : torch.Tensor, shape ``(K,)``, ascending, G's dtype and device.
    V : torch.Tensor, shape ``(K, K)``, G's dtype and device; column ``V[:, k]`` is the unit
        eigenvector of ``d[k]``, so ``G = V diag(d) Vᵀ`` (the convention of
        ``torch.linalg.eigh``). Signs, and bases inside clusters of close eigenvalues, differ
        between routes.

    Raises
    ------
    ValueError
        ``G`` not a real floating tensor, not 2-D square with ``K ≥ 1``, or not finite; ``route``
        (or :data:`ROUTE_ENV`) not one of :data:`ROUTES`.

    Examples
    --------
    >>> import torch
    >>> G = torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
    >>> d, V = symmetric_eigh(G, route="numpy")
    >>> [round(float(v), 12) for v in d]
    [1.0, 3.0]
    >>> bool(torch.allclose(V @ torch.diag(d) @ V.T, G))
    True
    """
    import torch

    if not isinstance(G, torch.Tensor) or G.is_complex() or not G.is_floating_point():
        what = f"a {G.dtype} tensor" if isinstance(G, torch.Tensor) else type(G).__name__
        raise ValueError(f"G = {what} is not accepted; accepted: a real floating torch tensor "
                         "(float32 or float64) of shape (K, K)")
    check_ndim("G", G, (2,))
    if G.shape[0] != G.shape[1] or G.shape[0] == 0:
        raise ValueError(f"G has shape {tuple(G.shape)}; accepted: square (K, K) with K ≥ 1")
    chosen = resolve_route(route, G.device.type)
    check_finite("G", G)
    return _by_route(G, chosen)


def checked_eigh(G: torch.Tensor, route: str | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`symmetric_eigh` of a matrix the caller has already checked.

    For a ``G`` that :func:`selfdistill.core.checks.check_symmetric` (or the constraint
    :class:`selfdistill.core.validate.SymmetricMatrix`) accepted: real, finite, square,
    symmetric. It skips :func:`symmetric_eigh`'s second pass over ``G``, so that the spectral
    engine costs no more than the eigensolver (``bench/bench_eigh.py``).

    Parameters
    ----------
    G : torch.Tensor, shape ``(K, K)``
        Checked as above, ``K ≥ 1``.
    route : str, optional
        As for :func:`symmetric_eigh` (validated).

    Returns
    -------
    d, V : torch.Tensor
        As for :func:`symmetric_eigh`.

    Raises
    ------
    ValueError
        ``route`` (or :data:`ROUTE_ENV`) not one of :data:`ROUTES`.
    """
    return _by_route(G, resolve_route(route, G.device.type))


def _by_route(G: torch.Tensor, chosen: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The decomposition by the resolved route ``chosen`` (no checks of ``G``)."""
    import torch

    if chosen == "torch":
        return torch.linalg.eigh(G)
    A = G.detach().cpu().numpy()
    if chosen == "numpy":
        import numpy as np

        d, V = np.linalg.eigh(A)
    else:
        from scipy.linalg import eigh

        d, V = eigh(A, driver=SCIPY_DRIVER, check_finite=False)
    return (torch.from_numpy(d).to(device=G.device, dtype=G.dtype),
            torch.from_numpy(V).to(device=G.device, dtype=G.dtype))


def _short(value: object) -> str:
    """``repr`` cut to about 80 characters for an error message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"
