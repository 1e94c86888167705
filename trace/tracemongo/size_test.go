package tracemongo

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"tracesvc/trace"
	"tracesvc/trace/epcis"
)

// maxBSON is MongoDB's document size limit.
const maxBSON = 16 << 20

// TestDocumentsFitAtTheLimits (issue 10, item 2): an event at every
// capture limit at once — epcis.MaxIdentifiers identifiers of the longest
// keys, trace.MaxEventBytes of JSON — and a capture job with
// trace.MaxJobErrors errors of the longest texts each fit in one MongoDB
// document.
func TestDocumentsFitAtTheLimits(t *testing.T) {
	longKey := "01/09506000134352/21/" + strings.Repeat("%2F", 20) // a 20-character serial, every character escaped
	e := trace.StoredEvent{ID: "ni:///sha-256;" + strings.Repeat("a", 64) + "?ver=CBV2.0", Type: "TransformationEvent",
		BizStep: "https://example.org/a/long/custom/bizstep/uri", EventTime: time.Now(), RecordTime: time.Now(),
		CapturedBy: strings.Repeat("e", 32), Raw: bytes.Repeat([]byte("x"), trace.MaxEventBytes)}
	for i := range epcis.MaxIdentifiers {
		e.Refs = append(e.Refs, trace.EventRef{Key: longKey + string(rune('A'+i%26)), Role: "outputClass", Quantity: epcis.MaxQuantity, UOM: "KGM"})
	}
	for range 50 {
		e.Parties = append(e.Parties, "destination:"+strings.Repeat("p", 32))
		e.Visible = append(e.Visible, strings.Repeat("v", 32))
	}
	b, err := bson.Marshal(newEventDoc(e))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > maxBSON {
		t.Fatalf("an event at the limits is %d bytes, over MongoDB's %d", len(b), maxBSON)
	}
	t.Logf("event at the limits: %.1f MiB of %d", float64(len(b))/(1<<20), maxBSON>>20)

	long := strings.Repeat("é", 500) // 1,000 bytes: the clipped length
	j := captureJobDoc{ID: strings.Repeat("j", 32), OwnerID: strings.Repeat("o", 32), Events: trace.MaxCaptureEvents}
	for i := range trace.MaxJobErrors {
		j.Errors = append(j.Errors, captureErrorDoc{Index: i, EventID: long, Pointer: long, Rule: "custody.notPossessor",
			Message: long, Custodian: strings.Repeat("c", 32)})
	}
	if b, err = bson.Marshal(j); err != nil {
		t.Fatal(err)
	}
	if len(b) > maxBSON {
		t.Fatalf("a capture job at the limits is %d bytes, over MongoDB's %d", len(b), maxBSON)
	}
	t.Logf("capture job at the limits: %.1f MiB", float64(len(b))/(1<<20))
}
