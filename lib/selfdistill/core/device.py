"""Device and dtype choice, and seeding.

The device is resolved once (``"auto"`` means CUDA when present, else CPU) and passed down.
Verification maths runs in float64 (:data:`VERIFY_DTYPE`).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import numpy as np
import torch

from selfdistill.core.validate import Integer, validate_params

__all__ = ["VERIFY_DTYPE", "resolve_device", "seed_everything", "as_tensor", "cpu_threads"]

#: dtype of every computation that a claim checks
VERIFY_DTYPE = torch.float64


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a ``torch.device`` into a device.

    ``"auto"`` is CUDA when available, else CPU.

    Parameters
    ----------
    device : str or torch.device, default "auto"
        The device asked for.

    Returns
    -------
    torch.device
        A CPU or CUDA device.

    Raises
    ------
    ValueError
        If ``device`` is not a device, is neither CPU nor CUDA, or asks for CUDA where there is
        none.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    ValueError: device = 'tpu' is not a device; accepted: 'auto', 'cpu', 'cuda', 'cuda:N'
    """
    if isinstance(device, torch.device):
        resolved = device
    elif device == "auto":
        resolved = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            resolved = torch.device(device)
        except (RuntimeError, TypeError):
            raise ValueError(
                f"device = {device!r} is not a device; accepted: 'auto', 'cpu', 'cuda', 'cuda:N'"
            ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device = {device!r} asks for CUDA but none is available; use 'auto'")
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device = {device!r} is not supported; accepted: 'auto', 'cpu', 'cuda'")
    return resolved


@validate_params(seed=Integer(0, 2**63 - 1))
def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA); return a CPU generator seeded the same.

    CPU runs with the same seed are repeatable; CUDA runs are as repeatable as their kernels.
    NumPy's legacy global generator gets ``seed mod 2³²``.

    Parameters
    ----------
    seed : int
        In ``[0, 2⁶³ − 1]``; a NumPy integer is accepted (used as a plain ``int``).

    Returns
    -------
    torch.Generator
        A CPU generator seeded with ``seed``.

    Raises
    ------
    ValueError
        If ``seed`` is not an integer in range.

    Examples
    --------
    >>> import torch
    >>> g = seed_everything(3)
    >>> bool(torch.rand(2, generator=g).eq(torch.rand(2, generator=seed_everything(3))).all())
    True
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (seeds the legacy global RNG on purpose)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def as_tensor(
    name: str, value, device: torch.device, dtype: torch.dtype = VERIFY_DTYPE
) -> torch.Tensor:
    """Convert an array-like to a real tensor on ``device`` with ``dtype`` (float64 by default).

    Real input of any dtype (float32, integers, NumPy arrays, lists) is converted; complex input
    is refused (its imaginary part would otherwise be dropped silently).

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : array-like or torch.Tensor
        Any shape; real numbers.
    device : torch.device
        Where the result lives.
    dtype : torch.dtype, default VERIFY_DTYPE
        The result's dtype (float64).

    Returns
    -------
    torch.Tensor
        ``value``'s shape, ``dtype``, on ``device`` (no copy when already so).

    Raises
    ------
    ValueError
        If ``value`` is complex or not numeric.

    Examples
    --------
    >>> import torch
    >>> as_tensor("y", [1, 2], torch.device("cpu")).dtype
    torch.float64
    """
    if (value.is_complex() if isinstance(value, torch.Tensor) else np.iscomplexobj(value)):
        raise ValueError(f"{name} is complex; accepted: real numbers only")
    try:
        return torch.as_tensor(value, dtype=dtype, device=device)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{name} could not be read as a numeric array: {err}") from None


@validate_params(n=Integer(1))
@contextlib.contextmanager
def cpu_threads(n: int = 1) -> Iterator[None]:
    """Run the block with ``n`` intra-op CPU threads, then restore the previous number.

    For loops of many tiny operations (small full-batch GD runs), where intra-op threads only add
    synchronisation: on the shared 2-core machine a 4-width student–teacher sweep took 42 s with
    2 threads and 3 s with 1. Results do not depend on it beyond rounding.

    Parameters
    ----------
    n : int, default 1
        Number of threads, ≥ 1.

    Yields
    ------
    None
        Inside the ``with`` block, torch uses ``n`` threads.

    Raises
    ------
    ValueError
        If ``n`` is not an integer ≥ 1.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
