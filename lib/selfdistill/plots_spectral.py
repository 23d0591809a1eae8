"""Figures of the spectral chapters (larger-eps, equivalent-kernel, illustrative-example).

Each function draws one captioned figure's axes (or a row of axes) and returns them.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import plot_style  # noqa: F401 - importing applies the figure style

__all__ = [
    "plot_error_grid",
    "plot_errors_over_rounds",
    "plot_equivalent_over_rounds",
    "plot_filters",
    "plot_pair_ratios",
    "plot_residuals",
]


def _axes(ax, ncols: int = 1):
    if ax is not None:
        return ax
    width = 6.4 if ncols == 1 else plot_style.MAX_WIDTH_INCHES
    return plt.subplots(1, ncols, figsize=(width, 3.8), layout="constrained")[1]


def _np(v) -> np.ndarray:
    return v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)


def plot_filters(d, B_rounds, best_filter, best_c: float, ax=None):
    """Diagonals of ``B_t`` per round against the eigenvalue ``d_k``, and the best single fit."""
    ax = _axes(ax)
    d, B = _np(d), _np(B_rounds)
    for t, b in enumerate(B):
        ax.loglog(d, b, "o-", ms=3, color=plt.cm.viridis(t / max(len(B) - 1, 1)),
                  label=f"$B_{{{t}}}$" if t in (0, len(B) - 1) or len(B) <= 6 else None)
    ax.loglog(d, _np(best_filter), "k--", label=f"best single fit $A(c)$, $c$ = {best_c:.3g}")
    ax.set(xlabel="eigenvalue $d_k$", ylabel="filter entry")
    ax.legend(ncol=2)
    return ax


def plot_pair_ratios(ratio_over_q, lower, upper, ax=None):
    """``(B_t[k]/B_t[j]) / (d_k/d_j)`` over rounds with its bounds (thm-bt-ratio); below 1: no
    single fit."""
    ax = _axes(ax)
    t = np.arange(len(ratio_over_q))
    ax.semilogy(t, ratio_over_q, "o-", label="rounds: $B_t[k]/B_t[j]$ over $d_k/d_j$")
    ax.semilogy(t, upper, "C1--", label=r"upper bound $\varphi(c_0)^{t+1}$ over $d_k/d_j$")
    ax.semilogy(t, lower, "C2:", label=r"lower bound $(d_k/d_j)^{t}$")
    ax.axhline(1.0, color="C3", lw=1, label=r"any single fit lies above this line")
    ax.set(xlabel="round $t$", ylabel="ratio over $d_k/d_j$")
    ax.legend()
    return ax


def plot_residuals(best, matched, fraction_below, ax=None):
    """Left: relative distance of the best and the matched single fit per round; right: the
    fraction of eigenvalue pairs whose ratio fell below ``d_k/d_j``."""
    ax = _axes(ax, 2)
    t = np.arange(len(best))
    ax[0].semilogy(t, np.maximum(best, 1e-16), "o-", label="best single fit (any $c$)")
    ax[0].semilogy(t, np.maximum(matched, 1e-16), "s-", label="same training error ($\\epsilon'$)")
    ax[0].set(xlabel="round $t$", ylabel="relative distance to $f_t(X)$")
    ax[0].legend()
    ax[1].plot(t, fraction_below, "o-", color="C3")
    ax[1].set(xlabel="round $t$", ylabel="fraction of pairs below $d_k/d_j$", ylim=(-0.03, 1.03))
    return ax


def plot_equivalent_over_rounds(norm_sq, trace, bound, test_error, ax=None):
    """Left: ``‖f_t‖²_{H†}`` and ``tr G†_t``; right: the Rademacher bound and the test error."""
    ax = _axes(ax, 2)
    t = np.arange(len(norm_sq))
    ax[0].semilogy(t, trace, "o-", label=r"$\mathrm{tr}\,G^\dagger_t$")
    ax[0].semilogy(t, norm_sq, "s-", label=r"$\|f_t\|^2_{H^\dagger}$")
    ax[0].set(xlabel="round $t$")
    ax[0].legend()
    label = r"bound $\|f_t\|_{H^\dagger}\sqrt{\mathrm{tr}\,G^\dagger_t/K}$"
    ax[1].plot(t, bound, "o-", label=label)
    ax[1].plot(t, test_error, "s-", label=r"test error against $\sin 2\pi x$")
    ax[1].set(xlabel="round $t$")
    ax[1].legend()
    return ax


def plot_errors_over_rounds(curves: dict[str, tuple[np.ndarray, np.ndarray]], ax=None):
    """Test error (solid) and training error against ``y0`` (dotted) over rounds, per label."""
    ax = _axes(ax)
    for i, (label, (test, train)) in enumerate(curves.items()):
        t = np.arange(len(test))
        ax.plot(t, test, "o-", color=f"C{i}", label=f"{label}: test")
        ax.plot(t, train, "s:", color=f"C{i}", ms=3, label=f"{label}: training")
    ax.set(xlabel="round $t$", ylabel="mean squared error")
    ax.legend()
    return ax


def plot_error_grid(curves: dict[str, np.ndarray], ax=None):
    """Test error over rounds for several kernels and budgets, each scaled by its round 0."""
    ax = _axes(ax)
    for label, test in curves.items():
        ax.plot(np.arange(len(test)), np.asarray(test) / test[0], "o-", ms=3, label=label)
    ax.axhline(1.0, color="0.5", lw=0.8)
    ax.set(xlabel="round $t$", ylabel="test error / test error of round 0")
    ax.legend(ncol=2)
    return ax
