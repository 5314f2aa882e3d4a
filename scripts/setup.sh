#!/usr/bin/env bash
# Create ./.venv (if missing) and install rlviz into it; "setup.sh test" adds the test tools (and Ray).
# PyTorch: a CPU build is enough. Set RLVIZ_TORCH to choose the torch requirement
# (default "torch==2.13.0"; e.g. RLVIZ_TORCH="torch" for the newest release).
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "rlviz needs Python >= 3.11; set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
    echo "installing PyTorch (${RLVIZ_TORCH:-torch==2.13.0}) ..."
    pip install "${RLVIZ_TORCH:-torch==2.13.0}"
fi
target="."
if [ "$extra" = "test" ]; then
    target=".[test,ray]"  # ray: CI tests that summaries on Ray equal the in-process ones
fi
echo "installing rlviz${extra:+ with $extra extras} into .venv ..."
pip install -e "$target"
# The report's browser tests drive a headless Chromium; install Debian's when we can (root with
# apt-get, as on CI), and do nothing when one is already there.
if [ "$extra" = "test" ] && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
        && ! command -v google-chrome >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing Chromium for the report's browser tests ..."
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
    else
        echo "no Chromium found: the report's browser tests will be skipped (install it: apt-get install chromium)" >&2
    fi
fi
