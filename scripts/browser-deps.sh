#!/usr/bin/env bash
# Usage: scripts/browser-deps.sh [--check]
#
# Prepares what the browser test (tests/suite/gateway_browser.rs) needs, idempotently and fast
# when already done:
#   1. Debian's chromium (/usr/bin/chromium): installed with apt-get when missing and we are
#      root; otherwise the command to run is printed and the script fails.
#   2. npm ci in clients/typescript and tests/browser (offline-friendly), only when
#      package-lock.json changed since the last install.
#   3. builds clients/typescript (tsc) and the page (tests/browser/dist), only when a source
#      is newer than the output.
# --check only reports what is missing (exit 1 if anything is).
#
# Chromium is taken from CHROMIUM_PATH when set (default /usr/bin/chromium). Never runs
# `npx playwright install` (it downloads a browser build: not possible here).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CLIENT="$ROOT/clients/typescript"
PAGE="$ROOT/tests/browser"
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1

log() { printf 'browser-deps: %s\n' "$*" >&2; }
die() { printf 'browser-deps: error: %s\n' "$*" >&2; exit 1; }

missing=0

# ---- chromium
if [ ! -x "$CHROMIUM" ]; then
    if [ "$CHECK" -eq 1 ]; then
        log "missing: $CHROMIUM (apt-get install -y chromium)"
        missing=1
    elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing Debian's chromium"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
            || { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; } \
            || die "apt-get install chromium failed"
        [ -x "$CHROMIUM" ] || die "chromium installed but $CHROMIUM is missing (set CHROMIUM_PATH)"
    else
        die "$CHROMIUM is missing; as root run: apt-get update && apt-get install -y chromium (or set CHROMIUM_PATH)"
    fi
fi

if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing Debian's nodejs and npm with apt-get"
        { apt-get install -y --no-install-recommends nodejs npm >/dev/null 2>&1 \
            || { apt-get update >/dev/null && apt-get install -y --no-install-recommends nodejs npm >/dev/null; }; } \
            || die "apt-get install nodejs npm failed"
    fi
    command -v npm >/dev/null 2>&1 || die "npm is missing (Node 20+ and npm: apt-get install -y nodejs npm)"
fi

# ---- npm ci, when the lockfile changed since the last install
npm_ci() {
    local dir="$1" stamp="$1/node_modules/.switchboard-lock"
    local want
    want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    if [ "$CHECK" -eq 1 ]; then
        log "missing: npm ci in ${dir#"$ROOT"/}"
        missing=1
        return 0
    fi
    log "npm ci in ${dir#"$ROOT"/}"
    (cd "$dir" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null) \
        || die "npm ci failed in $dir"
    echo "$want" >"$stamp"
}

# ---- build when a source is newer than the output (or the output is missing)
stale() { # stale OUTPUT SOURCES...
    local out="$1"
    shift
    [ -e "$out" ] || return 0
    [ -n "$(find "$@" -newer "$out" -type f -print -quit 2>/dev/null)" ]
}

build() { # build DIR OUTPUT SOURCES...
    local dir="$1" out="$2"
    shift 2
    if stale "$out" "$@"; then
        if [ "$CHECK" -eq 1 ]; then
            log "missing or stale: ${out#"$ROOT"/}"
            missing=1
            return 0
        fi
        log "npm run build in ${dir#"$ROOT"/}"
        (cd "$dir" && npm run --silent build >/dev/null) || die "build failed in $dir"
        touch "$out"
    fi
}

npm_ci "$CLIENT"
build "$CLIENT" "$CLIENT/dist/index.js" "$CLIENT/src" "$CLIENT/package.json" "$CLIENT/tsconfig.json"
npm_ci "$PAGE"
build "$PAGE" "$PAGE/dist/app.js" "$PAGE/src" "$PAGE/index.html" "$PAGE/build.mjs" \
    "$PAGE/package.json" "$CLIENT/dist"

if [ "$CHECK" -eq 1 ] && [ "$missing" -eq 1 ]; then
    exit 1
fi
log "ready: $CHROMIUM, tests/browser/dist"
