package trace_test

import (
	"net/url"
	"testing"

	"tracesvc/trace"
	"tracesvc/trace/gs1"
)

// TestKeysMatchParseEPC: the keys the service builds for lots and items
// are the keys events are stored under, whatever characters a lot or
// serial holds. (They were built unescaped, so a lot such as L/2026-11 was
// missing from its FSMA export and from a trace started by ?gtin=&lot=.)
func TestKeysMatchParseEPC(t *testing.T) {
	const gtin = "09506000134352"
	for _, v := range []string{"L1", "L/2026-11", `=HYPERLINK("x.cn")`, "A%B", "a+b;c"} {
		lot, _, err := gs1.ParseEPC("https://id.example/01/" + gtin + "/10/" + url.PathEscape(v))
		if err != nil || trace.LotKey(gtin, v) != lot {
			t.Errorf("lot %q: LotKey %q, ParseEPC %q (%v)", v, trace.LotKey(gtin, v), lot, err)
		}
		item, _, err := gs1.ParseEPC("https://id.example/01/" + gtin + "/21/" + url.PathEscape(v))
		if err != nil || trace.ItemKey(gtin, v) != item {
			t.Errorf("serial %q: ItemKey %q, ParseEPC %q (%v)", v, trace.ItemKey(gtin, v), item, err)
		}
	}
}
