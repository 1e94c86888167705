#!/bin/bash
# Resolve over real HTTP beside a bare Gin baseline, in one run (issue 14). Builds tracesvc and
# cmd/baregin, starts tracesvc on a fresh data folder, registers a food product with a
# published declaration, a batch and 1,000 codes (CODES=N for more), commissions them (EPCIS events
# of up to 10,000 codes), then runs wrk
# (32 connections, 2 threads) against: the bare Gin handler, the scan as JSON, the scan page, and
# prints each run's rate, latency, and the serving process's CPU time per answer and cores kept busy
# (from /proc/PID/stat: a cost the machine's other work inflates far less than the rate). Samples
# tracesvc's RSS every 200 ms, sends SIGTERM and counts the scans stored against the answers.
# Needs wrk, curl, openssl and python3.
# wrk counts an answer only once it has read it all, so a few more scans than answers may be stored.
# BIN=path runs that binary instead of building this tree's (to compare commits in one sitting).
# ROUNDS=N runs bare Gin, JSON and page N times in turn on the same processes and prints each round's
# ratios and their median: the guest's speed swings between minutes, and a ratio is only fair between
# runs next to each other.
# CODES=N scans N codes in turn instead of 1,000: with 100,000, each code is scanned about once in
# ten seconds, so the resolver's memory of scanned items (kept between captures) serves almost none.
# usage: [PROFILE=DIR] [KILL9=1] [BIN=path] [ROUNDS=N] [CODES=N] deploy/bench/resolve-wrk.sh [SECONDS] [EXTRA tracesvc FLAGS…]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-15}; shift || true
CODES=${CODES:-1000}
D=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$D"' EXIT # no job left is no failure
if [ -n "${BIN:-}" ]; then cp "$BIN" "$D/tracesvc"; else go build -o "$D/tracesvc" ./cmd/tracesvc; fi
go build -o "$D/baregin" ./cmd/baregin
PORT=18080; BASE=http://127.0.0.1:$PORT; API=$BASE/api/v1
ADMIN=reg-$(openssl rand -hex 16)
TRACESVC_ADMIN_KEY=$ADMIN "$D/tracesvc" -data "$D/data" -addr 127.0.0.1:$PORT -public-rate 0 -base-url $BASE \
  ${PROFILE:+-pprof 127.0.0.1:18083} "$@" >"$D/log" 2>&1 &
PID=$!
"$D/baregin" -addr 127.0.0.1:18081 & BARE=$!
for _ in $(seq 50); do curl -sf $BASE/healthz >/dev/null 2>&1 && break; sleep 0.2; done
REG="Authorization: Bearer $ADMIN"
json() { python3 -c "import json,sys;print(json.load(sys.stdin)[\"$1\"])"; }
KEY=$(curl -sf -H "$REG" $API/entities -d '{"name":"Haihe Dairy","uscc":"91350100M000100Y43","kinds":["manufacturer"],"region":"Tianjin","address":"1 Haihe Rd","companyPrefix":"690123"}' | json key)
ENT="Authorization: Bearer $KEY"
curl -sf -H "$ENT" $API/products -d '{"gtin":"6901230000010","name":"Whole milk 1 L","category":"food"}' >/dev/null
DECL=$(curl -sf -H "$ENT" $API/declarations -d '{"gtins":["06901230000010"],"standards":[{"type":"GB","number":"GB 25190-2010","name":"灭菌乳"}]}' | json id)
curl -sf -H "$ENT" -X POST $API/declarations/$DECL/publish >/dev/null
curl -sf -H "$ENT" $API/products/06901230000010/batches -d '{"lot":"W1","productionDate":"2026-11-20","expiryDate":"2027-11-20","quantity":'$CODES',"unit":"EA"}' >/dev/null
curl -sf -H "$ENT" -H 'Accept: text/csv' $API/products/06901230000010/batches/W1/codes -d '{"count":'$CODES'}' |
  tail -n +2 | cut -d, -f2 >"$D/uris.txt"
python3 - "$D/uris.txt" "$D/commission" <<'PY'
import json, sys
uris = [l.strip() for l in open(sys.argv[1]) if l.strip()]
for n, i in enumerate(range(0, len(uris), 10000)):
  with open("%s.%03d.jsonld" % (sys.argv[2], n), "w") as f:
    json.dump({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
      "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-11-20T08:00:00Z",
      "epcisBody": {"eventList": [{"type": "ObjectEvent", "eventTime": "2026-11-20T08:00:00+08:00",
        "eventTimeZoneOffset": "+08:00", "epcList": uris[i:i + 10000], "action": "ADD", "bizStep": "commissioning",
        "disposition": "active", "readPoint": {"id": "urn:epc:id:sgln:690123.000000.0"}}]}}, f)
PY
for doc in "$D"/commission.*.jsonld; do
  JOB=$(curl -sf -H "$ENT" -H 'Content-Type: application/ld+json' $BASE/epcis/capture --data-binary @"$doc" | json captureID)
  for _ in $(seq 100); do # the capture runs as a job: every scan must find the commissioning event
    curl -sf -H "$ENT" $BASE/epcis/capture/$JOB >"$D/job"; [ "$(json running <"$D/job")" = False ] && break; sleep 0.2
  done
  [ "$(json success <"$D/job")" = True ] || { echo "the commissioning capture failed: $(cat "$D/job")" >&2; exit 1; }
done
curl -sf -H 'Accept: application/json' "$(head -1 "$D/uris.txt")" | python3 -c 'import json,sys; r=json.load(sys.stdin)
assert r["verdict"] == "genuine" and r["provenance"], r' || { echo "a scan does not show the commissioning" >&2; exit 1; }
cat >"$D/wrk.lua" <<LUA
local uris = {}
for line in io.lines("$D/uris.txt") do uris[#uris+1] = line:gsub("^$BASE", "") end
local threads = 0
setup = function(thread) -- the two threads take every other code: each code once a pass
  thread:set("first", threads)
  threads = threads + 1
end
local i = nil
local accept = os.getenv("ACCEPT")
request = function()
  i = (i or first) + 2
  return wrk.format("GET", uris[(i % #uris) + 1], {["Accept"] = accept})
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.1f %.1f %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
( while kill -0 $PID 2>/dev/null; do awk '/VmRSS/{print $2}' /proc/$PID/status 2>/dev/null; sleep 0.2; done ) >"$D/rss" &
cpu() { awk '{print $14 + $15}' /proc/$1/stat; } # user + system clock ticks of a process
run() { # name url accept pid: the CPU the serving process spent per answer, beside the rate
  local before; before=$(cpu $4)
  ACCEPT=$3 wrk -t2 -c32 -d${SECS}s --latency -s "$D/wrk.lua" "$2" >"$D/out"
  local ticks=$(($(cpu $4) - before)) hz; hz=$(getconf CLK_TCK)
  awk -v n="$1" -v t=$ticks -v hz="$hz" -v s="$SECS" '/^RESULT/{printf "| %s | %s | %s ms | %s ms | %s | %s | %.0f µs | %.2f |\n", n, $2, $3, $4, $5, $6, 1e6 * t / hz / $5, t / hz / s}' "$D/out"
}
echo "| path | requests/s | p50 | p99 | answered | errors | server CPU per answer | server cores busy |"
echo "|---|---|---|---|---|---|---|---|"
run "bare Gin, JSON" http://127.0.0.1:18081 application/json $BARE | tee "$D/bare"
run "tracesvc resolve, JSON" $BASE application/json $PID | tee "$D/json"
run "tracesvc resolve, scan page" $BASE text/html $PID | tee "$D/html"
: >"$D/more"
rate() { awk -F'|' '{print $3}' "$1"; }
ratios() { # bare json page: one round's ratios, "JSON PAGE" in percent
  echo "$((100 * $(rate "$2") / $(rate "$1"))) $((100 * $(rate "$3") / $(rate "$1")))"
}
ratios "$D/bare" "$D/json" "$D/html" >"$D/ratios"
for r in $(seq 2 "${ROUNDS:-1}"); do # ROUNDS=N: the three runs again, side by side, as scans pile up
  run "bare Gin, JSON (round $r)" http://127.0.0.1:18081 application/json $BARE | tee "$D/bare.$r"
  run "tracesvc resolve, JSON (round $r)" $BASE application/json $PID | tee "$D/json.$r" | tee -a "$D/more"
  run "tracesvc resolve, scan page (round $r)" $BASE text/html $PID | tee "$D/html.$r" | tee -a "$D/more"
  ratios "$D/bare.$r" "$D/json.$r" "$D/html.$r" >>"$D/ratios"
done
if [ -n "${PROFILE:-}" ]; then # PROFILE=DIR: a 10 s CPU profile of each answer under load, into DIR
  for a in application/json text/html; do
    ACCEPT=$a wrk -t2 -c32 -d14s -s "$D/wrk.lua" $BASE >/dev/null &
    sleep 2; curl -s "http://127.0.0.1:18083/debug/pprof/profile?seconds=10" >"$PROFILE/resolve-${a#*/}.prof"; wait $!
  done
fi
answered=$(cat "$D/json" "$D/html" "$D/more" | awk -F'|' '{s+=$6} END {print s}')
bare=$(awk -F'|' '{print $3}' "$D/bare"); j=$(awk -F'|' '{print $3}' "$D/json"); h=$(awk -F'|' '{print $3}' "$D/html")
echo "ratio to bare Gin: JSON $((100 * j / bare)) %, scan page $((100 * h / bare)) %"
if [ "${ROUNDS:-1}" -gt 1 ]; then
  median() { cut -d' ' -f"$1" "$D/ratios" | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : int((v[NR/2]+v[NR/2+1])/2)}'; }
  echo "each round, JSON: $(cut -d' ' -f1 "$D/ratios" | paste -sd' ') % (median $(median 1) %); scan page: $(cut -d' ' -f2 "$D/ratios" | paste -sd' ') % (median $(median 2) %)"
fi
echo "peak RSS during the run: $(($(sort -n "$D/rss" | tail -1) / 1024)) MB"
if [ -n "${KILL9:-}" ]; then # KILL9=1: a last JSON run ended by kill -9 instead of SIGTERM
  ACCEPT=application/json wrk -t2 -c32 -d6s -s "$D/wrk.lua" $BASE >"$D/k9" 2>&1 &
  W=$!; sleep 4; kill -9 $PID; wait $W || true
  k9=$(awk '/^RESULT/{print $5}' "$D/k9"); answered=$((answered + k9))
  echo "kill -9 under load (JSON, 32 connections) after 4 s of $k9 answers"
else
  kill -TERM $PID
fi
wait $PID || true
# The scans in the store, read with Python's sqlite3 once the service has stopped.
[ -n "${PROFILE:-}" ] && { echo "(scans stored not compared: the profiling runs answered more)"; exit 0; }
stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM scans').fetchone()[0])" "$D/data/tracesvc.db")
how=SIGTERM; [ -n "${KILL9:-}" ] && how="kill -9"
echo "scans stored after $how: $stored of $answered answered ($((answered - stored)) missing)"
