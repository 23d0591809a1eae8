"""The one figure style (issue 18 §4): every plots module uses it, and figures drawn with it show
their text at ≥ 8 pt at the width the page displays them."""

from __future__ import annotations

import importlib
import re
import types
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from plots.catalogue import figure_of, figures  # noqa: E402
from selfdistill.plots import style as plot_style  # noqa: E402

LIB = Path(__file__).resolve().parents[2] / "lib" / "selfdistill" / "plots"
MODULES = sorted(p.stem for p in LIB.glob("*.py") if p.stem not in {"__init__", "style"})
RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.mark.parametrize("name", MODULES)
def test_every_plots_module_uses_the_style_and_sets_no_font_size(name):
    source = (LIB / f"{name}.py").read_text(encoding="utf-8")
    assert "from selfdistill.plots import style as plot_style" in source
    assert not re.search(r"fontsize\s*=", source), "font sizes belong to plot_style.STYLE"
    for match in re.finditer(r"figsize=\(([0-9.]+)", source):
        assert float(match.group(1)) <= plot_style.MAX_WIDTH_INCHES, match.group(0)


@pytest.mark.slow
def test_importing_a_plots_module_applies_the_style():
    matplotlib.rcdefaults()
    importlib.reload(importlib.import_module("selfdistill.plots.style"))
    assert matplotlib.rcParams["legend.fontsize"] == plot_style.SMALLEST_PT
    colours = [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]]
    assert tuple(colours) == plot_style.OKABE_ITO
    styles = [c["linestyle"] for c in matplotlib.rcParams["axes.prop_cycle"]]
    assert len({str(s) for s in styles}) == len(styles), "each colour its own line style"


@pytest.mark.parametrize("name", sorted(figures()))
def test_figure_text_is_legible_at_display_width(name):
    fig = figure_of(figures()[name]())
    smallest = plot_style.displayed_text_sizes(fig)[0]
    assert smallest[0] >= 8.0, f"{name}: {smallest[1]!r} shows at {smallest[0]:.1f} pt"


@pytest.mark.parametrize("name", sorted(figures()))
def test_figure_tick_labels_keep_apart(name):
    """No two tick labels of one axis closer than TICK_GAP_PT (issue 18: "3×10⁻¹4×10⁻¹")."""
    fig = figure_of(figures()[name]())
    assert plot_style.overlapping_tick_labels(fig) == []


@pytest.mark.parametrize("name", sorted(figures()))
def test_figure_legends_cover_no_data(name):
    fig = figure_of(figures()[name]())
    assert plot_style.legends_over_data(fig) == []


def test_a_wide_figure_shrinks_its_text():
    fig, ax = plt.subplots(figsize=(14, 3))
    ax.set_xlabel("a label")
    size, _ = plot_style.displayed_text_sizes(fig)[0]
    assert size < 8.0  # 9 pt drawn, shown at about half size in the column


@pytest.mark.slow
def test_sweep_figure_is_legible_at_display_width(tmp_path):
    """The region-of-validity figure of a 13-claim sweep (issue 18: titles were ~5 px)."""
    from core.test_browser import figure_text_sizes

    from selfdistill.core.sweep_report import SweepData, _write_figure
    from selfdistill.plots import sweep as plots_sweep

    ids = [f"paper.claim-number-{i}" for i in range(13)]
    records = []
    for eps in (0.01, 0.1, 0.3):
        for length in (0.02, 1.0):
            claims = tuple(types.SimpleNamespace(id=c, value=eps * (i + 1), bound="≤ 10",
                                                 passed=True, band=lambda: 1e-14)
                           for i, c in enumerate(ids))
            records.append(types.SimpleNamespace(parameters={"eps": eps, "length": length},
                                                 expected=tuple(ids), claims=claims))
    data = SweepData(tmp_path, {}, ("eps", "length"), tuple(records))
    svg = next(p for p in _write_figure(data, tmp_path, plots_sweep) if p.suffix == ".svg")
    width_pt, sizes = figure_text_sizes(svg)
    shown = min(1.0, plot_style.COLUMN_INCHES * 72 / width_pt)
    assert min(sizes) * shown >= 8.0, f"{min(sizes):.1f} pt drawn, shown at {shown:.0%}"


def test_alignment_draws_fixed_c_dashed_and_every_series_its_own_marker():
    from selfdistill.plots import mobahi2020 as plots_rounds
    ax = plots_rounds.plot_alignment({"self-distillation, m = 1": RNG.random(5),
                                      "self-distillation, m = 3": RNG.random(5),
                                      "fixed c = c_0, m = 1": RNG.random(5)})
    lines = ax.get_lines()
    assert [ln.get_linestyle() for ln in lines] == ["-", "-", "--"]  # as the caption says
    assert len({ln.get_marker() for ln in lines}) == 3


def test_risk_curve_axis_starts_at_step_zero():
    from selfdistill.plots import dong2019 as plots_ntk
    steps = np.arange(0, 200)
    curve = types.SimpleNamespace(bias=np.exp(-steps / 20), variance=1 - np.exp(-steps / 20),
                                  total=np.ones(200))
    ax = plots_ntk.plot_risk_curve(steps, curve, np.ones(200), 0.01 * np.ones(200), 40, every=10)
    assert ax.get_xlim()[0] == 0  # no half-axis of negative steps


@pytest.mark.slow
def test_residual_decay_legend_sits_outside_the_data():
    from selfdistill.plots import dong2019 as plots_ntk
    steps = np.arange(100)
    predicted = np.exp(-np.outer(steps, [0.5, 0.1, 0.02, 0.001]))
    ax = plots_ntk.plot_residual_decay(steps, predicted * 1.01, predicted,
                                       [f"$i={i}$" for i in (1, 3, 9, 31)])
    fig = ax.figure
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1  # right of the axes, not over the curves
    assert len({str(ln.get_linestyle()) for ln in ax.get_lines()[::2]}) == 4
    assert plot_style.displayed_text_sizes(fig)[0][0] >= 8.0
