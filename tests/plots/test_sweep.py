"""The region-of-validity figure: drawn by plots.sweep from numbers, written by the sweep report
without pyplot and without choosing a Matplotlib backend (issue 15)."""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from matplotlib.colors import to_rgba

from selfdistill.plots.sweep import SUPTITLE, Panel, Series, plot_region_of_validity

LIB = Path(__file__).resolve().parents[2] / "lib" / "selfdistill"


def _panel(**kwargs):
    series = [Series([0.1, 0.2, 0.4], [1.0, 2.0, 3.0], [True, True, False], [[2.5, 2.5, 2.5]],
                     "length=1", 1)]
    return Panel("claim\nbound ≤ 2.5", "eps", series, **kwargs)


def test_each_series_its_line_bound_dots_and_failures():
    fig = plot_region_of_validity([_panel(xlog=True)])
    (ax,) = fig.axes
    solid, dashed, dots, crosses = ax.get_lines()
    assert solid.get_linestyle() == "-" and dashed.get_linestyle() == "--"
    assert to_rgba(solid.get_color()) == to_rgba("C1") == to_rgba(dashed.get_color())
    assert list(dots.get_xdata()) == [0.1, 0.2] and dots.get_marker() == "o"
    assert list(crosses.get_xdata()) == [0.4] and to_rgba(crosses.get_color()) == to_rgba("red")
    assert crosses.get_marker() == "x" and crosses.get_linestyle() == "None"
    assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"
    assert ax.get_legend() is None and fig.get_suptitle() == SUPTITLE


def test_panels_two_a_row_and_the_legend_on_request():
    fig = plot_region_of_validity([_panel(), _panel(), _panel(ylog=True)], legend=True)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 4 and len(visible) == 3
    assert visible[0].get_legend() is not None and visible[1].get_legend() is None
    assert visible[2].get_yscale() == "log"
    assert tuple(fig.get_size_inches()) == pytest.approx((7.2, 5.0))


def test_no_panels_is_refused():
    with pytest.raises(ValueError, match=r"^panels = \[\] is empty"):
        plot_region_of_validity([])


def test_library_code_never_chooses_a_backend():
    users = [str(p.relative_to(LIB)) for p in LIB.rglob("*.py")
             if re.search(r"matplotlib\.use\(|\buse\(\s*['\"]agg", p.read_text(encoding="utf-8"),
                          re.IGNORECASE)]
    assert users == []


def test_the_report_writes_the_figure_without_pyplot(tmp_path):
    """In a fresh interpreter: importing the report loads neither plots nor Matplotlib, and
    writing the figure with the plots module passed in never loads pyplot (no backend is
    chosen)."""
    script = f"""
import sys, types
from pathlib import Path
from selfdistill.core.sweep_report import SweepData, _write_figure
assert "matplotlib" not in sys.modules and "selfdistill.plots" not in sys.modules
from selfdistill.plots import sweep as kit
assert "matplotlib.pyplot" not in sys.modules
claim = lambda v: types.SimpleNamespace(id="p.c", value=v, bound="≤ 1", passed=v <= 1,
                                        band=lambda: 1e-14)
records = tuple(types.SimpleNamespace(parameters={{"eps": e}}, expected=("p.c",),
                                      claims=(claim(e),)) for e in (0.5, 2.0))
paths = _write_figure(SweepData(Path({str(tmp_path)!r}), {{}}, ("eps",), records),
                      Path({str(tmp_path)!r}), kit)
assert [p.name for p in paths] == ["region-of-validity.png", "region-of-validity.svg"]
assert "selfdistill.plots.sweep" in sys.modules
assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "region-of-validity.svg").read_text().startswith("<?xml")


def test_the_same_sweep_gives_the_same_svg(tmp_path):
    from selfdistill.core.sweep_report import SweepData, _write_figure
    from selfdistill.plots import sweep as plots_sweep

    claim = types.SimpleNamespace(id="p.c", value=0.5, bound="1 ± 0.6", passed=True,
                                  band=lambda: 1e-14)
    records = tuple(types.SimpleNamespace(parameters={"eps": e, "n": n}, expected=("p.c",),
                                          claims=(claim,)) for e in (0.1, 1.0) for n in (1, 2))
    data = SweepData(tmp_path, {}, ("eps", "n"), records)
    svgs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        svgs.append(_write_figure(data, tmp_path / name, plots_sweep)[1].read_bytes())
    assert svgs[0] == svgs[1]


def test_the_report_gathers_each_claims_series():
    """_figure_panels: points sorted along x, one series per value of the second parameter (its
    colour kept when a value has no point), bound lines, a log floor for tiny values."""
    from selfdistill.core.sweep_report import SweepData, _figure_panels
    from selfdistill.plots import sweep as plots_sweep

    def claim(cid, value, bound, passed):
        return types.SimpleNamespace(id=cid, value=value, bound=bound, passed=passed,
                                     band=lambda: 1e-14)

    records = []
    for eps in (1.0, 0.05, 0.2):  # unsorted on purpose
        for n in (1, 2):
            claims = [claim("p.close", eps * n, "1 ± 0.5", abs(eps * n - 1) <= 0.5),
                      claim("p.tiny", 1e-20 * eps, "≤ 1e-06", True)]
            if n == 2:
                claims.append(claim("p.only-n2", eps, "≥ 0.1", eps >= 0.1))
            records.append(types.SimpleNamespace(parameters={"eps": eps, "n": n},
                                                 expected=(), claims=tuple(claims)))
    data = SweepData(Path("."), {}, ("eps", "n"), tuple(records))
    close, tiny, only = _figure_panels(data, plots_sweep)
    assert close.title == "close\nbound 1 ± 0.5" and close.xlabel == "eps"
    assert close.xlog and not close.ylog  # x spans 20× (> 10), the values 40× (< 100)
    one, two = close.series
    assert one.x == [0.05, 0.2, 1.0] and one.values == [0.05, 0.2, 1.0]
    assert one.passed == [False, False, True] and one.label == "n=1" and one.colour == 0
    assert one.bounds == [[0.5] * 3, [1.5] * 3] and two.values == [0.1, 0.4, 2.0]
    assert two.passed == [False, False, False] and two.colour == 1
    assert tiny.ylog and tiny.series[0].values == [1e-14] * 3  # drawn at the ledger's floor
    assert tiny.title == "tiny\nbound ≤ 1e-06 (log; values < 1e-14 drawn at it)"
    (series,) = only.series  # no point at n = 1: the one series keeps n = 2's colour
    assert series.label == "n=2" and series.colour == 1 and series.bounds == [[0.1] * 3]
    assert series.passed == [False, True, True]
