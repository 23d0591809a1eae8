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
* Legends sit outside the data where the data fill the axes (``legend_outside``); methods that are
  categories are drawn as points or bars, never joined by lines.
"""

from __future__ import annotations

import matplotlib as mpl
from cycler import cycler

__all__ = ["COLUMN_INCHES", "LINESTYLES", "MARKERS", "MAX_WIDTH_INCHES", "OKABE_ITO",
           "SMALLEST_PT", "STYLE", "apply_style", "displayed_text_sizes", "legend_outside",
           "use_svg"]

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


def apply_style() -> None:
    """Set :data:`STYLE` in Matplotlib's ``rcParams`` (done on import of every plots module).

    Examples
    --------
    >>> import matplotlib as mpl
    >>> apply_style()
    >>> mpl.rcParams["legend.fontsize"] == SMALLEST_PT
    True
    """
    mpl.rcParams.update(STYLE)


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
