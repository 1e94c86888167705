#!/bin/bash
# The mixed soak of issue 15: builds tracesvc and cmd/tracesoak from this tree (BIN=path runs that
# tracesvc binary instead), starts the service on a fresh data folder on a loopback port with its
# default flags but one, sets up a small supply chain through the API (a maker, a distributor, three
# retailers; three food products with published declarations, six lots, 12,000 codes issued and
# commissioned) and runs the mixed load for MINUTES (default 10): scans of issued codes (JSON and the
# scan page) and of unknown serials, EPCIS captures down the chain (each job read back), API reads
# (events, lot traces as JSON and NDJSON, lists, credit, the dashboard, /metrics), and mid-run a
# recall of one lot and a streamed issuance of 10,000 more codes. Prints the service's RSS and CPU
# every 10 s, the answers per class with p50/p99, the 5xx count and the peak RSS, and exits non-zero
# on any 5xx, transport error, unexpected answer, or a peak RSS of 300 MB or more. Then stops the
# service with SIGTERM and checks that it exits 0.
#
# -public-rate 0: all of the load comes from one loopback address, which the per-client limit for
# anonymous callers (20 requests/s, burst 40) would answer with 429 almost every time; the soak
# measures the service, not that limiter (which has its own benchmark).
#
# Rates (requests/s) are tracesoak's defaults: 400 JSON scans, 100 scan pages, 2 unknown serials,
# 10 capture documents, 20 API reads, which keep the service at about half of one core; pass other
# tracesoak flags after MINUTES (e.g. -scan-rate 800).
# Needs curl and openssl.
# usage: [BIN=path] [PORT=18090] deploy/bench/soak.sh [MINUTES] [tracesoak FLAGS…]
set -euo pipefail
cd "$(dirname "$0")/../.."
MIN=${1:-10}; shift || true
D=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$D"' EXIT # no job left is no failure
if [ -n "${BIN:-}" ]; then cp "$BIN" "$D/tracesvc"; else go build -o "$D/tracesvc" ./cmd/tracesvc; fi
go build -o "$D/tracesoak" ./cmd/tracesoak
PORT=${PORT:-18090}; BASE=http://127.0.0.1:$PORT
export TRACESVC_ADMIN_KEY=soak-$(openssl rand -hex 16)
"$D/tracesvc" -data "$D/data" -addr 127.0.0.1:$PORT -public-rate 0 >"$D/log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf $BASE/healthz >/dev/null 2>&1 && break; sleep 0.2; done
echo "tracesvc pid $PID on $BASE; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
rc=0
"$D/tracesoak" -base $BASE -pid $PID -duration ${MIN}m "$@" || rc=$?
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
kill -TERM $PID
if wait $PID; then echo "tracesvc stopped cleanly (exit 0)"; else echo "tracesvc exited $? after SIGTERM"; rc=1; fi
if grep -q '"level":"ERROR"' "$D/log"; then
  echo "the service logged errors:"; grep '"level":"ERROR"' "$D/log" | head -20; rc=1
fi
exit $rc
