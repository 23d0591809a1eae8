"""Argument checks: one contract for every public function of the library.

A public function declares what each argument accepts once, as data, with
:func:`validate_params` and the constraints :class:`Real`, :class:`Positive`, :class:`Integer`,
:class:`Seed`, :class:`Options`, :class:`Tensor`, :class:`SymmetricMatrix` and :class:`Optional`;
the checks run before the body, and a common test (``tests/test_contracts.py``) walks every declared
parameter of every public function with values its constraint refuses. Checks that relate several
arguments use the ``check_*`` helpers of :mod:`selfdistill.core.checks` in the body (importable
from here too). Every refusal raises ``ValueError`` naming the parameter, the value it got and
what is accepted, before any work is done. Nothing here imports torch at import time, so the
command line can use the scalar checks without it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

# the checks live in selfdistill.core.checks; importable from here too (one contract module)
from selfdistill.core.checks import (  # noqa: F401 - re-exported
    SYMMETRY_ULPS,
    check_choice,
    check_finite,
    check_in_range,
    check_int,
    check_labels,
    check_ndim,
    check_positive,
    check_real,
    check_same_length,
    check_symmetric,
    format_range,
)

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




# ---------------------------------------------------------------------------------------------
# Constraints as data: a public function declares what each argument accepts once, in
# ``@validate_params(...)``; the declaration is checked before the body runs and is readable by
# tests (``function.__constraints__``), which walk every public function with bad values.


class Constraint:
    """What one argument accepts. Calling it checks a value and returns the value to use.

    A constraint is called as ``constraint(name, value)``: it returns the value to use (converted,
    e.g. to ``float``) or raises ``ValueError`` naming ``name``, the value and what is accepted.
    :meth:`bad_values` lists values it refuses, for the common contract test.
    """

    def __call__(self, name: str, value: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def bad_values(self) -> list[Any]:
        """Values this constraint refuses (for the common contract test).

        Returns
        -------
        list
            Values a call with this constraint must refuse with ``ValueError``.
        """
        return []


class Real(Constraint):
    """A real number in an interval.

    Parameters
    ----------
    lower, upper : float, optional
        The interval's ends; no end by default (``-inf``, ``inf``).
    lower_open, upper_open : bool, default False
        Whether each end is excluded.
    strict : bool, default False
        Accept only real numbers (:func:`~selfdistill.core.checks.check_real`); otherwise anything
        ``float()`` converts, such as the string ``"0.1"`` from a command line
        (:func:`~selfdistill.core.checks.check_in_range`).
    allow_nan : bool, default False
        Accept NaN too (returned as ``nan``): for a measured value, where NaN is an outcome to
        record (a claim on it fails), not a bad argument.

    Examples
    --------
    >>> Real(0, 1, lower_open=True)("eps", 0.25)
    0.25
    >>> Real(0, 1, lower_open=True)
    Real((0, 1])
    """

    def __init__(self, lower: float = -math.inf, upper: float = math.inf, *,
                 lower_open: bool = False, upper_open: bool = False,
                 strict: bool = False, allow_nan: bool = False) -> None:
        self.lower, self.upper = lower, upper
        self.lower_open, self.upper_open, self.strict = lower_open, upper_open, strict
        self.allow_nan = allow_nan

    def __call__(self, name: str, value: Any) -> float:
        check = check_real if self.strict else check_in_range
        if self.allow_nan:  # a NaN the check would accept but for being NaN
            real = isinstance(value, numbers.Real) and not isinstance(value, bool)
            try:
                if (real or not self.strict) and math.isnan(float(value)):
                    return math.nan
            except (TypeError, ValueError):
                pass  # not a number: the check below refuses it with its message
        return check(name, value, self.lower, self.upper, lower_open=self.lower_open,
                     upper_open=self.upper_open)

    def bad_values(self) -> list[Any]:
        bad: list[Any] = ["not a number"] if self.allow_nan else [math.nan, "not a number"]
        if math.isfinite(self.lower):
            bad.append(self.lower - 1.0 if not self.lower_open else self.lower)
        if math.isfinite(self.upper):
            bad.append(self.upper + 1.0 if not self.upper_open else self.upper)
        return bad

    def __repr__(self) -> str:
        return f"Real({format_range(self.lower, self.upper, self.lower_open, self.upper_open)})"


class Positive(Real):
    """A finite real number > 0: ``Real(0, inf, lower_open=True, upper_open=True)``."""

    def __init__(self) -> None:
        super().__init__(0.0, math.inf, lower_open=True, upper_open=True)


class Integer(Constraint):
    """An integer (not a bool, not a float) in ``[lower, upper]``.

    Parameters
    ----------
    lower : int
        The smallest value accepted.
    upper : int or float, default inf
        The largest value accepted (``inf``: no upper end).
    """

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
    """One of a fixed set of values.

    Parameters
    ----------
    *choices : object
        The accepted values (compared with ``==``).

    Examples
    --------
    >>> Options("gaussian", "exponential")("kernel", "gaussian")
    'gaussian'
    """

    def __init__(self, *choices: Any) -> None:
        self.choices = choices

    def __call__(self, name: str, value: Any) -> Any:
        return check_choice(name, value, self.choices)

    def bad_values(self) -> list[Any]:
        return ["no-such-option"] if "no-such-option" not in self.choices else []

    def __repr__(self) -> str:
        return f"Options{self.choices!r}"


class Tensor(Constraint):
    """A real torch tensor with one of the numbers of dimensions ``ndim``.

    Parameters
    ----------
    ndim : sequence of int
        The accepted numbers of dimensions.
    finite : bool, default True
        Refuse NaN and infinite entries too.
    """

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
    """``None``, or what ``inner`` accepts.

    Parameters
    ----------
    inner : Constraint
        The constraint a value other than ``None`` must meet.
    """

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
    (``stop_at < epochs``) stay in the body. The declaration is kept on the decorated function as
    ``__constraints__``, where the common contract test reads it.

    Parameters
    ----------
    **constraints : Constraint
        Parameter name to the constraint its argument must meet.

    Returns
    -------
    callable
        A decorator: it returns the function wrapped with the checks.

    Raises
    ------
    TypeError
        At decoration, if a constraint names a parameter the function does not have.

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
