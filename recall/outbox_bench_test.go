package recall_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tracesvc/recall"
	"tracesvc/recall/recallsql"
	"tracesvc/recall/webhook"
	"tracesvc/trace"
	"tracesvc/trace/sqlitedb"
)

// benchCustodians is how many custodians (each with its own endpoint and
// notice) one run delivers to.
const benchCustodians = 10_000

// BenchmarkNotices times 10,000 notices to 10,000 custodians' endpoints on
// a loopback receiver through the outbox on the embedded store, from
// Enqueue to the last one stored as delivered ("outbox"), and 10,000 bare
// signed POSTs to the same receiver by as many goroutines as the outbox
// has workers ("bare").
func BenchmarkNotices(b *testing.B) {
	var received atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()
	policy := webhook.Policy{AllowPrivate: true, AllowHTTPHosts: []string{"127.0.0.1"}}
	secret := "whsec_bench-0123456789abcdef"
	const workers = recall.DefaultNoticeWorkers

	b.Run("outbox", func(b *testing.B) {
		ctx := context.Background()
		db, err := sqlitedb.Open(ctx, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		st, err := recallsql.New(ctx, db.W, db.R)
		if err != nil {
			b.Fatal(err)
		}
		sealer, err := webhook.NewSealer(bytes.Repeat([]byte{3}, 32))
		if err != nil {
			b.Fatal(err)
		}
		eps := recall.NewEndpoints(st, sealer, policy, nil)
		reg := trace.Principal{Role: trace.RoleRegulator}
		for i := range benchCustodians {
			u := fmt.Sprintf("%s/hooks/c%05d", rc.URL, i)
			if _, err := eps.Apply(ctx, reg, fmt.Sprintf("c%05d", i), recall.EndpointChange{URL: &u, Secret: &secret}); err != nil {
				b.Fatal(err)
			}
		}
		outbox, err := recall.NewOutbox(st, eps, webhook.New(webhook.Config{Policy: policy}),
			recall.OutboxConfig{Owner: "bench", Workers: workers})
		if err != nil {
			b.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { outbox.Run(runCtx, ctx) })
		defer func() { stop(); wg.Wait() }()

		run := 0
		for b.Loop() {
			run++
			ds := make([]recall.Delivery, benchCustodians)
			for i := range ds {
				id := fmt.Sprintf("r%d-n%05d", run, i)
				ds[i] = recall.Delivery{ID: id, EntityID: fmt.Sprintf("c%05d", i), Kind: "recall_notice", Ref: id,
					Body: fmt.Appendf(nil, `{"notice":%q,"recall":"R-1","lots":[{"gtin":"09506000134352","lot":"L1"}],"instructions":"stop selling"}`, id)}
			}
			if err := outbox.Enqueue(ctx, ds); err != nil {
				b.Fatal(err)
			}
			for {
				left, _, err := st.ListDeliveries(ctx, recall.DeliveryPending, trace.Page{Limit: 1})
				if err != nil {
					b.Fatal(err)
				}
				if len(left) == 0 {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		dead, _, err := st.ListDeliveries(ctx, recall.DeliveryDead, trace.Page{Limit: 1})
		if err != nil || len(dead) > 0 {
			b.Fatalf("dead deliveries: %v %v", dead, err)
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/10k")
		b.ReportMetric(float64(b.N*benchCustodians)/b.Elapsed().Seconds(), "notices/s")
	})

	b.Run("bare", func(b *testing.B) {
		d := webhook.New(webhook.Config{Policy: policy})
		body := []byte(`{"notice":"r1-n00000","recall":"R-1","lots":[{"gtin":"09506000134352","lot":"L1"}],"instructions":"stop selling"}`)
		for b.Loop() {
			var next atomic.Int64
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					for i := next.Add(1); i <= benchCustodians; i = next.Add(1) {
						res := d.Deliver(context.Background(), webhook.Attempt{URL: fmt.Sprintf("%s/hooks/c%05d", rc.URL, i),
							Body: body, Secrets: [][]byte{[]byte(secret)}, IdempotencyKey: fmt.Sprint("bare-", i)})
						if res.Outcome != webhook.Delivered {
							b.Errorf("bare POST: %s %s", res.Outcome, res.Reason)
							return
						}
					}
				})
			}
			wg.Wait()
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/10k")
		b.ReportMetric(float64(b.N*benchCustodians)/b.Elapsed().Seconds(), "posts/s")
	})
}
