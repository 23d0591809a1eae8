"""Command line: ``selfdistill list | run | claims | book | golden | sweep | report``.

* ``selfdistill list`` — the chapters, each with its parameters, defaults, accepted values, meaning.
* ``selfdistill run CHAPTER [-p NAME VALUE ...] [--out DIR]`` — check the parameters against the
  chapter's ``parameters`` cell (nothing runs if one is unknown or out of range), run the notebook
  through papermill atomically (:mod:`selfdistill.core.runner`), print the claims.
* ``selfdistill claims [LOCATION]`` — the ledger as a table; exit 1 if a claim failed, a run is
  incomplete or a declared claim is missing.
* ``selfdistill book [--jobs N]`` — run every chapter once (in parallel) and build the book.
* ``selfdistill golden [CHAPTER ...]`` — regenerate the approved golden notebooks for nbval.
* ``selfdistill sweep CHAPTER -p NAME V1,V2,... [--seeds 0-4] --out DIR [--dask [ADDRESS]]
  [--connect-timeout S] [--allow-large] [--extend]`` — the chapter at every point of a grid
  (:mod:`selfdistill.core.sweep`); rerun to resume.
* ``selfdistill report DIR`` — a sweep's table and region-of-validity figure
  (:mod:`selfdistill.core.sweep_report`); ``selfdistill claims DIR`` summarises a sweep per claim.

Exit status: 0 success; 1 a claim or a cell failed, or a run is incomplete; 2 a usage error
(refused before anything runs, or an unreadable ledger); 130 interrupted; 141 the reader of the
output went away (``selfdistill list | head``). ``--out`` is a new or empty folder or one this
tool wrote (:mod:`selfdistill.core.outdir`). This module parses and
reports; it imports torch only when a chapter actually runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from selfdistill.core.chapters import ParameterError, find_chapters, get_chapter, shorten
from selfdistill.core.claim import Claim
from selfdistill.core.ledger import LedgerError, LedgerRecord, load_ledgers

__all__ = ["format_claims", "main"]


def format_claims(claims: list[Claim]) -> str:
    """The claims as an aligned text table with a closing count.

    Parameters
    ----------
    claims : list of Claim
        The claims (:class:`~selfdistill.core.ledger.Claim`), in table order.

    Returns
    -------
    str
        One row per claim (status, id, provenance, measured value, bound) under a header, then
        ``claims: N passed, M failed``.
    """
    rows = [("status", "claim", "provenance", "measured", "bound")]
    rows += [("PASS" if c.passed else "FAIL", c.id, c.provenance, c.shown_value(), c.bound)
             for c in claims]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    failed = sum(not c.passed for c in claims)
    lines.append(f"claims: {len(claims) - failed} passed, {failed} failed")
    return "\n".join(lines)


def format_ledgers(records: list[LedgerRecord]) -> tuple[str, bool]:
    """The claims of several runs, with a line for each incomplete run or missing claim."""
    claims = [c for r in records for c in r.claims]
    problems = []
    for r in records:
        if not r.complete:
            why = r.error or "it did not reach ledger.finish()"
            problems.append(f"INCOMPLETE {r.chapter} ({r.path}): {why}")
        if r.missing:
            problems.append(f"MISSING {r.chapter}: declared claims never checked: "
                            + ", ".join(r.missing))
        problems += [f"{p} ({r.path})" for p in r.problems]
    lines = [format_claims(claims), *problems]
    bad_runs = sum(not r.passed for r in records)
    lines.append(f"runs: {len(records) - bad_runs} complete and passing, {bad_runs} not")
    return "\n".join(lines), bad_runs == 0


def _cmd_list(_: argparse.Namespace) -> int:
    for chapter in find_chapters().values():
        print(f"{chapter.name}: {chapter.title}")
        for p in chapter.parameters().values():
            print(f"  -p {p.name} {p.default!r}  ({p.accepted()}) {p.meaning}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from selfdistill.core.runner import RunJob, check_device, check_out, run_chapter

    chapter = get_chapter(args.chapter)
    values = chapter.convert([(name, value) for name, value in args.parameter])
    out = check_out(Path("runs") / chapter.name if args.out is None else args.out, chapter.name)
    check_device(chapter, values)
    params = chapter.parameters()
    if "scale" in params and values.get("scale", params["scale"].default) == "paper":
        # only a paper-scale request imports the training packages (and torch)
        from selfdistill.training.protocol import check_paper_data

        check_paper_data(chapter, values)
    given = Path("runs") / chapter.name if args.out is None else Path(args.out)
    through = f" (a symlink: written through to {out}/)" if given.is_symlink() else ""
    print(f"running {chapter.name} with {shorten(str(values or 'default parameters'), 400)} "
          f"-> {given}/{through}", flush=True)
    result = run_chapter(RunJob(chapter, values, out), progress=sys.stderr.isatty())
    if not result.ok:
        print(f"selfdistill: {chapter.name} {result.status} after {result.seconds:.1f} s: "
              f"{result.message}", file=sys.stderr)
        if result.kept_previous:
            print(f"selfdistill: the previous result in {out}/ was left untouched; this attempt "
                  "was discarded", file=sys.stderr)
        else:
            print(f"selfdistill: the failed attempt (notebook and incomplete ledger) is in {out}/",
                  file=sys.stderr)
    records = [] if result.kept_previous else load_ledgers(out / "claims.json")
    if records:
        text, _ = format_ledgers(records)
        print(text)
    print(f"{chapter.name}: {result.status} in {result.seconds:.1f} s")
    return 0 if result.ok else 1


def _cmd_claims(args: argparse.Namespace) -> int:
    from selfdistill.core.sweep_report import is_sweep, read_sweep, sweep_summary

    if is_sweep(Path(args.location)):  # per claim: at how many points it held, where it failed
        text, ok = sweep_summary(read_sweep(Path(args.location)))
        print(text)
        return 0 if ok else 1
    records = load_ledgers(Path(args.location))
    text, ok = format_ledgers(records)
    print(text)
    return 0 if ok else 1


def _cmd_book(args: argparse.Namespace) -> int:
    from selfdistill.core.build import build_book
    from selfdistill.core.paths import repository_root

    root = repository_root()
    if root is None:
        raise ParameterError("selfdistill book runs in a checkout of the repository")
    return build_book(root, workers=args.jobs, chapters=args.chapters or None)


def _cmd_golden(args: argparse.Namespace) -> int:
    from selfdistill.core.golden import write_golden

    chapters = [get_chapter(name) for name in args.chapters] or list(find_chapters().values())
    for chapter in chapters:
        print(f"golden: {write_golden(chapter)}")
    print("review the diff (git diff tests/golden) and commit it: that is the approval")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from selfdistill.core import sweep as sw

    try:
        timeout = sw.check_connect_timeout(sw.CONNECT_TIMEOUT if args.connect_timeout is None
                                           else args.connect_timeout)
    except ValueError as err:  # a usage error: said as the option, with the accepted range
        raise ParameterError(f"--connect-timeout: {shorten(str(err), 200)}; e.g. "
                             "--connect-timeout 30") from None
    chapter = get_chapter(args.chapter)
    if not args.out.strip():  # Path("") would silently mean the working folder
        raise ParameterError(f"--out {args.out!r} is empty; give a new or empty folder, or a "
                             "sweep folder selfdistill wrote")
    sweep = sw.plan_sweep(chapter, args.parameter, args.seeds, Path(args.out),
                          argv=tuple(sys.argv[1:]), allow_large=args.allow_large,
                          extend=args.extend)
    client = None
    if args.dask is not None:  # an unreachable scheduler is refused before any point runs
        client = sw.connect_dask(args.dask or None, args.jobs, timeout=timeout)
    executor = "dask" if client is not None else "local"
    workers = len(client.scheduler_info()["workers"]) if client else args.jobs or sw._cores()
    print(f"sweep of {chapter.name}: {sw.estimate(sweep, workers)} -> {sweep.out}/ "
          f"({executor})", flush=True)
    try:
        outcome = sw.run_sweep(sweep, executor=executor, workers=args.jobs, client=client)
    finally:
        if client is not None:
            cluster = client.cluster if args.dask == "" else None
            client.close()
            if cluster is not None:
                cluster.close()
    print(f"{len(outcome.results)} points run ({len(outcome.failed)} failed), "
          f"{len(outcome.skipped)} already complete and passing, in {outcome.seconds:.1f} s")
    print(f"next: selfdistill claims {sweep.out}   selfdistill report {sweep.out}")
    return 1 if outcome.failed else 0


def _cmd_report(args: argparse.Namespace) -> int:
    from selfdistill.core.sweep_report import write_report
    from selfdistill.plots import sweep as figures

    for path in write_report(Path(args.location), None if args.out is None else args.out,
                             figures=figures):
        print(f"report: {path}")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, with echoed values cut in its error messages (a 100,000-character value)."""

    def error(self, message: str):  # type: ignore[override]
        super().error(shorten(message, 300))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--jobs = {shorten(repr(text))} is not an integer "
                                         "(at least 1)") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--jobs = {value} must be at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="selfdistill",
        description="Run and check the chapters of the self-distillation companion.",
        epilog="examples:\n  selfdistill list\n"
               "  selfdistill run greens-function -p eps 0.02 --out runs/eps-0.02\n"
               "  selfdistill claims runs/eps-0.02\n"
               "  selfdistill book --jobs 2\n"
               "  selfdistill sweep greens-function -p eps 0.02,0.1 --out runs/sweep\n"
               "exit status: 0 success, 1 a claim or a cell failed or a run is incomplete,\n"
               "2 a usage or parameter error (nothing ran), 130 interrupted",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="chapters and their parameters").set_defaults(func=_cmd_list)
    run = sub.add_parser("run", help="run a chapter with new parameters (papermill)")
    run.add_argument("chapter")
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                     metavar=("NAME", "VALUE"), help="set a parameter (repeatable)")
    run.add_argument("--out", help="output folder (default: runs/CHAPTER); replaced only when "
                                   "the run passes")
    run.set_defaults(func=_cmd_run)
    claims = sub.add_parser("claims", help="show a claims ledger; exit 1 if a claim failed")
    claims.add_argument("location", nargs="?", default="_build/claims",
                        help="a claims.json file or a folder of them (default: _build/claims)")
    claims.set_defaults(func=_cmd_claims)
    book = sub.add_parser("book", help="run every chapter once (in parallel), build the book")
    book.add_argument("--jobs", type=_positive_int, help="parallel chapters (default: cores)")
    book.add_argument("chapters", nargs="*", help="only these chapters (default: the _toc.yml)")
    book.set_defaults(func=_cmd_book)
    sweep = sub.add_parser("sweep", help="run a chapter over a grid of parameters")
    sweep.add_argument("chapter")
    sweep.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                       metavar=("NAME", "V1,V2,..."), help="values of a parameter (repeatable; "
                                                           "the grid is the product)")
    sweep.add_argument("--seeds", help="seeds LOW-HIGH (0-4), where the chapter has 'seed'")
    sweep.add_argument("--out", required=True, help="the sweep's folder (one run folder per "
                                                    "point; rerun to resume)")
    sweep.add_argument("--jobs", type=_positive_int, help="parallel points (default: cores)")
    sweep.add_argument("--dask", nargs="?", const="", default=None, metavar="ADDRESS",
                       help="run on Dask: a new local cluster, or the scheduler at ADDRESS")
    sweep.add_argument("--connect-timeout", metavar="SECONDS",
                       help="seconds to wait for the Dask scheduler at ADDRESS (default 10)")
    sweep.add_argument("--allow-large", action="store_true",
                       help="allow a grid of more than 500 points")
    sweep.add_argument("--extend", action="store_true",
                       help="add points to the sweep in --out over another grid of the same "
                            "parameters")
    sweep.set_defaults(func=_cmd_sweep)
    report = sub.add_parser("report", help="a sweep's table and region-of-validity figure")
    report.add_argument("location", help="a sweep folder")
    report.add_argument("--out", help="where to write (default: the sweep folder)")
    report.set_defaults(func=_cmd_report)
    golden = sub.add_parser("golden", help="regenerate approved golden notebooks (then commit)")
    golden.add_argument("chapters", nargs="*", help="chapter names (default: all)")
    golden.set_defaults(func=_cmd_golden)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``selfdistill`` command (``list``, ``run``, ``sweep``, ``claims``, …).

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the command's name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        The exit status: 0 passed, 1 a claim or cell failed or a run is incomplete, 2 a usage error,
        130 interrupted.
    """
    args = _parser().parse_args(argv)
    try:
        status = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not as a message at interpreter exit
        return status
    except (ParameterError, LedgerError, FileNotFoundError) as err:
        print(f"selfdistill: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `selfdistill list | head`: the reader left; go quietly, like
        # Unix tools killed by SIGPIPE (status 128 + 13), and let nothing flush into the pipe
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("selfdistill: interrupted; finished results are intact, the interrupted run was "
              "discarded or left marked incomplete", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
