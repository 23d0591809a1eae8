"""The figure of the tuned-baselines chapter: each arm's mean test error with its interval."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import plot_style

__all__ = ["plot_arm_errors"]

_MARKERS = {"oracle": plot_style.MARKERS[0], "honest": plot_style.MARKERS[1]}
_COLOURS = {"oracle": plot_style.OKABE_ITO[0], "honest": plot_style.OKABE_ITO[3]}


def plot_arm_errors(panels: dict[str, dict[str, dict[str, tuple[float, float, float]]]],
                    axes=None):
    """One panel per design; per arm, the mean test error and its interval, oracle and honest
    tuning side by side as points (the arms are categories: no lines join them).

    ``panels[design][tuning][arm] = (mean, low, high)``.
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
