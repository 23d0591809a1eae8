#!/usr/bin/env bash
# One command: set everything up, run every chapter once (one worker per core) and build the book
# into _build/html. Extra arguments go to `selfdistill book` (e.g. --jobs 1, or chapter names).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup-env.sh"
selfdistill book "$@"
