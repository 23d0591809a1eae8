"""Figures of the deep-network chapters; each function draws one figure and returns its axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from selfdistill.plots import style as plot_style  # noqa: F401 - importing applies the figure style

__all__ = ["plot_noisy_curves", "plot_noisy_summary", "plot_rounds"]


def _errorbar(ax, xs, summary: dict, key: str, label: str | None = None, **kw):
    mean = np.array([summary[x][key][0] for x in xs])
    std = np.array([summary[x][key][1] for x in xs])
    ax.errorbar(range(len(xs)), mean, yerr=std, capsize=3, marker="o", label=label, **kw)


def plot_rounds(summary: dict):
    """Training MSE to the ground truth and test accuracy per round (mean ± std over seeds).

    Parameters
    ----------
    summary : dict
        Round to ``{metric: (mean, std)}`` with the metrics ``train_mse``, ``test_acc`` and
        ``train_acc`` (:func:`selfdistill.training.protocol.summarise`).

    Returns
    -------
    tuple of two matplotlib.axes.Axes
        The two panels of the new figure.
    """
    fig, (a, b) = plt.subplots(1, 2, figsize=(plot_style.MAX_WIDTH_INCHES, 3.2),
                             layout="constrained")
    rounds = list(summary)
    _errorbar(a, rounds, summary, "train_mse")
    a.set(xlabel="round $t$", ylabel="training MSE to one-hot truth")
    _errorbar(b, rounds, summary, "test_acc", label="test")
    _errorbar(b, rounds, summary, "train_acc", label="training (truth)")
    b.set(xlabel="round $t$", ylabel="accuracy")
    plot_style.legend_above(b)  # the error bars may fill the panel
    return a, b


def plot_noisy_curves(rows: list[dict], arms: tuple[str, ...]):
    """Test accuracy over epochs per arm, and the corrupted examples' fit, for seed 0.

    The right panel shows the accuracy on the corrupted training examples against their true labels
    (solid: labels corrected) and against their wrong labels (dashed: memorised). Each arm has its
    colour and marker in both panels; one legend below.

    Parameters
    ----------
    rows : list of dict
        One row per run, with keys ``arm``, ``seed``, and ``test``, ``corrupt`` and ``memorised``
        (each a sequence over epochs).
    arms : tuple of str
        The arms to draw, in legend order; each needs a row with seed 0.

    Returns
    -------
    tuple of two matplotlib.axes.Axes
        The two panels of the new figure.
    """
    fig, (a, b) = plt.subplots(1, 2, figsize=(plot_style.MAX_WIDTH_INCHES, 3.6),
                             layout="constrained")
    for i, arm in enumerate(arms):
        row = next(r for r in rows if r["arm"] == arm and r["seed"] == 0)
        epochs = np.arange(1, len(row["test"]) + 1)
        # solid and dashed tell the labels apart on the right, so the arms differ by colour and
        # marker (not by the style's line styles) in both panels
        kw = {"color": plot_style.OKABE_ITO[i % len(plot_style.OKABE_ITO)],
              "marker": plot_style.MARKERS[i % len(plot_style.MARKERS)],
              "markevery": max(1, len(epochs) // 6)}
        a.plot(epochs, row["test"], ls="-", label=arm, **kw)
        b.plot(epochs, row["corrupt"], ls="-", **kw)
        b.plot(epochs, row["memorised"], ls="--", **kw)
    a.set(xlabel="epoch", ylabel="test accuracy")
    b.set(xlabel="epoch", ylabel="corrupted training examples")
    handles, labels = a.get_legend_handles_labels()
    handles += [Line2D([], [], color="0.3", ls="-"), Line2D([], [], color="0.3", ls="--")]
    labels += ["right: as true label", "right: as wrong label"]
    fig.legend(handles, labels, loc="outside lower center", ncol=3)
    return a, b


def plot_noisy_summary(table: dict[str, dict], arms: tuple[str, ...]):
    """Last-epoch test accuracy (mean ± std over seeds) per noise setting and arm, as bars.

    Parameters
    ----------
    table : dict of str to dict
        ``table[setting][arm]["last_acc"] = (mean, std)``.
    arms : tuple of str
        The arms, one bar each per setting.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    fig, ax = plt.subplots(figsize=(plot_style.MAX_WIDTH_INCHES, 3.2), layout="constrained")
    settings = list(table)
    width = 0.8 / len(arms)
    for i, arm in enumerate(arms):
        mean = [table[s][arm]["last_acc"][0] for s in settings]
        std = [table[s][arm]["last_acc"][1] for s in settings]
        ax.bar(np.arange(len(settings)) + i * width, mean, width, yerr=std, capsize=2, label=arm)
    ax.set_xticks(np.arange(len(settings)) + 0.4 - width / 2, settings)
    ax.set(ylabel="last-epoch test accuracy", ylim=(0, 1))
    plot_style.legend_above(ax, ncol=len(arms))  # inside, it would sit on the tallest bars
    return ax
