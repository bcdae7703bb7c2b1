#!/usr/bin/env bash
# Usage: scripts/demo.sh   (make demo)
#
# The whole suite with something happening: the Graph API simulator (127.0.0.1:8089), all five
# services with the demo organization (`serve --demo`, SQLite in ./data), agent demo|beto kept
# available by heartbeats through the gateway, and a scripted customer writing a message every
# DEMO_EVERY seconds (default 15) from a few numbers. Sign in as demo|ana with the printed
# token to see conversations arrive in the inbox (or demo|admin to supervise). Ctrl-C stops all.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
EVERY="${DEMO_EVERY:-15}"
VENV="${SMOKE_VENV:-target/smoke-venv}"
SIM=http://127.0.0.1:8089
PIDS=()
stop() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; echo "demo: stopped"; }
trap stop EXIT INT TERM

cargo build -q -p switchboard -p switchboard-graph-sim || exit 1
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import grpc, grpc_reflection' 2>/dev/null; then
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q --disable-pip-version-check grpcio grpcio-reflection || exit 1
fi

target/debug/switchboard-graph-sim --port 8089 --app-secret dev-app-secret \
    --webhook-url http://127.0.0.1:8080/webhooks/whatsapp \
    --account 106540352242922:dev-token:102290129340398 >target/demo-sim.log 2>&1 &
PIDS+=($!)
SWITCHBOARD__CHANNEL__WHATSAPP__GRAPH_BASE_URL=$SIM \
SWITCHBOARD__CHANNEL__WHATSAPP__APP_SECRET=dev-app-secret \
SWITCHBOARD__CHANNEL__WHATSAPP__VERIFY_TOKEN=dev-verify-token \
SWITCHBOARD_SECRET_DEV_TOKEN=dev-token \
SWITCHBOARD__TELEMETRY__LOG_FILTER=warn \
    target/debug/switchboard serve --target all --demo >target/demo-serve.log 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "TOKEN=" target/demo-serve.log && break; sleep 0.2; done
grep -q "TOKEN=" target/demo-serve.log || { cat target/demo-serve.log; exit 1; }
grep -v "^\s*\x1b\|WARN\|INFO" target/demo-serve.log
ORG="$(grep -o 'organization org_[0-9a-f]*' target/demo-serve.log | head -1 | cut -d' ' -f2)"
BETO="$(target/debug/switchboard token --subject 'demo|beto' --ttl-secs 43200)"

# Beto stays available (a heartbeat every 20 s, as his console would send).
(while true; do
    "$VENV/bin/python" scripts/gateway_example.py --addr 127.0.0.1:50051 --org "$ORG" --token "$BETO" \
        Heartbeat '{"status": "AGENT_STATUS_AVAILABLE"}' >/dev/null || true
    sleep 20
done) &
PIDS+=($!)

# A customer writes every $EVERY seconds.
NAMES=(Camila Diego Lucía Mateo Valentina)
i=0
echo "demo: a customer writes every ${EVERY}s through the simulator (Ctrl-C stops everything)"
while true; do
    n=$((i % ${#NAMES[@]}))
    wa="54911000000$((10 + n))"
    if out="$(curl -s "$SIM/_sim/inbound" -d "{\"phone_number_id\":\"106540352242922\",\"wa_id\":\"$wa\",\"profile_name\":\"${NAMES[$n]}\",\"text\":\"Hola, soy ${NAMES[$n]} (mensaje $i)\"}")"; then
        echo "demo: ${NAMES[$n]} ($wa) wrote: $out"
    fi
    i=$((i + 1))
    sleep "$EVERY"
done
