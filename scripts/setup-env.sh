#!/usr/bin/env bash
# Create .venv and install the project with its book and test extras. Sourced by book.sh and
# test.sh; reinstalls only when pyproject.toml or the torch request changed. As root, installs the
# system chromium (apt-get) for the browser tests when it is missing.
#   SELFDISTILL_TORCH  what to ask pip for torch (default torch==2.13.0; e.g. a CUDA build's spec)
#   PYTHON             the interpreter that creates the venv (default python3, needs >= 3.10)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python_cmd=${PYTHON:-python3}
torch_spec=${SELFDISTILL_TORCH:-torch==2.13.0}
"$python_cmd" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
  echo "setup-env: $python_cmd is older than 3.10; set PYTHON to a newer interpreter" >&2; exit 2; }
[ -x .venv/bin/python ] || "$python_cmd" -m venv .venv
stamp=.venv/.selfdistill-installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $torch_spec"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup-env: installing $torch_spec and selfdistill[book,test,sweep] into .venv"
  .venv/bin/python -m pip install --quiet "$torch_spec"
  .venv/bin/python -m pip install --quiet -e ".[book,test,sweep]"
  echo "$want" > "$stamp"
fi
# the browser tests (tests/core/test_browser.py) drive the system chromium; Playwright never downloads one
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
   && [ -z "${CHROMIUM:-}" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup-env: installing the system chromium for the browser tests (at most 10 minutes)"
  timeout 600 sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends chromium' >/dev/null 2>&1 \
    || echo "setup-env: could not install chromium; the browser tests will skip" >&2
fi
export PATH="$PWD/.venv/bin:$PATH"
