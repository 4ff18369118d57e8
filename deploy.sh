#!/usr/bin/env bash
# Install openclaw-infra on the Mac mini (or any Unix host), idempotently.
#
#   ./deploy.sh              real install: venv, dirs, config.env, crontab block, PATH link,
#                            OpenClaw skill, then `infra health`
#   ./deploy.sh --demo       install into ./.venv and run the pipeline on a bundled sample
#                            OpenClaw home (no OpenClaw, no API key needed)
#   ./deploy.sh --dry-run    print what would be done, change nothing
#   ./deploy.sh --uninstall  remove our crontab block and PATH link (data is kept)
#   ./deploy.sh --no-install skip pip (configure only; the venv must exist)
#   ./deploy.sh --launchd    macOS: schedule with LaunchAgents instead of cron (runs missed
#                            while the Mac slept happen at wake); removes our cron block
#
# Environment: INFRA_VENV (venv dir), INFRA_BIN_DIR (where `infra` is linked),
# OPENCLAW_STATE_DIR / OPENCLAW_PROFILE / OPENCLAW_WORKSPACE_DIR (as for OpenClaw),
# INFRA_PYTHON (interpreter to use), CRONTAB (crontab program, for tests).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODE=install DRY=0 DO_PIP=1 SCHED=cron
for arg in "$@"; do
  case "$arg" in
    --demo) MODE=demo ;;
    --dry-run) DRY=1 ;;
    --uninstall) MODE=uninstall ;;
    --no-install) DO_PIP=0 ;;
    --launchd) SCHED=launchd ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "deploy.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '%s\n' "deploy: $*"; }
run() {
  if [ "$DRY" = 1 ]; then printf 'would run: %s\n' "$*"; else "$@"; fi
}

if [ -n "${OPENCLAW_STATE_DIR:-}" ]; then STATE="$OPENCLAW_STATE_DIR"
elif [ -n "${OPENCLAW_PROFILE:-}" ]; then STATE="$HOME/.openclaw-$OPENCLAW_PROFILE"
else STATE="$HOME/.openclaw"; fi
if [ "$MODE" = demo ]; then
  STATE="${OPENCLAW_STATE_DIR:-$REPO/.demo/openclaw}"
  VENV="${INFRA_VENV:-$REPO/.venv}"
else
  VENV="${INFRA_VENV:-$HOME/.local/share/openclaw-infra/venv}"
fi
DATA="${OPENCLAW_INFRA_DATA_DIR:-$STATE/infra}"
WORKSPACE="${OPENCLAW_WORKSPACE_DIR:-$STATE/workspace}"
INFRA="$VENV/bin/infra"
CRONTAB="${CRONTAB:-crontab}"
BEGIN='# >>> openclaw-infra'
END='# <<< openclaw-infra <<<'

pick_bin_dir() {
  if [ -n "${INFRA_BIN_DIR:-}" ]; then echo "$INFRA_BIN_DIR"; return; fi
  # the OpenClaw gateway's PATH on macOS starts with these
  for d in /opt/homebrew/bin /usr/local/bin; do
    if [ -d "$d" ] && [ -w "$d" ]; then echo "$d"; return; fi
  done
  echo "$HOME/.local/bin"
}

strip_block() { awk -v b="$BEGIN" -v e="$END" 'index($0,b)==1{skip=1} !skip{print} index($0,e)==1{skip=0}'; }

current_crontab() { "$CRONTAB" -l 2>/dev/null || true; }

uninstall() {
  local bin_dir; bin_dir="$(pick_bin_dir)"
  if command -v "$CRONTAB" >/dev/null 2>&1; then
    if [ "$DRY" = 1 ]; then say "would remove the openclaw-infra block from the crontab"
    else
      existing="$(current_crontab)"  # read fully before replacing
      printf '%s\n' "$existing" | strip_block | "$CRONTAB" -; say "crontab block removed"
    fi
  fi
  if [ -L "$bin_dir/infra" ]; then run rm -f "$bin_dir/infra"; fi
  local agents_dir="${INFRA_LAUNCH_AGENTS_DIR:-$HOME/Library/LaunchAgents}"
  for p in "$agents_dir"/ai.openclaw.infra.*.plist; do
    [ -e "$p" ] || continue
    if command -v launchctl >/dev/null 2>&1 && [ "$DRY" = 0 ]; then
      launchctl bootout "gui/$(id -u)" "$p" 2>/dev/null || true
    fi
    run rm -f "$p"
  done
  say "uninstalled (data in $DATA kept)"
}
if [ "$MODE" = uninstall ]; then uninstall; exit 0; fi

# 1. Python >= 3.11
PY="${INFRA_PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.13 python3.12 python3.11 python3; do
    # `command -v` alone is not enough: pyenv shims exist for versions not selected
    if "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
      PY="$(command -v "$cand")"; break
    fi
  done
fi
[ -n "$PY" ] || { echo "deploy.sh: Python >= 3.11 is required (brew install python@3.12)" >&2; exit 69; }
say "python: $PY"

# 2. venv and packages. torch is pinned first so nothing pulls a CUDA build.
if [ ! -x "$VENV/bin/python" ]; then run "$PY" -m venv "$VENV"; fi
if [ "$DO_PIP" = 1 ]; then
  run "$VENV/bin/python" -m pip install -q --upgrade pip
  run "$VENV/bin/python" -m pip install -q "torch==2.13.0"
  if [ "$MODE" = demo ]; then
    run "$VENV/bin/python" -m pip install -q -e "$REPO[voice]"
  else
    run "$VENV/bin/python" -m pip install -q "$REPO[voice]"
  fi
fi

# 3. private dirs and config
run mkdir -p "$STATE"
for d in "$DATA" "$DATA/logs" "$DATA/locks" "$DATA/backups"; do
  run mkdir -p "$d"; run chmod 700 "$d"
done
if [ ! -e "$DATA/config.env" ]; then
  run cp "$REPO/config.example.env" "$DATA/config.env"; run chmod 600 "$DATA/config.env"
  say "wrote $DATA/config.env from config.example.env (edit it: API key, alerts)"
fi

if [ "$MODE" = demo ]; then
  export OPENCLAW_STATE_DIR="$STATE" HF_HUB_OFFLINE=1
  run "$VENV/bin/python" -c "from pathlib import Path; from openclaw_infra.demo import install_demo_home as i; i(Path('$STATE'))"
  # the demo reads its timezone from the sample openclaw.json; no API key: extractive mode
  if [ "$DRY" = 0 ]; then
    "$REPO/scripts/demo.sh" "$INFRA"
  else
    echo "would run: $REPO/scripts/demo.sh $INFRA"
  fi
  exit 0
fi

# 4. schedule: LaunchAgents (--launchd) or a crontab block between markers
AGENTS_DIR="${INFRA_LAUNCH_AGENTS_DIR:-$HOME/Library/LaunchAgents}"
if [ "$SCHED" = launchd ]; then
  if [ "$DRY" = 1 ]; then
    say "would write LaunchAgents ai.openclaw.infra.*.plist into $AGENTS_DIR and load them"
  else
    mkdir -p "$AGENTS_DIR"
    plists="$("$VENV/bin/python" -m openclaw_infra.ops.install.launchd "$AGENTS_DIR" "$INFRA" "$DATA/logs" \
      "OPENCLAW_STATE_DIR=$STATE" "PATH=/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin")"
    for p in $plists; do
      if command -v launchctl >/dev/null 2>&1; then
        launchctl bootout "gui/$(id -u)" "$p" 2>/dev/null || true
        launchctl bootstrap "gui/$(id -u)" "$p"
      fi
      say "launch agent $(basename "$p")"
    done
  fi
  if command -v "$CRONTAB" >/dev/null 2>&1 && [ "$DRY" = 0 ]; then
    existing="$(current_crontab)"
    if printf '%s\n' "$existing" | grep -q "^$BEGIN"; then
      printf '%s\n' "$existing" | strip_block | "$CRONTAB" -; say "cron block removed (launchd schedules now)"
    fi
  fi
elif command -v "$CRONTAB" >/dev/null 2>&1; then
  if [ "$DRY" = 1 ]; then
    say "would install this crontab block:"; "$VENV/bin/python" -m openclaw_infra.ops.install.generated crontab "$INFRA" 2>/dev/null || cat "$REPO/cron/infra.crontab"
  else
    block="$("$VENV/bin/python" -m openclaw_infra.ops.install.generated crontab "$INFRA")"
    existing="$(current_crontab)"  # read fully before replacing
    { if [ -n "$existing" ]; then printf '%s\n' "$existing" | strip_block; fi
      printf '%s\n' "$block"; } | "$CRONTAB" -
    say "crontab block installed"
  fi
else
  say "no crontab program found: schedule the jobs in cron/infra.crontab yourself"
fi

# 5. `infra` on a PATH directory the OpenClaw gateway sees
BIN_DIR="$(pick_bin_dir)"
run mkdir -p "$BIN_DIR"
run ln -sfn "$INFRA" "$BIN_DIR/infra"
case "$BIN_DIR" in /opt/homebrew/bin|/usr/local/bin) ;; *)
  say "note: $BIN_DIR is not on the OpenClaw gateway's default PATH; set INFRA_BIN_DIR" ;;
esac

# 6. the OpenClaw skill (ours only: a user-edited copy is left alone)
SKILL_SRC="$REPO/openclaw/skills/infra-recall/SKILL.md"
SKILL_DST="$WORKSPACE/skills/infra-recall/SKILL.md"
if [ -f "$SKILL_SRC" ]; then
  if [ ! -e "$SKILL_DST" ] || grep -q 'managed-by: openclaw-infra' "$SKILL_DST"; then
    run mkdir -p "$(dirname "$SKILL_DST")"; run cp "$SKILL_SRC" "$SKILL_DST"
  else
    say "kept your edited $SKILL_DST"
  fi
fi

# 7. verdict
if [ "$DRY" = 1 ]; then echo "would run: $INFRA health"; exit 0; fi
set +e
"$INFRA" health
rc=$?
set -e
say "installed; infra health exit $rc (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)"
exit 0
