"""What a sweep found: per claim, at how many grid points it held and where it failed.

:func:`sweep_summary` is the text ``selfdistill claims DIR`` prints for a sweep folder;
:func:`write_report` (``selfdistill report DIR``) writes ``report.md`` and ``report.csv`` (one row
per point and claim) and, for one or two swept parameters, ``region-of-validity.png``/``.svg``: each
claim's measured value over the grid with its bound. Reading needs neither torch nor Dask.
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

from selfdistill.core.ledger import (
    Claim,
    LedgerError,
    LedgerRecord,
    atomic_path,
    load_ledgers,
    write_text_atomic,
)

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
            why = r.run.get("error") or "it did not reach ledger.finish()"
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
        seen = sorted({str(r.run[key]) for r in records if r.run.get(key)})
        if seen:
            lines.append(f"- {label}: " + ", ".join(f"`{v}`" for v in seen))
    started = [r.run["started"] for r in records if r.run.get("started")]
    finished = [r.run["finished"] for r in records if r.run.get("finished")]
    if started and finished:
        lines.append(f"- points ran between `{min(started)}` and `{max(finished)}`")
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
    for key in ("command", "commit", "executor", "host", "machine", "python", "date"):
        if m.get(key):
            text.append(f"- {key}: `{m[key]}`")
    for key, label in (("versions", "versions"),):
        if isinstance(m.get(key), dict):
            text.append(f"- {label}: " + ", ".join(f"{k} {v}" for k, v in m[key].items()))
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


def _write_figure(data: SweepData, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from selfdistill.plots import (
        style as plot_style,  # the book's figure style: legible at the column's width
    )

    ids, (xname, *rest) = data.claim_ids(), data.names
    group = rest[0] if rest else None
    cols = min(2, len(ids))  # two panels a row: the text stays >= 8 pt in the book's column
    rows = math.ceil(len(ids) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(plot_style.MAX_WIDTH_INCHES, 2.5 * rows),
                             squeeze=False)
    groups = list(dict.fromkeys(r.parameters.get(group) for r in data.records)) if group \
        else [None]
    for ax, cid in zip(axes.flat, ids, strict=False):
        bound = ""
        levels: list[float] = []
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
            xs, vals = [x for x, _ in pts], [max(c.value, clip or -math.inf) for _, c in pts]
            line, = ax.plot(xs, vals, "-", color=f"C{k}", lw=1,
                            label=f"{group}={g}" if group else None)
            drawn = [_bound_lines(c.bound) for _, c in pts]
            if drawn[0] and all(len(d) == len(drawn[0]) for d in drawn):
                for j in range(len(drawn[0])):  # the bound at each point (it may vary)
                    ax.plot(xs, [d[j] for d in drawn], "--", color=line.get_color(), lw=1)
                levels += [v for d in drawn for v in d]
            ok = [(x, v) for (x, c), v in zip(pts, vals, strict=True) if c.passed]
            bad = [(x, v) for (x, c), v in zip(pts, vals, strict=True) if not c.passed]
            if ok:
                ax.plot(*zip(*ok, strict=True), "o", color=line.get_color(), ms=4)
            if bad:
                ax.plot(*zip(*bad, strict=True), "x", color="red", ms=8, mew=2)
        xs = [r.parameters.get(xname) for r in data.records]
        if all(isinstance(x, (int, float)) and x > 0 for x in xs) and max(xs) > 10 * min(xs):
            ax.set_xscale("log")
        vals = [c.value for r in data.records if (c := _claim(r, cid))]
        if clip or (vals and all(v > 0 for v in vals) and max(vals) > 100 * min(vals)
                    and all(v > 0 for v in levels)):
            ax.set_yscale("log")
        low = f" (log; values < {clip:.0e} drawn at it)" if clip and min(vals) < clip else ""
        ax.set_title(f"{cid.split('.', 1)[-1]}\nbound {bound}{low}")
        ax.set_xlabel(xname)
        if group and ax is axes.flat[0]:
            ax.legend()
    for ax in list(axes.flat)[len(ids):]:
        ax.set_visible(False)
    fig.suptitle("measured value (solid) over the grid; dashed: its bound; red ×: claim failed")
    fig.tight_layout()
    paths = [out / "region-of-validity.png", out / "region-of-validity.svg"]
    with atomic_path(paths[0]) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    with plt.rc_context({"svg.hashsalt": "selfdistill"}), atomic_path(paths[1]) as tmp:
        fig.savefig(tmp, metadata={"Date": None}, format="svg")  # the same SVG, same sweep
    plt.close(fig)
    return paths


def write_report(folder: Path, out: Path | None = None) -> list[Path]:
    """Write the sweep's tables (and its figure for one or two swept parameters).

    Another ``out`` than the sweep folder must be new, empty or a report folder of the same
    chapter (:func:`selfdistill.core.outdir.check_out_folder`).

    Parameters
    ----------
    folder : pathlib.Path
        The sweep folder.
    out : pathlib.Path, optional
        Where the report goes; the sweep folder when omitted.

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
    if 1 <= len(data.names) <= 2 and data.claim_ids():
        written += _write_figure(data, out)
    return written
