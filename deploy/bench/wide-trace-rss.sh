#!/bin/bash
# Wide traces on the built binary (issue 14): serves the 10,000,000-event store that
# BenchmarkWideTrace builds (trace/tracesql/widebench_test.go; its folder is printed by the
# benchmark, by default $TMPDIR/tracesvc-wide-v1-10000000), then times over HTTP: one streamed
# forward trace of the WIDE lot (100,000 units), four at once, the backward trace of one unit, the
# SPARE lot's forward trace (a million unmoved codes, summarised) and both lots' FSMA 204 exports,
# sampling the process RSS every 100 ms (VmRSS, and its anonymous and file-backed parts: SQLite
# maps up to 1 GB of the database file). Needs curl, python3 and awk.
# usage: deploy/bench/wide-trace-rss.sh BINARY PORT STORE_DIR [EXTRA_FLAGS...]
set -u
BIN=$1; PORT=$2; DIR=$3; shift 3
LOG=$(mktemp); RSS=$(mktemp); OUT=$(mktemp)
read -r ADMIN GTIN UNIT < <(python3 -c 'import json,sys;s=json.load(open(sys.argv[1]));print(s["adminKey"],s["gtin"],s["Units"][len(s["Units"])//2])' "$DIR/wide.json")
$BIN -data "$DIR" -addr 127.0.0.1:$PORT -public-rate 0 -log-level warn "$@" > "$LOG" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.2; done
API=http://127.0.0.1:$PORT/api/v1; AUTH="Authorization: Bearer $ADMIN"
( while kill -0 $PID 2>/dev/null; do
    awk -v t="$(date +%s.%N)" '/^VmRSS/{r=$2} /^RssAnon/{a=$2} /^RssFile/{f=$2} END{print t, r, a, f}' /proc/$PID/status
    sleep 0.1
  done ) > "$RSS" &
SAMP=$!
rss_now() { awk '/^VmRSS/{r=$2} /^RssAnon/{a=$2} /^RssFile/{f=$2} END{printf "%d MB (anon %d, file %d)", r/1024, a/1024, f/1024}' /proc/$PID/status; }
peak_since() { awk -v t0="$1" '$1>=t0 && $2>r {r=$2; a=$3; f=$4} END{printf "peak RSS %d MB (anon %d, file %d)", r/1024, a/1024, f/1024}' "$RSS"; }
# timed NAME URL ACCEPT: one request, its time, size and last line
timed() {
  local s e
  s=$(date +%s.%N)
  curl -s -H "$AUTH" -H "Accept: $3" "$2" > "$OUT.$1"
  e=$(date +%s.%N)
  echo "$1: $(awk -v s="$s" -v e="$e" 'BEGIN{printf "%.2f s", e-s}'), $(wc -l < "$OUT.$1") lines, $(($(stat -c %s "$OUT.$1")/1024/1024)) MB; last: $(tail -c 160 "$OUT.$1" | tail -1 | cut -c1-160)"
}
echo "idle after start: $(rss_now)"
FWD="$API/trace/forward?gtin=$GTIN&lot=WIDE"
t0=$(date +%s.%N); timed forward "$FWD" application/x-ndjson; sleep 0.3; echo "  $(peak_since $t0)"
t0=$(date +%s.%N); timed forward-again "$FWD" application/x-ndjson; sleep 0.3; echo "  $(peak_since $t0)"
t0=$(date +%s.%N)
PIDS=()
for i in 1 2 3 4; do timed "four-$i" "$FWD" application/x-ndjson & PIDS+=($!); done
wait "${PIDS[@]}"
sleep 0.3; echo "  four at once: $(peak_since $t0)"
t0=$(date +%s.%N); timed json-100k "$FWD&maxNodes=100000" application/json; sleep 0.3; echo "  $(peak_since $t0)"
t0=$(date +%s.%N); timed backward "$API/trace/backward?epc=https://id.example.cn/$UNIT" application/x-ndjson; echo "  $(peak_since $t0)"
t0=$(date +%s.%N); timed spare-json "$API/trace/forward?gtin=$GTIN&lot=SPARE" application/json; echo "  $(peak_since $t0)"
t0=$(date +%s.%N); timed spare-all-codes "$API/trace/forward?gtin=$GTIN&lot=SPARE&codes=all" application/x-ndjson; echo "  $(peak_since $t0)"
t0=$(date +%s.%N); timed fsma-spare "$API/trace/lots/$GTIN/SPARE/fsma204.csv" text/csv; echo "  $(peak_since $t0)"
t0=$(date +%s.%N); timed fsma-wide "$API/trace/lots/$GTIN/WIDE/fsma204.csv" text/csv; echo "  $(peak_since $t0)"
sleep 5
echo "5 s after: $(rss_now); $(peak_since 0) over the whole run"
kill $PID; wait $PID 2>/dev/null; kill $SAMP 2>/dev/null
rm -f "$LOG" "$RSS" "$OUT" "$OUT".*
