"""Tick labels that keep apart and legends that keep off the data (issue 18 §4): the checks of
:mod:`selfdistill.plots.style` find the faults they are for, and the style avoids them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from selfdistill.plots import style as plot_style  # noqa: E402

#: (x range, figure width in inches, panels): the eigenvalues of the toy Gram matrix (1.2
#: decades) as in bt-sparsification and larger-eps, a span under 0.4 decades, and a narrow panel
SPANS = [((0.055, 0.85), 6.4, 1), ((0.2, 0.95), plot_style.MAX_WIDTH_INCHES, 2),
         ((0.3, 0.7), 6.4, 1), ((0.055, 0.85), plot_style.MAX_WIDTH_INCHES, 3)]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _log_axis(span, width, panels, formatter=None):
    fig, axes = plt.subplots(1, panels, figsize=(width, 3.4), layout="constrained",
                             squeeze=False)
    ax = axes[0][0]
    x = np.geomspace(*span, 12)
    ax.loglog(x, x**2, "o-")
    if formatter is not None:
        ax.xaxis.set_minor_formatter(formatter)
    return fig, ax


def _texts(ax):
    return [t.get_text() for t in plot_style._drawn_tick_labels(ax.xaxis)]


@pytest.mark.parametrize(("span", "width", "panels"), SPANS)
def test_minor_log_labels_keep_apart_and_the_axis_stays_labelled(span, width, panels):
    fig, ax = _log_axis(span, width, panels)
    assert isinstance(ax.xaxis.get_minor_formatter(), plot_style.LogLabels)
    assert plot_style.overlapping_tick_labels(fig) == []
    assert len(_texts(ax)) >= 2  # the values can still be read off the axis


def test_matplotlibs_own_minor_labels_run_together_and_the_check_sees_it():
    """The fault the style removes: on the toy eigenvalue range Matplotlib's formatter labels
    2, 3, 4 and 6 of the decade, and on a panel of a two-panel figure 3×10⁻¹ meets 4×10⁻¹."""
    own = mticker.LogFormatterSciNotation(labelOnlyBase=False)
    fig, _ = _log_axis((0.2, 0.95), plot_style.MAX_WIDTH_INCHES, 2, formatter=own)
    pairs = plot_style.overlapping_tick_labels(fig)
    assert any("3\\times10^{-1}" in a + b and "4\\times10^{-1}" in a + b for a, b in pairs)


def test_minor_labels_prefer_five_and_two():
    fig, ax = _log_axis((0.055, 0.85), plot_style.MAX_WIDTH_INCHES, 3)
    fig.canvas.draw()
    texts = _texts(ax)
    assert any("5\\times10^{-1}" in t for t in texts), texts
    assert not any("4\\times10^{-1}" in t for t in texts), texts  # no room beside 3 and 5


def test_a_log_axis_over_decades_labels_no_minor_tick():
    fig, ax = _log_axis((1e-4, 1.0), 6.4, 1)
    fig.canvas.draw()
    assert all("\\times" not in t for t in _texts(ax))


def test_legend_check_finds_a_legend_on_a_curve_and_none_outside():
    fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    x = np.linspace(0, 1, 200)
    ax.plot(x, 0.5 + 0 * x, label="flat line through the middle")
    ax.legend(loc="center")
    assert [label for label, _ in plot_style.legends_over_data(fig)] == [
        "flat line through the middle"]
    ax.get_legend().remove()
    plot_style.legend_outside(ax)
    assert plot_style.legends_over_data(fig) == []


def test_legend_check_sees_scatter_points_bars_and_error_bars():
    for draw in (lambda ax: ax.scatter([0.5], [0.5], label="a point"),
                 lambda ax: ax.bar([0.5], [0.55], 0.05, label="a bar"),
                 lambda ax: ax.errorbar([0.5], [0.5], yerr=[0.3], fmt="none", label="a bar")):
        fig, ax = plt.subplots(figsize=(4, 3))
        draw(ax)
        ax.set(xlim=(0, 1), ylim=(0, 1))
        ax.legend(loc="center")
        assert plot_style.legends_over_data(fig), draw


def test_zoomed_fits_show_each_curve_in_both_panels_at_its_own_scale():
    from selfdistill.plots import mobahi2020 as plots

    x, grid = np.linspace(0, 1, 11), np.linspace(0, 1, 101)
    curves = {"a": 0.02 * np.sin(6 * grid), "b": 0.015 * np.sin(6 * grid), "c": 0 * grid + 0.01}
    whole, zoom = plots.plot_fits_zoomed(x, np.sin(6 * x), grid, curves, np.sin(6 * grid))
    low, high = zoom.get_ylim()
    assert low < -0.015 and high > 0.02 and high - low < 0.1  # magnified, nothing cut off
    assert whole.get_ylim()[1] - whole.get_ylim()[0] > 1.5  # the data's scale
    styles = [(ln.get_color(), ln.get_linestyle()) for ln in zoom.get_lines()]
    assert len(set(styles)) == 3
    assert set(styles) <= {(ln.get_color(), ln.get_linestyle()) for ln in whole.get_lines()}
    assert plot_style.legends_over_data(whole.figure) == []


def test_noisy_curves_key_holds_solid_for_true_and_dashed_for_wrong_labels():
    """The caption's key: on the right, solid = predicted as the true label, dashed = as the
    wrong one, for every arm (the style's per-colour line styles made one arm's solid dashed)."""
    from plots.catalogue import figures

    _, right = figures()["plot_noisy_curves"]()
    lines = right.get_lines()
    assert [ln.get_linestyle() for ln in lines] == ["-", "--"] * 4
    assert len({ln.get_color() for ln in lines[::2]}) == 4
    assert len({ln.get_marker() for ln in lines[::2]}) == 4


def test_rotated_labels_are_measured_across_their_slant():
    """Slanted category labels (generations: 45°) overlap as boxes but not as text; squeezed,
    they overlap as text too."""
    names = ["ce", "sd-1", "sd-2", "ls", "beta"]
    for width, crowded in ((2.4, False), (1.6, False), (0.5, True)):  # 1.6: boxes overlap
        fig, ax = plt.subplots(figsize=(width, 2.5))
        ax.plot(range(5), range(5), "o")
        ax.set_xticks(range(5), names, rotation=45)
        assert bool(plot_style.overlapping_tick_labels(fig)) == crowded, width


def test_minor_ticks_outside_the_view_crowd_out_no_label():
    """The minor locator also returns ticks beyond the view; they are not drawn, so they must not
    take the place of a label inside it (here 6×10⁻¹, just inside, beside 5×10⁻¹ just outside)."""
    fig, ax = plt.subplots(figsize=(2.0, 2.0), layout="constrained")
    ax.semilogx([0.51, 0.98], [0, 1])
    ax.set_xlim(0.51, 0.98)
    fig.canvas.draw()
    texts = _texts(ax)
    assert texts and plot_style.overlapping_tick_labels(fig) == []
    assert any("6\\times10^{-1}" in t for t in texts), texts
