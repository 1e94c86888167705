package trace_test

import (
	"context"
	"testing"

	"tracesvc/trace"
	"tracesvc/trace/gs1"
	"tracesvc/trace/tracesql"
)

// TestScansAfterCloseAreKept checks that a scan logged by a request that
// outlived the shutdown is still stored, in line, and nothing panics.
func TestScansAfterCloseAreKept(t *testing.T) {
	ctx := context.Background()
	db, err := tracesql.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := tracesql.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	reg := trace.NewRegistry(st, nil)
	r := trace.NewResolver(reg, st, trace.NewChain(st, st, reg, "https://x"), st, trace.ResolverConfig{})
	r.Close()
	e := gs1.Elements{{AI: "01", Value: "09506000134352"}, {AI: "21", Value: "LATE1"}}
	for range 3 {
		if _, err := r.Resolve(ctx, "https://x/01/09506000134352/21/LATE1", e, trace.ScanClient{Fingerprint: "f"}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := st.CountScans(ctx, "09506000134352", "LATE1")
	if err != nil || n != 3 {
		t.Fatalf("scans stored after close: %d (%v), want 3", n, err)
	}
	r.Close() // closing twice is harmless
}
