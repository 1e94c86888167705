package tracesql_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tracesvc/trace"
)

// BenchmarkTraceForward walks forward from one farm lot in a store of
// chains × 10 events (≥ 1,000,000 with the default), each chain six levels
// deep: lot → product lot (transformation) → items (transformation) →
// pallet (aggregation) → shipped → received.
func BenchmarkTraceForward(b *testing.B) {
	const chains = 100_000
	ctx := context.Background()
	_, s := open(b)
	reg := trace.NewRegistry(s, trace.RegistryConfig{GTINsWithoutPrefix: true})
	chain := trace.NewChain(s, s, reg, trace.ChainConfig{EntityURIPrefix: "https://id.example.cn/api/v1/entities/"})
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	start := time.Now()
	var batch []trace.StoredEvent
	flush := func() {
		if err := s.ApplyCapture(ctx, trace.CaptureWrite{Events: batch}); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	ev := func(id, typ, step string, at time.Time, by string, parties []string, refs ...trace.EventRef) {
		batch = append(batch, trace.StoredEvent{ID: id, Type: typ, Action: "OBSERVE", BizStep: step, EventTime: at,
			RecordTime: at, CapturedBy: by, Refs: refs, Parties: parties, Visible: []string{by}, Raw: []byte(`{}`)})
		if len(batch) == 10_000 {
			flush()
		}
	}
	ref := func(k, role string) trace.EventRef { return trace.EventRef{Key: k, Role: role} }
	for i := range chains {
		at := t0.Add(time.Duration(i) * time.Second)
		root := fmt.Sprintf("01/09506000134352/10/R%d", i)
		prod := fmt.Sprintf("01/04006381333931/10/P%d", i)
		unit := fmt.Sprintf("00/%018d", i)
		var items []trace.EventRef
		for j := range 3 {
			items = append(items, ref(fmt.Sprintf("01/04006381333931/21/X%dY%d", i, j), trace.RoleOutput))
		}
		id := func(n int) string { return fmt.Sprintf("e%d-%d", i, n) }
		ev(id(0), "ObjectEvent", "commissioning", at, "farm", nil, ref(root, trace.RoleClass))
		ev(id(1), "ObjectEvent", "shipping", at, "farm", []string{"destination:proc"}, ref(root, trace.RoleClass))
		ev(id(2), "ObjectEvent", "receiving", at, "proc", nil, ref(root, trace.RoleClass))
		ev(id(3), "TransformationEvent", "", at, "proc", nil, ref(root, trace.RoleInputClass), ref(prod, trace.RoleOutputClass))
		ev(id(4), "TransformationEvent", "", at, "proc", nil, append([]trace.EventRef{ref(prod, trace.RoleInputClass)}, items...)...)
		children := []trace.EventRef{ref(unit, trace.RoleParent)}
		for _, it := range items {
			children = append(children, ref(it.Key, trace.RoleChild))
		}
		ev(id(5), "AggregationEvent", "packing", at, "dist", nil, children...)
		ev(id(6), "ObjectEvent", "inspecting", at, "dist", nil, ref(unit, trace.RoleEPC))
		ev(id(7), "ObjectEvent", "shipping", at, "dist", []string{"destination:shop"}, ref(unit, trace.RoleEPC))
		ev(id(8), "ObjectEvent", "receiving", at, "shop", nil, ref(unit, trace.RoleEPC))
		ev(id(9), "ObjectEvent", "retail_selling", at, "shop", nil, ref(items[0].Key, trace.RoleEPC))
	}
	flush()
	b.Logf("stored %d events in %s", chains*10, time.Since(start).Round(time.Millisecond))
	b.ResetTimer()
	i := 0
	for b.Loop() {
		root := fmt.Sprintf("01/09506000134352/10/R%d", (i*7919)%chains)
		i++
		g, err := chain.Trace(ctx, trace.System, []string{root}, trace.Forward, trace.TraceOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(g.Nodes) < 7 || g.Truncated {
			b.Fatalf("walk found %d nodes (truncated %v)", len(g.Nodes), g.Truncated)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/walk")
}
