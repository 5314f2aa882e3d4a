#!/usr/bin/env bash
# Create ./.venv (if missing) and install rlviz into it; "setup.sh test" adds the test tools,
# "setup.sh mutation" the test tools and mutmut.
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
    target=".[test]"
elif [ "$extra" = "mutation" ]; then  # the test tools plus mutmut, for scripts/mutation.sh
    target=".[test,mutation]"
fi
echo "installing rlviz${extra:+ with $extra extras} into .venv ..."
pip install -e "$target"
