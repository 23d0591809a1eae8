"""Command line: ``selfdistill list | run | claims | golden``.

* ``selfdistill list`` — the chapters, each with its parameters, defaults, accepted values, meaning.
* ``selfdistill run CHAPTER [-p NAME VALUE ...] [--out DIR]`` — check the parameters against the
  chapter's ``parameters`` cell (nothing runs if one is unknown or out of range), run the notebook
  through papermill, write ``DIR/CHAPTER.ipynb`` and ``DIR/claims.json``, print the claims.
* ``selfdistill claims [LOCATION]`` — the ledger as a table; exit status 1 if a claim failed.
* ``selfdistill golden [CHAPTER ...]`` — regenerate the approved golden notebooks for nbval.

Exit status: 0 success, 1 a claim or a cell failed, 2 a usage or parameter error.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from .chapters import Chapter, ParameterError, find_chapters
from .claims import Claim, load_claims

__all__ = ["main"]

CHECK_TAG = "nbval-check-output"


def _chapter(name: str) -> Chapter:
    chapters = find_chapters()
    if name not in chapters:
        raise ParameterError(f"unknown chapter '{name}'; chapters: {', '.join(chapters)}")
    return chapters[name]


def format_claims(claims: list[Claim]) -> str:
    """The claims as an aligned text table with a closing count."""
    rows = [("status", "claim", "provenance", "measured", "bound")]
    rows += [("PASS" if c.passed else "FAIL", c.id, c.provenance, c.shown_value(), c.bound)
             for c in claims]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    failed = sum(not c.passed for c in claims)
    lines.append(f"claims: {len(claims) - failed} passed, {failed} failed")
    return "\n".join(lines)


def execute(chapter: Chapter, parameters: dict, output: Path, claims_file: Path,
            progress: bool = False) -> None:
    """Run a chapter through papermill; the executed notebook lands at ``output`` atomically."""
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    claims_file.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.stem}.", suffix=".ipynb")
    os.close(fd)
    previous = os.environ.get("SELFDISTILL_CLAIMS_FILE")
    os.environ["SELFDISTILL_CLAIMS_FILE"] = str(claims_file.resolve())
    try:
        papermill.execute_notebook(
            chapter.notebook(), tmp, parameters=parameters, cwd=str(chapter.path.parent),
            kernel_name="python3", progress_bar=progress, log_output=False,
            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no kernel chatter in the output
        )
    finally:
        if previous is None:
            os.environ.pop("SELFDISTILL_CLAIMS_FILE", None)
        else:
            os.environ["SELFDISTILL_CLAIMS_FILE"] = previous
        if Path(tmp).stat().st_size > 0:
            os.replace(tmp, output)
        else:
            Path(tmp).unlink(missing_ok=True)


def _cmd_list(_: argparse.Namespace) -> int:
    for chapter in find_chapters().values():
        print(f"{chapter.name}: {chapter.title}")
        for p in chapter.parameters().values():
            print(f"  -p {p.name} {p.default!r}  ({p.accepted()}) {p.meaning}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    chapter = _chapter(args.chapter)
    values = chapter.convert([(name, value) for name, value in args.parameter])
    out = Path(args.out or Path("runs") / chapter.name)
    claims_file = out / "claims.json"
    print(f"running {chapter.name} with {values or 'default parameters'} -> {out}/", flush=True)
    try:
        execute(chapter, values, out / f"{chapter.name}.ipynb", claims_file,
                progress=sys.stderr.isatty())
    except Exception as err:  # papermill raises its own error type for a failing cell
        print(f"selfdistill: the chapter failed: {type(err).__name__}: {str(err)[-2000:]}",
              file=sys.stderr)
        if claims_file.exists():
            print(format_claims(load_claims(claims_file)))
        return 1
    claims = load_claims(claims_file)
    print(format_claims(claims))
    return 0 if claims and all(c.passed for c in claims) else 1


def _cmd_claims(args: argparse.Namespace) -> int:
    location = Path(args.location)
    if not location.exists():
        print(f"selfdistill: no claims at {location}", file=sys.stderr)
        return 2
    claims = load_claims(location)
    if not claims:
        print(f"selfdistill: {location} holds no claims", file=sys.stderr)
        return 2
    print(format_claims(claims))
    return 0 if all(c.passed for c in claims) else 1


def golden_notebook(chapter: Chapter, folder: Path) -> Path:
    """Execute a chapter with its defaults; keep outputs (and a stable execution count) only of
    the cells tagged for nbval, so the file changes only when an approved output does."""
    import nbformat

    target = folder / f"{chapter.name}.ipynb"
    with tempfile.TemporaryDirectory() as scratch:
        executed = Path(scratch) / "executed.ipynb"
        execute(chapter, {}, executed, Path(scratch) / "claims.json")
        nb = nbformat.read(executed, as_version=4)
    for index, cell in enumerate(nb.cells):  # no timings, no random ids: a stable file
        cell.id = f"cell-{index}"
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    for count, cell in enumerate(code_cells, start=1):
        checked = CHECK_TAG in cell.metadata.get("tags", [])
        # nbval compares only reference cells that ran: a stable count marks them as run
        cell.execution_count = count if checked else None
        if not checked:
            cell.outputs = []
    nb.metadata.pop("papermill", None)
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


def _cmd_golden(args: argparse.Namespace) -> int:
    names = args.chapters or list(find_chapters())
    folder = Path(__file__).resolve().parents[2] / "tests" / "golden"
    for name in names:
        print(f"golden: {golden_notebook(_chapter(name), folder)}")
    print("review the diff (git diff tests/golden) and commit it: that is the approval")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="selfdistill",
        description="Run and check the chapters of the self-distillation companion.",
        epilog="examples:\n  selfdistill list\n"
               "  selfdistill run greens-function -p eps 0.02 --out runs/eps-0.02\n"
               "  selfdistill claims runs/eps-0.02\n"
               "exit status: 0 success, 1 a claim or a cell failed, 2 a usage or parameter error",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="chapters and their parameters").set_defaults(func=_cmd_list)
    run = sub.add_parser("run", help="run a chapter with new parameters (papermill)")
    run.add_argument("chapter")
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                     metavar=("NAME", "VALUE"), help="set a parameter (repeatable)")
    run.add_argument("--out", help="output folder (default: runs/CHAPTER)")
    run.set_defaults(func=_cmd_run)
    claims = sub.add_parser("claims", help="show a claims ledger; exit 1 if a claim failed")
    claims.add_argument("location", nargs="?", default="_build/claims",
                        help="a claims.json file or a folder of them (default: _build/claims)")
    claims.set_defaults(func=_cmd_claims)
    golden = sub.add_parser("golden", help="regenerate approved golden notebooks (then commit)")
    golden.add_argument("chapters", nargs="*", help="chapter names (default: all)")
    golden.set_defaults(func=_cmd_golden)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``selfdistill`` command."""
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except (ParameterError, FileNotFoundError) as err:
        print(f"selfdistill: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
