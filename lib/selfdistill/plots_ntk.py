"""Figures of the dong2019 NTK chapters; each function draws one figure's axes and returns them."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import plot_style  # noqa: F401 - importing applies the figure style

__all__ = [
    "plot_energy_profiles",
    "plot_residual_decay",
    "plot_risk_curve",
    "plot_spectra",
    "plot_width_scaling",
]


def _axes(ax, size=(6.4, 3.8)):
    return ax if ax is not None else plt.subplots(figsize=size, layout="constrained")[1]


def plot_width_scaling(widths, errors, slope, intercept, ax=None):
    """Relative error of the empirical NTK against width, with the fitted power law."""
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
    """Cumulative energy along eigenvectors (largest eigenvalue first), against the index share."""
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
    """Eigenvalues of kernel matrices, largest first, against the share of directions."""
    ax = _axes(ax)
    for label, values in spectra.items():
        values = np.asarray(values)
        ax.semilogy(np.arange(1, len(values) + 1) / len(values), values, label=label)
    ax.set(xlabel="share of eigen-directions (largest λ first)", ylabel="eigenvalue λ")
    ax.legend()
    return ax


def plot_residual_decay(steps, measured, predicted, labels, ax=None):
    """|v_iᵀ(u(k) − y)| measured (markers) against (1 − ηλ_i)^k |v_iᵀ(u(0) − y)| (lines)."""
    ax = _axes(ax)
    for j, label in enumerate(labels):
        ls = plot_style.LINESTYLES[j % len(plot_style.LINESTYLES)]
        ax.semilogy(steps, np.abs(predicted[:, j]), ls=ls, color=f"C{j}", label=label)
        ax.semilogy(steps, np.abs(measured[:, j]), "o", color=f"C{j}", ms=3)
    ax.set(xlabel="GD step $k$", ylabel=r"$|v_i^\top(u(k)-y)|$")
    plot_style.legend_outside(ax, title="lines: $(1-\\eta\\lambda_i)^k$\ndots: network")
    return ax


def plot_risk_curve(steps, curve, measured, measured_sem, k_star, every=1, ax=None):
    """Predicted bias, variance and total risk, the measured mean risk (every ``every``-th
    step), and the optimal step."""
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
