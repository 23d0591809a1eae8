#!/usr/bin/env bash
# One command: set everything up and build the book into _build/html (every chapter re-executed).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup-env.sh"
start=$SECONDS
jupyter-book build . --all -W --keep-going
echo "book built in $((SECONDS - start)) s: open $PWD/_build/html/index.html"
