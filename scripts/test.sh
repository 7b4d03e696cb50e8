#!/usr/bin/env bash
# The one command that runs every check of the project: Rust formatting, lints and
# tests, Python lint, building and installing the package, then the pytest suite twice
# (once with the default chunk size, once with tiny default chunks).
#
# Usage:  bash scripts/test.sh
# Needs:  the Rust toolchain (rustup) and Python 3.11 (python3.11 or python3 on PATH).
# It creates (or reuses) a virtual environment in .venv and installs pinned test
# dependencies into it; nothing is installed outside the repository.
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

step "rust toolchain components (rustfmt, clippy)"
if command -v rustup >/dev/null 2>&1; then
    installed="$(rustup component list --installed 2>/dev/null || true)"
    for component in rustfmt clippy; do
        if ! grep -q "^${component}" <<<"${installed}"; then
            rustup component add "${component}"
        fi
    done
fi
cargo --version

step "graphviz (dot), for the visualize tests"
# Debian's graphviz renders the task graph to SVG / PNG; without it those tests skip.
if ! command -v dot >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get install -y --no-install-recommends "graphviz=2.42.2-7+deb12u1" >/dev/null ||
        { apt-get update -qq && apt-get install -y --no-install-recommends \
            "graphviz=2.42.2-7+deb12u1" >/dev/null; } ||
        echo "warning: graphviz could not be installed; the SVG / PNG visualize tests will skip"
fi

step "python virtual environment (.venv)"
if [ ! -x .venv/bin/python ]; then
    "$(find_python)" -m venv .venv
fi
# Put the venv first on PATH: maturin's build backend runs the `maturin` executable.
export VIRTUAL_ENV="$(pwd)/.venv"
export PATH="${VIRTUAL_ENV}/bin:${PATH}"
PY="${VIRTUAL_ENV}/bin/python"
"${PY}" --version

step "install pinned build and test dependencies"
"${PY}" -m pip install --quiet --disable-pip-version-check \
    "maturin==1.16.0" \
    "numpy==2.4.6" \
    "pytest==8.4.2" \
    "hypothesis==6.170.17" \
    "dask[array]==2026.8.0" \
    "ruff==0.14.14" \
    "zarr==3.1.6" \
    "cloudpickle==3.1.3" \
    "joblib==1.6.0" \
    "scikit-learn==1.9.1" \
    "scipy==1.17.1" \
    "threadpoolctl==3.8.0" \
    "psutil==7.2.2" \
    "xarray==2026.9.0" \
    "pandas==3.1.1"

step "cargo fmt --all -- --check"
cargo fmt --all -- --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test --workspace"
cargo test --workspace

step "ruff check python bench"
"${PY}" -m ruff check python bench

step "build and install brickwork (pip install ., release build via maturin)"
# --no-build-isolation: build with the pinned maturin installed above. pip -v shows
# cargo's output; only its progress lines are shown (the whole log: .venv/build.log).
"${PY}" -m pip install -v --disable-pip-version-check \
    --no-build-isolation --no-deps --force-reinstall . 2>&1 | tee .venv/build.log |
    grep --line-buffered -E "Compiling|Finished|Built wheel|Successfully installed|error|warning: unused"

# Both pytest runs always run, so one CI log shows every failure. A fixed hypothesis seed
# makes the run reproducible; run pytest without it (or with
# --hypothesis-profile=thorough) to explore new examples.
failed=0
step "pytest python/tests"
"${PY}" -m pytest python/tests -q --hypothesis-seed=0 || failed=1

# The process-pool tests do not depend on chunk sizes: the second run skips them.
step "pytest python/tests --tiny-chunks (array tests)"
"${PY}" -m pytest python/tests -q --hypothesis-seed=0 --tiny-chunks \
    --ignore-glob='*/test_mp_*' || failed=1

# The array suite again on the loopback executor: every task, read, write and state
# through bytes, as on a remote worker (tiny chunks: many tasks per computation).
step "pytest python/tests --tiny-chunks --executor=loopback (array tests)"
"${PY}" -m pytest python/tests -q --hypothesis-seed=0 --tiny-chunks --executor=loopback \
    --ignore-glob='*/test_mp_*' || failed=1

if [ "${failed}" -ne 0 ]; then
    step "FAILED: see the pytest output above"
    exit 1
fi
step "all checks passed"
