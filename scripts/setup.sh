#!/usr/bin/env bash
# Create ./.venv (if missing) and install rlviz into it; "setup.sh test" adds the test tools
# (and Ray, for the Ray equality tests),
# "setup.sh mutation" the test tools and mutmut.
# PyTorch: a CPU build is enough. scripts/torch_command.py picks the PyTorch CPU wheel index
# when it answers within RLVIZ_TORCH_INDEX_TIMEOUT seconds (default 5), else pip's default
# index, and says which. Set RLVIZ_TORCH to choose the torch requirement (default
# "torch==2.13.0"; e.g. RLVIZ_TORCH="torch" for the newest release).
# "setup.sh --print-torch-command" prints the torch command and installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
python="${PYTHON:-python3}"
if [ "$extra" = "--print-torch-command" ]; then
    exec "$python" scripts/torch_command.py
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "rlviz needs Python >= 3.11; set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
    mapfile -t torch_install < <("$python" scripts/torch_command.py --lines)
    [ "${#torch_install[@]}" -gt 0 ] || { echo "scripts/torch_command.py printed no command" >&2; exit 1; }
    echo "installing: ${torch_install[*]}"
    "${torch_install[@]}"  # no -q: the wheel is large, pip shows its progress
fi
target="."
if [ "$extra" = "test" ]; then
    target=".[test,ray]"  # ray: CI tests that summaries on Ray equal the in-process ones
elif [ "$extra" = "mutation" ]; then  # the test tools plus mutmut, for scripts/mutation.sh
    target=".[test,mutation]"
fi
echo "installing rlviz${extra:+ with $extra extras} into .venv ..."
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
.venv/bin/python -m pip install --disable-pip-version-check --progress-bar on -e "$target"
