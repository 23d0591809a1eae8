"""Figures of the mobahi2020 chapters on single fits: the Green's-function fit and its checks,
the rounds against one fit with a larger ε, the equivalent kernel, the illustrative example and the
tuned baselines. Each function draws one figure's axes and returns them; arrays or CPU tensors in,
nothing computed here. :mod:`selfdistill.plots.mobahi2020` re-exports them.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from selfdistill.core.validate import Positive, validate_params
from selfdistill.plots import style as plot_style  # noqa: F401 - importing applies the figure style
from selfdistill.plots.style import as_array

__all__ = [
    "plot_arm_errors",
    "plot_c_of_eps",
    "plot_convergence",
    "plot_domain",
    "plot_equivalent_over_rounds",
    "plot_error_grid",
    "plot_errors_over_rounds",
    "plot_filters",
    "plot_fits", "plot_fits_zoomed",
    "plot_pair_ratios",
    "plot_residuals",
]


def plot_fits(x, y, grid, curves: dict[str, np.ndarray], truth=None, ax=None):
    """Training points and fitted curves on ``grid``, with an optional noiseless curve.

    Parameters
    ----------
    x, y : array or tensor, shape (K,)
        The training points.
    grid : array or tensor, shape (M,)
        Where the curves are evaluated.
    curves : dict of str to array, each shape (M,)
        Label to a fitted curve on ``grid``.
    truth : array, shape (M,), optional
        The noiseless function on ``grid``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
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
    """``c(ε)`` with its bounds (eq. c-bounds) and the collapse threshold ``‖y‖²/K``.

    Parameters
    ----------
    sweep : EpsSweep
        The sweep (:func:`selfdistill.mobahi2020.oracles.eps_sweep`): ``eps``, ``c`` (NaN past
        collapse), ``lower``, ``upper`` and ``collapse_eps``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    ok = np.isfinite(sweep.c)
    ax.fill_between(sweep.eps[ok], sweep.lower[ok], sweep.upper[ok], alpha=0.25,
                    label=r"bounds $d_{\min}/(r-1)$, $d_{\max}/(r-1)$")
    ax.plot(sweep.eps[ok], sweep.c[ok], "C0-", label="$c$, the root for each $\\epsilon$")
    ax.axvline(sweep.collapse_eps, color="C3", ls="--", label=r"collapse: $\epsilon=\|y\|^2/K$")
    ax.set(xscale="log", yscale="log", xlabel=r"$\epsilon$", ylabel="$c$")
    ax.legend()
    return ax


@validate_params(length=Positive())
def plot_convergence(study, length: float, ax=None):
    """Errors of the discretised solve against the grid spacing, with the ``(h/ℓ)²`` bound.

    Parameters
    ----------
    study : ConvergenceStudy
        The study (:func:`selfdistill.mobahi2020.oracles.convergence_study`): spacings ``h`` and the
        errors ``err_f`` and ``err_c``.
    length : float
        The regulariser's length ``ℓ``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    ax.loglog(study.h, study.err_f, "o-", label=r"$\max|f_h-f|/\max|f|$")
    ax.loglog(study.h, study.err_c, "s-", label=r"$|c_h-c|/c$")
    ax.loglog(study.h, (study.h / length) ** 2, "k--", label=r"bound $(h/\ell)^2$")
    ax.set(xlabel="grid spacing $h$", ylabel="relative error")
    ax.legend()
    return ax


@validate_params(length=Positive())
def plot_domain(paddings, diff, length: float, ax=None):
    """Whole-line against free-end kernel fits as the interval grows, with the ``exp(-2P/ℓ)`` rate.

    Parameters
    ----------
    paddings : array, shape (P,)
        The paddings ``P`` of the interval ``[-P, 1 + P]``.
    diff : array, shape (P,)
        Distance between the two fits per padding.
    length : float
        The regulariser's length ``ℓ``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    ax.semilogy(paddings / length, diff, "o-", label="relative max difference")
    ref = diff[-1] * np.exp(-2 * (paddings - paddings[-1]) / length)
    ax.semilogy(paddings / length, ref, "k--", label=r"rate $e^{-2P/\ell}$")
    ax.set(xlabel=r"padding $P/\ell$", ylabel="relative difference")
    ax.legend()
    return ax


_MARKERS = {"oracle": plot_style.MARKERS[0], "honest": plot_style.MARKERS[1]}
_COLOURS = {"oracle": plot_style.OKABE_ITO[0], "honest": plot_style.OKABE_ITO[3]}


def plot_arm_errors(panels: dict[str, dict[str, dict[str, tuple[float, float, float]]]],
                    axes=None):
    """One panel per design: per arm, the mean test error and its interval.

    Oracle and honest tuning are side by side as points (the arms are categories: no lines join
    them); one legend below the panels.

    Parameters
    ----------
    panels : dict
        ``panels[design][tuning][arm] = (mean, low, high)``, ``tuning`` in ``{"oracle", "honest"}``.
    axes : sequence of matplotlib.axes.Axes, length len(panels), optional
        Axes to draw on; a new figure's row when omitted.

    Returns
    -------
    sequence of matplotlib.axes.Axes
        The axes drawn on.
    """
    if axes is None:
        _, axes = plt.subplots(1, len(panels), figsize=(6.4, 3.2), layout="constrained",
                               squeeze=False)
        axes = axes[0]
    for ax, (title, tunings) in zip(axes, panels.items(), strict=True):
        for offset, (tuning, arms) in zip((-0.12, 0.12), tunings.items(), strict=True):
            names = list(arms)
            mean = np.array([arms[a][0] for a in names])
            err = np.array([[arms[a][0] - arms[a][1], arms[a][2] - arms[a][0]] for a in names]).T
            ax.errorbar(np.arange(len(names)) + offset, mean, yerr=err, ls="none",
                        marker=_MARKERS[tuning], color=_COLOURS[tuning], capsize=3,
                        label=f"{tuning} tuning")
        ax.set_xticks(np.arange(len(names)), names)
        ax.set_title(title)
        ax.set_ylabel("test MSE")
    # below the panels, outside the data (constrained layout makes room for it)
    axes[0].figure.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center",
                          ncol=2)
    return axes


def _axes(ax, ncols: int = 1):
    if ax is not None:
        return ax
    width = 6.4 if ncols == 1 else plot_style.MAX_WIDTH_INCHES
    return plt.subplots(1, ncols, figsize=(width, 3.8), layout="constrained")[1]


@validate_params(best_c=Positive())
def plot_filters(d, B_rounds, best_filter, best_c: float, ax=None):
    """Diagonals of ``B_t`` per round against the eigenvalue ``d_k``, and the best single fit.

    Parameters
    ----------
    d : array or tensor, shape (K,)
        The eigenvalues ``d_k``.
    B_rounds : array or tensor, shape (T + 1, K)
        The diagonal of ``B_t`` per round.
    best_filter : array or tensor, shape (K,)
        The filter of the best single fit.
    best_c : float
        Its constant ``c`` (in the legend).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    d, B = as_array(d), as_array(B_rounds)
    for t, b in enumerate(B):
        ax.loglog(d, b, "o-", ms=3, color=plt.cm.viridis(t / max(len(B) - 1, 1)),
                  label=f"$B_{{{t}}}$" if t in (0, len(B) - 1) or len(B) <= 6 else None)
    ax.loglog(d, as_array(best_filter), "k--", label=f"best single fit $A(c)$, $c$ = {best_c:.3g}")
    ax.set(xlabel="eigenvalue $d_k$", ylabel="filter entry")
    ax.legend(ncol=2)
    return ax


def plot_pair_ratios(ratio_over_q, lower, upper, ax=None):
    """``(B_t[k]/B_t[j]) / (d_k/d_j)`` over rounds with its bounds (thm-bt-ratio).

    Below 1, no single fit has the rounds' ratio.

    Parameters
    ----------
    ratio_over_q : array, shape (T + 1,)
        The ratio divided by ``d_k/d_j`` per round.
    lower, upper : array, shape (T + 1,)
        Its bounds per round.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
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
    """Distances of single fits to the rounds, and the pairs below ``d_k/d_j``.

    Left: relative distance of the best and of the matched single fit per round; right: the fraction
    of eigenvalue pairs whose ratio fell below ``d_k/d_j``.

    Parameters
    ----------
    best, matched : array, shape (T + 1,)
        Relative distance to ``f_t(X)`` of the best single fit and of the fit with the same
        training error.
    fraction_below : array, shape (T + 1,)
        Fraction of pairs below ``d_k/d_j`` per round.
    ax : array of two matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's row of two when omitted.

    Returns
    -------
    array of two matplotlib.axes.Axes
        The axes drawn on.
    """
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
    """The equivalent kernel over rounds: norm, trace, the Rademacher bound, the test error.

    Left: ``‖f_t‖²_{H†}`` and ``tr G†_t``; right: the bound ``‖f_t‖_{H†} √(tr G†_t / K)`` and the
    test error.

    Parameters
    ----------
    norm_sq, trace, bound, test_error : array, shape (T + 1,)
        The four series per round.
    ax : array of two matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's row of two when omitted.

    Returns
    -------
    array of two matplotlib.axes.Axes
        The axes drawn on.
    """
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
    """Test error (solid) and training error against ``y0`` (dotted) over rounds, per label.

    Parameters
    ----------
    curves : dict of str to (array, array)
        Label to ``(test, train)``, each shape (T + 1,).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    for i, (label, (test, train)) in enumerate(curves.items()):
        t = np.arange(len(test))
        ax.plot(t, test, "o-", color=f"C{i}", label=f"{label}: test")
        ax.plot(t, train, "s:", color=f"C{i}", ms=3, label=f"{label}: training")
    ax.set(xlabel="round $t$", ylabel="mean squared error")
    ax.legend()
    return ax


def plot_error_grid(curves: dict[str, np.ndarray], ax=None):
    """Test error over rounds for several kernels and budgets, each scaled by its round 0.

    Parameters
    ----------
    curves : dict of str to array
        Label to the test error per round (any length).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    for i, (label, test) in enumerate(curves.items()):
        ax.plot(np.arange(len(test)), np.asarray(test) / test[0], ms=3, label=label,
                marker=plot_style.MARKERS[i % len(plot_style.MARKERS)])
    ax.axhline(1.0, color="0.5", lw=0.8)
    ax.set(xlabel="round $t$", ylabel="test error / test error of round 0")
    # below the axes: the curves leave the top of the axes at every round, somewhere
    plot_style.legend_below(ax, ncol=2)
    return ax


def plot_fits_zoomed(x, y, grid, curves: dict[str, np.ndarray], truth=None):
    """Fits too close to tell apart at the scale of the data, in two panels.

    Left: the training points ``(x, y)``, the optional noiseless ``truth`` and the ``curves`` on
    ``grid``, with the band the right panel magnifies shaded; right: the curves alone, on their
    own vertical scale. Each curve keeps its colour and line style in both panels; one legend
    below them.

    Parameters
    ----------
    x, y : array_like, shape (K,)
        Training inputs and labels.
    grid : array_like, shape (n,)
        Where the curves are evaluated.
    curves : dict of str to array_like, shape (n,)
        Label → fitted values on ``grid`` (CPU tensors or arrays).
    truth : array_like, shape (n,), optional
        Noiseless target on ``grid``, drawn dotted grey on the left.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes, shape (2,)
        The whole-scale and the magnified panel.
    """
    fig, axes = plt.subplots(1, 2, figsize=(plot_style.MAX_WIDTH_INCHES, 3.4),
                             layout="constrained")
    whole, zoom = axes
    grid = as_array(grid)
    values = {label: as_array(v) for label, v in curves.items()}
    low = min(float(v.min()) for v in values.values())
    high = max(float(v.max()) for v in values.values())
    pad = 0.1 * (high - low) if high > low else 1e-3
    if truth is not None:
        whole.plot(grid, as_array(truth), color="0.6", ls=":", label="noiseless truth")
    whole.axhspan(low - pad, high + pad, color="0.88", lw=0, label="range magnified, right")
    for i, (label, v) in enumerate(values.items()):
        style = {"color": plot_style.OKABE_ITO[i], "ls": plot_style.LINESTYLES[i]}
        whole.plot(grid, v, label=label, **style)
        zoom.plot(grid, v, **style)
    whole.plot(as_array(x), as_array(y), "ko", ms=4, label="training data")
    whole.set(xlabel="$x$", ylabel="$f(x)$", title="at the scale of the data")
    zoom.set(xlabel="$x$", ylim=(low - pad, high + pad), title="the fits magnified")
    fig.legend(*whole.get_legend_handles_labels(), loc="outside lower center", ncol=3)
    return axes
