#!/usr/bin/env bash
# Create .venv in the repository root and install CalfCoach into it, idempotently.
# torch comes first and pinned: torch==2.13.0 is the CPU build (any other request pulls
# a multi-GB CUDA build). Re-runs are instant until pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
STAMP=.venv/.installed

if [[ -f "$STAMP" && "$STAMP" -nt pyproject.toml ]]; then
  exit 0
fi
if [[ ! -x .venv/bin/python ]]; then
  echo "==> creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
echo "==> installing torch==2.13.0 (CPU build)"
.venv/bin/pip install --disable-pip-version-check -q "torch==2.13.0"
echo "==> installing calfcoach and its test tools"
.venv/bin/pip install --disable-pip-version-check -q -e ".[test]"
touch "$STAMP"
echo "==> installed into .venv"
