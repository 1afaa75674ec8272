#!/bin/sh
# Captures the real `/metrics` output the scrape parser's tests read:
# Debian's node exporter, Prometheus itself, vigil's own gateway, and the
# prometheus_client fixtures (see exposition_fixture.py).
#
# Debian's node exporter (1.5) and Prometheus (2.42) answer text/plain 0.0.4
# even when asked for OpenMetrics; the script records the content type they
# answered with, and when it is not OpenMetrics writes the node exporter's
# page again with prometheus_client's OpenMetrics writer instead. Each server runs on a loopback port only for as
# long as the capture takes, and is stopped by the id it was started with.
#
#   VIGIL=target/debug/vigil scripts/capture_exposition.sh tests/fixtures/exposition
set -eu

OUT=${1:-tests/fixtures/exposition}
VIGIL=${VIGIL:-target/debug/vigil}
OPENMETRICS='Accept: application/openmetrics-text; version=1.0.0'
mkdir -p "$OUT"
WORK=$(mktemp -d)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# Waits until a URL answers, for at most ten seconds.
wait_for() {
    i=0
    until curl -fsS -o /dev/null "$1" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -lt 100 ] || { echo "no answer from $1" >&2; exit 1; }
        sleep 0.1
    done
}

python3 "$(dirname "$0")/exposition_fixture.py" "$OUT"

prometheus-node-exporter --web.listen-address=127.0.0.1:19100 >"$WORK/node.log" 2>&1 &
PIDS="$PIDS $!"
wait_for http://127.0.0.1:19100/metrics
curl -fsS http://127.0.0.1:19100/metrics >"$OUT/node_exporter.txt"
curl -fsS -H "$OPENMETRICS" -D "$WORK/node.om.head" http://127.0.0.1:19100/metrics >"$WORK/node.om.txt"
if grep -qi '^content-type: application/openmetrics-text' "$WORK/node.om.head"; then
    cp "$WORK/node.om.txt" "$OUT/node_exporter.om.txt"
else
    echo "node exporter answered $(grep -i '^content-type' "$WORK/node.om.head" | tr -d '\r')" >&2
    python3 "$(dirname "$0")/exposition_fixture.py" --openmetrics "$OUT/node_exporter.txt" "$OUT/node_exporter.om.txt"
fi

cat >"$WORK/prometheus.yml" <<'EOF'
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: self
    static_configs:
      - targets: ["127.0.0.1:19090"]
EOF
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
    --web.listen-address=127.0.0.1:19090 >"$WORK/prometheus.log" 2>&1 &
PIDS="$PIDS $!"
wait_for http://127.0.0.1:19090/-/ready
# A few scrapes of itself first, so its histograms and summaries hold data.
sleep 12
curl -fsS http://127.0.0.1:19090/metrics >"$OUT/prometheus.txt"

"$VIGIL" serve --bind 127.0.0.1:19091 >"$WORK/vigil.log" 2>&1 &
PIDS="$PIDS $!"
wait_for http://127.0.0.1:19091/metrics
sleep 3
# Some traffic first, with a few failures, so its request counter and
# histogram have more than one route and status.
for _ in 1 2 3 4 5; do
    curl -s -o /dev/null http://127.0.0.1:19091/api/v1/metrics/realtime
    curl -s -o /dev/null http://127.0.0.1:19091/healthz
done
curl -s -o /dev/null "http://127.0.0.1:19091/api/v1/metrics/historical?metric=nope"
curl -s -o /dev/null http://127.0.0.1:19091/no/such/page
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d '{' http://127.0.0.1:19091/api/v1/alerts/subscribe
curl -fsS http://127.0.0.1:19091/metrics >"$OUT/vigil_gateway.txt"

wc -c "$OUT"/*.txt
