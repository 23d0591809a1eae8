#!/usr/bin/env bash
# One command: set everything up, then lint, run every test (unit oracles, command line and
# papermill reruns, nbval against the golden notebooks), and build the book with warnings as errors.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup-env.sh"
start=$SECONDS
ruff check lib tests bench
status=0
python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure here" >&2; exit 1
elif [ "$status" -ne 0 ]; then
  exit "$status"
fi
echo "test.sh: tests passed in $((SECONDS - start)) s; building the book (warnings are errors)"
jupyter-book build . --all -W --keep-going
selfdistill claims _build/claims
echo "test.sh: all checks passed in $((SECONDS - start)) s"
