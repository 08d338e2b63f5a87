#!/usr/bin/env bash
# Install the reference dolma 1.2.1 into .bench/venvs/dolma-1.2.1 for side-by-side benchmarks.
# Uses --no-deps with the fully pinned list: a plain `pip install dolma==1.2.1` resolves for many minutes.
# Idempotent: does nothing when the venv exists and `dolma --help` works there.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${REPO_ROOT}/.bench/venvs/dolma-1.2.1"
# the fully pinned lists live in the repository, so the benchmarks can be rerun from it alone
REQUIREMENTS="${DOLMA_REFERENCE_REQUIREMENTS:-${REPO_ROOT}/benchmarks/reference/dolma-1.2.1-requirements.txt}"
# dolma's optional extras (language ID, code, WARC), which the golden_taggers_*.py scripts need
EXTRAS="$(dirname "${REQUIREMENTS}")/dolma-1.2.1-extras-requirements.txt"
PYTHON="${PYTHON:-python3}"

if [[ -x "${VENV}/bin/dolma" ]] && "${VENV}/bin/dolma" --help >/dev/null 2>&1; then
    echo "dolma 1.2.1 already installed at ${VENV}"
    exit 0
fi

if [[ ! -f "${REQUIREMENTS}" ]]; then
    echo "error: pinned requirements not found: ${REQUIREMENTS}" >&2
    echo "set DOLMA_REFERENCE_REQUIREMENTS to the dolma-1.2.1-requirements.txt file" >&2
    exit 1
fi

mkdir -p "$(dirname "${VENV}")"
"${PYTHON}" -m venv "${VENV}"
"${VENV}/bin/python" -m pip install -q --upgrade pip
"${VENV}/bin/python" -m pip install -q --no-deps -r "${REQUIREMENTS}"
if [[ -f "${EXTRAS}" ]]; then
    "${VENV}/bin/python" -m pip install -q --no-deps -r "${EXTRAS}"
fi
"${VENV}/bin/dolma" --help >/dev/null
echo "dolma 1.2.1 installed at ${VENV}"
