"""The book's one figure style: legible at the size the page shows a figure, colour-blind safe.

Every plotting module imports this module, which applies :data:`STYLE` to Matplotlib's
``rcParams``; the functions there set no font sizes of their own. The rules (issue 18 §4):

* **Text ≥ 8 pt as displayed.** The book's content column is :data:`COLUMN_INCHES` wide at a
  1280 px window (688 CSS px at 96 px per inch); a wider figure is shrunk to fit, and its text
  with it. Figures are at most :data:`MAX_WIDTH_INCHES` wide and the smallest text is
  :data:`SMALLEST_PT`, so the smallest text shows at ≥ 8 pt (:func:`displayed_text_sizes` measures
  it, ``tests/plots/test_style.py`` and the browser test check it).
* **Colour-blind-safe palette** (Okabe and Ito 2008), each colour paired with its own line
  style, so that lines differ in grey scale and for every colour vision; :data:`MARKERS` gives
  the functions that mark points one marker per series.
* Legends sit outside the data where the data fill the axes (``legend_outside``,
  ``legend_above``, ``legend_below``; :func:`legends_over_data` finds a legend over the data);
  methods that are categories are drawn as points or bars, never joined by lines.
* **Tick labels never run into each other.** A log axis spanning about a decade or less labels
  its minor ticks ("2×10⁻¹ 3×10⁻¹ 4×10⁻¹ …"), and on a narrow axis they collide. Importing this
  module makes every log axis label its minor ticks with :class:`LogLabels`, which keeps only the
  labels that fit (:func:`overlapping_tick_labels` checks it).
"""

from __future__ import annotations

import itertools
import math

import matplotlib as mpl
import matplotlib.scale
import matplotlib.ticker
import numpy as np
from cycler import cycler
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path

from selfdistill.core.validate import Positive, Real, validate_params

__all__ = ["COLUMN_INCHES", "LINESTYLES", "LogLabels", "MARKERS", "MAX_WIDTH_INCHES",
           "MINOR_GAP_EM", "OKABE_ITO", "SMALLEST_PT", "STYLE", "TICK_GAP_PT", "apply_style",
           "as_array", "displayed_text_sizes", "legend_above", "legend_below", "legend_outside",
           "legends_over_data", "overlapping_tick_labels", "use_svg"]

#: Okabe–Ito colours without black (used for reference lines): blue, orange, bluish green,
#: vermilion, reddish purple, sky blue, yellow
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)), (0, (1, 1)))
#: width of the content column at a 1280 px window, in inches at 96 CSS px per inch
COLUMN_INCHES = 688 / 96
#: the widest figure the plotting functions draw (shown at ≥ 99 % of its size at 1280 px)
MAX_WIDTH_INCHES = 7.2
#: the smallest font size the style uses (tick labels, legends), in points
SMALLEST_PT = 9.0

STYLE: dict = {
    "font.size": 10.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 10.0,
    "xtick.labelsize": SMALLEST_PT,
    "ytick.labelsize": SMALLEST_PT,
    "legend.fontsize": SMALLEST_PT,
    "legend.title_fontsize": SMALLEST_PT,
    "figure.titlesize": 11.0,
    "figure.figsize": (6.4, 3.8),
    # colour and line style change together; markers are per function (dense curves carry none)
    "axes.prop_cycle": cycler(color=OKABE_ITO) + cycler(linestyle=LINESTYLES),
    "lines.linewidth": 1.6,
    "lines.markersize": 4.5,
    "legend.framealpha": 0.9,
    "image.cmap": "viridis",
}


#: the least gap :class:`LogLabels` leaves between a minor-tick label and its neighbours, in ems
#: of the tick-label font (an em: the labels read as separate numbers, and sparsely)
MINOR_GAP_EM = 1.0
#: minor ticks of a decade in the order :class:`LogLabels` tries to label them
_MINOR_PRIORITY = (5, 2, 3, 4, 6, 7, 8, 9)


class LogLabels(mpl.ticker.LogFormatterSciNotation):
    """Minor-tick labels of a log axis, only those that fit between their neighbours.

    Matplotlib labels the minor ticks of a log axis that crosses at most one decade (the 2, 3,
    4 and 6 of each decade, or all of them below 0.4 decades), whatever the axis length; on a
    narrow axis "3×10⁻¹" and "4×10⁻¹" run together. Where Matplotlib labels minor ticks, this
    formatter measures every label at the tick-label font size and keeps, in the order 5, 2, 3,
    4, 6, 7, 8, 9, the minor labels that
    stay :data:`MINOR_GAP_EM` ems clear of the major labels and of the minor labels kept so far.
    Major ticks are formatted as by Matplotlib.

    Parameters
    ----------
    base, labelOnlyBase, minor_thresholds, linthresh
        As for :class:`matplotlib.ticker.LogFormatterSciNotation`; the style's log scale
        passes its ``base``, and ``labelOnlyBase`` when it was given ``subs``.
    """

    def set_locs(self, locs=None):
        super().set_locs(locs)
        if self._sublabels is not None and self._sublabels != {1}:  # minor labels wanted:
            self._sublabels = set(range(1, 10))  # any of them, thinned to fit below

    def format_ticks(self, values):
        labels = super().format_ticks(values)
        axis = self.axis
        if axis is None or not any(labels) or axis.get_scale() != "log":
            return labels
        lo, hi = sorted(np.log10(axis.get_view_interval()))
        if not hi > lo:  # a degenerate view: nothing to space out
            return labels
        box = axis.axes.get_position()
        size = axis.axes.figure.figure.get_size_inches() * 72  # the root figure's
        length = box.width * size[0] if axis.axis_name == "x" else box.height * size[1]
        font = FontProperties(size=mpl.rcParams[f"{axis.axis_name}tick.labelsize"])
        gap = MINOR_GAP_EM * font.get_size_in_points()

        def extent(value, text):
            """(start, end) of the label along the axis, in points, with half the gap."""
            w, h, _ = text_to_path.get_text_width_height_descent(text, font, ismath="$" in text)
            half = (w if axis.axis_name == "x" else h) / 2 + gap / 2
            centre = (np.log10(value) - lo) / (hi - lo) * length
            return centre - half, centre + half

        def inside(value):
            return lo - 1e-9 <= np.log10(value) <= hi + 1e-9

        majors = [v for v in axis.get_majorticklocs() if inside(v)]
        kept = [extent(v, t) for v, t in zip(majors, axis.major.formatter.format_ticks(majors),
                                             strict=True) if t]
        coeff = [round(v / 10 ** np.floor(np.log10(v) + 1e-9)) for v in values]
        order = sorted(range(len(values)), key=lambda i: (
            _MINOR_PRIORITY.index(coeff[i]) if coeff[i] in _MINOR_PRIORITY else 99, values[i]))
        out = [""] * len(values)
        for i in order:
            if not labels[i] or not inside(values[i]):
                continue  # unlabelled, or outside the view (not drawn; must not crowd out others)
            a, b = extent(values[i], labels[i])
            if all(b <= c or a >= d for c, d in kept):
                kept.append((a, b))
                out[i] = labels[i]
        return out


class _LogScale(matplotlib.scale.LogScale):
    """Matplotlib's log scale with :class:`LogLabels` on its minor ticks."""

    def __init__(self, *_axis, base=10, subs=None, nonpositive="clip"):
        # Matplotlib < 3.11 passes the axis, later ones only the keywords (no "axis" parameter)
        super().__init__(None, base=base, subs=subs, nonpositive=nonpositive)

    def set_default_locators_and_formatters(self, axis):
        super().set_default_locators_and_formatters(axis)
        axis.set_minor_formatter(LogLabels(self.base, labelOnlyBase=self.subs is not None))


def apply_style() -> None:
    """Set :data:`STYLE` in Matplotlib's ``rcParams`` and make log axes label only the minor
    ticks that fit (:class:`LogLabels`); done on import of every plots module.

    Examples
    --------
    >>> import matplotlib as mpl
    >>> apply_style()
    >>> mpl.rcParams["legend.fontsize"] == SMALLEST_PT
    True
    """
    mpl.rcParams.update(STYLE)
    matplotlib.scale.register_scale(_LogScale)


def legend_outside(ax, **kwargs) -> object:
    """A legend to the right of ``ax``, outside the data.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes whose labelled artists the legend lists.
    **kwargs
        Passed on to :meth:`matplotlib.axes.Axes.legend` (not ``loc`` or ``bbox_to_anchor``).

    Returns
    -------
    matplotlib.legend.Legend
        The legend.
    """
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)


def legend_below(ax, **kwargs) -> object:
    """The legend of ``ax`` below the whole figure, outside the data (the figure must use
    constrained layout, which makes room for it); entries fill columns first.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes whose labelled artists the legend lists.
    **kwargs
        Passed on to :meth:`matplotlib.figure.Figure.legend` (not ``loc``), e.g. ``ncols``.

    Returns
    -------
    matplotlib.legend.Legend
        The figure's legend.
    """
    return ax.figure.legend(*ax.get_legend_handles_labels(), loc="outside lower center",
                            **kwargs)


def legend_above(ax, **kwargs) -> object:
    """A legend above ``ax``, outside the data: for a panel of a row, where the right side
    belongs to the next panel (constrained layout makes room for it).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes whose labelled artists the legend lists.
    **kwargs
        Passed on to :meth:`matplotlib.axes.Axes.legend` (not ``loc`` or ``bbox_to_anchor``).

    Returns
    -------
    matplotlib.legend.Legend
        The legend.
    """
    return ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.02), borderaxespad=0.0, **kwargs)


@validate_params(column_inches=Positive())
def displayed_text_sizes(fig, column_inches: float = COLUMN_INCHES) -> list[tuple[float, str]]:
    """Every visible text of ``fig`` as the page shows it, smallest first.

    The page shows a figure at its own width, or shrunk to the column: the size drawn is
    multiplied by ``min(1, column_inches / width)``, with the width of the tight bounding box the
    notebook saves. Maths sub- and superscripts (drawn at 70 % inside a text) are not listed.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (drawn here to lay it out).
    column_inches : float, default COLUMN_INCHES
        Width of the page's content column, in inches.

    Returns
    -------
    list of (float, str)
        ``(size in points as displayed, text)`` per visible text, smallest size first.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(3, 2))
    >>> _ = ax.set_xlabel("x")
    >>> size, text = displayed_text_sizes(fig)[-1]
    >>> text, size == plt.rcParams["axes.labelsize"]
    ('x', True)
    >>> plt.close(fig)
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width = fig.get_tightbbox(renderer).width  # inches
    scale = min(1.0, column_inches / width) if width > 0 else 1.0
    sizes = [(t.get_fontsize() * scale, t.get_text()) for t in fig.findobj(mpl.text.Text)
             if t.get_visible() and t.get_text().strip() and t.get_figure() is not None]
    return sorted(sizes, key=lambda pair: pair[0])


#: the least gap between two tick labels of one axis, in points: closer, they read as one label
#: (a third of an em of the tick-label font)
TICK_GAP_PT = 3.0


def _drawn_tick_labels(axis) -> list:
    """The tick labels (major and minor, both sides) ``axis`` draws: ticks inside its view."""
    lo, hi = sorted(axis.get_view_interval())
    slack = 1e-9 * max(abs(lo), abs(hi), 1e-300)
    ticks = (axis.get_major_ticks(len(axis.get_majorticklocs()))
             + axis.get_minor_ticks(len(axis.get_minorticklocs())))
    return [label for tick in ticks if lo - slack <= tick.get_loc() <= hi + slack
            for label in (tick.label1, tick.label2)
            if label.get_visible() and label.get_text().strip()]


@validate_params(gap_pt=Real(0.0, math.inf, upper_open=True))
def overlapping_tick_labels(fig, gap_pt: float = TICK_GAP_PT) -> list[tuple[str, str]]:
    """Pairs of tick labels of one axis of ``fig`` drawn closer than ``gap_pt`` (or overlapping).

    Log axes spanning less than about a decade label their minor ticks too, and such labels run
    into each other ("3×10⁻¹4×10⁻¹"); this finds them after drawing the figure.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure, drawn here with its own canvas.
    gap_pt : float
        Least gap between two labels' boxes, in points.

    Returns
    -------
    list of (str, str)
        The texts of each pair too close, in no particular order; empty when none.
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    pad = gap_pt * fig.dpi / 72 / 2
    pairs = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for axis in (ax.xaxis, ax.yaxis):
            labels = _drawn_tick_labels(axis)
            boxes = [t.get_window_extent(renderer) for t in labels]
            for (ta, ba), (tb, bb) in itertools.combinations(zip(labels, boxes, strict=True), 2):
                if _too_close(axis.axis_name, ta, ba, tb, bb, pad, fig.dpi):
                    pairs.append((ta.get_text(), tb.get_text()))
    return pairs


def _too_close(name: str, ta, ba, tb, bb, pad: float, dpi: float) -> bool:
    """Whether two tick labels of the ``name`` axis, drawn in the boxes ``ba`` and ``bb``, come
    closer than ``2 pad`` pixels. Labels rotated alike (neither level nor upright) are parallel
    strips one text height wide: they keep apart when the distance between them across the
    strips (the distance along the axis times the sine of the angle to it) exceeds that height;
    their boxes overlap long before."""
    angle = np.deg2rad(ta.get_rotation() % 180)
    if ta.get_rotation() % 90 == 0 or tb.get_rotation() % 180 != ta.get_rotation() % 180:
        return ba.padded(pad).overlaps(bb.padded(pad))
    if name == "x":
        across = abs(ba.x0 + ba.x1 - bb.x0 - bb.x1) / 2 * abs(np.sin(angle))
    else:
        across = abs(ba.y0 + ba.y1 - bb.y0 - bb.y1) / 2 * abs(np.cos(angle))
    height = max(ta.get_fontsize(), tb.get_fontsize()) * dpi / 72
    return across < height + 2 * pad


def _densify(xy: np.ndarray, step: float) -> np.ndarray:
    """Points every ``step`` display units along the polyline ``xy`` (n, 2), NaNs split it."""
    out = [xy]
    for a, b in zip(xy[:-1], xy[1:], strict=True):
        n = int(np.hypot(*(b - a)) // step) if np.isfinite(a).all() and np.isfinite(b).all() else 0
        if n > 1:
            s = np.linspace(0, 1, n + 1)[1:-1, None]
            out.append(a + s * (b - a))
    return np.concatenate(out)


def _data_points(ax, step: float) -> np.ndarray:
    """Display coordinates (n, 2) of what ``ax`` draws as data, inside its axes box: line
    vertices and points along joined lines, markers, collections (scatter points, error bars,
    filled bands' edges) and patches' outlines (bars, histograms)."""
    from matplotlib.collections import Collection, PathCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    chunks = []
    for artist in ax.get_children():
        if not artist.get_visible() or artist is ax.patch:
            continue
        if isinstance(artist, Line2D):
            xy = artist.get_transform().transform(artist.get_xydata())
            joined = artist.get_linestyle() not in ("None", "none", " ", "")
            chunks.append(_densify(xy, step) if joined else xy)
        elif isinstance(artist, PathCollection):  # scatter: one marker at many places
            chunks.append(artist.get_offset_transform().transform(artist.get_offsets()))
        elif isinstance(artist, Collection):  # error bars, filled bands: paths in data space
            transform = artist.get_transform()
            chunks += [_densify(transform.transform(p.vertices), step)
                       for p in artist.get_paths()]
        elif isinstance(artist, Patch) and artist.get_transform() != ax.transAxes:
            path = artist.get_path()
            chunks.append(_densify(artist.get_transform().transform(path.vertices), step))
    if not chunks:
        return np.empty((0, 2))
    points = np.concatenate(chunks)
    box = ax.get_window_extent()
    inside = ((points[:, 0] >= box.x0) & (points[:, 0] <= box.x1)
              & (points[:, 1] >= box.y0) & (points[:, 1] <= box.y1))
    return points[inside]


def legends_over_data(fig) -> list[tuple[str, int]]:
    """Legends of ``fig`` drawn over data: ``(first entry of the legend, points covered)``.

    The data are the points :func:`_data_points` lists for every axes of ``fig`` (joined lines
    sampled every display pixel); a legend covers a point inside its frame, shrunk by a pixel.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure, drawn here with its own canvas.

    Returns
    -------
    list of (str, int)
        One entry per legend that covers data; empty when none does.
    """
    fig.canvas.draw()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    legends += list(fig.legends)
    if not legends:
        return []
    points = np.concatenate([_data_points(ax, 1.0) for ax in fig.axes if ax.get_visible()])
    covered = []
    for legend in legends:
        box = legend.get_window_extent().padded(-1.0)
        n = int(((points[:, 0] > box.x0) & (points[:, 0] < box.x1)
                 & (points[:, 1] > box.y0) & (points[:, 1] < box.y1)).sum())
        if n:
            texts = legend.get_texts()
            covered.append((texts[0].get_text() if texts else "", n))
    return covered


apply_style()


def use_svg() -> None:
    """Show a notebook's figures as SVG (vector: sharp at print resolution), byte-stable.

    The SVG carries no date and its element ids come from a fixed salt, so a rerun writes the
    same bytes (the golden notebooks stay unchanged). Outside IPython it only sets the salt.
    """
    mpl.rcParams["svg.hashsalt"] = "selfdistill"
    from IPython import get_ipython

    if get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("svg", bbox_inches="tight", metadata={"Date": None})


def as_array(values) -> np.ndarray:
    """What a figure function accepts as data, as a NumPy array.

    Parameters
    ----------
    values : array_like or torch.Tensor
        A NumPy array, a sequence, or a tensor on any device (detached and copied to the CPU).

    Returns
    -------
    numpy.ndarray
        The same values.

    Examples
    --------
    >>> as_array([1.0, 2.0]).tolist()
    [1.0, 2.0]
    """
    return values.detach().cpu().numpy() if hasattr(values, "detach") else np.asarray(values)
