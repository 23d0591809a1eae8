"""Argument checks: one contract for every public function of the library.

A public function declares what each argument accepts once, as data, with
:func:`validate_params` and the constraints :class:`Real`, :class:`Positive`, :class:`Integer`,
:class:`Seed`, :class:`Options`, :class:`Tensor`, :class:`SymmetricMatrix` and :class:`Optional`;
the checks run before the body, and a common test (``tests/test_contracts.py``) walks every declared
parameter of every public function with values its constraint refuses. Checks that relate several
arguments use the ``check_*`` helpers in the body. Every refusal raises ``ValueError`` naming the
parameter, the value it got and what is accepted, before any work is done. Nothing here imports
torch at import time, so the command line can use the scalar checks without it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import torch

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "SEED_MAX",
    "SYMMETRY_ULPS",
    "Constraint",
    "Integer",
    "Optional",
    "Options",
    "Positive",
    "Real",
    "Seed",
    "SymmetricMatrix",
    "Tensor",
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
    "validate_params",
]


def format_range(lower: float, upper: float, lower_open: bool, upper_open: bool) -> str:
    """Interval notation, e.g. ``(0, inf)`` or ``[1, 100]``."""
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
    """Check that a real scalar lies in an interval; return it as ``float``."""
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
    """Like :func:`check_in_range`, but ``value`` must already be a real number (``int``,
    ``float``, a NumPy real scalar): a string such as ``"0.1"`` or a ``bool`` is refused rather
    than converted, for library objects that keep the value and use it later."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        accepted = format_range(lower, upper, lower_open, upper_open)
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:79] + "…"
        raise ValueError(f"{name} = {shown} is a {type(value).__name__}, not a real number; "
                         f"accepted: a real number in {accepted}")
    return check_in_range(name, value, lower, upper, lower_open=lower_open,
                          upper_open=upper_open)


def check_positive(name: str, value: Any) -> float:
    """Check ``value > 0`` and finite."""
    return check_in_range(name, value, 0.0, math.inf, lower_open=True, upper_open=True)


def check_int(name: str, value: Any, lower: int, upper: int | float = math.inf) -> int:
    """Check an integer in ``[lower, upper]``."""
    accepted = format_range(lower, upper, False, math.isinf(upper))
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} = {value!r} is not an integer; accepted: integers in {accepted}")
    if value < lower or value > upper:  # exact integer comparison: no rounding through float
        raise ValueError(f"{name} = {value!r} is outside the accepted range {accepted}")
    return int(value)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Check that ``value`` is one of ``choices``."""
    options = list(choices)
    if value not in options:
        raise ValueError(f"{name} = {value!r} is not accepted; choose one of {options}")
    return value


def check_finite(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """Check that every entry of a tensor is finite."""
    import torch

    if not bool(torch.isfinite(tensor).all()):
        bad = int((~torch.isfinite(tensor)).sum())
        raise ValueError(f"{name} has {bad} non-finite entries (NaN or inf); all must be finite")
    return tensor


def check_ndim(name: str, tensor: torch.Tensor, allowed: Sequence[int]) -> torch.Tensor:
    """Check the number of dimensions of a tensor."""
    if tensor.ndim not in allowed:
        raise ValueError(
            f"{name} has shape {tuple(tensor.shape)} ({tensor.ndim} dimensions); "
            f"accepted numbers of dimensions: {list(allowed)}"
        )
    return tensor


def check_same_length(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    """Check that two tensors have the same first dimension (never left to broadcasting)."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{name_a} has {a.shape[0]} rows but {name_b} has {b.shape[0]}; they must match "
            f"(shapes {tuple(a.shape)} and {tuple(b.shape)})"
        )


def check_symmetric(name: str, matrix: torch.Tensor) -> torch.Tensor:
    """The one square-and-symmetric check of the library: a real, finite, square ``(n, n)``
    tensor with ``max |M − Mᵀ| ≤ SYMMETRY_ULPS · n · u · max |M|`` (``u`` the unit roundoff of its
    dtype).

    Why that tolerance: a Gram matrix formed entry by entry is exactly symmetric; one formed by a
    product such as ``X Xᵀ`` or ``V diag(d) Vᵀ`` differs from its transpose by rounding in sums of
    ``n`` terms, at most about ``n u max |M|``. A larger asymmetry is a wrong input, which
    ``torch.linalg.eigh`` would silently hide by reading one triangle.
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
    check_finite(name, matrix)
    if matrix.numel() == 0:
        return matrix
    asym = float((matrix - matrix.T).abs().max())
    scale = float(matrix.abs().max())
    tol = SYMMETRY_ULPS * matrix.shape[0] * torch.finfo(matrix.dtype).eps / 2 * scale
    if asym > tol:
        raise ValueError(f"{name} is not symmetric: max |{name} - {name}ᵀ| = {asym:.3g} > "
                         f"{tol:.3g} (= {SYMMETRY_ULPS} n u max |{name}|, max |{name}| = "
                         f"{scale:.3g})")
    return matrix


def check_labels(name: str, labels: Any, num_classes: int, *, rows: int | None = None,
                 device: Any = None) -> torch.Tensor:
    """The one class-label check: a 1-D tensor of integer class indices (any integer dtype, never
    ``bool`` or floating point) with values in ``[0, num_classes − 1]``, ``rows`` entries and on
    ``device`` when given; returned as ``torch.long``.

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


# ---------------------------------------------------------------------------------------------
# Constraints as data: a public function declares what each argument accepts once, in
# ``@validate_params(...)``; the declaration is checked before the body runs and is readable by
# tests (``function.__constraints__``), which walk every public function with bad values.


class Constraint:
    """What one argument accepts. Calling it checks a value and returns the value to use."""

    def __call__(self, name: str, value: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def bad_values(self) -> list[Any]:
        """Values this constraint refuses (for the common contract test)."""
        return []


class Real(Constraint):
    """A real number in an interval (``strict``: already a real number, no strings)."""

    def __init__(self, lower: float = -math.inf, upper: float = math.inf, *,
                 lower_open: bool = False, upper_open: bool = False,
                 strict: bool = False) -> None:
        self.lower, self.upper = lower, upper
        self.lower_open, self.upper_open, self.strict = lower_open, upper_open, strict

    def __call__(self, name: str, value: Any) -> float:
        check = check_real if self.strict else check_in_range
        return check(name, value, self.lower, self.upper, lower_open=self.lower_open,
                     upper_open=self.upper_open)

    def bad_values(self) -> list[Any]:
        bad: list[Any] = [math.nan, "not a number"]
        if math.isfinite(self.lower):
            bad.append(self.lower - 1.0 if not self.lower_open else self.lower)
        if math.isfinite(self.upper):
            bad.append(self.upper + 1.0 if not self.upper_open else self.upper)
        return bad

    def __repr__(self) -> str:
        return f"Real({format_range(self.lower, self.upper, self.lower_open, self.upper_open)})"


class Positive(Real):
    """A finite real number > 0."""

    def __init__(self) -> None:
        super().__init__(0.0, math.inf, lower_open=True, upper_open=True)


class Integer(Constraint):
    """An integer (not a bool, not a float) in ``[lower, upper]``."""

    def __init__(self, lower: int, upper: int | float = math.inf) -> None:
        self.lower, self.upper = lower, upper

    def __call__(self, name: str, value: Any) -> int:
        return check_int(name, value, self.lower, self.upper)

    def bad_values(self) -> list[Any]:
        bad: list[Any] = [1.5, True, self.lower - 1]
        if math.isfinite(self.upper):
            bad.append(int(self.upper) + 1)
        return bad

    def __repr__(self) -> str:
        return f"Integer({format_range(self.lower, self.upper, False, math.isinf(self.upper))})"


#: the largest seed the library accepts: every generator it feeds takes it (torch, NumPy, and
#: scikit-learn's ``random_state``, which stops at 2³² − 1)
SEED_MAX = 2**32 - 1


class Seed(Integer):
    """A seed: an integer in ``[0, SEED_MAX]``."""

    def __init__(self) -> None:
        super().__init__(0, SEED_MAX)

    def __repr__(self) -> str:
        return "Seed()"


class Options(Constraint):
    """One of a fixed set of values."""

    def __init__(self, *choices: Any) -> None:
        self.choices = choices

    def __call__(self, name: str, value: Any) -> Any:
        return check_choice(name, value, self.choices)

    def bad_values(self) -> list[Any]:
        return ["no-such-option"] if "no-such-option" not in self.choices else []

    def __repr__(self) -> str:
        return f"Options{self.choices!r}"


class Tensor(Constraint):
    """A real torch tensor with one of the numbers of dimensions ``ndim``, finite if ``finite``."""

    def __init__(self, ndim: Sequence[int], *, finite: bool = True) -> None:
        self.ndim, self.finite = tuple(ndim), finite

    def __call__(self, name: str, value: Any) -> torch.Tensor:
        import torch

        if not isinstance(value, torch.Tensor) or value.is_complex():
            kind = "a complex tensor" if isinstance(value, torch.Tensor) else type(value).__name__
            raise ValueError(f"{name} = {kind} is not accepted; accepted: a real torch tensor "
                             f"with {list(self.ndim)} dimensions")
        check_ndim(name, value, self.ndim)
        return check_finite(name, value) if self.finite else value

    def bad_values(self) -> list[Any]:
        import torch

        wrong = next(n for n in range(5) if n not in self.ndim)
        bad: list[Any] = [torch.zeros((2,) * wrong, dtype=torch.float64), [1.0, 2.0]]
        if self.finite:
            shape = (2,) * self.ndim[-1]
            bad.append(torch.full(shape, math.nan, dtype=torch.float64))
        return bad

    def __repr__(self) -> str:
        return f"Tensor(ndim={list(self.ndim)})"


class SymmetricMatrix(Constraint):
    """A real, finite, square and symmetric matrix (:func:`check_symmetric`)."""

    def __call__(self, name: str, value: Any) -> torch.Tensor:
        return check_symmetric(name, value)

    def bad_values(self) -> list[Any]:
        import torch

        return [torch.tensor([[1.0, 2.0], [0.0, 1.0]], dtype=torch.float64),
                torch.zeros(2, 3, dtype=torch.float64), "not a matrix"]

    def __repr__(self) -> str:
        return "SymmetricMatrix()"


class Optional(Constraint):
    """``None``, or what ``inner`` accepts."""

    def __init__(self, inner: Constraint) -> None:
        self.inner = inner

    def __call__(self, name: str, value: Any) -> Any:
        return None if value is None else self.inner(name, value)

    def bad_values(self) -> list[Any]:
        return self.inner.bad_values()

    def __repr__(self) -> str:
        return f"Optional({self.inner!r})"


def validate_params(**constraints: Constraint) -> Callable[[F], F]:
    """Declare what each argument of a function accepts; check it before the body runs.

    Only the arguments a call passes are checked (defaults are the library's own and trusted), in
    the order declared, and each is replaced by the value its constraint returns (a ``float`` for
    :class:`Real`, an ``int`` for :class:`Integer`). The first refusal raises ``ValueError``
    naming the parameter, its value and what is accepted. Checks that relate several arguments
    (``stop_at < epochs``) stay in the body.

    Examples
    --------
    >>> @validate_params(K=Integer(1, 100), eps=Real(0.0, 1.0, lower_open=True))
    ... def f(K, eps):
    ...     return K * eps
    >>> f(4, 0.5)
    2.0
    >>> f(0, 0.5)
    Traceback (most recent call last):
    ...
    ValueError: K = 0 is outside the accepted range [1, 100]
    """
    import functools
    import inspect

    def decorate(function: F) -> F:
        signature = inspect.signature(function)
        unknown = set(constraints) - set(signature.parameters)
        if unknown:
            raise TypeError(f"{function.__qualname__}: constraints for unknown parameters "
                            f"{sorted(unknown)}")

        @functools.wraps(function)
        def checked(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind_partial(*args, **kwargs)
            for name, constraint in constraints.items():
                if name in bound.arguments:
                    bound.arguments[name] = constraint(name, bound.arguments[name])
            return function(*bound.args, **bound.kwargs)

        checked.__constraints__ = dict(constraints)  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return decorate
