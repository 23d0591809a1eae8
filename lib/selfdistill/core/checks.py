"""The argument checks of the library: scalars, tensors, symmetric matrices, class labels.

Each ``check_*`` function refuses a bad value with ``ValueError`` naming the parameter, the value
it got and what is accepted, and returns the value to use. The declarative contract
(:func:`selfdistill.core.validate.validate_params` and its constraints) calls them; a function
uses them directly for checks that relate several arguments. Nothing here imports torch at import
time, so the command line can use the scalar checks without it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

__all__ = [
    "SYMMETRY_ULPS",
    "check_choice",
    "check_finite",
    "check_in_range",
    "check_int",
    "check_labels",
    "check_ndim",
    "check_positive",
    "check_real",
    "check_same_length",
    "check_symmetric",
    "format_range",
]


def format_range(lower: float, upper: float, lower_open: bool, upper_open: bool) -> str:
    """Interval notation, e.g. ``(0, inf)`` or ``[1, 100]``.

    Parameters
    ----------
    lower, upper : float
        The ends (infinite ends print as ``-inf`` and ``inf``).
    lower_open, upper_open : bool
        Whether each end is excluded.

    Returns
    -------
    str
        The interval, as the refusal messages print it.

    Examples
    --------
    >>> format_range(0, float("inf"), True, True)
    '(0, inf)'
    >>> format_range(1, 100, False, False)
    '[1, 100]'
    """
    left = "(" if lower_open else "["
    right = ")" if upper_open else "]"
    return f"{left}{_fmt(lower)}, {_fmt(upper)}{right}"


def _fmt(x: float) -> str:
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:g}" if isinstance(x, float) else str(x)


def check_in_range(
    name: str,
    value: Any,
    lower: float = -math.inf,
    upper: float = math.inf,
    *,
    lower_open: bool = False,
    upper_open: bool = False,
) -> float:
    """Check that a real scalar lies in an interval; return it as ``float``.

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    value : object
        Anything ``float()`` converts (a number, a NumPy scalar, a numeric string).
    lower, upper : float, optional
        The interval's ends; no end by default (``-inf``, ``inf``).
    lower_open, upper_open : bool, default False
        Whether each end is excluded.

    Returns
    -------
    float
        ``float(value)``.

    Raises
    ------
    ValueError
        If ``value`` is not a real number, is NaN, or lies outside the interval.

    Examples
    --------
    >>> check_in_range("eps", "0.5", 0, 1, lower_open=True)
    0.5
    >>> check_in_range("eps", 0, 0, 1, lower_open=True)
    Traceback (most recent call last):
    ...
    ValueError: eps = 0 is outside the accepted range (0, 1]
    """
    accepted = format_range(lower, upper, lower_open, upper_open)
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} = {value!r} is not a real number; accepted: {accepted}") from None
    inside = (x > lower if lower_open else x >= lower) and (x < upper if upper_open else x <= upper)
    if math.isnan(x) or not inside:
        raise ValueError(f"{name} = {value!r} is outside the accepted range {accepted}")
    return x


def check_real(name: str, value: Any, lower: float = -math.inf, upper: float = math.inf, *,
               lower_open: bool = False, upper_open: bool = False) -> float:
    """Like :func:`check_in_range`, but ``value`` must already be a real number.

    A real number is an ``int``, a ``float`` or a NumPy real scalar: a string such as ``"0.1"`` or a
    ``bool`` is refused rather than converted, for library objects that keep the value and use it
    later.

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    value : object
        The value to check.
    lower, upper : float, optional
        The interval's ends; no end by default (``-inf``, ``inf``).
    lower_open, upper_open : bool, default False
        Whether each end is excluded.

    Returns
    -------
    float
        ``float(value)``.

    Raises
    ------
    ValueError
        If ``value`` is not a real number (a ``str``, a ``bool``), is NaN, or lies outside the
        interval.

    Examples
    --------
    >>> check_real("length", "0.1", 0, 1)
    Traceback (most recent call last):
    ...
    ValueError: length = '0.1' is a str, not a real number; accepted: a real number in [0, 1]
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        accepted = format_range(lower, upper, lower_open, upper_open)
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:79] + "…"
        raise ValueError(f"{name} = {shown} is a {type(value).__name__}, not a real number; "
                         f"accepted: a real number in {accepted}")
    return check_in_range(name, value, lower, upper, lower_open=lower_open,
                          upper_open=upper_open)


def check_positive(name: str, value: Any) -> float:
    """Check ``value > 0`` and finite.

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    value : object
        Anything ``float()`` converts.

    Returns
    -------
    float
        ``float(value)``.

    Raises
    ------
    ValueError
        If ``value`` is not a real number in ``(0, inf)``.
    """
    return check_in_range(name, value, 0.0, math.inf, lower_open=True, upper_open=True)


def check_int(name: str, value: Any, lower: int, upper: int | float = math.inf) -> int:
    """Check an integer in ``[lower, upper]``.

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    value : object
        The value to check: an integer (Python or NumPy), never a ``bool`` or a ``float``.
    lower : int
        The smallest value accepted.
    upper : int or float, default inf
        The largest value accepted (``inf``: no upper end).

    Returns
    -------
    int
        ``int(value)``.

    Raises
    ------
    ValueError
        If ``value`` is not an integer or lies outside ``[lower, upper]`` (compared exactly, not
        through ``float``).

    Examples
    --------
    >>> check_int("K", 3, 1, 10)
    3
    >>> check_int("K", 3.0, 1, 10)
    Traceback (most recent call last):
    ...
    ValueError: K = 3.0 is not an integer; accepted: integers in [1, 10]
    """
    accepted = format_range(lower, upper, False, math.isinf(upper))
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} = {value!r} is not an integer; accepted: integers in {accepted}")
    if value < lower or value > upper:  # exact integer comparison: no rounding through float
        raise ValueError(f"{name} = {value!r} is outside the accepted range {accepted}")
    return int(value)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Check that ``value`` is one of ``choices``.

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    value : object
        The value to check.
    choices : iterable
        The accepted values (compared with ``==``).

    Returns
    -------
    object
        ``value`` itself.

    Raises
    ------
    ValueError
        If ``value`` is not among ``choices``; the message lists them.
    """
    options = list(choices)
    if value not in options:
        raise ValueError(f"{name} = {value!r} is not accepted; choose one of {options}")
    return value


def check_finite(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """Check that every entry of a tensor is finite.

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    tensor : torch.Tensor
        Any shape, a floating dtype, any device.

    Returns
    -------
    torch.Tensor
        ``tensor`` itself.

    Raises
    ------
    ValueError
        If any entry is NaN or infinite; the message counts them.
    """
    import torch

    if not bool(torch.isfinite(tensor).all()):
        bad = int((~torch.isfinite(tensor)).sum())
        raise ValueError(f"{name} has {bad} non-finite entries (NaN or inf); all must be finite")
    return tensor


def check_ndim(name: str, tensor: torch.Tensor, allowed: Sequence[int]) -> torch.Tensor:
    """Check the number of dimensions of a tensor.

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    tensor : torch.Tensor
        Any dtype and device.
    allowed : sequence of int
        The accepted numbers of dimensions.

    Returns
    -------
    torch.Tensor
        ``tensor`` itself.

    Raises
    ------
    ValueError
        If ``tensor.ndim`` is not in ``allowed``; the message gives the shape.
    """
    if tensor.ndim not in allowed:
        raise ValueError(
            f"{name} has shape {tuple(tensor.shape)} ({tensor.ndim} dimensions); "
            f"accepted numbers of dimensions: {list(allowed)}"
        )
    return tensor


def check_same_length(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    """Check that two tensors have the same first dimension (never left to broadcasting).

    Parameters
    ----------
    name_a : str
        The first parameter's name, for the message.
    a : torch.Tensor
        Shape ``(n, ...)``.
    name_b : str
        The second parameter's name.
    b : torch.Tensor
        Shape ``(n, ...)``.

    Raises
    ------
    ValueError
        If ``a.shape[0] != b.shape[0]``; the message gives both shapes.
    """
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{name_a} has {a.shape[0]} rows but {name_b} has {b.shape[0]}; they must match "
            f"(shapes {tuple(a.shape)} and {tuple(b.shape)})"
        )


def check_symmetric(name: str, matrix: torch.Tensor) -> torch.Tensor:
    """The one square-and-symmetric check of the library.

    Accepted: a real, finite, square ``(n, n)`` tensor with
    ``max |M − Mᵀ| ≤ SYMMETRY_ULPS · n · u · max |M|`` (``u`` the unit roundoff of its dtype).

    Why that tolerance: a Gram matrix formed entry by entry is exactly symmetric; one formed by a
    product such as ``X Xᵀ`` or ``V diag(d) Vᵀ`` differs from its transpose by rounding in sums of
    ``n`` terms, at most about ``n u max |M|``. A larger asymmetry is a wrong input, which
    ``torch.linalg.eigh`` would silently hide by reading one triangle.

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    matrix : torch.Tensor
        Shape ``(n, n)``, a real floating dtype, any device.

    Returns
    -------
    torch.Tensor
        ``matrix`` itself.

    Raises
    ------
    ValueError
        If ``matrix`` is not a real tensor, not square, not finite, or not symmetric within the
        tolerance.

    Examples
    --------
    >>> import torch
    >>> check_symmetric("G", torch.eye(2, dtype=torch.float64)).shape
    torch.Size([2, 2])
    >>> check_symmetric("G", torch.tensor([[1.0, 2.0], [0.0, 1.0]]))
    Traceback (most recent call last):
    ...
    ValueError: G is not symmetric: max |G - Gᵀ| = 2 > 1.53e-05 (= 64 n u max |G|, max |G| = 2)
    """
    import torch

    if not isinstance(matrix, torch.Tensor) or matrix.is_complex():
        kind = "a complex tensor" if isinstance(matrix, torch.Tensor) else type(matrix).__name__
        raise ValueError(f"{name} = {kind} is not accepted; accepted: a real torch tensor of "
                         "shape (n, n)")
    check_ndim(name, matrix, (2,))
    if matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"{name} has shape {tuple(matrix.shape)}; accepted: a square (n, n) "
                         "matrix")
    if matrix.numel() == 0:
        return matrix
    low, high = torch.aminmax(matrix)  # one pass; NaN or ±inf anywhere shows in the extremes
    scale = max(abs(float(low)), abs(float(high)))
    if not math.isfinite(scale):
        check_finite(name, matrix)  # names how many entries are not finite
    asym = float((matrix - matrix.T).abs_().max())
    tol = SYMMETRY_ULPS * matrix.shape[0] * torch.finfo(matrix.dtype).eps / 2 * scale
    if asym > tol:
        raise ValueError(f"{name} is not symmetric: max |{name} - {name}ᵀ| = {asym:.3g} > "
                         f"{tol:.3g} (= {SYMMETRY_ULPS} n u max |{name}|, max |{name}| = "
                         f"{scale:.3g})")
    return matrix


def check_labels(name: str, labels: Any, num_classes: int, *, rows: int | None = None,
                 device: Any = None) -> torch.Tensor:
    """The one class-label check.

    Accepted: a 1-D tensor of integer class indices (any integer dtype, never ``bool`` or floating
    point) with values in ``[0, num_classes − 1]``, ``rows`` entries and on ``device`` when given.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    labels : torch.Tensor
        Shape ``(n,)``, an integer dtype.
    num_classes : int
        ``C``; the labels must lie in ``[0, C − 1]``.
    rows : int, optional
        The number of rows the labels must match (a batch's size).
    device : torch.device, optional
        The device the labels must be on (that of the tensor they label).

    Returns
    -------
    torch.Tensor
        ``labels`` as ``torch.long``, shape ``(n,)``, on its device.

    Raises
    ------
    ValueError
        If ``labels`` is not an integer tensor, not 1-D, has another number of rows, is on another
        device, or has a value outside ``[0, C − 1]``.
    """
    import torch

    integer = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)
    if not isinstance(labels, torch.Tensor) or labels.dtype not in integer:
        got = labels.dtype if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ValueError(f"{name} has dtype {got}; accepted: a tensor of integer class indices")
    check_ndim(name, labels, (1,))
    if rows is not None and labels.shape[0] != rows:
        raise ValueError(f"{name} has {labels.shape[0]} entries; accepted: {rows}, one per row")
    if device is not None and labels.device != torch.device(device):
        raise ValueError(f"{name} is on {labels.device}; accepted: {device}, the device of the "
                         "tensor it labels")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(f"{name} ranges over [{int(labels.min())}, {int(labels.max())}]; "
                         f"accepted: [0, {num_classes - 1}] for {num_classes} classes")
    return labels.long()


#: the symmetry tolerance of :func:`check_symmetric`, in units of ``n u max |M|``
SYMMETRY_ULPS = 64
