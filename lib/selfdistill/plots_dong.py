"""Figures of the dong2019 distillation chapters (matplotlib; numpy or CPU tensors in)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import plot_style  # noqa: F401 - importing applies the figure style

__all__ = ["plot_digits", "plot_filters", "plot_kernel_sd", "plot_width_gap"]

_COLOURS = {"plain": "C0", "A": "C1", "B": "C2", "C": "C3", "oracle": "k"}
# each rule its own line style too: rule A and rule C can coincide, and one must not hide the other
_LINES = {"plain": "-", "A": "--", "B": "-.", "C": (0, (1, 1.5)), "oracle": ":"}


def _np(v):
    return v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)


def plot_filters(lam, filters: dict[str, np.ndarray], ax=None):
    """Spectral filters φ(λ) (one curve per label) against the eigenvalues λ (log axis)."""
    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    order = np.argsort(_np(lam))
    for label, phi in filters.items():
        ax.semilogx(_np(lam)[order], _np(phi)[order], marker=".", label=label)
    ax.set(xlabel="eigenvalue λ of H", ylabel="filter φ(λ)")
    ax.legend()
    return ax


def plot_width_gap(widths, gaps, ax=None):
    """Student–teacher gap against the width (log–log), per seed, with the slope −½ guide."""
    ax = ax or plt.subplots(figsize=(5, 3.5))[1]
    widths, gaps = np.asarray(widths), np.asarray(gaps)
    for g in gaps:
        ax.loglog(widths, g, "o-", color="C0", alpha=0.5)
    ax.loglog(widths, gaps.mean(0)[0] * (widths / widths[0]) ** -0.5, "k--", label="slope −½")
    ax.set(xlabel="width m", ylabel="relative gap ‖f_student − f_teacher‖/‖f_teacher‖")
    ax.legend()
    return ax


def plot_kernel_sd(errors: dict[str, np.ndarray], predicted: float, ax=None):
    """ℓ2 distance to the true labels over epochs for each run, with the predicted level."""
    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    for label, err in errors.items():
        arm = label.split()[0]
        ax.plot(_np(err), color=_COLOURS.get(arm), ls=_LINES.get(arm, "-"), lw=2.0, label=label)
    ax.axhline(predicted, color="k", ls=":", label="2ρ√n (cluster averages)")
    ax.set(xlabel="epoch (one GD step)", ylabel="‖u_t − y*‖", ylim=(0, None))
    ax.legend()
    return ax


def plot_digits(histories: dict[float, object], axes=None):
    """Per noise rate: test accuracy over epochs (mean over seeds) for each arm, and the plain
    run's agreement with the given labels on the clean and corrupted training subsets."""
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
