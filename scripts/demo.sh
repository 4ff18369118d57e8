#!/usr/bin/env bash
# The README demo: run the pipeline on the bundled sample OpenClaw home (deploy.sh --demo).
# Needs no OpenClaw and no API key: without a key the summariser is the extractive one,
# and says so in every file it writes and in `infra health`.
set -euo pipefail
INFRA="${1:-infra}"
: "${OPENCLAW_STATE_DIR:?set by deploy.sh --demo}"
WS="$OPENCLAW_STATE_DIR/workspace"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "infra summarize   (hourly summaries of every conversation hour owed)"
"$INFRA" summarize
for f in "$WS"/memory/hourly/*.md; do echo "--- $f"; sed -n '1,40p' "$f"; done

step "infra transcribe --inbox   (voice notes in media/inbound -> memory/voice/)"
"$INFRA" transcribe --inbox
for f in "$WS"/memory/voice/*.md; do echo "--- $f"; cat "$f"; done

step "infra daily-sync   (each owed day -> memory/daily/, priorities.md)"
"$INFRA" daily-sync
for f in "$WS"/memory/daily/*.md; do echo "--- $f"; sed -n '/^# /,$p' "$f"; done
echo "--- $WS/memory/priorities.md"; sed -n '/^# /,$p' "$WS/memory/priorities.md"

step "infra weekly-synthesis   (each owed ISO week -> memory/weekly/)"
"$INFRA" weekly-synthesis
for f in "$WS"/memory/weekly/*.md; do echo "--- $f"; sed -n '/^# /,$p' "$f"; done

step "infra index   (transcripts + memory files -> SQLite + FAISS)"
"$INFRA" index

step "infra recall 'which hotel did we pick in Lisbon?'"
"$INFRA" recall "which hotel did we pick in Lisbon?" --limit 3

step "infra recall --json 'dentist appointment' --limit 1"
"$INFRA" recall "dentist appointment" --limit 1 --json

step "infra backup && infra backup list"
"$INFRA" backup
"$INFRA" backup list

step "infra health"
set +e
"$INFRA" health
rc=$?
set -e
echo "(exit $rc: 0 OK, 1 WARNING, 2 CRITICAL; the demo runs the extractive summariser, which health reports as a WARNING)"
echo
echo "Demo state: $OPENCLAW_STATE_DIR  (rerun ./deploy.sh --demo: every step is idempotent)"
