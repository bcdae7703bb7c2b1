#!/usr/bin/env bash
# Usage: scripts/smoke.sh
#
# Starts `${SWITCHBOARD_BIN:-target/debug/switchboard} serve --target all` on
# free ports with throwaway SQLite databases, checks it from the outside with
# scripts/smoke.py (Python grpcio: health + reflection) and the Prometheus
# endpoint, then sends SIGINT and checks that it exits within 5 seconds.
#
#   SWITCHBOARD_BIN     binary to run (default target/debug/switchboard)
#   SMOKE_VENV          python venv for smoke.py (default target/smoke-venv)
#   SMOKE_WAIT          seconds to wait for the servers to answer (default 30)
#   SMOKE_KEEP_TMP=1    keep the temp dir (server log, databases)
#
# Final line: `smoke: N passed, M failed`; exit status 0 only if M is 0.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

BIN="${SWITCHBOARD_BIN:-target/debug/switchboard}"
VENV="${SMOKE_VENV:-target/smoke-venv}"
WAIT="${SMOKE_WAIT:-30}"
STOP_TIMEOUT=5

log() { printf 'smoke: %s\n' "$*" >&2; }

PASSED=0
FAILED=0
FAILURES=()
pass() { PASSED=$((PASSED + 1)); log "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); FAILURES+=("$1"); log "FAIL $1"; }

TMP=""
SERVER_PID=""
SUMMARY_DONE=0

kill_server() {
    [ -n "$SERVER_PID" ] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        for _ in $(seq 1 20); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null
    fi
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}

show_log() {
    if [ -n "$TMP" ] && [ -s "$TMP/server.log" ]; then
        log "---- last 40 lines of server log ($TMP/server.log) ----"
        tail -n 40 "$TMP/server.log" >&2
        log "---- end of server log ----"
    fi
}

summary() {
    [ "$SUMMARY_DONE" -eq 1 ] && return
    SUMMARY_DONE=1
    local f
    for f in "${FAILURES[@]+"${FAILURES[@]}"}"; do
        log "failed: $f"
    done
    echo "smoke: $PASSED passed, $FAILED failed"
}

on_exit() {
    local rc=$?
    kill_server
    if [ "$FAILED" -gt 0 ] || [ "$rc" -ne 0 ]; then
        show_log
    fi
    if [ -n "$TMP" ] && [ -d "$TMP" ]; then
        if [ "${SMOKE_KEEP_TMP:-0}" = 1 ]; then
            log "kept $TMP"
        else
            rm -rf "$TMP"
        fi
    fi
}
trap on_exit EXIT
trap 'log "interrupted"; fail "interrupted"; summary; exit 130' INT
trap 'log "terminated"; fail "terminated"; summary; exit 143' TERM

die() {
    fail "$1"
    summary
    exit 1
}

# ---------------------------------------------------------------- setup ---

[ -x "$BIN" ] || die "setup: server binary $BIN not found or not executable (build it: cargo build -p switchboard, or set SWITCHBOARD_BIN)"
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    # A fresh Debian has python3 without venv support: install it when we may.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing python3 and python3-venv with apt-get"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv; } >/dev/null \
            || die "setup: apt-get install python3 python3-venv failed"
    else
        die "setup: python3 with venv support is needed (Debian: apt-get install python3-venv)"
    fi
fi

PY="$VENV/bin/python"
if [ ! -x "$PY" ] || ! "$PY" -c 'import grpc, grpc_health.v1, grpc_reflection.v1alpha' 2>/dev/null; then
    log "creating python venv in $VENV"
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV" || die "setup: python3 -m venv $VENV failed (Debian: apt-get install python3-venv)"
    "$VENV/bin/pip" install -q --disable-pip-version-check \
        grpcio grpcio-health-checking grpcio-reflection \
        || die "setup: pip install grpcio grpcio-health-checking grpcio-reflection failed"
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-smoke.XXXXXX")" || die "setup: mktemp failed"

# Nine distinct free ports: all bound at once so none repeats.
read -r GATEWAY_PORT CHANNEL_PORT ROUTING_PORT PRESENCE_PORT TICKETING_PORT REPORTING_PORT INTEGRATIONS_PORT WEBHOOK_PORT METRICS_PORT < <(
    python3 - <<'EOF'
import socket
socks = []
for _ in range(9):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
)
[ -n "${METRICS_PORT:-}" ] || die "setup: could not pick free ports"
log "ports: gateway=$GATEWAY_PORT channel=$CHANNEL_PORT routing=$ROUTING_PORT presence=$PRESENCE_PORT ticketing=$TICKETING_PORT reporting=$REPORTING_PORT integrations=$INTEGRATIONS_PORT webhook=$WEBHOOK_PORT metrics=$METRICS_PORT"

# ---------------------------------------------------------------- start ---

# Job control on for the launch so the background server does not inherit an
# ignored SIGINT (bash ignores SIGINT in async commands without job control)
# and so it sits in its own process group (a Ctrl-C here reaches only us; the
# trap then stops the server).
set -m
env \
    SWITCHBOARD__DATABASE__URL="sqlite://$TMP/{service}.db?mode=rwc" \
    SWITCHBOARD__SERVER__HOST=127.0.0.1 \
    SWITCHBOARD__GATEWAY__PORT="$GATEWAY_PORT" \
    SWITCHBOARD__CHANNEL__PORT="$CHANNEL_PORT" \
    SWITCHBOARD__ROUTING__PORT="$ROUTING_PORT" \
    SWITCHBOARD__PRESENCE__PORT="$PRESENCE_PORT" \
    SWITCHBOARD__TICKETING__PORT="$TICKETING_PORT" \
    SWITCHBOARD__REPORTING__PORT="$REPORTING_PORT" \
    SWITCHBOARD__INTEGRATIONS__PORT="$INTEGRATIONS_PORT" \
    SWITCHBOARD__CHANNEL__WEBHOOK_PORT="$WEBHOOK_PORT" \
    SWITCHBOARD__SERVER__METRICS_PORT="$METRICS_PORT" \
    "$BIN" serve --target all --demo --demo-state "$TMP/demo.json" </dev/null >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
set +m
log "started $BIN serve --target all --demo (pid $SERVER_PID, log $TMP/server.log)"

ADDRS=(
    --addr "gateway=127.0.0.1:$GATEWAY_PORT"
    --addr "channel=127.0.0.1:$CHANNEL_PORT"
    --addr "routing=127.0.0.1:$ROUTING_PORT"
    --addr "presence=127.0.0.1:$PRESENCE_PORT"
    --addr "ticketing=127.0.0.1:$TICKETING_PORT"
    --addr "reporting=127.0.0.1:$REPORTING_PORT"
    --addr "integrations=127.0.0.1:$INTEGRATIONS_PORT"
)

server_alive() { kill -0 "$SERVER_PID" 2>/dev/null; }

# ---------------------------------------------------------------- checks ---

if "$PY" scripts/smoke.py "${ADDRS[@]}" --wait "$WAIT" --pid "$SERVER_PID" --checks health; then
    pass "health"
else
    server_alive || log "server process is no longer running"
    fail "health"
fi

if ! server_alive; then
    fail "reflection: server process is not running"
elif "$PY" scripts/smoke.py "${ADDRS[@]}" --wait 5 --pid "$SERVER_PID" --checks reflection; then
    pass "reflection"
else
    server_alive || log "server process is no longer running"
    fail "reflection"
fi

# The process's one Prometheus endpoint, with every service's metrics.
if ! server_alive; then
    fail "metrics: server process is not running"
elif python3 - "$METRICS_PORT" <<'EOF'
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5) as r:
    body = r.read().decode()
    assert r.status == 200, r.status
    assert r.headers["content-type"] == "text/plain; version=0.0.4", r.headers["content-type"]
    assert "switchboard_routing_queue_wait_seconds_count" in body, body
EOF
then
    pass "metrics"
else
    fail "metrics"
fi

# The first run a newcomer sees: the demo organization, its printed development token, and
# the printed Python example calling the gateway with it (GetMe answers the demo agent).
if ! server_alive; then
    fail "demo: server process is not running"
else
    for _ in $(seq 1 50); do
        grep -q "TOKEN=" "$TMP/server.log" && break
        sleep 0.1
    done
    ORG="$(grep -o 'organization org_[0-9a-f]*' "$TMP/server.log" | head -1 | cut -d' ' -f2)"
    TOKEN="$(grep -o 'TOKEN=[^ ]*' "$TMP/server.log" | head -1 | cut -d= -f2)"
    if [ -z "$ORG" ] || [ -z "$TOKEN" ]; then
        fail "demo: no organization or token printed"
    elif ME="$("$PY" scripts/gateway_example.py --addr "127.0.0.1:$GATEWAY_PORT" --org "$ORG" --token "$TOKEN" GetMe)" \
        && grep -q '"authSubject": "demo|ana"' <<<"$ME"; then
        pass "demo (printed token calls the gateway: GetMe is demo|ana)"
    else
        log "GetMe answered: ${ME:-nothing}"
        fail "demo: GetMe through the gateway with the printed token"
    fi
    if "$PY" scripts/gateway_example.py --addr "127.0.0.1:$GATEWAY_PORT" --org "$ORG" --token "not-a-token" GetMe 2>"$TMP/bad.txt" >/dev/null; then
        fail "demo: a bad token was accepted"
    elif grep -q "UNAUTHENTICATED" "$TMP/bad.txt"; then
        pass "demo (a bad token is UNAUTHENTICATED)"
    else
        fail "demo: a bad token answered $(cat "$TMP/bad.txt")"
    fi
fi

# -------------------------------------------------------------- shutdown ---

if ! server_alive; then
    wait "$SERVER_PID" 2>/dev/null
    rc=$?
    SERVER_PID=""
    fail "shutdown: server had already exited (status $rc) before SIGINT"
else
    kill -INT "$SERVER_PID"
    stopped=0
    for _ in $(seq 1 $((STOP_TIMEOUT * 10))); do
        if ! server_alive; then stopped=1; break; fi
        sleep 0.1
    done
    if [ "$stopped" -eq 1 ]; then
        wait "$SERVER_PID" 2>/dev/null
        rc=$?
        SERVER_PID=""
        # 130 = killed by SIGINT without handling it; graceful shutdown exits 0.
        if [ "$rc" -eq 0 ]; then
            pass "shutdown (SIGINT, exited 0)"
        else
            fail "shutdown: exited with status $rc after SIGINT (want 0)"
        fi
    else
        fail "shutdown: still running ${STOP_TIMEOUT}s after SIGINT (killing it)"
        kill_server
    fi
fi

summary
[ "$FAILED" -eq 0 ]
