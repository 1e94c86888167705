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

// BenchmarkCaptureIssued stores captures that name codes issued here, as
// the service writes them (each code's custody with the events), straight
// into the store: 100,000 codes of one lot named in events of 1,000 to a
// transaction, one code an event (a sale) or 50 (a case packed). The
// codes are named in an order unrelated to their issuance, as sales are.
// What one named code costs: its custody update, its reference by key and
// by the code's row (code_refs).
func BenchmarkCaptureIssued(b *testing.B) {
	ctx := context.Background()
	const gtin, codes = "09506000134352", 100_000
	for _, per := range []int{1, 50} {
		b.Run(fmt.Sprintf("codes-per-event=%d", per), func(b *testing.B) {
			var took time.Duration
			named := 0
			for b.Loop() {
				db, s := open(b)
				if _, err := db.W.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
					INSERT INTO codes (gtin, serial, lot, iss, pos, state, possessor, issued_at, updated_at)
					SELECT ?, printf('S%08d', (i * 7919) % ?), 'L1', 'i1', printf('i1.%07d', i), 'issued', '', 1, 1 FROM n`,
					codes-1, gtin, codes); err != nil {
					b.Fatal(err)
				}
				at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
				start := time.Now()
				for k, w := 0, 0; k < codes; w++ {
					var cw trace.CaptureWrite
					for e := 0; e < 1000 && k < codes; e++ {
						ev := trace.StoredEvent{ID: fmt.Sprintf("ev%d-%d", w, e), Type: "ObjectEvent", Action: "OBSERVE", EventTime: at,
							RecordTime: at, CapturedBy: "e1", Visible: []string{"e1"}, Raw: []byte(`{}`)}
						for j := 0; j < per && k < codes; j, k = j+1, k+1 {
							key := trace.ItemKey(gtin, fmt.Sprintf("S%08d", k))
							ev.Refs = append(ev.Refs, trace.EventRef{Key: key, Role: trace.RoleEPC})
							cw.Custody = append(cw.Custody, trace.Custody{Key: key, State: trace.StateCommissioned, Possessor: "e1",
								LastEventAt: at, Version: 1})
						}
						cw.Events = append(cw.Events, ev)
					}
					if err := s.ApplyCapture(ctx, cw); err != nil {
						b.Fatal(err)
					}
				}
				took += time.Since(start)
				named += codes
			}
			b.ReportMetric(float64(named)/took.Seconds(), "named-codes/s")
		})
	}
}
