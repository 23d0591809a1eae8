"""The built book read in a real browser: headless Chromium through Playwright (marker ``browser``).

Every page of ``_build/html`` (or ``$SELFDISTILL_BOOK_HTML``) is served over a local HTTP server and
opened at 1280 px (a laptop) and 390 px (a phone). The tests fail on:

* at 1280 px, any equation, code block, cell output or table wider than its box or than the
  content column (the reader would have to scroll, or loses the right-hand side);
* at 390 px, a page that scrolls sideways, or a wide block that is clipped rather than scrolling
  inside its own box;
* console errors and uncaught JavaScript exceptions (at either width);
* links to missing files and anchors to missing ids; images without alt text; a second search box;
* figures whose smallest text is under 8 pt at the size the page shows them (1280 px);
* a claims ledger page whose chapters are not in the book's order.

The browser is the system Chromium (``apt-get install chromium``; ``scripts/setup-env.sh`` does it
when root), found on ``PATH`` or named by ``$CHROMIUM``; Playwright never downloads one. Without
Playwright, Chromium or a built book the tests skip and say why, except under ``CI=true``, where
they fail. ``python tests/core/test_browser.py [-v] [HTML]`` prints the counts per check and width
(``-v``: and each problem).
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import os
import re
import shutil
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest
import yaml

from selfdistill.core.build import toc_chapters

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("SELFDISTILL_BOOK_HTML", REPO / "_build" / "html"))
WIDE, PHONE = 1280, 390
#: folders of the build that hold assets, not pages
ASSETS = ("_static", "_sources", "_images", "_sphinx_design_static", "_panels_static")
#: the blocks that must never be clipped: (kind, CSS selector)
BLOCKS = (
    ("equation", "div.math, mjx-container[display='true']"),
    ("output", "div.cell_output pre, div.cell_output .text_html, div.cell_output .text_markdown"),
    ("code", "div.cell_input pre, div.highlight pre"),
    ("table", "table"),
)

MEASURE_JS = """
async (blocks) => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  const article = document.querySelector('.bd-article') || document.querySelector('main')
                  || document.body;
  const column = article.getBoundingClientRect();
  const found = new Map();  // one entry per outermost block (an equation is a div and its jax)
  for (const [kind, selector] of blocks) {
    for (const el of article.querySelectorAll(selector)) {
      let owner = el;
      for (let a = el.parentElement; a && a !== article; a = a.parentElement) {
        if (a.matches(selector)) owner = a;
      }
      const box = el.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) continue;  // hidden (a closed dropdown)
      // the frame a reader sees the block through: the block itself when it scrolls, else the
      // nearest ancestor that hides or scrolls overflow (if the block sticks out of it)
      let frame = el;
      if (!['auto', 'scroll'].includes(getComputedStyle(el).overflowX)) {
        for (let a = el.parentElement; a && a !== article; a = a.parentElement) {
          if (getComputedStyle(a).overflowX !== 'visible') {
            const r = a.getBoundingClientRect();
            if (box.right > r.right + 1 || box.left < r.left - 1) frame = a;
            break;
          }
        }
      }
      const ox = getComputedStyle(frame).overflowX;
      const scrolls = ['auto', 'scroll'].includes(ox);
      const fr = frame.getBoundingClientRect();
      // content wider than the frame (to scroll, or lost where the frame hides it)
      const inner = frame === el ? el.scrollWidth - el.clientWidth
                                 : Math.round(Math.max(box.right - fr.right, fr.left - box.left));
      // the frame itself out of the content column (drawn over the margin, or clipped by it)
      const spill = Math.round(Math.max(0, fr.right - column.right, column.left - fr.left));
      const clippedBy = scrolls ? null : (frame === el ? (ox === 'visible' ? null : 'itself')
                                                        : (frame.className || frame.tagName));
      if (inner > 1 || spill > 1) {
        const text = (el.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 70);
        const worst = found.get(owner);
        if (!worst || inner + spill > worst.inner + worst.spill) {
          found.set(owner, {kind, inner, spill, scrolls, clippedBy, text});
        }
      }
    }
  }
  const images = Array.from(document.querySelectorAll('img'))
    .filter(img => !(img.getAttribute('alt') || '').trim())
    .map(img => img.getAttribute('src'));
  const links = Array.from(document.querySelectorAll('a[href]')).map(a => a.href);
  const figures = Array.from(article.querySelectorAll('img'))
    .filter(img => (img.getAttribute('src') || '').endsWith('.svg'))
    .map(img => [new URL(img.src).pathname, img.getBoundingClientRect().width]);
  const sideways = document.documentElement.scrollWidth - window.innerWidth;
  const searches = Array.from(document.querySelectorAll('.search-button-field'))
    .filter(el => el.getBoundingClientRect().width > 0).length;
  return {found: Array.from(found.values()), images, links, sideways, searches, figures};
}
"""


@dataclass
class PageReport:
    """What one page showed at one width."""

    page: str
    width: int
    blocks: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    sideways: int = 0
    searches: int = 0
    figures: list = field(default_factory=list)


def chromium_path() -> str | None:
    """The system Chromium: ``$CHROMIUM`` or the first of the usual names on ``PATH``."""
    named = os.environ.get("CHROMIUM")
    if named:
        return named if Path(named).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def redirect(path: Path) -> str | None:
    """The target of a redirecting page (``<meta http-equiv="Refresh">``), else None."""
    head = path.read_text(encoding="utf-8", errors="replace")[:500]
    if 'http-equiv="refresh"' not in head.lower():
        return None
    return head.split("url=", 1)[1].split('"', 1)[0]


def book_pages(root: Path) -> list[str]:
    """Every HTML page of the build (not redirects), as paths relative to ``root``, sorted."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html")
                  if p.relative_to(root).parts[0] not in ASSETS and redirect(p) is None)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # noqa: D401 - silence the access log
        pass


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``root`` on a free local port; returns the server and its base URL."""
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def read_book(root: Path, widths: tuple[int, ...] = (WIDE, PHONE)) -> list[PageReport]:
    """Open every page at every width in headless Chromium and measure it."""
    from playwright.sync_api import sync_playwright

    server, base = serve(root)
    reports = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
            for width in widths:
                context = browser.new_context(viewport={"width": width, "height": 900})
                tab = context.new_page()
                errors: list[str] = []
                tab.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error"
                       else None)
                tab.on("pageerror", lambda exc, e=errors: e.append(f"uncaught: {exc}"))
                tab.on("response", lambda r, e=errors: e.append(f"HTTP {r.status}: {r.url}")
                       if r.status >= 400 else None)
                for page in book_pages(root):
                    errors.clear()
                    tab.goto(base + page, wait_until="load")
                    measured = tab.evaluate(MEASURE_JS, [list(b) for b in BLOCKS])
                    reports.append(PageReport(page, width, measured["found"], list(errors),
                                              measured["images"], measured["links"],
                                              measured["sideways"], measured["searches"],
                                              measured["figures"]))
                context.close()
            browser.close()
    finally:
        server.shutdown()
    return reports


class _Ids(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.ids.add(value)


@functools.cache
def page_ids(path: Path) -> frozenset[str]:
    """The ids (and ``name`` anchors) a page defines."""
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


#: the smallest text a figure may show, in points at the size the page displays it
MIN_FIGURE_PT = 8.0
_TEXT_SCALE = re.compile(r'transform="translate\([^)]*\) scale\(([0-9.]+) -[0-9.]+\)"')
_SVG_WIDTH = re.compile(r'<svg[^>]*\swidth="([0-9.]+)pt"')


def figure_text_sizes(svg: Path) -> tuple[float, list[float]]:
    """A Matplotlib SVG's width (pt) and the sizes (pt) of its text lines.

    Matplotlib draws text as glyph paths in a group ``translate(x y) scale(s -s)`` with
    ``s = size / 100``; sub- and superscripts inside maths are relative to that size.
    """
    text = svg.read_text(encoding="utf-8", errors="replace")
    width = _SVG_WIDTH.search(text)
    if width is None:
        return 0.0, []
    return float(width.group(1)), [100 * float(s) for s in _TEXT_SCALE.findall(text)]


def small_figure_text(root: Path, report: PageReport) -> list[str]:
    """Figures of one page whose smallest text is under :data:`MIN_FIGURE_PT` as displayed."""
    small = []
    for path, shown in report.figures:
        width_pt, sizes = figure_text_sizes(root / unquote(path).lstrip("/"))
        if not sizes or not width_pt or not shown:
            continue
        scale = shown / (width_pt * 4 / 3)  # CSS px per SVG px (1 pt = 4/3 px)
        smallest = min(sizes) * scale
        if smallest < MIN_FIGURE_PT - 0.05:
            small.append(f"{report.page}: {Path(path).name} text {smallest:.1f} pt as displayed "
                         f"({min(sizes):.1f} pt drawn, shown at {scale:.0%})")
    return small


def broken_links(root: Path, report: PageReport) -> list[str]:
    """Links of one page to files missing from the build, or to ids missing from their page."""
    broken = []
    for href in report.links:
        url, anchor = urldefrag(href)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.hostname != "127.0.0.1":
            continue  # external: the book is checked offline
        target = root / unquote(parts.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            broken.append(f"{report.page}: {href} (no such file)")
        elif anchor and target.suffix == ".html" and unquote(anchor) not in page_ids(target):
            broken.append(f"{report.page}: {href} (no such anchor)")
    return broken


def ledger_order(root: Path) -> list[str]:
    """Chapters in the order the claims page first links them."""
    text = (root / "book" / "claims.html").read_text(encoding="utf-8")
    order: list[str] = []
    for chunk in text.split('href="../notebooks/')[1:]:
        name = chunk.split(".html", 1)[0]
        if name not in order:
            order.append(name)
    return order


def _need_browser() -> None:
    """Skip (or, with ``CI=true``, fail) when the browser or the build is missing."""
    ci = os.environ.get("CI", "").lower() == "true"
    missing = None
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing = "playwright is not installed (pip install -e '.[test]')"
    if missing is None and chromium_path() is None:
        missing = ("no system chromium on PATH (apt-get install chromium, or set CHROMIUM); "
                   "Playwright must not download one")
    if missing is None and not (HTML / "index.html").exists():
        missing = f"no built book at {HTML} (run `selfdistill book` first)"
    if missing:
        if ci:
            pytest.fail(f"CI=true but {missing}")
        pytest.skip(missing)


@pytest.fixture(scope="module")
def reports() -> list[PageReport]:
    _need_browser()
    return read_book(HTML)


def _at(reports: list[PageReport], width: int) -> list[PageReport]:
    return [r for r in reports if r.width == width]


def _describe(report: PageReport, block: dict) -> str:
    how = "scrolls" if block["scrolls"] else f"clipped by {block['clippedBy'] or 'nothing'}"
    return (f"{report.page} {block['kind']}: {block['inner']} px wider than its box, "
            f"{block['spill']} px out of the column ({how}): {block['text']!r}")


@pytest.mark.parametrize("kind", [kind for kind, _ in BLOCKS])
def test_nothing_overflows_at_laptop_width(reports, kind):
    wide = [_describe(r, b) for r in _at(reports, WIDE) for b in r.blocks if b["kind"] == kind]
    assert not wide, f"{len(wide)} {kind} block(s) overflow at {WIDE} px:\n" + "\n".join(wide)


def test_phone_pages_never_scroll_sideways_or_clip(reports):
    bad = [f"{r.page}: the page scrolls {r.sideways} px sideways"
           for r in _at(reports, PHONE) if r.sideways > 1]
    bad += [_describe(r, b) for r in _at(reports, PHONE) for b in r.blocks
            if b["spill"] > 1 or (b["inner"] > 1 and not b["scrolls"])]
    assert not bad, f"{len(bad)} problem(s) at {PHONE} px:\n" + "\n".join(bad)


def test_no_console_errors(reports):
    errors = sorted({f"{r.page}: {e}" for r in reports for e in r.errors})
    assert not errors, f"{len(errors)} console error(s):\n" + "\n".join(errors[:60])


def test_one_search_box(reports):
    many = [f"{r.page}: {r.searches} search boxes" for r in _at(reports, WIDE) if r.searches > 1]
    assert not many, f"pages at {WIDE} px with a second search box:\n" + "\n".join(many)


def test_links_and_anchors_resolve(reports):
    broken = sorted({b for r in _at(reports, WIDE) for b in broken_links(HTML, r)})
    assert not broken, f"{len(broken)} broken link(s):\n" + "\n".join(broken[:60])


def test_images_have_alt_text(reports):
    bare = sorted({f"{r.page}: {src}" for r in _at(reports, WIDE) for src in r.images})
    assert not bare, f"{len(bare)} image(s) without alt text:\n" + "\n".join(bare)


def test_figure_text_legible_at_display_width(reports):
    small = sorted({f for r in _at(reports, WIDE) for f in small_figure_text(HTML, r)})
    assert not small, (f"{len(small)} figure(s) with text under {MIN_FIGURE_PT} pt at {WIDE} px:\n"
                       + "\n".join(small))


def test_claims_ledger_in_book_order(reports):
    book = [c for c in toc_chapters(REPO) if c in ledger_order(HTML)]
    assert ledger_order(HTML) == book, "the claims page lists chapters out of the book's order"


def test_every_toc_page_was_read(reports):
    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    read = {r.page for r in reports}
    missing = [f for f in files if f"{f}.html" not in read]
    assert not missing, f"pages of _toc.yml missing from the build: {missing}"


def test_chapter_downloads_are_jupyter_ready():
    """Each chapter's ``.ipynb`` download reads in plain Jupyter: no MyST roles or directives, no
    papermill metadata, no path of the build machine, and the run's outputs kept (no browser
    needed, only the build)."""
    if not (HTML / "index.html").exists():
        missing = f"no built book at {HTML} (run `selfdistill book` first)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {missing}")
        pytest.skip(missing)
    import json

    from selfdistill.core.notebook_export import build_paths, myst_leftovers

    problems = []
    for chapter in toc_chapters(REPO):
        path = HTML / "_sources" / "notebooks" / f"{chapter}.ipynb"
        if not path.is_file():
            problems.append(f"{chapter}: no download at {path.relative_to(HTML)}")
            continue
        text = path.read_text(encoding="utf-8")
        nb = json.loads(text)
        problems += [f"{chapter}: {left}" for left in myst_leftovers(nb)]
        problems += [f"{chapter}: names {p}" for p in build_paths(nb, [str(REPO), str(HTML)])]
        if "papermill" in text or "jupytext" in nb.get("metadata", {}):
            problems.append(f"{chapter}: papermill or Jupytext metadata left")
        if not any(c.get("outputs") for c in nb["cells"]):
            problems.append(f"{chapter}: no outputs (not the executed notebook)")
    assert not problems, "downloads not Jupyter-ready:\n" + "\n".join(problems[:40])


def main(argv: list[str]) -> int:
    """Print the counts per check and width (``-v``: and each problem)."""
    verbose = "-v" in argv
    paths = [a for a in argv if a != "-v"]
    root = Path(paths[0]) if paths else HTML
    reports = read_book(root)
    for width in (WIDE, PHONE):
        at = _at(reports, width)
        print(f"at {width} px over {len(at)} pages:")
        for kind, _ in BLOCKS:
            over = [b for r in at for b in r.blocks if b["kind"] == kind]
            clipped = [b for b in over if b["spill"] > 1 or not b["scrolls"]]
            print(f"  {kind:<9} overflowing {len(over):>4}   clipped (not scrolling) "
                  f"{len(clipped):>4}")
        print(f"  console errors {sum(len(r.errors) for r in at)}; pages scrolling sideways "
              f"{sum(r.sideways > 1 for r in at)}; images without alt "
              f"{sum(len(r.images) for r in at)}")
    print(f"broken links {len({b for r in _at(reports, WIDE) for b in broken_links(root, r)})}")
    small = sorted({f for r in _at(reports, WIDE) for f in small_figure_text(root, r)})
    print(f"figures with text under {MIN_FIGURE_PT} pt as displayed at {WIDE} px: {len(small)} of "
          f"{len({p for r in _at(reports, WIDE) for p, _ in r.figures})}")
    if verbose:
        print("  " + "\n  ".join(small))
    if verbose:
        for r in reports:
            if r.sideways > 1:
                print(f"  {r.width} {r.page}: the page scrolls {r.sideways} px sideways")
            for b in r.blocks:
                print(f"  {r.width} {_describe(r, b)}")
            for e in r.errors:
                print(f"  {r.width} {r.page}: console: {e[:150]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
