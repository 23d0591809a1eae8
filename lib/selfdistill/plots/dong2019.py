"""Figures of the dong2019 chapters (NTK, dynamics, distillation): each function draws one
figure's axes and returns them; arrays or CPU tensors in, nothing computed here.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from selfdistill.core.validate import Real, validate_params
from selfdistill.plots import style as plot_style  # noqa: F401 - importing applies the figure style
from selfdistill.plots.style import as_array

__all__ = [
    "plot_digits",
    "plot_energy_profiles",
    "plot_filters",
    "plot_kernel_sd",
    "plot_residual_decay",
    "plot_risk_curve",
    "plot_spectra",
    "plot_width_gap",
    "plot_width_scaling",
]


_COLOURS = {"plain": "C0", "A": "C1", "B": "C2", "C": "C3", "oracle": "k"}
# each rule its own line style too: rule A and rule C can coincide, and one must not hide the other
_LINES = {"plain": "-", "A": "--", "B": "-.", "C": (0, (1, 1.5)), "oracle": ":"}


def plot_filters(lam, filters: dict[str, np.ndarray], ax=None):
    """Spectral filters φ(λ), one curve per label, against the eigenvalues λ (log axis).

    Parameters
    ----------
    lam : array or tensor, shape (n,)
        Eigenvalues λ of the kernel matrix ``H``, any order (sorted here); a tensor on any device.
    filters : dict of str to array, each shape (n,)
        Label to the filter values φ(λ) at ``lam``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    order = np.argsort(as_array(lam))
    for label, phi in filters.items():
        ax.semilogx(as_array(lam)[order], as_array(phi)[order], marker=".", label=label)
    ax.set(xlabel="eigenvalue λ of H", ylabel="filter φ(λ)")
    ax.legend()
    return ax


def plot_width_gap(widths, gaps, ax=None):
    """Student–teacher gap against the width (log–log), one line per seed, with a slope −½ guide.

    Parameters
    ----------
    widths : array, shape (W,)
        Network widths ``m``.
    gaps : array, shape (S, W)
        Relative gap ``‖f_student − f_teacher‖/‖f_teacher‖`` per seed and width.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = ax or plt.subplots(figsize=(5, 3.5), layout="constrained")[1]
    widths, gaps = np.asarray(widths), np.asarray(gaps)
    for g in gaps:
        ax.loglog(widths, g, "o-", color="C0", alpha=0.5)
    ax.loglog(widths, gaps.mean(0)[0] * (widths / widths[0]) ** -0.5, "k--", label="slope −½")
    # two lines: on one the label is longer than the axis is high
    ax.set(xlabel="width m", ylabel="relative gap\n‖f_student − f_teacher‖ / ‖f_teacher‖")
    ax.legend()
    return ax


@validate_params(predicted=Real(0.0, math.inf, upper_open=True))
def plot_kernel_sd(errors: dict[str, np.ndarray], predicted: float, ax=None):
    """ℓ2 distance to the true labels over epochs for each run, with the predicted level.

    Parameters
    ----------
    errors : dict of str to array, each shape (E,)
        Run label (its first word names the arm: ``plain``, ``A``, ``B``, ``C``, ``oracle``) to
        ``‖u_t − y*‖`` per epoch; arrays or CPU tensors.
    predicted : float
        The predicted level ``2ρ√n`` (early stopping at the cluster averages), drawn dotted.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    for label, err in errors.items():
        arm = label.split()[0]
        ax.plot(as_array(err), color=_COLOURS.get(arm), ls=_LINES.get(arm, "-"), lw=2.0,
                label=label)
    ax.axhline(predicted, color="k", ls=":", label="2ρ√n (cluster averages)")
    ax.set(xlabel="epoch (one GD step)", ylabel="‖u_t − y*‖", ylim=(0, None))
    ax.legend()
    return ax


def plot_digits(histories: dict[float, object], axes=None):
    """Per noise rate, test accuracy over epochs per arm, and the fit of the given labels.

    The top row shows each arm's test accuracy (mean over seeds); the bottom row the plain run's and
    rule B's agreement with the given labels on the clean and on the corrupted training subsets.

    Parameters
    ----------
    histories : dict of float to SDHistory
        Flip rate to the run's :class:`selfdistill.dong2019.digits_sd.SDHistory`.
    axes : array of matplotlib.axes.Axes, shape (2, len(histories)), optional
        Axes to draw on; a new figure's when omitted.

    Returns
    -------
    array of matplotlib.axes.Axes, shape (2, len(histories))
        The axes drawn on.
    """
    rates = list(histories)
    if axes is None:
        axes = plt.subplots(2, len(rates), figsize=(plot_style.MAX_WIDTH_INCHES, 6),
                             squeeze=False, layout="constrained")[1]
    for col, rate in enumerate(rates):
        h = histories[rate]
        top, bottom = axes[0][col], axes[1][col]
        for arm, acc in h.by_arm(h.test_acc).items():
            top.plot(acc.mean(0), color=_COLOURS[arm], ls=_LINES.get(arm, "-"), label=arm)
        top.set(title=f"flip rate {rate:g}", xlabel="epoch", ylabel="test accuracy")
        top.legend()
        for name, values, style in (("clean subset", h.clean_fit, "-"),
                                    ("corrupted subset", h.noisy_fit, "--")):
            for arm in ("plain", "B"):
                bottom.plot(h.by_arm(values)[arm].mean(0), style, color=_COLOURS[arm],
                            label=f"{arm}, {name}")
        bottom.set(xlabel="epoch", ylabel="fit of the given labels")
        bottom.legend()
    return axes


def _axes(ax, size=(6.4, 3.8)):
    return ax if ax is not None else plt.subplots(figsize=size, layout="constrained")[1]


def plot_width_scaling(widths, errors, slope, intercept, ax=None):
    """Relative error of the empirical NTK against width, with the fitted power law.

    Parameters
    ----------
    widths : array, shape (W,)
        Network widths ``m``.
    errors : array, shape (W,)
        RMS over seeds of ``‖H_m − H∞‖_F / ‖H∞‖_F`` per width.
    slope, intercept : float
        The fitted power law ``log error = intercept + slope · log m``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    widths = np.asarray(widths, dtype=float)
    label = "RMS over seeds of $\\|H_m-H^\\infty\\|_F/\\|H^\\infty\\|_F$"
    ax.loglog(widths, errors, "o", label=label)
    ax.loglog(widths, np.exp(intercept) * widths**slope, "k--",
              label=f"fit: slope {slope:.3f}")
    ax.loglog(widths, errors[0] * np.sqrt(widths[0] / widths), ":", color="C3",
              label="slope $-1/2$")
    ax.set(xlabel="width $m$", ylabel="relative error")
    ax.legend()
    return ax


def plot_energy_profiles(profiles: dict[str, np.ndarray], ax=None, title=None):
    """Cumulative energy along eigenvectors (largest eigenvalue first), against the index share.

    Parameters
    ----------
    profiles : dict of str to array, each shape (n,)
        Label to the cumulative energy share after each eigen-direction (rising to 1).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.
    title : str, optional
        Title of the axes.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    for label, prof in profiles.items():
        prof = np.asarray(prof)
        frac = np.arange(1, len(prof) + 1) / len(prof)
        ax.plot(frac, prof, label=label)
    ax.plot([0, 1], [0, 1], color="0.6", ls=":", label="flat (isotropic noise)")
    ax.set(xlabel="share of eigen-directions (largest λ first)", ylabel="cumulative energy",
           xlim=(0, 1), ylim=(0, 1.02))
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def plot_spectra(spectra: dict[str, np.ndarray], ax=None):
    """Eigenvalues of kernel matrices, largest first, against the share of directions (log axis).

    Parameters
    ----------
    spectra : dict of str to array, each shape (n,)
        Label to the eigenvalues, largest first (positive: the axis is logarithmic).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    for label, values in spectra.items():
        values = np.asarray(values)
        ax.semilogy(np.arange(1, len(values) + 1) / len(values), values, label=label)
    ax.set(xlabel="share of eigen-directions (largest λ first)", ylabel="eigenvalue λ")
    ax.legend()
    return ax


def plot_residual_decay(steps, measured, predicted, labels, ax=None):
    """``|v_iᵀ(u(k) − y)|`` measured (markers) against ``(1 − ηλ_i)^k |v_iᵀ(u(0) − y)|`` (lines).

    Parameters
    ----------
    steps : array, shape (R,)
        The GD steps ``k`` recorded.
    measured : array, shape (R, J)
        The network's residual along each of ``J`` eigenvectors at each recorded step.
    predicted : array, shape (R, J)
        The prediction ``(1 − ηλ_i)^k v_iᵀ(u(0) − y)`` at the same steps.
    labels : sequence of str, length J
        Legend label of each eigen-direction.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    for j, label in enumerate(labels):
        ls = plot_style.LINESTYLES[j % len(plot_style.LINESTYLES)]
        ax.semilogy(steps, np.abs(predicted[:, j]), ls=ls, color=f"C{j}", label=label)
        ax.semilogy(steps, np.abs(measured[:, j]), "o", color=f"C{j}", ms=3)
    ax.set(xlabel="GD step $k$", ylabel=r"$|v_i^\top(u(k)-y)|$")
    plot_style.legend_outside(ax, title="lines: $(1-\\eta\\lambda_i)^k$\ndots: network")
    return ax


def plot_risk_curve(steps, curve, measured, measured_sem, k_star, every=1, ax=None):
    """Predicted bias, variance and risk, the measured mean risk and the optimal step.

    Parameters
    ----------
    steps : array of int, shape (R,)
        The GD steps ``k``.
    curve : RiskCurve
        The prediction (:class:`selfdistill.dong2019.dynamics.RiskCurve`): ``bias``, ``variance``
        and ``total``, each shape (R,).
    measured : array, shape (R,)
        Mean risk of the network over noise draws at each step.
    measured_sem : array, shape (R,)
        Its standard error (drawn as ±2 s.e.).
    k_star : int
        The optimal stopping step, drawn as a vertical line.
    every : int, default 1
        Show the measured risk at every ``every``-th step only.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    steps = np.asarray(steps)
    show = steps % every == 0
    ax.plot(steps, curve.bias, "--", label="bias (predicted)")
    ax.plot(steps, curve.variance, ":", label="variance (predicted)")
    ax.plot(steps, curve.total, "k-", label="total (predicted)")
    ax.errorbar(steps[show], np.asarray(measured)[show], yerr=2 * np.asarray(measured_sem)[show],
                fmt="o", ms=3, color="C3",
                label="network, mean over noise draws (±2 s.e.)")
    ax.axvline(k_star, color="0.5", lw=1, label=f"optimal stop $k^*$ = {k_star}")
    # symlog from step 0: linear below step 1, logarithmic above; no negative half-axis
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set(xlim=(0, float(steps.max())), xlabel="GD step $k$", ylabel=r"$\|u(k)-y^\star\|^2$")
    ax.legend()
    return ax
