#!/usr/bin/env bash
# Run the whole test suite from scratch: venv, lint, types, the real OpenClaw, tests.
# Used by CI (.ci/run) and by a newcomer (README quick start). Idempotent and offline-safe
# once the packages are cached.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
VENV="${INFRA_VENV:-$REPO/.venv}"

PY="${INFRA_PYTHON:-python3}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# exactly this torch first: a CPU wheel; anything else would pull gigabytes of CUDA
"$VENV/bin/python" -m pip install -q "torch==2.13.0"
"$VENV/bin/python" -m pip install -q -e ".[voice,test]"
"$VENV/bin/python" -c "import torch, sentence_transformers, faiss, anthropic, faster_whisper, whisper"

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PATH="$VENV/bin:$PATH"
echo "== ruff"; ruff check src tests benchmarks; ruff format --check src tests benchmarks
echo "== mypy"; mypy
# the real OpenClaw for tests/openclaw_it (Node 24 + openclaw from npm, cached between runs)
echo "== openclaw under test"; "$REPO/scripts/openclaw-under-test.sh" >/dev/null
# the real restic for tests/ops/test_offsite.py (off-site copies); Debian's package is 0.14
echo "== restic"
if ! command -v restic >/dev/null; then
  if [ "$(uname)" = Darwin ]; then
    echo "restic is missing: brew install restic (tests/ops/test_offsite.py is skipped without it)"
  else
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get install -y restic || { $SUDO apt-get update && $SUDO apt-get install -y restic; }
  fi
fi
command -v restic >/dev/null && restic version
echo "== pytest"
set +e
python -m pytest -q -p no:cacheprovider "$@"
rc=$?
set -e
# pytest exit 5 = no tests collected: a failure here, never a silent pass
exit $rc
