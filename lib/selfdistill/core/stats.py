"""Intervals for directional empirical claims: paired differences over seeds.

A directional claim ("A beats B", "X rises") is decided by a confidence interval of the mean paired
difference, never by a mean over two or three seeds. :func:`paired_interval` pairs two arms by
seed and gives the Student-t interval with ``n - 1`` degrees of freedom; :func:`mean_interval` does
the same for one sample of differences. Both are checked against :mod:`scipy.stats` in the tests.

This module imports neither torch nor numpy at import time (the ledger reads intervals back fast).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from selfdistill.core.validate import Real, validate_params

__all__ = ["Interval", "mean_interval", "paired_interval"]


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval of a mean.

    Attributes
    ----------
    mean : float
        The sample mean (of the paired differences).
    low, high : float
        The interval's ends.
    n : int
        Number of samples (seeds).
    dof : int
        Degrees of freedom of the Student-t quantile, ``n - 1``.
    level : float
        Confidence level in (0, 1), e.g. 0.95.
    sd : float
        Sample standard deviation (``ddof=1``).
    method : str
        ``"student-t"``.
    """

    mean: float
    low: float
    high: float
    n: int
    dof: int
    level: float
    sd: float
    method: str = "student-t"

    def as_dict(self) -> dict[str, float | int | str]:
        """The interval as a plain dictionary (for the ledger's JSON).

        Returns
        -------
        dict
            Every field by name.
        """
        return asdict(self)


def _as_floats(name: str, values: Sequence[float]) -> list[float]:
    try:
        out = [float(v) for v in (values.tolist() if hasattr(values, "tolist") else values)]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a 1-D sequence of real numbers, got "
                        f"{type(values).__name__}") from None
    if any(isinstance(v, list) for v in out):  # pragma: no cover - float() refuses lists
        raise TypeError(f"{name} must be 1-D")
    bad = [v for v in out if not math.isfinite(v)]
    if bad:
        raise ValueError(f"{name} holds a non-finite value ({bad[0]}); accepted: finite numbers")
    return out


#: a confidence level: a real number (not text) in (0, 1)
_LEVEL = Real(0.0, 1.0, lower_open=True, upper_open=True, strict=True)


@validate_params(level=_LEVEL)
def mean_interval(x: Sequence[float], level: float = 0.95) -> Interval:
    """Student-t confidence interval of the mean of ``x``.

    Parameters
    ----------
    x : sequence of float, shape (n,)
        Independent samples (e.g. one paired difference per seed), n ≥ 2, finite.
    level : float, default 0.95
        Confidence level, in (0, 1).

    Returns
    -------
    Interval
        ``mean ± t_{(1+level)/2, n-1} · sd / √n``.

    Raises
    ------
    ValueError
        For fewer than two samples, a non-finite sample, or ``level`` outside (0, 1).

    Examples
    --------
    >>> iv = mean_interval([0.1, 0.2, 0.3, 0.2, 0.2])
    >>> round(iv.mean, 3), iv.dof
    (0.2, 4)
    """
    from scipy.stats import t as student_t

    values = _as_floats("x", x)
    n = len(values)
    if n < 2:
        raise ValueError(f"x has {n} sample(s); an interval needs at least 2")
    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(student_t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return Interval(mean=mean, low=mean - half, high=mean + half, n=n, dof=n - 1,
                    level=float(level), sd=sd)


@validate_params(level=_LEVEL)
def paired_interval(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> Interval:
    """Student-t interval of the mean paired difference ``a - b``.

    Parameters
    ----------
    a, b : sequence of float, shape (n,)
        The two arms' results, paired by seed (``a[i]`` and ``b[i]`` share seed ``i``), n ≥ 2.
    level : float, default 0.95
        Confidence level, in (0, 1).

    Returns
    -------
    Interval
        Of ``mean(a - b)``, with ``n - 1`` degrees of freedom.

    Raises
    ------
    ValueError
        When ``a`` and ``b`` differ in length, or as :func:`mean_interval`.

    Examples
    --------
    >>> iv = paired_interval([0.9, 0.8, 0.85], [0.8, 0.75, 0.8])
    >>> round(iv.mean, 4), iv.n
    (0.0667, 3)
    """
    left, right = _as_floats("a", a), _as_floats("b", b)
    if len(left) != len(right):
        raise ValueError(f"a has {len(left)} samples and b has {len(right)}: paired samples "
                         "need one of each per seed")
    return mean_interval([p - q for p, q in zip(left, right, strict=True)], level)
