"""Figures of the mobahi2020 chapters: each function draws one captioned figure's axes (or a row
of axes) and returns them; arrays or CPU tensors in, nothing computed here.

This module draws the rounds (norms, alignment, ``B_t``, collapse, deep rounds); the figures of
single fits live in :mod:`selfdistill.plots.mobahi2020_fits` and are importable from here too,
so a chapter imports one module (``from selfdistill.plots import mobahi2020 as figs``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from selfdistill.core.validate import Integer, Positive, Real, validate_params
from selfdistill.plots import style as plot_style  # noqa: F401 - importing applies the figure style
from selfdistill.plots.mobahi2020_fits import (  # noqa: F401 - re-exported for the chapters
    plot_arm_errors,
    plot_c_of_eps,
    plot_convergence,
    plot_domain,
    plot_equivalent_over_rounds,
    plot_error_grid,
    plot_errors_over_rounds,
    plot_filters,
    plot_fits,
    plot_fits_zoomed,
    plot_pair_ratios,
    plot_residuals,
)
from selfdistill.plots.style import as_array

__all__ = [
    "plot_alignment",
    "plot_alignment_vs_eps",
    "plot_b_diagonals",
    "plot_collapse_sweeps",
    "plot_counts",
    "plot_norms_and_c",
    "plot_ratio_bounds",
    "plot_ratio_vs_eps",
    "plot_sparsity_vs_eps",
    "plot_tolerance_rounds",
]


@validate_params(eps=Positive(), K=Integer(1))
def plot_norms_and_c(spec, refit, eps: float, K: int):
    """Two panels: ``‖y_t‖`` with the collapse level ``√(Kε)``, and ``c_t``; both routes.

    Parameters
    ----------
    spec : Rounds
        The spectral engine's rounds (:func:`selfdistill.mobahi2020.rounds.self_distill`).
    refit : RefitRounds
        The same rounds refitted every round (:func:`selfdistill.mobahi2020.rounds.refit_rounds`).
    eps : float
        The budget ``ε`` (the collapse level is ``√(Kε)``).
    K : int
        Number of training points.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure.
    """
    fig, (a, b) = plt.subplots(1, 2, figsize=(plot_style.MAX_WIDTH_INCHES, 3.4),
                             layout="constrained")
    t = np.arange(spec.n_rounds + 1)
    a.plot(t, as_array(spec.norms()), "o-", label="spectral engine")
    a.plot(t, as_array(refit.y.flatten(1).norm(dim=1)), "k+", ms=10, label="refit every round")
    a.axhline(np.sqrt(K * eps), color="C3", ls="--", label=r"collapse level $\sqrt{K\epsilon}$")
    a.set(xlabel="round $t$", ylabel=r"$\|\mathbf{y}_t\|$")
    b.semilogy(t[:-1], as_array(spec.c), "o-", label="spectral engine")
    b.semilogy(t[:-1], as_array(refit.c), "k+", ms=10, label="refit every round")
    b.set(xlabel="round $t$", ylabel="$c_t$")
    a.legend()
    b.legend()
    return fig


def _per_round(series: dict[str, np.ndarray], ax, dashed: tuple[str, ...] = (), **labels):
    """One line per entry of ``series`` over the rounds ``0, 1, …``, with a legend; each series
    its own marker, solid, or dashed where its label starts with one of ``dashed``."""
    ax = ax if ax is not None else plt.subplots(figsize=(6.4, 3.6), layout="constrained")[1]
    for i, (label, values) in enumerate(series.items()):
        values = as_array(values)
        ls = "--" if label.startswith(dashed) else "-"
        marker = plot_style.MARKERS[i % len(plot_style.MARKERS)]
        ax.plot(np.arange(len(values)), values, ls=ls, marker=marker, label=label)
    ax.set(xlabel="round $t$", **labels)
    ax.legend()
    return ax


def plot_alignment(align: dict[str, np.ndarray], ax=None):
    """``cos²`` between ``y_t`` and the top eigenvectors over rounds, one line per label.

    The fixed-``c`` comparison (labels starting with "fixed") is dashed, self-distillation solid.

    Parameters
    ----------
    align : dict of str to array, each shape (T + 1,)
        Label to the ``cos²`` at rounds ``0, 1, …``; arrays or CPU tensors.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    return _per_round(align, ax, dashed=("fixed",),
                      ylabel=r"$\cos^2$ with the top eigenvectors", ylim=(0, 1.02))


def plot_b_diagonals(B, d):
    """``B_t[k,k]`` against the eigenvalue ``d_k`` for every round (log–log), and a heat map.

    Parameters
    ----------
    B : array or tensor, shape (T + 1, K)
        The diagonal of ``B_t`` per round (positive).
    d : array or tensor, shape (K,)
        The eigenvalues ``d_k`` of the Gram matrix.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure.
    """
    B, d = as_array(B), as_array(d)
    fig, (a, b) = plt.subplots(1, 2, figsize=(plot_style.MAX_WIDTH_INCHES, 3.4),
                             layout="constrained")
    colours = plt.cm.viridis(np.linspace(0, 1, len(B)))
    for t, (row, colour) in enumerate(zip(B, colours, strict=True)):
        label = f"t = {t}" if t in (0, len(B) - 1) else None
        a.loglog(d, row, "o-", color=colour, ms=3, label=label)
    a.set(xlabel="eigenvalue $d_k$", ylabel=r"$\mathbf{B}_t[k,k]$")
    a.legend()
    rel = B / B.max(axis=1, keepdims=True)
    im = b.imshow(np.log10(rel[:, ::-1]), aspect="auto", cmap="magma", vmin=-3, vmax=0,
                  origin="lower", interpolation="nearest")
    b.set(xlabel="basis function (largest eigenvalue first)", ylabel="round $t$")
    fig.colorbar(im, ax=b, label=r"$\log_{10}\,\mathbf{B}_t[k,k]/\max_j\mathbf{B}_t[j,j]$")
    return fig


def plot_ratio_bounds(ratio, lower, upper, label: str, ax=None):
    """One pair's ``B_t[k,k]/B_t[j,j]`` over rounds between its bounds (thm-bt-ratio).

    Parameters
    ----------
    ratio, lower, upper : array, shape (T + 1,)
        The ratio per round and its lower and upper bounds.
    label : str
        Legend label of the pair.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = ax if ax is not None else plt.subplots(figsize=(6.4, 3.6), layout="constrained")[1]
    t = np.arange(len(ratio))
    ax.fill_between(t, as_array(lower), as_array(upper), alpha=0.25, label="bounds of the ratio")
    ax.semilogy(t, as_array(ratio), "o-", label=label)
    ax.set(xlabel="round $t$", ylabel="ratio of diagonal entries")
    ax.legend()
    return ax


def plot_counts(counts: dict[str, np.ndarray], ax=None):
    """Effective numbers of basis functions over rounds, one line per definition.

    Parameters
    ----------
    counts : dict of str to array, each shape (T + 1,)
        Definition to the count at rounds ``0, 1, …``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    return _per_round(counts, ax, ylabel="effective number of basis functions")


def plot_sparsity_vs_eps(eps, rounds, counts, label: str):
    """Rounds before collapse and the count at the last non-collapsed round, against ``ε``.

    Parameters
    ----------
    eps : array, shape (E,)
        The budgets ``ε`` (log axis).
    rounds : array of int, shape (E,)
        Rounds before collapse ``t⋆`` per budget (on a second axis).
    counts : array, shape (E,)
        The effective number of basis functions at the last round per budget.
    label : str
        Legend label of ``counts``.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure.
    """
    fig, a = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    a.semilogx(eps, counts, "o-", label=label)
    a.set(xlabel=r"$\epsilon$", ylabel="count at the last round")
    b = a.twinx()
    b.semilogx(eps, rounds, "s--", color="C1", label=r"rounds before collapse $t_\star$")
    b.set(ylabel=r"$t_\star$")
    a.legend(handles=a.get_lines() + b.get_lines())
    return fig


def plot_collapse_sweeps(sweeps: dict[str, object]):
    """One panel per sweep: ``t⋆`` against ``r0`` with its bounds.

    The bounds are ``(r0−1)/κ``, ``⌈r0−1⌉`` and ``⌈κ(r0−1)⌉`` (eq. collapse-bounds).

    Parameters
    ----------
    sweeps : dict of str to CollapseSweep
        Panel title to a :class:`selfdistill.mobahi2020.studies.CollapseSweep`.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure.
    """
    n = len(sweeps)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(plot_style.MAX_WIDTH_INCHES, 2.6 * rows + 0.6),
                             layout="constrained", squeeze=False)
    for ax, (title, s) in zip(axes.flat, sweeps.items(), strict=False):
        ax.fill_between(s.r0, s.lower_notes, s.upper, color="0.85", label="between the bounds")
        ax.plot(s.r0, s.upper, "C3-.", lw=1, label=r"$\lceil\kappa(r_0-1)\rceil$")
        ax.plot(s.r0, s.lower, "C2-", lw=1, label=r"$\lceil r_0-1\rceil$")
        ax.plot(s.r0, s.lower_notes, "C0--", lw=1, label=r"$(r_0-1)/\kappa$")
        ax.plot(s.r0, s.count, "k.", label=r"observed $t_\star$")
        top = max(3 * float(s.count.max()), 2.0)
        ax.set(xlabel="$r_0$", ylim=(0, top), title=f"{title}\nκ = {s.kappa:.3g}")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].set_ylabel(r"rounds before collapse $t_\star$")
    # one legend for all panels, below them: never over the data
    fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="outside lower center", ncol=2)
    return fig


def plot_tolerance_rounds(table: dict[str, np.ndarray]):
    """Three panels over the rounds, mean ± standard deviation over the seeds.

    Panels: ``mse_labels``; ``shrink`` with ``epochs`` on a second axis; ``test_acc`` and
    ``train_acc``.

    Parameters
    ----------
    table : dict of str to array, each shape (S, T)
        The keys above to their values per seed (rows) and round (columns); ``S ≥ 2``.

    Returns
    -------
    array of three matplotlib.axes.Axes
        The panels.
    """
    fig, axes = plt.subplots(1, 3, figsize=(plot_style.MAX_WIDTH_INCHES, 3.0), layout="constrained")
    t = np.arange(table["mse_labels"].shape[1])

    def bar(ax, key, fmt, label=None, **kw):
        v = table[key]
        return ax.errorbar(t, v.mean(0), v.std(0, ddof=1), fmt=fmt, capsize=3,
                           label=label, **kw)

    bar(axes[0], "mse_labels", "o")
    axes[0].set(xlabel="round $t$", ylabel="training MSE to the labels $y_0$")
    bar(axes[1], "shrink", "o", r"$\|y_{t+1}\|/\|y_t\|$")
    axes[1].set(xlabel="round $t$", ylabel="shrink factor")
    twin = axes[1].twinx()
    bar(twin, "epochs", "s", "steps to reach $\\epsilon$", color="C1")
    twin.set_ylabel("steps to reach $\\epsilon$")
    # legends above their panels: the error bars fill the axes, and the next panel is to the right
    plot_style.legend_above(axes[1], handles=[axes[1].containers[0], twin.containers[0]])
    bar(axes[2], "test_acc", "o", "test (clean labels)")
    bar(axes[2], "train_acc", "^", "training (noisy labels)", color="C2")
    axes[2].set(xlabel="round $t$", ylabel="accuracy")
    plot_style.legend_above(axes[2])
    return axes


@validate_params(limit=Positive())
def plot_ratio_vs_eps(sweep, bound, limit: float, ax=None):
    """Weight ratio of a pair over a sweep of ε, with a data-free bound and its limit.

    Drawn: one fit, the rounds at the guaranteed round and at the last round, ``bound`` at the
    guaranteed round, and its limit.

    Parameters
    ----------
    sweep : RatioSweep
        The sweep (:class:`selfdistill.mobahi2020.studies.RatioSweep`).
    bound : array, shape (len(sweep.eps),)
        The data-free bound at the guaranteed round.
    limit : float
        The bound's limit, drawn as a horizontal line.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    ax.loglog(sweep.eps, sweep.one_fit, "o", label="one fit (round 0)")
    ax.loglog(sweep.eps, bound, "k-", label="data-free bound, guaranteed round")
    ax.axhline(limit, color="0.4", ls="--", label=r"limit $e^{a-b}$")
    ax.loglog(sweep.eps, sweep.at_guaranteed, "s", label=r"rounds, after $\lceil r_0-1\rceil$")
    ax.loglog(sweep.eps, sweep.last, "^", label="rounds, last before collapse")
    ax.set(xlabel=r"$\epsilon$", ylabel=r"$\mathbf{B}_t[k,k]/\mathbf{B}_t[j,j]$")
    # below, in two columns: to the right the legend took half the width from the data
    plot_style.legend_below(ax, ncol=2)
    return ax


@validate_params(start=Real(0.0, 1.0))
def plot_alignment_vs_eps(eps, final, start: float, ax=None):
    """``cos²`` of the last round's targets with the top eigenvectors against ε (log axis).

    Parameters
    ----------
    eps : array, shape (E,)
        The budgets ``ε``.
    final : array, shape (E,)
        The ``cos²`` at the last round before collapse, per budget.
    start : float
        The round-0 value, drawn dashed.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 3.4), layout="constrained")
    ax.semilogx(eps, final, "o", label="last round before collapse")
    ax.axhline(start, color="0.4", ls="--", label="round 0")
    ax.set(xlabel=r"$\epsilon$", ylabel="cos² with the top two eigenvectors", ylim=(0, 1.02))
    ax.legend(loc="lower left")
    return ax
