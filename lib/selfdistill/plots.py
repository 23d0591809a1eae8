"""Figures of the chapters: each function draws one captioned figure's axes and returns them."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import plot_style  # noqa: F401 - importing applies the figure style

__all__ = ["plot_c_of_eps", "plot_convergence", "plot_domain", "plot_fits", "use_svg"]


def use_svg() -> None:
    """Show a notebook's figures as SVG (vector: sharp at print resolution), byte-stable.

    The SVG carries no date and its element ids come from a fixed salt, so a rerun writes the
    same bytes (the golden notebooks stay unchanged). Outside IPython it only sets the salt.
    """
    plt.rcParams["svg.hashsalt"] = "selfdistill"
    from IPython import get_ipython

    if get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("svg", bbox_inches="tight", metadata={"Date": None})


def _axes(ax):
    return ax if ax is not None else plt.subplots(figsize=(6.4, 3.8), layout="constrained")[1]


def plot_fits(x, y, grid, curves: dict[str, np.ndarray], truth=None, ax=None):
    """Training points and fitted curves on ``grid``; ``truth`` an optional noiseless curve."""
    ax = _axes(ax)
    if truth is not None:
        ax.plot(grid, truth, color="0.6", ls=":", label="noiseless truth")
    for label, values in curves.items():
        ax.plot(grid, values, label=label)
    ax.plot(x, y, "ko", ms=4, label="training data")
    ax.set(xlabel="$x$", ylabel="$f(x)$")
    ax.legend(ncol=2)
    return ax


def plot_c_of_eps(sweep, ax=None):
    """``c(ε)`` with its bounds c-bounds and the collapse threshold ``‖y‖²/K``."""
    ax = _axes(ax)
    ok = np.isfinite(sweep.c)
    ax.fill_between(sweep.eps[ok], sweep.lower[ok], sweep.upper[ok], alpha=0.25,
                    label=r"bounds $d_{\min}/(r-1)$, $d_{\max}/(r-1)$")
    ax.plot(sweep.eps[ok], sweep.c[ok], "C0-", label="$c$, the root for each $\\epsilon$")
    ax.axvline(sweep.collapse_eps, color="C3", ls="--", label=r"collapse: $\epsilon=\|y\|^2/K$")
    ax.set(xscale="log", yscale="log", xlabel=r"$\epsilon$", ylabel="$c$")
    ax.legend()
    return ax


def plot_convergence(study, length: float, ax=None):
    """Errors of the discretised solve vs grid spacing, with the ``(h/ℓ)²`` bound."""
    ax = _axes(ax)
    ax.loglog(study.h, study.err_f, "o-", label=r"$\max|f_h-f|/\max|f|$")
    ax.loglog(study.h, study.err_c, "s-", label=r"$|c_h-c|/c$")
    ax.loglog(study.h, (study.h / length) ** 2, "k--", label=r"bound $(h/\ell)^2$")
    ax.set(xlabel="grid spacing $h$", ylabel="relative error")
    ax.legend()
    return ax


def plot_domain(paddings, diff, length: float, ax=None):
    """Whole-line vs free-end kernel fits as the interval grows, with the ``exp(-2P/ℓ)`` rate."""
    ax = _axes(ax)
    ax.semilogy(paddings / length, diff, "o-", label="relative max difference")
    ref = diff[-1] * np.exp(-2 * (paddings - paddings[-1]) / length)
    ax.semilogy(paddings / length, ref, "k--", label=r"rate $e^{-2P/\ell}$")
    ax.set(xlabel=r"padding $P/\ell$", ylabel="relative difference")
    ax.legend()
    return ax
