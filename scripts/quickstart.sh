#!/usr/bin/env bash
# The main job: install brickwork into .venv and run the quick-start example, which
# prints brickwork's time beside NumPy's (and Dask's when it is installed).
#
# Usage:  bash scripts/quickstart.sh
# Needs:  the Rust toolchain (rustup) and Python 3.11 (python3.11 or python3 on PATH).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() {
    printf '\n==> %s\n' "$*"
}

find_python() {
    local candidate
    for candidate in python3.11 python3 python; do
        if command -v "${candidate}" >/dev/null 2>&1 &&
            "${candidate}" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "${candidate}"
            return 0
        fi
    done
    echo "error: Python >= 3.11 not found on PATH" >&2
    return 1
}

step "python virtual environment (.venv)"
if [ ! -x .venv/bin/python ]; then
    "$(find_python)" -m venv .venv
fi
# Put the venv first on PATH: maturin's build backend runs the `maturin` executable.
export VIRTUAL_ENV="$(pwd)/.venv"
export PATH="${VIRTUAL_ENV}/bin:${PATH}"
PY="${VIRTUAL_ENV}/bin/python"

step "install build dependencies"
"${PY}" -m pip install --quiet --disable-pip-version-check "maturin==1.16.0" "numpy==2.4.6" "cloudpickle==3.1.3"

step "build and install brickwork (pip install ., release build)"
echo "The first build compiles about 200 Rust crates: 5 to 10 minutes on 2 cores (later"
echo "builds are incremental). cargo's progress follows."
# pip -v shows cargo's output; only its progress lines are shown (the whole log: .venv/build.log).
"${PY}" -m pip install -v --disable-pip-version-check \
    --no-build-isolation --no-deps --force-reinstall . 2>&1 | tee .venv/build.log |
    grep --line-buffered -E "Compiling|Finished|Built wheel|Successfully installed|error|warning: unused"

step "python examples/quickstart.py"
"${PY}" examples/quickstart.py
