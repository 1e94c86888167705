#!/bin/bash
# Wide traces over HTTP from two or more built binaries in turn on one store (issue 14): for each
# round and binary, serves the store BenchmarkWideTrace builds (see wide-trace-rss.sh), warms it with
# one forward trace of WIDE, then times three times each: the streamed forward trace (NDJSON), the
# JSON answer cut at 100,000 nodes and WIDE's FSMA 204 export; prints the times and the MD5 of each
# answer (the forward trace also sorted), so that binaries can be compared in one sitting on a noisy
# machine and their answers checked to be the same. Needs curl, python3 and md5sum.
# usage: deploy/bench/wide-trace-ab.sh STORE_DIR PORT ROUNDS BINARY...
set -u
DIR=$1; PORT=$2; ROUNDS=$3; shift 3
OUT=$(mktemp -d)
read -r ADMIN GTIN < <(python3 -c 'import json,sys;s=json.load(open(sys.argv[1]));print(s["adminKey"],s["gtin"])' "$DIR/wide.json")
API=http://127.0.0.1:$PORT/api/v1; AUTH="Authorization: Bearer $ADMIN"
FWD="$API/trace/forward?gtin=$GTIN&lot=WIDE"
get() { curl -s -o "$OUT/$1" -w "%{time_total}\n" -H "$AUTH" -H "Accept: $3" "$2"; }
md5() { md5sum < "$1" | cut -c1-12; }
for round in $(seq "$ROUNDS"); do
  for BIN in "$@"; do
    "$BIN" -data "$DIR" -addr 127.0.0.1:$PORT -public-rate 0 -log-level warn > "$OUT/log" 2>&1 &
    PID=$!
    for _ in $(seq 300); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.2; done
    get warm "$FWD" application/x-ndjson > /dev/null
    F=(); J=(); X=()
    for _ in 1 2 3; do
      F+=("$(get fwd "$FWD" application/x-ndjson)")
      J+=("$(get json "$FWD&maxNodes=100000" application/json)")
      X+=("$(get fsma "$API/trace/lots/$GTIN/WIDE/fsma204.csv" text/csv)")
    done
    echo "round $round $BIN: forward ${F[*]} s; json ${J[*]} s; fsma ${X[*]} s"
    echo "  md5 forward $(md5 "$OUT/fwd") sorted $(sort "$OUT/fwd" | md5sum | cut -c1-12); json $(md5 "$OUT/json"); fsma $(md5 "$OUT/fsma")"
    kill $PID; wait $PID 2>/dev/null
  done
done
rm -rf "$OUT"
