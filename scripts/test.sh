#!/usr/bin/env bash
# One command: set everything up, then lint, run every test on all cores (unit oracles, command
# line on a fixture chapter, nbval against the golden notebooks), run every chapter once and build
# the book with warnings as errors, check the claims ledger, read every page in headless Chromium
# (tests/core/test_browser.py), and print each chapter's time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup-env.sh"
start=$SECONDS
workers=$(python -c 'import os; print(os.cpu_count() or 1)')
ruff check lib tests bench
status=0
python -m pytest -n "$workers" --dist loadfile -m "not browser" "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure here" >&2; exit 1
elif [ "$status" -ne 0 ]; then
  exit "$status"
fi
echo "test.sh: tests passed in $((SECONDS - start)) s; running the chapters and building the book"
selfdistill book --jobs "$workers"
selfdistill claims _build/claims
# the built book in headless Chromium (skips without chromium, except with CI=true)
python -m pytest -n 0 -m browser tests/core/test_browser.py
echo "test.sh: chapter times at book scale (budget per chapter in seconds):"
cat _build/timings.txt
echo "test.sh: all checks passed in $((SECONDS - start)) s"
