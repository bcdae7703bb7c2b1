#!/usr/bin/env bash
# Usage: scripts/with-test-services.sh <command> [args...]
#
# Makes sure a PostgreSQL and a Redis answer, exports their URLs, runs the
# command and cleans up afterwards.
#
#   SWITCHBOARD_TEST_DATABASE_URL  admin connection (tests create their own
#                                  throwaway databases through it)
#                                  default postgres://postgres@127.0.0.1:5432/postgres
#   SWITCHBOARD_TEST_REDIS_URL     default redis://127.0.0.1:6379
#
# If a backend does not answer at its URL, a throwaway server is started on a
# free port of 127.0.0.1 with its data in a temp dir, and the variable is
# re-exported to point at it. Throwaway servers are stopped and the temp dir is
# removed on exit (also on INT/TERM). The script exits with the command's exit
# code.
#
# Note: the command runs in the foreground (so it keeps the terminal, stdin and
# Ctrl-C). A SIGTERM sent to this script alone is handled once the command has
# finished.
set -uo pipefail

log() { printf 'test-services: %s\n' "$*" >&2; }
die() { printf 'test-services: error: %s\n' "$*" >&2; exit 1; }

if [ "$#" -eq 0 ]; then
    echo "usage: $0 <command> [args...]" >&2
    exit 2
fi

DB_URL="${SWITCHBOARD_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REDIS_URL="${SWITCHBOARD_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
PROBE_TIMEOUT="${TEST_SERVICES_PROBE_TIMEOUT:-5}"
START_TIMEOUT="${TEST_SERVICES_START_TIMEOUT:-30}"

IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

TMP=""
PG_DATA=""
PG_CTL=""
PG_STARTED=0
REDIS_PORT=""
REDIS_PIDFILE=""
REDIS_STARTED=0
CLEANED=0

# ---------------------------------------------------------------- helpers ---

as_pg_user() {
    # Run "$@" as the postgres user when we are root (initdb refuses root).
    if [ "$IS_ROOT" -eq 1 ]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            local q
            q="$(printf '%q ' "$@")"
            su postgres -s /bin/sh -c "$q"
        fi
    else
        "$@"
    fi
}

probe_pg() {
    command -v psql >/dev/null 2>&1 || return 1
    local out
    out="$(PGCONNECT_TIMEOUT="$PROBE_TIMEOUT" timeout "$((PROBE_TIMEOUT + 1))" \
        psql "$1" -Atc 'select 1' 2>/dev/null)" || return 1
    [ "$out" = "1" ]
}

probe_redis() {
    command -v redis-cli >/dev/null 2>&1 || return 1
    local out
    out="$(timeout "$PROBE_TIMEOUT" \
        redis-cli -u "$1" ping 2>/dev/null)" || return 1
    [ "$out" = "PONG" ]
}

# Print a free TCP port on 127.0.0.1 that is not in the arguments.
free_port() {
    local p
    for _ in $(seq 1 50); do
        if command -v python3 >/dev/null 2>&1; then
            p="$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()')" || p=""
        else
            p="$((20000 + RANDOM % 40000))"
            if command -v ss >/dev/null 2>&1 && ss -Htln "sport = :$p" | grep -q .; then
                p=""
            fi
        fi
        [ -n "$p" ] || continue
        local used=0 u
        for u in "$@"; do [ "$u" = "$p" ] && used=1; done
        [ "$used" -eq 0 ] && { echo "$p"; return 0; }
    done
    return 1
}

ensure_tmp() {
    if [ -z "$TMP" ]; then
        TMP="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-test-services.XXXXXX")" \
            || die "mktemp failed"
        # The postgres user must be able to reach its data/socket dirs.
        chmod 755 "$TMP"
    fi
}

APT_DONE=0
apt_install() {
    if [ "$IS_ROOT" -ne 1 ]; then
        return 1
    fi
    command -v apt-get >/dev/null 2>&1 || return 1
    log "installing $* with apt-get"
    if [ "$APT_DONE" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || return 1
        APT_DONE=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2
}

find_pg_bindir() {
    local d best="" best_ver=-1 v
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] || continue
        v="$(basename "$(dirname "$d")")"
        v="${v%%.*}"
        case "$v" in ''|*[!0-9]*) v=0 ;; esac
        if [ "$v" -gt "$best_ver" ]; then best_ver="$v"; best="$d"; fi
    done
    if [ -z "$best" ] && command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        best="$(dirname "$(command -v initdb)")"
    fi
    [ -n "$best" ] && echo "$best"
}

# --------------------------------------------------------------- cleanup ---

cleanup() {
    [ "$CLEANED" -eq 1 ] && return
    CLEANED=1
    if [ "$PG_STARTED" -eq 1 ]; then
        as_pg_user "$PG_CTL" stop -D "$PG_DATA" -m immediate -w -t 10 >/dev/null 2>&1 || true
        # Belt and braces: kill the postmaster if it is still around.
        if [ -f "$PG_DATA/postmaster.pid" ]; then
            local pid
            pid="$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
            [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    if [ "$REDIS_STARTED" -eq 1 ]; then
        local rpid=""
        [ -f "$REDIS_PIDFILE" ] && rpid="$(cat "$REDIS_PIDFILE" 2>/dev/null || true)"
        timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
        if [ -n "$rpid" ]; then
            for _ in $(seq 1 50); do
                kill -0 "$rpid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$rpid" 2>/dev/null || true
        fi
    fi
    if [ -n "$TMP" ] && [ -d "$TMP" ]; then
        rm -rf "$TMP"
    fi
}

trap 'cleanup' EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# -------------------------------------------------------------- postgres ---

start_pg() {
    local bindir
    bindir="$(find_pg_bindir)"
    if [ -z "$bindir" ]; then
        apt_install postgresql \
            || die "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; install them (Debian/Ubuntu: apt-get install postgresql) or point SWITCHBOARD_TEST_DATABASE_URL at a running server"
        bindir="$(find_pg_bindir)"
        [ -n "$bindir" ] || die "PostgreSQL binaries still not found after installing postgresql"
    fi
    command -v psql >/dev/null 2>&1 || {
        apt_install postgresql-client || die "psql not found; install postgresql-client"
    }
    PG_CTL="$bindir/pg_ctl"

    if [ "$IS_ROOT" -eq 1 ] && ! id postgres >/dev/null 2>&1; then
        log "creating system user postgres"
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin postgres 2>/dev/null \
            || adduser --system --group --no-create-home postgres >/dev/null 2>&1 \
            || die "could not create the postgres system user"
    fi

    ensure_tmp
    local port sock
    port="$(free_port ${REDIS_PORT:+"$REDIS_PORT"})" || die "no free port for postgres"
    PG_DATA="$TMP/pgdata"
    sock="$TMP/pgsock"
    mkdir -p "$PG_DATA" "$sock"
    touch "$TMP/postgres.log"
    if [ "$IS_ROOT" -eq 1 ]; then
        chown postgres: "$PG_DATA" "$sock" "$TMP/postgres.log"
    fi
    chmod 700 "$PG_DATA"

    if ! as_pg_user "$bindir/initdb" -D "$PG_DATA" -A trust -U postgres -E UTF8 \
            --no-sync >"$TMP/initdb.log" 2>&1; then
        cat "$TMP/initdb.log" >&2
        die "initdb failed"
    fi
    PG_STARTED=1
    if ! as_pg_user "$PG_CTL" start -D "$PG_DATA" -w -t "$START_TIMEOUT" -l "$TMP/postgres.log" \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            >/dev/null 2>&1; then
        cat "$TMP/postgres.log" >&2
        die "pg_ctl start failed"
    fi
    DB_URL="postgres://postgres@127.0.0.1:$port/postgres"

    for _ in $(seq 1 "$((START_TIMEOUT * 2))"); do
        probe_pg "$DB_URL" && return 0
        sleep 0.5
    done
    cat "$TMP/postgres.log" >&2
    die "throwaway postgres on port $port did not answer within ${START_TIMEOUT}s"
}

# ----------------------------------------------------------------- redis ---

start_redis() {
    if ! command -v redis-server >/dev/null 2>&1; then
        apt_install redis-server \
            || die "redis-server not found; install it (Debian/Ubuntu: apt-get install redis-server) or point SWITCHBOARD_TEST_REDIS_URL at a running server"
        command -v redis-server >/dev/null 2>&1 || die "redis-server still not found after install"
    fi
    command -v redis-cli >/dev/null 2>&1 || {
        apt_install redis-tools || die "redis-cli not found; install redis-tools"
    }
    ensure_tmp
    local pgport=""
    case "$DB_URL" in
        *127.0.0.1:*) pgport="${DB_URL#*127.0.0.1:}"; pgport="${pgport%%/*}" ;;
    esac
    REDIS_PORT="$(free_port ${pgport:+"$pgport"})" || die "no free port for redis"
    mkdir -p "$TMP/redis"
    REDIS_PIDFILE="$TMP/redis/redis.pid"
    REDIS_STARTED=1
    if ! redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
            --daemonize yes --dir "$TMP/redis" --pidfile "$REDIS_PIDFILE" \
            --logfile "$TMP/redis/redis.log" >/dev/null 2>&1; then
        cat "$TMP/redis/redis.log" >&2 2>/dev/null
        die "redis-server failed to start"
    fi
    REDIS_URL="redis://127.0.0.1:$REDIS_PORT"

    for _ in $(seq 1 "$((START_TIMEOUT * 2))"); do
        probe_redis "$REDIS_URL" && return 0
        sleep 0.5
    done
    cat "$TMP/redis/redis.log" >&2 2>/dev/null
    die "throwaway redis on port $REDIS_PORT did not answer within ${START_TIMEOUT}s"
}

# ------------------------------------------------------------------ main ---

if probe_pg "$DB_URL"; then
    log "postgres at $DB_URL (existing)"
else
    log "postgres at $DB_URL does not answer; starting a throwaway server"
    start_pg
    log "postgres at $DB_URL (throwaway)"
fi

if probe_redis "$REDIS_URL"; then
    log "redis at $REDIS_URL (existing)"
else
    log "redis at $REDIS_URL does not answer; starting a throwaway server"
    start_redis
    log "redis at $REDIS_URL (throwaway)"
fi

export SWITCHBOARD_TEST_DATABASE_URL="$DB_URL"
export SWITCHBOARD_TEST_REDIS_URL="$REDIS_URL"

if [ "$PG_STARTED" -eq 0 ] && [ "$REDIS_STARTED" -eq 0 ]; then
    # Nothing to clean up: hand the process over to the command.
    trap - EXIT INT TERM
    exec "$@"
fi

"$@"
rc=$?
cleanup
exit "$rc"
