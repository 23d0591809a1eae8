"""Declarative argument checks.

Every public function of the library checks its arguments at the top with these helpers. Each
raises ``ValueError`` naming the parameter, the value it got and what is accepted, before any work
is done. The scalar checks import nothing heavy, so the command line can use them without torch.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

__all__ = [
    "check_choice",
    "check_finite",
    "check_in_range",
    "check_int",
    "check_ndim",
    "check_positive",
    "check_real",
    "check_same_length",
    "format_range",
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
