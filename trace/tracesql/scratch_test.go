package tracesql_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"tracesvc/trace"
	"tracesvc/trace/sqlitedb"
	"tracesvc/trace/tracesql"
)

func BenchmarkScratchWalkEvents(b *testing.B) {
	dir, _ := wideStore(b)
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s, err := tracesql.New(ctx, db.W, db.R)
	if err != nil {
		b.Fatal(err)
	}
	product := wideGTIN(1)
	var keys []string
	for after := ""; ; {
		codes, err := s.ListCodes(ctx, trace.CodeFilter{GTIN: product, Lot: "WIDE", Moved: true}, trace.Page{Limit: 10000, After: after})
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range codes {
			keys = append(keys, trace.ItemKey(c.GTIN, c.Serial))
		}
		if len(codes) < 10000 {
			break
		}
		after = codes[len(codes)-1].Seq
	}
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b.Run("walkevents", func(b *testing.B) {
		c0 := cpu()
		defer func() { b.ReportMetric(float64((cpu()-c0).Milliseconds())/float64(b.N), "cpu-ms/op") }()
		for b.Loop() {
			n := 0
			for i := 0; i < len(keys); i += 4096 {
				evs, err := s.WalkEvents(ctx, keys[i:min(i+4096, len(keys))], 200000)
				if err != nil {
					b.Fatal(err)
				}
				n += len(evs)
			}
			b.ReportMetric(float64(n), "events")
		}
	})
	b.Run("listcodes", func(b *testing.B) {
		c0 := cpu()
		defer func() { b.ReportMetric(float64((cpu()-c0).Milliseconds())/float64(b.N), "cpu-ms/op") }()
		for b.Loop() {
			for after := ""; ; {
				codes, err := s.ListCodes(ctx, trace.CodeFilter{GTIN: product, Lot: "WIDE", Moved: true}, trace.Page{Limit: 10000, After: after})
				if err != nil {
					b.Fatal(err)
				}
				if len(codes) < 10000 {
					break
				}
				after = codes[len(codes)-1].Seq
			}
		}
	})
}
