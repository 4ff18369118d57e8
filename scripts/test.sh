#!/usr/bin/env bash
# Run the whole test suite from scratch: system packages, venv, lint, types, tests.
# Used by CI (.ci/run) and by a newcomer (README quick start). Idempotent and offline-safe
# once the packages are cached.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
VENV="${INFRA_VENV:-$REPO/.venv}"

# openai-whisper decodes through the ffmpeg program (Homebrew's on the Mac)
if ! command -v ffmpeg >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "test.sh: installing ffmpeg (Debian)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null
  elif command -v brew >/dev/null 2>&1; then
    brew install ffmpeg
  else
    echo "test.sh: ffmpeg is required (apt-get install ffmpeg / brew install ffmpeg)" >&2; exit 69
  fi
fi

PY="${INFRA_PYTHON:-python3}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
# exactly this torch first: a CPU wheel; anything else would pull gigabytes of CUDA
"$VENV/bin/python" -m pip install -q "torch==2.13.0" 2>&1 | grep -v '^WARNING: Location' || true
"$VENV/bin/python" -m pip install -q -e ".[voice,test]" 2>&1 | grep -v '^WARNING: Location' || true
"$VENV/bin/python" -c "import torch, sentence_transformers, faiss, anthropic, faster_whisper, whisper" 

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PATH="$VENV/bin:$PATH"
echo "== ruff"; ruff check src tests benchmarks; ruff format --check src tests benchmarks
echo "== mypy"; mypy
# the real OpenClaw for tests/openclaw_it (Node 24 + openclaw from npm, cached between runs)
echo "== openclaw under test"; "$REPO/scripts/openclaw-under-test.sh" >/dev/null
echo "== pytest"
set +e
python -m pytest -q -p no:cacheprovider "$@"
rc=$?
set -e
# pytest exit 5 = no tests collected: a failure here, never a silent pass
exit $rc
