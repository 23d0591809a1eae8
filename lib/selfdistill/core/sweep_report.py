"""What a sweep found: per claim, at how many grid points it held and where it failed.

:func:`sweep_summary` is the text ``selfdistill claims DIR`` prints for a sweep folder;
:func:`write_report` (``selfdistill report DIR``) writes ``report.md`` and ``report.csv`` (one row
per point and claim) and, for one or two swept parameters, ``region-of-validity.png``/``.svg``: each
claim's measured value over the grid with its bound (the numbers are gathered here, the drawing is
:mod:`selfdistill.plots.sweep`, which the caller passes in: core imports no plots). Reading needs
neither torch nor Dask nor Matplotlib.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from selfdistill.core.claim import Claim
from selfdistill.core.ledger import LedgerError, LedgerRecord, load_ledgers
from selfdistill.core.provenance import atomic_path, write_text_atomic

__all__ = ["SweepData", "is_sweep", "read_manifest", "read_sweep", "sweep_summary", "write_report"]

#: the sweep's own record in its folder (not ``*.json``: ``selfdistill claims`` reads those)
MANIFEST = "sweep.yaml"


def read_manifest(path: Path, error: type[Exception] = LedgerError) -> dict[str, Any]:
    """A sweep's ``sweep.yaml`` as a mapping.

    Parameters
    ----------
    path : pathlib.Path
        The manifest file.
    error : type of Exception, default LedgerError
        The exception raised for a bad manifest.

    Returns
    -------
    dict
        The manifest's keys (``chapter``, ``grid``, …); empty when the file is empty.

    Raises
    ------
    Exception
        ``error`` (one line, naming the file) for one that cannot be read, is not YAML, or is not a
        mapping.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise error(f"{path} cannot be read as a sweep's record ({first[:80]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise error(f"{path} is not a sweep's record: it holds a {type(data).__name__}, not a "
                    "mapping (chapter, grid, ...); remove it or choose another folder")
    grid = data.get("grid")
    if grid is not None and not (isinstance(grid, dict) and all(
            isinstance(k, str) and isinstance(v, list) for k, v in grid.items())):
        raise error(f"{path} is not a sweep's record: its 'grid' is not a mapping of "
                    f"parameter names to lists of values ({str(grid)[:80]!r})")
    return data


def is_sweep(location: Path) -> bool:
    """True for a folder written by ``selfdistill sweep`` (it holds a ``sweep.yaml``).

    Parameters
    ----------
    location : pathlib.Path
        A folder.

    Returns
    -------
    bool
        Whether it is a sweep folder.
    """
    return (Path(location) / MANIFEST).is_file()


@dataclass(frozen=True)
class SweepData:
    """A sweep folder read back: its manifest, swept names and every point's ledger.

    Attributes
    ----------
    folder : pathlib.Path
        The sweep folder.
    manifest : dict
        Its ``sweep.yaml``.
    names : tuple of str
        The swept parameters.
    records : tuple of LedgerRecord
        Every point's ledger, in grid order.
    """

    folder: Path
    manifest: dict[str, Any]
    names: tuple[str, ...]
    records: tuple[LedgerRecord, ...]

    def point(self, record: LedgerRecord) -> str:
        """``eps=0.05, length=0.1``: where a record sits in the grid.

        Parameters
        ----------
        record : LedgerRecord
            A point's ledger.

        Returns
        -------
        str
            The swept parameters' values.
        """
        return ", ".join(f"{n}={record.parameters.get(n, '?')}" for n in self.names) \
            or record.path.parent.name

    def claim_ids(self) -> list[str]:
        """Every claim id of the points, each once, in first-seen order."""
        ids = [i for r in self.records for i in (*r.expected, *(c.id for c in r.claims))]
        return list(dict.fromkeys(ids))


def read_sweep(folder: Path) -> SweepData:
    """Read a sweep folder.

    Parameters
    ----------
    folder : pathlib.Path
        The folder ``selfdistill sweep`` wrote.

    Returns
    -------
    SweepData
        Its manifest and its points' ledgers.

    Raises
    ------
    LedgerError
        If it holds no finished run, or its manifest is bad.
    """
    folder = Path(folder)
    manifest: dict[str, Any] = {}
    if is_sweep(folder):
        manifest = read_manifest(folder / MANIFEST)
    records = tuple(r for r in load_ledgers(folder)  # not an attempt left by a killed sweep
                    if not any(part.startswith(".") for part in r.path.relative_to(folder).parts))
    if not records:
        raise LedgerError(f"{folder} holds no finished run of the sweep yet")
    names = tuple(manifest.get("grid") or ())
    if not names:  # not made by `selfdistill sweep`: the parameters that vary
        keys = list(dict.fromkeys(k for r in records for k in r.parameters))
        names = tuple(k for k in keys
                      if len({repr(r.parameters.get(k)) for r in records}) > 1)
    order = {n: [repr(v) for v in (manifest.get("grid") or {}).get(n, [])] for n in names}

    def place(n: str, v: Any) -> tuple[int, Any]:
        return (order[n].index(repr(v)), 0) if repr(v) in order[n] else (999, _sortable(v))

    key = [(tuple(place(n, r.parameters.get(n)) for n in names), str(r.path)) for r in records]
    records = tuple(r for _, r in sorted(zip(key, records, strict=True), key=lambda t: t[0]))
    return SweepData(folder, manifest, names, records)


def _sortable(value: Any) -> tuple[int, Any]:
    return (0, float(value)) if isinstance(value, (int, float)) else (1, str(value))  # type: ignore


def sweep_summary(data: SweepData) -> tuple[str, bool]:
    """Per claim: passed at how many points, and where it failed; then incomplete points.

    Parameters
    ----------
    data : SweepData
        The sweep read back.

    Returns
    -------
    text : str
        The summary, one line per claim and per incomplete point.
    passed : bool
        True when every point is complete and every claim passed everywhere.
    """
    n = len(data.records)
    grid = data.manifest.get("grid") or {}
    lines = [f"sweep of {data.manifest.get('chapter') or data.records[0].chapter}: {n} points"
             + (" over " + " × ".join(f"{k} ({len(v)})" for k, v in grid.items()) if grid
                else "")]
    rows = [("claim", "passed", "failed at")]
    for cid in data.claim_ids():
        held, where = 0, []
        for r in data.records:
            claim = next((c for c in r.claims if c.id == cid), None)
            if claim is not None and claim.passed:
                held += 1
            elif claim is not None:
                where.append(f"{data.point(r)} ({claim.shown_value()}, bound {claim.bound})")
            elif r.complete or cid in r.expected:
                where.append(f"{data.point(r)} (not checked)")
        rows.append((cid, f"{held}/{n}", "; ".join(where) or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines += [f"{row[0].ljust(widths[0])}  {row[1].rjust(widths[1])}  {row[2]}".rstrip()
              for row in rows]
    for r in data.records:
        if not r.complete:
            why = r.error or "it did not reach ledger.finish()"
            lines.append(f"INCOMPLETE {data.point(r)} ({r.path.parent}): {why}")
    bad = sum(not r.passed for r in data.records)
    lines.append(f"points: {n - bad} complete and passing, {bad} not")
    return "\n".join(lines), bad == 0


def _claim(record: LedgerRecord, cid: str) -> Claim | None:
    return next((c for c in record.claims if c.id == cid), None)


def _run_provenance(records: tuple[LedgerRecord, ...]) -> list[str]:
    """What the points' own ledgers say about where and when they ran (a resumed sweep may
    mix commits: each point's is listed once)."""
    lines = []
    for key, label in (("commit", "points ran at commit"), ("device", "device"),
                       ("device_name", "processor"), ("torch", "torch")):
        seen = sorted({str(v) for r in records
                       if (v := (r.run.get("versions") or {}).get(key) if key == "torch"
                           else r.run.get(key))})
        if seen:
            lines.append(f"- {label}: " + ", ".join(f"`{v}`" for v in seen))
    started = [r.run["started"] for r in records if r.run.get("started")]
    finished = [r.run["finished"] for r in records if r.run.get("finished")]
    if started and finished:
        lines.append(f"- points ran between `{min(started)}` and `{max(finished)}`")
    return lines


def _manifest_provenance(manifest: dict[str, Any]) -> list[str]:
    """The invocation's provenance record (:mod:`selfdistill.core.provenance`) as report lines;
    a manifest written before the record existed keeps its keys flat, with ``date`` for
    ``started``."""
    record = manifest.get("provenance")
    if not isinstance(record, dict):
        record = {**manifest, "started": manifest.get("date")}
    lines = []
    for key in ("command", "commit", "executor", "host", "machine", "python", "started",
                "finished"):
        value = manifest.get(key) if key == "executor" else record.get(key)
        if value:
            lines.append(f"- {key}: `{value}`")
    if isinstance(record.get("versions"), dict):
        lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in record["versions"].items()))
    return lines


def _write_tables(data: SweepData, out: Path) -> tuple[Path, Path]:
    csv_path, md_path = out / "report.csv", out / "report.md"
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    writer.writerow([*data.names, "claim", "value", "bound", "passed", "complete"])
    for r in data.records:
        for cid in data.claim_ids():
            c = _claim(r, cid)
            writer.writerow([*(r.parameters.get(n) for n in data.names), cid,
                             "" if c is None else repr(c.value),
                             "" if c is None else c.bound,
                             "" if c is None else c.passed, r.complete])
    write_text_atomic(csv_path, handle.getvalue())
    ids = data.claim_ids()
    m = data.manifest
    text = [f"# Sweep of `{m.get('chapter') or data.records[0].chapter}`", ""]
    text += _manifest_provenance(m)
    text += _run_provenance(data.records)
    summary, _ = sweep_summary(data)
    text += ["", "```text", summary, "```", "",
             "Each cell: the claim's measured value, ✓ where it held, **✗** where it failed.", ""]
    text.append("| " + " | ".join([*data.names, *(f"`{i}`" for i in ids)]) + " |")
    text.append("|" + "---|" * (len(data.names) + len(ids)))
    for r in data.records:
        cells = [str(r.parameters.get(n)) for n in data.names]
        for cid in ids:
            c = _claim(r, cid)
            cells.append("–" if c is None else
                         f"{c.shown_value()} {'✓' if c.passed else '**✗**'}")
        text.append("| " + " | ".join(cells) + " |")
    bounds = {}
    for cid in ids:
        seen = list(dict.fromkeys(c.bound for r in data.records if (c := _claim(r, cid))))
        bounds[cid] = seen[0] if len(seen) == 1 else "varies with the point (see report.csv)"
    text += ["", "Bounds: " + "; ".join(f"`{i}` {b}" for i, b in bounds.items()), ""]
    write_text_atomic(md_path, "\n".join(text))
    return csv_path, md_path


_BOUND = re.compile(r"^(≤|≥)\s*(\S+)$")
_CLOSE = re.compile(r"^(\S+)\s*±\s*(\S+)$")


def _bound_lines(bound: str) -> list[float]:
    """The numbers a bound text draws: ``≤ 0.05`` → [0.05]; ``1 ± 0.1`` → [0.9, 1.1]."""
    try:
        if match := _BOUND.match(bound):
            return [float(match.group(2))]
        if match := _CLOSE.match(bound):
            target, tol = float(match.group(1)), float(match.group(2))
            return [target - tol, target + tol]
    except ValueError:
        pass
    return []


def _log_clip(claims: list[Claim]) -> float | None:
    """For an upper bound ``≤ b`` far above values ≥ 0: the level below which values are drawn
    on a log axis (the claims' display floor, else b·1e-6); None for a linear axis."""
    bounds = {c.bound for c in claims}
    if len(bounds) != 1 or not (match := _BOUND.match(bounds.pop())) or match.group(1) != "≤":
        return None
    try:
        b = float(match.group(2))
    except ValueError:
        return None
    values = [c.value for c in claims]
    if b <= 0 or min(values) < 0 or max(values) > b / 30:
        return None
    return min(c.band() for c in claims)  # the ledger's one rounding rule


def _figure_panels(data: SweepData, kit: Any) -> list[Any]:
    """Each claim's values over the grid as ``kit.Panel`` (numbers and labels only; the drawing is
    ``kit.plot_region_of_validity``; ``kit`` is :mod:`selfdistill.plots.sweep`, passed in so that
    core imports no plots).

    The first swept parameter is the x axis, the second (if any) one series per value. A series
    draws its bound when every point's bound text gives the same number of lines. The x axis is
    logarithmic for positive values spanning more than a factor 10; the y axis for an upper bound
    far above values ≥ 0 (:func:`_log_clip`), or positive values and bounds spanning more than a
    factor 100.
    """
    Panel, Series = kit.Panel, kit.Series
    ids, (xname, *rest) = data.claim_ids(), data.names
    group = rest[0] if rest else None
    groups = list(dict.fromkeys(r.parameters.get(group) for r in data.records)) if group \
        else [None]
    panels = []
    for cid in ids:
        bound = ""
        levels: list[float] = []
        series = []
        clip = _log_clip([c for r in data.records if (c := _claim(r, cid))])
        for k, g in enumerate(groups):
            pts = [(r.parameters.get(xname), c) for r in data.records
                   if (c := _claim(r, cid)) is not None
                   and (group is None or r.parameters.get(group) == g)]
            pts = [(x, c) for x, c in pts if isinstance(x, (int, float))]
            if not pts:
                continue
            pts.sort(key=lambda t: t[0])
            bound = pts[0][1].bound
            drawn = [_bound_lines(c.bound) for _, c in pts]
            lines: list[list[float]] = []
            if drawn[0] and all(len(d) == len(drawn[0]) for d in drawn):
                lines = [[d[j] for d in drawn] for j in range(len(drawn[0]))]
                levels += [v for d in drawn for v in d]
            series.append(Series([x for x, _ in pts],
                                 [max(c.value, clip or -math.inf) for _, c in pts],
                                 [bool(c.passed) for _, c in pts], lines,
                                 f"{group}={g}" if group else None, k))
        xs = [r.parameters.get(xname) for r in data.records]
        xlog = all(isinstance(x, (int, float)) and x > 0 for x in xs) and max(xs) > 10 * min(xs)
        vals = [c.value for r in data.records if (c := _claim(r, cid))]
        ylog = bool(clip or (vals and all(v > 0 for v in vals) and max(vals) > 100 * min(vals)
                             and all(v > 0 for v in levels)))
        low = f" (log; values < {clip:.0e} drawn at it)" if clip and min(vals) < clip else ""
        panels.append(Panel(f"{cid.split('.', 1)[-1]}\nbound {bound}{low}", xname, series,
                            xlog, ylog))
    return panels


def _write_figure(data: SweepData, out: Path, kit: Any) -> list[Path]:
    """Draw the region-of-validity figure with ``kit`` (:mod:`selfdistill.plots.sweep`) and write
    it as ``region-of-validity.png`` and ``.svg`` into ``out``, atomically; the SVG is byte-stable
    (no date, a fixed hash salt). Matplotlib is imported only here, and no backend is chosen: the
    figure is drawn without pyplot."""
    import matplotlib

    fig = kit.plot_region_of_validity(_figure_panels(data, kit), legend=len(data.names) > 1)
    paths = [out / "region-of-validity.png", out / "region-of-validity.svg"]
    with atomic_path(paths[0]) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    with matplotlib.rc_context({"svg.hashsalt": "selfdistill"}), atomic_path(paths[1]) as tmp:
        fig.savefig(tmp, metadata={"Date": None}, format="svg")  # the same SVG, same sweep
    return paths


def write_report(folder: Path, out: Path | None = None, *, figures: Any = None) -> list[Path]:
    """Write the sweep's tables (and its figure for one or two swept parameters).

    The figure is drawn by ``figures``, the module :mod:`selfdistill.plots.sweep` (the command line
    passes it; core imports no plots); without it only the tables are written.

    Another ``out`` than the sweep folder must be new, empty or a report folder of the same
    chapter (:func:`selfdistill.core.outdir.check_out_folder`).

    Parameters
    ----------
    folder : pathlib.Path
        The sweep folder.
    out : pathlib.Path, optional
        Where the report goes; the sweep folder when omitted.
    figures : module, optional
        :mod:`selfdistill.plots.sweep` (``Panel``, ``Series``, ``plot_region_of_validity``).

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    LedgerError
        If the sweep holds no finished run.
    ParameterError
        If ``out`` holds anything else.
    """
    from selfdistill.core.outdir import check_out_folder, write_marker

    data = read_sweep(folder)
    chapter = str(data.manifest.get("chapter") or data.records[0].chapter)
    if out is None or (str(out) and Path(out).resolve() == Path(folder).resolve()):
        out = Path(folder)
    else:
        out = check_out_folder(out, "report", chapter)
        out.mkdir(parents=True, exist_ok=True)
        write_marker(out, "report", chapter)
    out.mkdir(parents=True, exist_ok=True)
    written = list(_write_tables(data, out))
    if figures is not None and 1 <= len(data.names) <= 2 and data.claim_ids():
        written += _write_figure(data, out, figures)
    return written
