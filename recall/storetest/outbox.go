package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"tracesvc/recall"
	"tracesvc/trace"
	"tracesvc/trace/storetest"
)

// pending is a delivery as the outbox enqueues it, due at at.
func pending(id, entity string, at time.Time) recall.Delivery {
	return recall.Delivery{ID: id, EntityID: entity, Kind: "recall_notice", Ref: "n-" + id, Body: []byte(`{"notice":"` + id + `"}`),
		State: recall.DeliveryPending, NextAt: at, CreatedAt: at, UpdatedAt: at}
}

// deliveryIDs returns the IDs of ds, sorted.
func deliveryIDs(ds []recall.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	slices.Sort(out)
	return out
}

func testOutboxEnqueue(t *testing.T, s Stores) {
	ctx := context.Background()
	st := s.Outbox
	d1, d2 := pending("d1", "e1", t0), pending("d2", "e2", t0)
	storetest.Must(t, st.EnqueueDeliveries(ctx, []recall.Delivery{d1, d2}))

	// An ID enqueued again is left as it is, beside new ones.
	again := pending("d1", "e9", t0.Add(time.Hour))
	again.Body = []byte(`{"changed":true}`)
	storetest.Must(t, st.EnqueueDeliveries(ctx, []recall.Delivery{again, pending("d3", "e3", t0)}))
	got, err := st.Deliveries(ctx, []string{"d1", "nope", "d3"})
	storetest.Must(t, err)
	slices.SortFunc(got, func(a, b recall.Delivery) int { return cmpString(a.ID, b.ID) })
	storetest.Equal(t, got, []recall.Delivery{d1, pending("d3", "e3", t0)})
	got, err = st.Deliveries(ctx, nil)
	storetest.Must(t, err)
	storetest.Equal(t, len(got), 0)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// testOutboxLeases: claims take due deliveries only, earliest first; a
// leased delivery is nobody else's until its lease ends; a result is
// stored only under the lease it was claimed with.
func testOutboxLeases(t *testing.T, s Stores) {
	ctx := context.Background()
	st := s.Outbox
	storetest.Must(t, st.EnqueueDeliveries(ctx, []recall.Delivery{
		pending("a", "e1", t0.Add(2*time.Second)), pending("b", "e2", t0), pending("c", "e3", t0.Add(time.Hour))}))
	lease := t0.Add(time.Minute)

	got, err := st.ClaimDeliveries(ctx, "p1", t0.Add(5*time.Second), lease, 1)
	storetest.Must(t, err)
	storetest.Equal(t, deliveryIDs(got), []string{"b"}) // the earliest due
	b := got[0]
	storetest.Equal(t, []any{b.Attempts, b.LeaseOwner, b.LeaseUntil, b.NextAt}, []any{1, "p1", lease, lease})

	// A second claimer gets the other due one, not b; nothing more is due.
	leaseA := t0.Add(5 * time.Minute)
	got, err = st.ClaimDeliveries(ctx, "p2", t0.Add(5*time.Second), leaseA, 10)
	storetest.Must(t, err)
	storetest.Equal(t, deliveryIDs(got), []string{"a"})
	a := got[0]
	got, err = st.ClaimDeliveries(ctx, "p2", t0.Add(5*time.Second), leaseA, 10)
	storetest.Must(t, err)
	storetest.Equal(t, len(got), 0)

	// p1's lease on b ends without a result (p1 died): p2 takes b over,
	// and p1's late result is refused.
	takeover := t0.Add(2 * time.Minute)
	got, err = st.ClaimDeliveries(ctx, "p2", lease, takeover, 10)
	storetest.Must(t, err)
	storetest.Equal(t, deliveryIDs(got), []string{"b"})
	b2 := got[0]
	storetest.Equal(t, []any{b2.Attempts, b2.LeaseOwner, b2.LeaseUntil}, []any{2, "p2", takeover})
	late := b
	late.State, late.UpdatedAt, late.DeliveredAt = recall.DeliveryDelivered, lease, lease
	refused, err := st.CompleteDeliveries(ctx, []recall.Delivery{late})
	storetest.Must(t, err)
	storetest.Equal(t, refused, []string{"b"})
	// The same owner with another lease's end is refused too.
	stale := b2
	stale.LeaseUntil = lease
	refused, err = st.CompleteDeliveries(ctx, []recall.Delivery{stale})
	storetest.Must(t, err)
	storetest.Equal(t, refused, []string{"b"})

	// Results under the current leases are stored, and end the leases.
	done := b2
	done.State, done.UpdatedAt, done.DeliveredAt, done.LastStatus = recall.DeliveryDelivered, lease.Add(time.Second), lease.Add(time.Second), 204
	retry := a
	retry.NextAt, retry.UpdatedAt, retry.LastStatus, retry.LastError = t0.Add(10*time.Minute), lease, 503, "HTTP 503 Service Unavailable"
	refused, err = st.CompleteDeliveries(ctx, []recall.Delivery{done, retry, pending("ghost", "e0", t0)})
	storetest.Must(t, err)
	storetest.Equal(t, refused, []string{"ghost"})
	got, err = st.Deliveries(ctx, []string{"a", "b"})
	storetest.Must(t, err)
	slices.SortFunc(got, func(x, y recall.Delivery) int { return cmpString(x.ID, y.ID) })
	retry.LeaseOwner, retry.LeaseUntil = "", time.Time{}
	done.LeaseOwner, done.LeaseUntil = "", time.Time{}
	storetest.Equal(t, got, []recall.Delivery{retry, done})

	// A delivered one is never claimed again; a retry is, once due.
	got, err = st.ClaimDeliveries(ctx, "p1", t0.Add(9*time.Minute), t0.Add(20*time.Minute), 10)
	storetest.Must(t, err)
	storetest.Equal(t, len(got), 0)
	got, err = st.ClaimDeliveries(ctx, "p1", t0.Add(2*time.Hour), t0.Add(3*time.Hour), 10)
	storetest.Must(t, err)
	storetest.Equal(t, deliveryIDs(got), []string{"a", "c"})
	for _, d := range got {
		if d.ID == "a" && d.Attempts != 2 {
			t.Fatalf("a has %d attempts after its second claim", d.Attempts)
		}
	}
}

// testOutboxRelease: what an owner left leased is due again at once when
// it restarts; others' leases stay.
func testOutboxRelease(t *testing.T, s Stores) {
	ctx := context.Background()
	st := s.Outbox
	storetest.Must(t, st.EnqueueDeliveries(ctx, []recall.Delivery{pending("a", "e1", t0), pending("b", "e2", t0)}))
	_, err := st.ClaimDeliveries(ctx, "p1", t0, t0.Add(time.Hour), 1)
	storetest.Must(t, err)
	_, err = st.ClaimDeliveries(ctx, "p2", t0, t0.Add(time.Hour), 1)
	storetest.Must(t, err)
	n, err := st.ReleaseDeliveries(ctx, "p1", t0.Add(time.Second))
	storetest.Must(t, err)
	storetest.Equal(t, n, 1)
	got, err := st.ClaimDeliveries(ctx, "p1", t0.Add(time.Second), t0.Add(time.Hour), 10)
	storetest.Must(t, err)
	storetest.Equal(t, len(got), 1)
	storetest.Equal(t, got[0].Attempts, 2)
}

func testOutboxListRedrive(t *testing.T, s Stores) {
	ctx := context.Background()
	st := s.Outbox
	var ds []recall.Delivery
	for i := range 5 {
		ds = append(ds, pending(fmt.Sprintf("d%d", i), "e1", t0))
	}
	storetest.Must(t, st.EnqueueDeliveries(ctx, ds))
	claimed, err := st.ClaimDeliveries(ctx, "p1", t0, t0.Add(time.Minute), 3)
	storetest.Must(t, err)
	for i := range claimed {
		claimed[i].State, claimed[i].LastStatus, claimed[i].LastError = recall.DeliveryDead, 400, "HTTP 400 Bad Request"
	}
	_, err = st.CompleteDeliveries(ctx, claimed)
	storetest.Must(t, err)

	dead, next, err := st.ListDeliveries(ctx, recall.DeliveryDead, trace.Page{Limit: 2})
	storetest.Must(t, err)
	page2, next2, err := st.ListDeliveries(ctx, recall.DeliveryDead, trace.Page{Limit: 2, After: next})
	storetest.Must(t, err)
	storetest.Equal(t, next2, "")
	storetest.Equal(t, append(deliveryIDs(dead), deliveryIDs(page2)...), deliveryIDs(claimed))
	all, _, err := st.ListDeliveries(ctx, "", trace.Page{Limit: 10})
	storetest.Must(t, err)
	storetest.Equal(t, len(all), 5)
	counts := func() []int64 {
		t.Helper()
		var out []int64
		for _, state := range []recall.DeliveryState{recall.DeliveryPending, recall.DeliveryDead, recall.DeliveryDelivered} {
			n, err := st.CountDeliveries(ctx, state)
			storetest.Must(t, err)
			out = append(out, n)
		}
		return out
	}
	storetest.Equal(t, counts(), []int64{2, 3, 0})

	id := dead[0].ID
	d, err := st.RedriveDelivery(ctx, id, t0.Add(time.Hour))
	storetest.Must(t, err)
	storetest.Equal(t, []any{d.State, d.Attempts, d.NextAt, d.LastStatus, d.LeaseOwner}, []any{recall.DeliveryPending, 0, t0.Add(time.Hour), 400, ""})
	storetest.Equal(t, counts(), []int64{3, 2, 0})
	_, err = st.RedriveDelivery(ctx, id, t0.Add(time.Hour))
	storetest.WantErr(t, err, recall.ErrConflict, "")
	_, err = st.RedriveDelivery(ctx, "nope", t0)
	storetest.WantErr(t, err, recall.ErrNotFound, "")
	got, err := st.ClaimDeliveries(ctx, "p2", t0.Add(time.Hour), t0.Add(2*time.Hour), 10)
	storetest.Must(t, err)
	storetest.Equal(t, slices.Contains(deliveryIDs(got), id), true)
}

// testOutboxClaimsRacing: claimers racing over one store never get the
// same delivery.
func testOutboxClaimsRacing(t *testing.T, s Stores) {
	if s.NotAtomic != "" {
		t.Skip(s.NotAtomic)
	}
	ctx := context.Background()
	st := s.Outbox
	const n, claimers = 300, 6
	var ds []recall.Delivery
	for i := range n {
		ds = append(ds, pending(fmt.Sprintf("r%04d", i), "e1", t0))
	}
	storetest.Must(t, st.EnqueueDeliveries(ctx, ds))
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	errs := make(chan error, claimers)
	for c := range claimers {
		owner := fmt.Sprintf("p%d", c)
		wg.Go(func() {
			for {
				got, err := st.ClaimDeliveries(ctx, owner, t0, t0.Add(time.Hour), 7)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					if prev, ok := seen[d.ID]; ok {
						errs <- fmt.Errorf("%s claimed by %s and %s", d.ID, prev, owner)
					}
					seen[d.ID] = owner
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	storetest.Equal(t, len(seen), n)
}
