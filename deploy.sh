#!/usr/bin/env bash
# Install openclaw-infra on the Mac mini (or any Unix host), idempotently.
#
#   ./deploy.sh              real install: venv, dirs, config.env, crontab block (`infra
#                            schedule`), PATH link, OpenClaw skill, starts `infra serve`,
#                            then `infra health`
#   ./deploy.sh --demo       install into ./.venv and run the pipeline on a bundled sample
#                            OpenClaw home (no OpenClaw, no API key needed)
#   ./deploy.sh --dry-run    print what would be written and run, change nothing
#   ./deploy.sh --force      replace a crontab block edited by hand (kept and shown otherwise)
#   ./deploy.sh --uninstall  stop the service, remove our crontab block and PATH link (data
#                            is kept)
#   ./deploy.sh --no-install skip pip (configure only; the venv must exist)
#   ./deploy.sh --launchd    macOS: schedule with LaunchAgents instead of cron (runs missed
#                            while the Mac slept happen at wake); removes our cron block
#
# Environment: INFRA_VENV (venv dir), INFRA_BIN_DIR (where `infra` is linked),
# OPENCLAW_STATE_DIR / OPENCLAW_PROFILE / OPENCLAW_WORKSPACE_DIR (as for OpenClaw),
# INFRA_PYTHON (interpreter to use), CRONTAB (crontab program, for tests). Every OPENCLAW_*
# variable given here (not secrets) is written into the schedule, so jobs see the same
# OpenClaw; change a job's schedule with OPENCLAW_INFRA_SCHEDULE_<JOB> (config.env).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODE=install DRY=0 DO_PIP=1 SCHED=cron FORCE=0
for arg in "$@"; do
  case "$arg" in
    --demo) MODE=demo ;;
    --dry-run) DRY=1 ;;
    --force) FORCE=1 ;;
    --uninstall) MODE=uninstall ;;
    --no-install) DO_PIP=0 ;;
    --launchd) SCHED=launchd ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
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
RECORD="$DATA/crontab.installed"  # the block as deploy.sh last installed it: edits show

pick_bin_dir() {
  if [ -n "${INFRA_BIN_DIR:-}" ]; then echo "$INFRA_BIN_DIR"; return; fi
  # the OpenClaw gateway's PATH on macOS starts with these
  for d in /opt/homebrew/bin /usr/local/bin; do
    if [ -d "$d" ] && [ -w "$d" ]; then echo "$d"; return; fi
  done
  echo "$HOME/.local/bin"
}

strip_block() { awk -v b="$BEGIN" -v e="$END" 'index($0,b)==1{skip=1} !skip{print} index($0,e)==1{skip=0}'; }
only_block() { awk -v b="$BEGIN" -v e="$END" 'index($0,b)==1{on=1} on{print} index($0,e)==1{on=0}'; }
show_diff() {  # LABEL_A TEXT_A LABEL_B TEXT_B
  diff -u -L "$1" -L "$3" <(printf '%s\n' "$2") <(printf '%s\n' "$4") || true
}
stop_service() {  # a service started by cron; launchd's is stopped by bootout
  if [ -x "$INFRA" ]; then
    if [ "$DRY" = 1 ]; then echo "would run: $INFRA serve --stop"; else "$INFRA" serve --stop || true; fi
  fi
}

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
  if [ -e "$RECORD" ]; then run rm -f "$RECORD"; fi
  stop_service
  if [ -L "$bin_dir/infra" ]; then run rm -f "$bin_dir/infra"; fi
  local agents_dir="${INFRA_LAUNCH_AGENTS_DIR:-$HOME/Library/LaunchAgents}"
  for p in "$agents_dir"/ai.openclaw.infra.*.plist; do
    [ -e "$p" ] || continue
    if command -v launchctl >/dev/null 2>&1 && [ "$DRY" = 0 ]; then
      launchctl bootout "gui/$(id -u)" "$p" 2>/dev/null || true
    fi
    run rm -f "$p"
  done
  if [ -d "$WORKSPACE/hooks/infra-context" ]; then
    if command -v openclaw >/dev/null 2>&1 && [ "$DRY" = 0 ]; then
      openclaw hooks disable infra-context >/dev/null 2>&1 || true
    fi
    run rm -rf "$WORKSPACE/hooks/infra-context"
  fi
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
  if [ "$DRY" = 1 ]; then
    say "would write $DATA/config.env (0600) from config.example.env"
  else
    cp "$REPO/config.example.env" "$DATA/config.env"; chmod 600 "$DATA/config.env"
    say "wrote $DATA/config.env from config.example.env (edit it: API key, alerts)"
  fi
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
  stop_service  # one started by cron; launchd starts its own (KeepAlive)
  if [ "$DRY" = 1 ]; then
    say "would write LaunchAgents ai.openclaw.infra.*.plist into $AGENTS_DIR and load them"
  else
    plists="$("$INFRA" schedule --launchd "$AGENTS_DIR" --bin "$INFRA")"
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
    rm -f "$RECORD"
  fi
elif command -v "$CRONTAB" >/dev/null 2>&1; then
  if [ "$DRY" = 1 ]; then  # `infra schedule` would create the log dir: the same code, bare
    block="$("$VENV/bin/python" -m openclaw_infra.ops.install.generated crontab "$INFRA" 2>/dev/null || cat "$REPO/cron/infra.crontab")"
  else
    block="$("$INFRA" schedule --bin "$INFRA")"
  fi
  existing="$(current_crontab)"  # read fully before replacing
  installed="$(printf '%s\n' "$existing" | only_block)"
  recorded=""; if [ -f "$RECORD" ]; then recorded="$(cat "$RECORD")"; fi
  # same | install (none yet) | update (ours, unedited) | keep (edited) | force | upgrade
  # (installed by a deploy.sh that kept no record)
  if [ "$installed" = "$block" ]; then action=same
  elif [ -z "$installed" ]; then action=install
  elif [ "$installed" = "$recorded" ]; then action=update
  elif [ "$FORCE" = 1 ]; then action=force
  elif [ -n "$recorded" ]; then action=keep
  else action=upgrade; fi
  if [ "$action" = keep ]; then
    kept=kept; if [ "$DRY" = 1 ]; then kept="would keep"; fi
    say "$kept your edited crontab block (./deploy.sh --force replaces it). Your edits:"
    show_diff "installed by deploy.sh" "$recorded" "in your crontab" "$installed"
    say "what deploy.sh would install instead:"
    show_diff "in your crontab" "$installed" "from infra schedule" "$block"
  elif [ "$DRY" = 1 ]; then
    if [ "$action" = same ]; then say "crontab block up to date"
    else say "would write this crontab block:"; printf '%s\n' "$block"; fi
    say "would write $RECORD"
  else
    if [ "$action" != same ]; then
      { if [ -n "$existing" ]; then printf '%s\n' "$existing" | strip_block; fi
        printf '%s\n' "$block"; } | "$CRONTAB" -
    fi
    (umask 077; printf '%s\n' "$block" > "$RECORD")
    case "$action" in
      same) say "crontab block up to date" ;;
      upgrade) say "crontab block replaced; it was installed by an earlier deploy.sh:"
        show_diff "before" "$installed" "now" "$block" ;;
      update) say "crontab block updated" ;;
      force) say "crontab block replaced (--force); your edits were:"
        show_diff "installed by deploy.sh" "$recorded" "in your crontab" "$installed" ;;
      *) say "crontab block installed" ;;
    esac
  fi
else
  say "no crontab program found: schedule the jobs in cron/infra.crontab yourself"
fi

# 5. `infra` on a PATH directory the OpenClaw gateway sees
BIN_DIR="$(pick_bin_dir)"
if [ "$DRY" = 1 ]; then say "would write the link $BIN_DIR/infra -> $INFRA"
else mkdir -p "$BIN_DIR"; ln -sfn "$INFRA" "$BIN_DIR/infra"; fi
case "$BIN_DIR" in /opt/homebrew/bin|/usr/local/bin) ;; *)
  say "note: $BIN_DIR is not on the OpenClaw gateway's default PATH; set INFRA_BIN_DIR" ;;
esac

# 6. the OpenClaw skills (ours only: a user-edited copy is left alone)
for SKILL_SRC in "$REPO"/openclaw/skills/*/SKILL.md; do
  [ -f "$SKILL_SRC" ] || continue
  SKILL_DST="$WORKSPACE/skills/$(basename "$(dirname "$SKILL_SRC")")/SKILL.md"
  if [ ! -e "$SKILL_DST" ] || grep -q 'managed-by: openclaw-infra' "$SKILL_DST"; then
    if [ "$DRY" = 1 ]; then say "would write $SKILL_DST"
    else mkdir -p "$(dirname "$SKILL_DST")"; cp "$SKILL_SRC" "$SKILL_DST"; fi
  else
    say "kept your edited $SKILL_DST"
  fi
done

# 6a. lessons in every prompt: OpenClaw's bundled bootstrap-extra-files hook with the lessons
# file (set only when the user has no paths of their own; otherwise say what to add)
LESSONS_REL="memory/lessons/MEMORY.md"
BEF="hooks.internal.entries.bootstrap-extra-files.paths"
if command -v openclaw >/dev/null 2>&1; then
  current="$(openclaw config get "$BEF" 2>/dev/null || true)"
  if printf '%s' "$current" | grep -q "$LESSONS_REL"; then :
  elif [ -z "$current" ] || [ "$current" = null ] || [ "$current" = "[]" ]; then
    if [ "$DRY" = 1 ]; then say "would run: openclaw config set $BEF '[\"$LESSONS_REL\"]'"
    else
      openclaw config set "$BEF" "[\"$LESSONS_REL\"]" --strict-json >/dev/null 2>&1 \
        && openclaw hooks enable bootstrap-extra-files >/dev/null 2>&1 \
        || say "could not enable bootstrap-extra-files for $LESSONS_REL (docs/feedback.md)"
    fi
  else
    say "bootstrap-extra-files has paths of yours: add \"$LESSONS_REL\" to $BEF (docs/feedback.md)"
  fi
fi

# 6b. the infra-context hook (the context pack after a compaction), through OpenClaw's CLI
HOOK_SRC="$REPO/openclaw/hooks/infra-context"
HOOK_DST="$WORKSPACE/hooks/infra-context"
if [ -d "$HOOK_SRC" ] && command -v openclaw >/dev/null 2>&1; then
  if [ "$DRY" = 1 ]; then say "would write $HOOK_DST and run: openclaw hooks enable infra-context"
  else
    mkdir -p "$WORKSPACE/hooks"; rm -rf "$HOOK_DST"; cp -R "$HOOK_SRC" "$HOOK_DST"
    openclaw hooks enable infra-context >/dev/null 2>&1 \
      || say "could not enable the infra-context hook (run: openclaw hooks enable infra-context)"
  fi
elif [ -d "$HOOK_SRC" ]; then
  say "openclaw not on PATH: copy $HOOK_SRC to $HOOK_DST and run openclaw hooks enable infra-context"
fi

# 7. the recall service, at once: launchd loaded it (RunAtLoad); in cron mode start it now
# (restarted first when packages were installed, so it runs the new code)
if [ "$SCHED" = cron ]; then
  if [ "$DO_PIP" = 1 ]; then stop_service; fi
  if [ "$DRY" = 1 ]; then echo "would run: $INFRA serve --ensure"
  else "$INFRA" serve --ensure || say "infra serve did not start (exit $?); infra health says why"; fi
fi

# 8. verdict
if [ "$DRY" = 1 ]; then echo "would run: $INFRA health"; exit 0; fi
set +e
"$INFRA" health
rc=$?
set -e
say "installed; infra health exit $rc (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)"
exit 0
