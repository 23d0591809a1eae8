"""The region-of-validity figure of a sweep: each claim's measured value over the grid, its bound.

:func:`selfdistill.core.sweep_report.write_report` reads a sweep's ledgers, turns each claim into a
:class:`Panel` of :class:`Series` (numbers only) and calls :func:`plot_region_of_validity`, which
draws them; the report writes the figure to disk. Nothing here reads ledgers or selects a
Matplotlib backend: the figure is a bare :class:`matplotlib.figure.Figure` (no pyplot, no global
state), so it renders the same under whatever backend the caller uses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from matplotlib.figure import Figure

from selfdistill.plots import style as plot_style  # importing applies the book's figure style

__all__ = ["SUPTITLE", "Panel", "Series", "plot_region_of_validity"]

#: the figure's title: how to read every panel
SUPTITLE = "measured value (solid) over the grid; dashed: its bound; red ×: claim failed"


@dataclass(frozen=True)
class Series:
    """One claim's values along the first swept parameter, at one value of the second.

    Attributes
    ----------
    x : list of float
        The first parameter's values, ascending.
    values : list of float
        The measured values as drawn (values below a log axis's floor already raised to it).
    passed : list of bool
        Whether the claim held at each point (failures are drawn as red crosses).
    bounds : list of list of float
        Zero, one (``≤ b``, ``≥ b``) or two (``a ± b``) bound lines, each with one value per
        point of ``x`` (the bound may vary with the point).
    label : str or None
        The legend entry (``"length=0.1"``), or ``None`` when there is no second parameter.
    colour : int
        The series' colour is ``C<colour>`` of the style's cycle: the position of its value of
        the second parameter, so a value keeps its colour in every panel.
    """

    x: list[float]
    values: list[float]
    passed: list[bool]
    bounds: list[list[float]] = field(default_factory=list)
    label: str | None = None
    colour: int = 0


@dataclass(frozen=True)
class Panel:
    """One claim's axes.

    Attributes
    ----------
    title : str
        Two lines: the claim and its bound.
    xlabel : str
        The first swept parameter.
    series : list of Series
        One per value of the second parameter that has points (one when there is none).
    xlog, ylog : bool
        Logarithmic axes.
    """

    title: str
    xlabel: str
    series: list[Series]
    xlog: bool = False
    ylog: bool = False


def plot_region_of_validity(panels: Sequence[Panel], legend: bool = False) -> Figure:
    """Draw one panel per claim, two a row, at the book's column width.

    Each series is a solid line through its values with a dot where the claim held and a red
    cross where it failed, and its bound lines dashed in the same colour.

    Parameters
    ----------
    panels : sequence of Panel
        At least one.
    legend : bool, optional
        Show the series' labels in the first panel (for a second swept parameter).

    Returns
    -------
    matplotlib.figure.Figure
        ``MAX_WIDTH_INCHES`` wide and 2.5 inches per row of panels (text ≥ 8 pt in the book's
        column), laid out tight; the caller saves it.

    Raises
    ------
    ValueError
        If ``panels`` is empty.

    Examples
    --------
    >>> panel = Panel("a claim\\nbound ≤ 1", "eps",
    ...               [Series([0.1, 0.2], [0.5, 2.0], [True, False], [[1.0, 1.0]])])
    >>> fig = plot_region_of_validity([panel])
    >>> [ax.get_title() for ax in fig.axes]
    ['a claim\\nbound ≤ 1']
    """
    if not panels:
        raise ValueError("panels = [] is empty; accepted: at least one panel")
    cols = min(2, len(panels))  # two panels a row: the text stays >= 8 pt in the book's column
    rows = math.ceil(len(panels) / cols)
    fig = Figure(figsize=(plot_style.MAX_WIDTH_INCHES, 2.5 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, panel in zip(axes.flat, panels, strict=False):
        for series in panel.series:
            line, = ax.plot(series.x, series.values, "-", color=f"C{series.colour}", lw=1,
                            label=series.label)
            for bound in series.bounds:
                ax.plot(series.x, bound, "--", color=line.get_color(), lw=1)
            ok = [(x, v) for x, v, p in zip(series.x, series.values, series.passed,
                                             strict=True) if p]
            bad = [(x, v) for x, v, p in zip(series.x, series.values, series.passed,
                                              strict=True) if not p]
            if ok:
                ax.plot(*zip(*ok, strict=True), "o", color=line.get_color(), ms=4)
            if bad:
                ax.plot(*zip(*bad, strict=True), "x", color="red", ms=8, mew=2)
        if panel.xlog:
            ax.set_xscale("log")
        if panel.ylog:
            ax.set_yscale("log")
        ax.set_title(panel.title)
        ax.set_xlabel(panel.xlabel)
        if legend and ax is axes.flat[0]:
            ax.legend()
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(SUPTITLE)
    fig.tight_layout()
    return fig
