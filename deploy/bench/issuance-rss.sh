#!/bin/bash
# Starts the built binary on a fresh data folder, registers a product and a batch, streams a
# 1,000,000-code issuance as CSV, then captures 10,000 EPCIS events in 10 documents; samples the
# process RSS every 200 ms and prints the peak of each, the RSS five seconds after the issuance, and
# the RSS once idle for IDLE seconds (default 70: idle connections close after a minute). Needs
# curl, python3, awk and bc.
# usage: [IDLE=70] deploy/bench/issuance-rss.sh BINARY PORT EXTRA_FLAGS...
BIN=$1; PORT=$2; shift 2
D=$(mktemp -d); ADMIN=reg-$(openssl rand -hex 16)
TRACESVC_ADMIN_KEY=$ADMIN $BIN -data $D/data -addr 127.0.0.1:$PORT -public-rate 0 "$@" > $D/log 2>&1 &
PID=$!; sleep 1.5
API=http://127.0.0.1:$PORT/api/v1; REG="Authorization: Bearer $ADMIN"
KEY=$(curl -s -H "$REG" $API/entities -d '{"name":"M","uscc":"91350100M000100Y43","kinds":["manufacturer"],"region":"T","address":"x","companyPrefix":"690123"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["key"])')
curl -s -H "Authorization: Bearer $KEY" $API/products -d '{"gtin":"6901230000010","name":"M","category":"other"}' >/dev/null
curl -s -H "Authorization: Bearer $KEY" $API/products/06901230000010/batches -d '{"lot":"L1","productionDate":"2026-11-20","quantity":1000000,"unit":"EA"}' >/dev/null
peak=0
( while kill -0 $PID 2>/dev/null; do r=$(awk '/VmRSS/{print $2}' /proc/$PID/status); echo $r; sleep 0.2; done ) > $D/rss &
SAMP=$!
start=$(date +%s.%N)
curl -s -H "Authorization: Bearer $KEY" -H 'Accept: text/csv' $API/products/06901230000010/batches/L1/codes -d '{"count":1000000}' | wc -l
end=$(date +%s.%N)
sleep 5
final=$(awk '/VmRSS/{print $2}' /proc/$PID/status)
issuepeak=$(sort -n $D/rss | tail -1); : > $D/rss
# 10,000 ObjectEvents in 10 documents of 1,000, about items not issued here.
for d in $(seq 0 9); do
  python3 - $d > $D/doc.json <<'PY'
import json, sys
d = int(sys.argv[1])
ev = [{"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
       "eventTime": "2026-11-20T10:%02d:%02d.000+08:00" % ((k // 60) % 60, k % 60), "eventTimeZoneOffset": "+08:00",
       "epcList": ["urn:epc:id:sgtin:0614141.107346.%d" % (2 * k), "urn:epc:id:sgtin:0614141.107346.%d" % (2 * k + 1)],
       "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"}} for k in range(d * 1000, d * 1000 + 1000)]
print(json.dumps({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument",
  "schemaVersion": "2.0", "creationDate": "2026-11-20T08:00:00Z", "epcisBody": {"eventList": ev}}))
PY
  curl -s -o /dev/null -w '%{http_code} ' -H "Authorization: Bearer $KEY" -H 'Content-Type: application/ld+json' \
    http://127.0.0.1:$PORT/epcis/capture --data-binary @$D/doc.json
done; echo
sleep $((${IDLE:-70} - 5))
idle=$(awk '/VmRSS/{print $2}' /proc/$PID/status)
capturepeak=$(sort -n $D/rss | tail -1) # captures are stored in the background (202): the peak after the issuance
kill $PID; sleep 0.5; kill $SAMP 2>/dev/null
echo "issuance $(echo "$end - $start" | bc) s; peak RSS $((issuepeak/1024)) MB; RSS 5 s after $((final/1024)) MB; \
10,000-event capture: peak RSS $((capturepeak/1024)) MB; idle ${IDLE:-70} s: $((idle/1024)) MB"
rm -rf $D
