package tracesql

import (
	"encoding/json"
	"reflect"
	"testing"

	"tracesvc/trace"
)

// TestDecodeRefs: the refs column reads back as encoding/json would read
// it, escapes and quantities included, and anything unexpected still
// decodes through encoding/json.
func TestDecodeRefs(t *testing.T) {
	for _, refs := range [][]trace.EventRef{
		nil,
		{},
		{{Key: "01/09506000134352/21/S1", Role: trace.RoleEPC}},
		{{Key: "00/106141411234567897", Role: trace.RoleParent}, {Key: `01/09506000134352/21/A"<&>\é`, Role: trace.RoleChild},
			{Key: "01/09506000134352/10/L1", Role: trace.RoleClass, Quantity: 12.5, UOM: "KGM"},
			{Key: "01/09506000134352/10/L2", Role: trace.RoleInputClass, Quantity: 3},
			{Key: "01/09506000134352/10/L3", Role: trace.RoleOutputClass, UOM: "EA"}},
	} {
		b, err := json.Marshal(refs)
		if err != nil {
			t.Fatal(err)
		}
		var want []trace.EventRef
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		got, ok := scanRefs(b)
		if !ok || !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("scanRefs(%s) = %+v, %v; want %+v", b, got, ok, want)
		}
	}
	for _, odd := range []string{`[{"role":"epc","key":"k"}]`, `[ {"key":"k","role":"epc"} ]`, `[{"key":"k","role":"epc","x":1}]`} {
		if _, ok := scanRefs([]byte(odd)); ok {
			t.Errorf("scanRefs read %s, which is not the form it knows", odd)
		}
		got, err := decodeRefs([]byte(odd))
		if err != nil || len(got) != 1 || got[0].Key != "k" {
			t.Errorf("decodeRefs(%s) = %+v, %v", odd, got, err)
		}
	}
	if _, err := decodeRefs([]byte(`[{"key":`)); err == nil {
		t.Error("decodeRefs took broken JSON")
	}
}
