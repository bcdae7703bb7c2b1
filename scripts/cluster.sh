#!/usr/bin/env bash
# Usage: scripts/cluster.sh            (make cluster)
#
# The distributed topology the Helm chart deploys, as local processes: finds or starts
# PostgreSQL and Redis (scripts/with-test-services.sh), creates a fresh database, runs
# `switchboard migrate --target all` once, then starts one `switchboard serve` per replica
# with the environment the chart sets per Deployment (database and Redis URLs, ports,
# `endpoints.*` naming every replica, comma-separated, which the clients balance over):
#
#   routing-1, routing-2, channel-1, channel-2, gateway, presence, ticketing, reporting, integrations
#
# Prints the addresses and a dev-token hint; Ctrl-C (or SIGTERM) sends SIGTERM to every
# process, waits for each (SIGKILL after CLUSTER_STOP_TIMEOUT s), drops the database.
#
#   SWITCHBOARD_BIN        binary (default target/debug/switchboard; built when missing)
#   CLUSTER_PORT_BASE      ports are BASE+51.. (default 25000, below the ephemeral range: gateway 25051, channel 25052/25062,
#                          routing 25053/25063, presence 25054, ticketing 25055, reporting 25056,
#                          integrations 25057, webhooks 25080/25081, metrics 25101..25109)
#   CLUSTER_HS256_SECRET   gateway token secret (default: 32 random bytes, hex)
#   CLUSTER_APP_SECRET     WhatsApp app secret of the webhooks (default cluster-app-secret)
#   CLUSTER_KEEP_DB=1      keep the database on exit
#   CLUSTER_STOP_TIMEOUT   seconds to wait for each process after SIGTERM (default 20)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

if [ -z "${CLUSTER_INNER:-}" ]; then
    export CLUSTER_INNER=1
    exec scripts/with-test-services.sh "$ROOT/scripts/cluster.sh" "$@"
fi

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

BIN="${SWITCHBOARD_BIN:-target/debug/switchboard}"
if [ ! -x "$BIN" ]; then
    log "building $BIN"
    cargo build -q -p switchboard || die "build failed"
fi
BASE="${CLUSTER_PORT_BASE:-25000}"
STOP_TIMEOUT="${CLUSTER_STOP_TIMEOUT:-20}"
ADMIN_URL="${SWITCHBOARD_TEST_DATABASE_URL:?with-test-services.sh exports it}"
REDIS_URL="${SWITCHBOARD_TEST_REDIS_URL:?with-test-services.sh exports it}"
SECRET="${CLUSTER_HS256_SECRET:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
APP_SECRET="${CLUSTER_APP_SECRET:-cluster-app-secret}"

STAMP="$(date +%Y%m%d%H%M%S)_$$"
DB_NAME="switchboard_cluster_$STAMP"
# The admin URL with its database name replaced (query string kept).
base="${ADMIN_URL%%\?*}"
query=""
[ "$base" != "$ADMIN_URL" ] && query="?${ADMIN_URL#*\?}"
DB_URL="${base%/*}/$DB_NAME$query"
LOGDIR="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-cluster.XXXXXX")"

PIDS=()
NAMES=()
STOPPING=0

stop_all() {
    [ "$STOPPING" -eq 1 ] && return
    STOPPING=1
    trap '' INT TERM
    log "stopping ${#PIDS[@]} processes (SIGTERM, wait)"
    local i pid start waited
    for i in "${!PIDS[@]}"; do
        kill -TERM "${PIDS[$i]}" 2>/dev/null
    done
    for i in "${!PIDS[@]}"; do
        pid="${PIDS[$i]}"
        start=$(date +%s%N)
        waited=0
        while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((STOP_TIMEOUT * 10)) ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "${NAMES[$i]} (pid $pid) still running after ${STOP_TIMEOUT}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
        log "${NAMES[$i]} exited with $? after $(( ($(date +%s%N) - start) / 1000000 )) ms more"
    done
    if [ -z "${CLUSTER_KEEP_DB:-}" ]; then
        psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB_NAME" >/dev/null 2>&1 \
            && log "dropped database $DB_NAME"
    else
        log "kept database $DB_URL"
    fi
    log "logs kept in $LOGDIR"
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM

psql "$ADMIN_URL" -qc "CREATE DATABASE $DB_NAME" >/dev/null || die "cannot create database $DB_NAME"
log "database $DB_URL"

# The environment every process shares: what the chart's config.toml and Secrets set.
common_env() {
    export SWITCHBOARD__DATABASE__URL="$DB_URL"
    export SWITCHBOARD__DATABASE__MIGRATE_ON_START=false
    export SWITCHBOARD__REDIS__URL="$REDIS_URL"
    export SWITCHBOARD__REDIS__KEY_PREFIX="cluster_$STAMP"
    export SWITCHBOARD__SERVER__HOST=127.0.0.1
    export SWITCHBOARD__GATEWAY__AUTH__HS256_SECRET="$SECRET"
    export SWITCHBOARD__CHANNEL__WHATSAPP__APP_SECRET="$APP_SECRET"
    export SWITCHBOARD__CHANNEL__WHATSAPP__VERIFY_TOKEN="${CLUSTER_VERIFY_TOKEN:-cluster-verify-token}"
    export SWITCHBOARD__CHANNEL__WHATSAPP__GRAPH_BASE_URL="${CLUSTER_GRAPH_BASE_URL:-http://127.0.0.1:9}"
    export SWITCHBOARD__GATEWAY__PORT=$((BASE + 51))
    export SWITCHBOARD__PRESENCE__PORT=$((BASE + 54))
    export SWITCHBOARD__TICKETING__PORT=$((BASE + 55))
    export SWITCHBOARD__REPORTING__PORT=$((BASE + 56))
    export SWITCHBOARD__INTEGRATIONS__PORT=$((BASE + 57))
    export SWITCHBOARD__ENDPOINTS__GATEWAY="http://127.0.0.1:$((BASE + 51))"
    export SWITCHBOARD__ENDPOINTS__CHANNEL="http://127.0.0.1:$((BASE + 52)),http://127.0.0.1:$((BASE + 62))"
    export SWITCHBOARD__ENDPOINTS__ROUTING="http://127.0.0.1:$((BASE + 53)),http://127.0.0.1:$((BASE + 63))"
    export SWITCHBOARD__ENDPOINTS__PRESENCE="http://127.0.0.1:$((BASE + 54))"
    export SWITCHBOARD__ENDPOINTS__TICKETING="http://127.0.0.1:$((BASE + 55))"
    export SWITCHBOARD__ENDPOINTS__REPORTING="http://127.0.0.1:$((BASE + 56))"
    export SWITCHBOARD__ENDPOINTS__INTEGRATIONS="http://127.0.0.1:$((BASE + 57))"
}

( common_env; "$BIN" migrate --target all ) >"$LOGDIR/migrate.log" 2>&1 \
    || { cat "$LOGDIR/migrate.log" >&2; die "migrate failed"; }
log "migrated (log $LOGDIR/migrate.log)"

# name target grpc-port metrics-port [extra VAR=value...]
start() {
    local name="$1" target="$2" port="$3" metrics="$4"
    shift 4
    (
        common_env
        export SWITCHBOARD__SERVER__METRICS_PORT="$metrics"
        for kv in "$@"; do export "${kv?}"; done
        # A session of its own: a terminal's Ctrl-C reaches only this script, which sends each
        # process one SIGTERM (a second signal would cut a process's drain short).
        exec setsid "$BIN" serve --target "$target"
    ) >"$LOGDIR/$name.log" 2>&1 &
    PIDS+=("$!")
    NAMES+=("$name")
    printf '  %-10s pid %-7s grpc 127.0.0.1:%s  metrics :%s\n' "$name" "$!" "$port" "$metrics"
}

echo "Starting the cluster (logs in $LOGDIR):"
start routing-1 routing $((BASE + 53)) $((BASE + 101)) SWITCHBOARD__ROUTING__PORT=$((BASE + 53))
start routing-2 routing $((BASE + 63)) $((BASE + 102)) SWITCHBOARD__ROUTING__PORT=$((BASE + 63))
start channel-1 channel $((BASE + 52)) $((BASE + 103)) SWITCHBOARD__CHANNEL__PORT=$((BASE + 52)) SWITCHBOARD__CHANNEL__WEBHOOK_PORT=$((BASE + 80))
start channel-2 channel $((BASE + 62)) $((BASE + 104)) SWITCHBOARD__CHANNEL__PORT=$((BASE + 62)) SWITCHBOARD__CHANNEL__WEBHOOK_PORT=$((BASE + 81))
start presence presence $((BASE + 54)) $((BASE + 105))
start ticketing ticketing $((BASE + 55)) $((BASE + 106))
start reporting reporting $((BASE + 56)) $((BASE + 108))
start integrations integrations $((BASE + 57)) $((BASE + 109))
start gateway gateway $((BASE + 51)) $((BASE + 107))

# Wait until every replica answers SERVING.
check() { "$BIN" healthcheck --target "$1" --addr "http://127.0.0.1:$2" >/dev/null 2>&1; }
deadline=$(( $(date +%s) + ${CLUSTER_START_TIMEOUT:-60} ))
for spec in routing:$((BASE + 53)) routing:$((BASE + 63)) channel:$((BASE + 52)) channel:$((BASE + 62)) \
    presence:$((BASE + 54)) ticketing:$((BASE + 55)) reporting:$((BASE + 56)) integrations:$((BASE + 57)) \
    gateway:$((BASE + 51)); do
    until check "${spec%%:*}" "${spec#*:}"; do
        for i in "${!PIDS[@]}"; do
            kill -0 "${PIDS[$i]}" 2>/dev/null && continue
            log "${NAMES[$i]} exited; last lines of its log:"
            tail -n 20 "$LOGDIR/${NAMES[$i]}.log" >&2
            stop_all
            exit 1
        done
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "${spec%%:*} at ${spec#*:} not SERVING in time"
            stop_all
            exit 1
        fi
        sleep 0.2
    done
done

cat <<INFO

Switchboard cluster is up: every replica SERVING (PostgreSQL + Redis).
  gateway   grpc://127.0.0.1:$((BASE + 51))   (gRPC and gRPC-Web; the only public API)
  webhooks  http://127.0.0.1:$((BASE + 80))/webhooks/whatsapp  http://127.0.0.1:$((BASE + 81))/webhooks/whatsapp
            (signed with app secret "$APP_SECRET")
  database  $DB_URL
  redis     $REDIS_URL (key prefix cluster_$STAMP)

A dev token for an agent whose auth_subject is SUBJECT:
  SWITCHBOARD__GATEWAY__AUTH__HS256_SECRET=$SECRET $BIN token --subject SUBJECT
  grpcurl -plaintext -H "authorization: Bearer \$TOKEN" 127.0.0.1:$((BASE + 51)) list

Ctrl-C stops every process (SIGTERM, then waits).
INFO

# Stay up until Ctrl-C; report a process that dies on its own.
while :; do
    for i in "${!PIDS[@]}"; do
        if [ -n "${PIDS[$i]}" ] && ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
            log "${NAMES[$i]} (pid ${PIDS[$i]}) exited; see $LOGDIR/${NAMES[$i]}.log"
            wait "${PIDS[$i]}" 2>/dev/null
            unset 'PIDS[i]'
        fi
    done
    if [ "${#PIDS[@]}" -eq 0 ]; then
        log "every process exited"
        stop_all
        exit 1
    fi
    sleep 1 &
    wait $! 2>/dev/null
done
