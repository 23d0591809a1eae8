#!/usr/bin/env bash
# The whole book as one PDF, _build/book.pdf: the executed chapters of the last `selfdistill book`
# (run scripts/book.sh first) rendered as one HTML page and printed by the system Chromium through
# Playwright after MathJax has typeset it. Needs `chromium` (apt-get install chromium); no LaTeX.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup-env.sh"
if [ ! -f _build/src/_config.yml ]; then
  echo "book-pdf: no staged book in _build/src; run bash scripts/book.sh first" >&2; exit 2
fi
jupyter-book build _build/src --path-output . --builder singlehtml -W --keep-going
python - <<'PY'
import sys
from pathlib import Path

sys.path.insert(0, "tests")
from playwright.sync_api import sync_playwright
from test_browser import chromium_path, redirect, serve  # the browser test's browser and server

root, out = Path("_build/singlehtml"), Path("_build/book.pdf")
# the one page sits at the root document's path (book/intro.html) but links as if at the root
single = root / (redirect(root / "index.html") or "index.html")
(root / "whole-book.html").write_bytes(single.read_bytes())
page_name = "whole-book.html"
if chromium_path() is None:
    sys.exit("book-pdf: no system chromium (apt-get install chromium, or set CHROMIUM)")
server, base = serve(root)
with sync_playwright() as pw:
    browser = pw.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
    page = browser.new_page()
    page.goto(base + page_name, wait_until="load")
    page.evaluate("async () => { if (window.MathJax && MathJax.startup) "
                  "await MathJax.startup.promise; await document.fonts.ready; }")
    page.emulate_media(media="print")
    page.pdf(path=str(out), format="A4", print_background=True,
             margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"})
    browser.close()
server.shutdown()
print(f"book-pdf: {out}")
PY
