"""Figures of the zhang2020 chapters: each function draws one captioned figure and returns it."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from selfdistill.core.validate import Integer, Real, validate_params
from selfdistill.plots import style as plot_style  # noqa: F401 - importing applies the figure style
from selfdistill.plots.style import as_array

__all__ = [
    "plot_diversity",
    "plot_ece_vs_n",
    "plot_generation_metrics",
    "plot_teacher_students",
    "plot_map_check",
    "plot_order_statistics",
    "plot_reliability",
    "plot_smoothing_amounts",
    "plot_targets",
]


@validate_params(label=Integer(0))
def plot_targets(rows: dict[str, object], label: int, ax=None):
    """Grouped bars: one target vector per method for one example of class ``label``.

    Parameters
    ----------
    rows : dict of str to array or tensor, each shape (C,)
        Method to its target vector (positive entries: the axis is logarithmic).
    label : int
        The example's class, in ``[0, C)``, named in the axis label.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    if ax is None:
        ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")[1]
    C, width = len(as_array(next(iter(rows.values())))), 0.8 / len(rows)
    for j, (name, m) in enumerate(rows.items()):
        ax.bar(np.arange(C) + (j - len(rows) / 2 + 0.5) * width, as_array(m), width, label=name)
    ax.set(xlabel=f"class $k$ (true class $y={label}$)", ylabel="target mass $m_k$",
           yscale="log", xticks=np.arange(C))
    ax.legend()
    return ax


def plot_map_check(closed, numeric, ax=None):
    """Closed-form MAP entries against the numerical maximiser's, log axes, with the diagonal.

    Parameters
    ----------
    closed, numeric : array or tensor, same shape
        The closed-form MAP targets and the damped-Newton maximiser's (positive entries).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    if ax is None:
        ax = plt.subplots(figsize=(4.4, 4.0), layout="constrained")[1]
    x, y = as_array(closed).ravel(), as_array(numeric).ravel()
    ax.loglog(x, y, "o", ms=3, label="entries $z^*_{ik}$")
    lim = [min(x.min(), y.min()) / 2, 1.5]
    ax.loglog(lim, lim, "k--", lw=1, label="equality")
    ax.set(xlabel="closed form", ylabel="Newton on the simplex")
    ax.legend()
    return ax


def plot_diversity(true_mass: dict[str, object], bins, entropies: dict[str, object]):
    """Left: histograms of the targets' true-class mass; right: histogram entropy against bins.

    Parameters
    ----------
    true_mass : dict of str to array or tensor, each shape (n,)
        Method to the true-class mass ``1 − ε_i`` of each example's target.
    bins : array of int, shape (B,)
        Numbers of bins (log axis).
    entropies : dict of str to array or tensor, each shape (B,)
        Method to the histogram entropy (nats) at each number of bins.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(plot_style.MAX_WIDTH_INCHES, 3.6),
                                   layout="constrained")
    edges = np.linspace(0, 1, 41)
    for name, mass in true_mass.items():
        left.hist(as_array(mass), bins=edges, histtype="step", lw=1.5, label=name)
    left.set(xlabel=r"true-class mass $1-\varepsilon_i$", ylabel="examples", yscale="log")
    left.legend()
    for name, values in entropies.items():
        right.plot(bins, as_array(values), "o-", label=name)
    right.set(xlabel="number of bins", ylabel="histogram entropy (nats)", xscale="log")
    right.legend()
    return fig


def plot_order_statistics(closed, mc_mean, mc_se, approx, ax=None):
    """Mean of the k-th of n Beta(a, 1) draws: closed form, Monte Carlo (±2 SE), quantile map.

    Parameters
    ----------
    closed : array or tensor, shape (n,)
        The closed-form means, ``k = 1, …, n``.
    mc_mean, mc_se : array or tensor, shape (n,)
        Monte Carlo means and their standard errors.
    approx : array or tensor, shape (n,)
        The quantile map ``(k/(n+1))^{1/a}``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    if ax is None:
        ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")[1]
    k = np.arange(1, len(as_array(closed)) + 1)
    ax.plot(k, as_array(closed), "C0-", label="closed form")
    ax.errorbar(k, as_array(mc_mean), yerr=2 * as_array(mc_se), fmt="C1.", ms=3, lw=0.8,
                label="Monte Carlo ± 2 SE")
    ax.plot(k, as_array(approx), "k:", label=r"quantile map $(k/(n+1))^{1/a}$")
    ax.set(xlabel="rank $k$ (1 = least confident)", ylabel=r"$E[b_{(k)}]$")
    ax.legend()
    return ax


def plot_smoothing_amounts(confidence, eps, ax=None):
    """Smoothing amount per example against the EMA model's true-class confidence.

    Parameters
    ----------
    confidence : array or tensor, shape (n,)
        The EMA model's true-class confidence ``b_i``.
    eps : array or tensor, shape (n,)
        The smoothing amount ``ε_i = α(1 − b_i)`` per example.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    if ax is None:
        ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")[1]
    ax.plot(as_array(confidence), as_array(eps), "o", ms=3)
    ax.set(xlabel="EMA model's true-class confidence",
           ylabel=r"smoothing amount $\varepsilon_i=\alpha(1-b_i)$")
    return ax


def plot_reliability(diagrams: dict[str, object]):
    """One reliability diagram per predictor: per-bin accuracy against confidence.

    Parameters
    ----------
    diagrams : dict of str to Reliability
        Predictor to its :class:`selfdistill.zhang2020.metrics.Reliability` (``edges``,
        ``accuracy``; NaN in empty bins).

    Returns
    -------
    matplotlib.figure.Figure
        The new figure.
    """
    fig, axes = plt.subplots(1, len(diagrams), figsize=(plot_style.MAX_WIDTH_INCHES, 3.8),
                             layout="constrained", squeeze=False)
    for ax, (name, rel) in zip(axes[0], diagrams.items(), strict=True):
        edges, acc = as_array(rel.edges), as_array(rel.accuracy)
        ok = ~np.isnan(acc)
        centers, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
        ax.bar(centers[ok], acc[ok], width[ok], edgecolor="k", alpha=0.6, label="accuracy")
        ax.plot([0, 1], [0, 1], "k--", lw=1, label="calibrated")
        ax.set(title=name, xlabel="confidence", ylabel="accuracy", xlim=(0, 1), ylim=(0, 1))
        ax.legend(loc="upper left")
    return fig


@validate_params(gap=Real(0.0, 1.0, lower_open=True))
def plot_ece_vs_n(ns, mean, stderr, predicted, gap: float, ax=None):
    """Mean binned ECE against n for a calibrated and an over-confident predictor.

    Parameters
    ----------
    ns : array of int, shape (N,)
        Sample sizes ``n`` (log axis).
    mean, stderr : dict of str to array, each shape (N,)
        Predictor to the mean ECE over repetitions and its standard error (drawn ±2 SE).
    predicted : array, shape (N,)
        The bias predicted by the normal approximation.
    gap : float
        The over-confident predictor's population calibration gap (closed form).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    if ax is None:
        ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")[1]
    for name, m in mean.items():
        ax.errorbar(ns, as_array(m), yerr=2 * as_array(stderr[name]), fmt="o-", ms=4, label=name)
    ax.plot(ns, as_array(predicted), "k:", label="bias, normal approximation")
    ax.axhline(gap, color="C1", ls="--", lw=1, label="population gap (closed form)")
    ax.set(xscale="log", yscale="log", xlabel="sample size $n$", ylabel="binned ECE")
    ax.xaxis.set_minor_formatter(plt.NullFormatter())  # no overlapping minor-tick labels
    ax.legend()
    return ax


def plot_generation_metrics(rows: list[dict], methods: list[str], panels: dict[str, str]):
    """One panel per metric: every seed as a small grey dot, the mean over seeds as a marker.

    Methods are categories on the horizontal axis, so nothing joins them; at most three panels a
    row.

    Parameters
    ----------
    rows : list of dict
        One row per run, with the key ``method`` and every key of ``panels``.
    methods : list of str
        The methods, in axis order.
    panels : dict of str to str
        Row key to its axis label, one panel each.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure.
    """
    cols = min(3, len(panels))  # the page is MAX_WIDTH_INCHES wide: at most three panels a row
    rows_ = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows_, cols, figsize=(plot_style.MAX_WIDTH_INCHES, 2.7 * rows_),
                             layout="constrained", squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    x = np.arange(len(methods))
    for ax, (key, label) in zip(axes.flat, panels.items(), strict=False):
        for i, m in enumerate(methods):
            v = np.array([r[key] for r in rows if r["method"] == m])
            ax.plot(np.full(v.size, i) + np.linspace(-0.12, 0.12, v.size), v, ".",
                    color="0.6", ms=4, ls="none")
            ax.plot(i, v.mean(), marker="os^Dv<>"[i % 7], color=f"C{i}", ms=8, ls="none")
        ax.set_xticks(x, methods, rotation=45)
        ax.set(ylabel=label, xlim=(-0.6, len(methods) - 0.4))
    return fig


def plot_teacher_students(rows: list[dict], temperatures):
    """Students' test accuracy per teacher, one panel per temperature.

    Teachers are categories (no lines); the cross-entropy student (teacher ``"none"``) appears in
    every panel.

    Parameters
    ----------
    rows : list of dict
        One row per student, with keys ``teacher``, ``T`` (temperature) and ``acc``.
    temperatures : sequence of float
        One panel per temperature.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure.
    """
    width = min(3.6 * len(temperatures), plot_style.MAX_WIDTH_INCHES)
    fig, axes = plt.subplots(1, len(temperatures), figsize=(width, 3.3),
                             layout="constrained", sharey=True, squeeze=False)
    names = list(dict.fromkeys(r["teacher"] for r in rows))
    for ax, T in zip(axes[0], temperatures, strict=True):
        for i, name in enumerate(names):
            v = np.array([r["acc"] for r in rows if r["teacher"] == name
                          and (name == "none" or r["T"] == float(T))])
            ax.plot(np.full(v.size, i) + np.linspace(-0.12, 0.12, v.size), v, ".",
                    color="0.6", ms=4, ls="none")
            ax.plot(i, v.mean(), marker="os^D"[i % 4], color=f"C{i}", ms=8, ls="none")
        ax.set_xticks(range(len(names)), names)
        ax.set(title=f"$T={T:g}$", xlabel="teacher", xlim=(-0.6, len(names) - 0.4))
    axes[0][0].set(ylabel="student test accuracy")
    return fig
