package scan_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"tracesvc/trace"
	"tracesvc/trace/gs1"
	"tracesvc/trace/scan"
	"tracesvc/trace/sqlitedb"
	"tracesvc/trace/tracesql"
)

// faultyStore is the real embedded store with scan writes that fail
// while down is set, or hang until their context ends while hang is set.
type faultyStore struct {
	*tracesql.Store
	down, hang atomic.Bool
	attempts   atomic.Int64
	alertGate  chan struct{} // when set, alerts are stored only once it is closed
}

func (f *faultyStore) InsertAlert(ctx context.Context, a scan.Alert) error {
	if f.alertGate != nil {
		<-f.alertGate
	}
	return f.Store.InsertAlert(ctx, a)
}

func (f *faultyStore) InsertScans(ctx context.Context, scans []scan.Scan) error {
	f.attempts.Add(1)
	switch {
	case f.hang.Load():
		<-ctx.Done()
		return ctx.Err()
	case f.down.Load():
		return errors.New("disk on fire")
	}
	return f.Store.InsertScans(ctx, scans)
}

func newResolver(t *testing.T, cfg scan.Config) (*scan.Resolver, *faultyStore) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := tracesql.New(ctx, db.W, db.R)
	if err != nil {
		t.Fatal(err)
	}
	f := &faultyStore{Store: st}
	reg := trace.NewRegistry(st, trace.RegistryConfig{GTINsWithoutPrefix: true})
	chain := trace.NewChain(st, st, reg, trace.ChainConfig{EntityURIPrefix: "https://x/api/v1/entities/"})
	r := scan.New(reg, st, st, chain, f, cfg)
	t.Cleanup(func() { r.Close(context.Background()) })
	return r, f
}

func resolve(t *testing.T, r *scan.Resolver, serial string) {
	t.Helper()
	e := gs1.Elements{{AI: "01", Value: "09506000134352"}, {AI: "21", Value: serial}}
	if _, err := r.Resolve(context.Background(), "https://x/01/09506000134352/21/"+serial, e, scan.Client{Fingerprint: "f"}); err != nil {
		t.Fatal(err)
	}
}

// TestScansAfterCloseAreKept checks that a scan logged by a request that
// outlived the shutdown is still stored, in line, and nothing panics.
func TestScansAfterCloseAreKept(t *testing.T) {
	r, st := newResolver(t, scan.Config{})
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		resolve(t, r, "LATE1")
	}
	n, err := st.CountScans(context.Background(), "09506000134352", "LATE1")
	if err != nil || n != 3 {
		t.Fatalf("scans stored after close: %d (%v), want 3", n, err)
	}
	if s := r.Stats(); s.Stored != 3 || s.Dropped != 0 {
		t.Fatalf("stats: %+v", s)
	}
	if err := r.Close(context.Background()); err != nil { // closing twice is harmless
		t.Fatal(err)
	}
}

// TestStoreDownDropsAfterBoundedRetries checks that with the store down
// the recorder tries a bounded number of times, then drops and counts the
// scans, and recovers when the store does.
func TestStoreDownDropsAfterBoundedRetries(t *testing.T) {
	r, st := newResolver(t, scan.Config{StoreAttempts: 3, RetryWait: time.Millisecond})
	st.down.Store(true)
	resolve(t, r, "DOWN1")
	// Resolving goes on answering while the recorder retries.
	resolve(t, r, "DOWN2")
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s.Stored != 0 || s.Dropped != 2 || s.Queued != 0 {
		t.Fatalf("stats: %+v, want both scans dropped", s)
	}
	if a := st.attempts.Load(); a > 3*2 {
		t.Fatalf("%d store attempts for at most two batches of 3", a)
	}
	// The store is back: the next scan is stored.
	st.down.Store(false)
	resolve(t, r, "UP1")
	if s := r.Stats(); s.Stored != 1 || s.Dropped != 2 {
		t.Fatalf("stats after recovery: %+v", s)
	}
}

// TestCloseHasADeadline checks that Close returns when its context ends
// even if the store hangs, and counts what it gave up.
func TestCloseHasADeadline(t *testing.T) {
	r, st := newResolver(t, scan.Config{StoreAttempts: 1000, RetryWait: time.Hour})
	st.hang.Store(true)
	resolve(t, r, "HANG1")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := r.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with a hung store: %v, want the deadline", err)
	}
	if s := r.Stats(); s.Dropped != 1 {
		t.Fatalf("stats: %+v, want the hung scan dropped", s)
	}
}

// resolveAt resolves a serial scanned at a location.
func resolveAt(t *testing.T, r *scan.Resolver, serial string, lat, lon float64) {
	t.Helper()
	e := gs1.Elements{{AI: "01", Value: "09506000134352"}, {AI: "21", Value: serial}}
	if _, err := r.Resolve(context.Background(), "https://x/01/09506000134352/21/"+serial, e,
		scan.Client{Fingerprint: "f", Lat: &lat, Lon: &lon}); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestLoneScanIsStored checks that a scan with no other traffic after it
// is stored all the same (its batch is written after a short wait, not
// when it is full).
func TestLoneScanIsStored(t *testing.T) {
	r, _ := newResolver(t, scan.Config{})
	resolve(t, r, "LONE1")
	waitFor(t, "the lone scan to be stored", func() bool { return r.Stats().Stored == 1 })
}

// TestChecksDoNotHoldScans checks that counterfeit checks stuck on writing
// their alerts do not hold up storing scans, and that every alert is
// written once they can be.
func TestChecksDoNotHoldScans(t *testing.T) {
	r, st := newResolver(t, scan.Config{})
	st.alertGate = make(chan struct{})
	// Each serial is scanned in Tianjin, then in Sydney a moment later:
	// impossible travel, an alert per serial.
	for i := range 20 {
		serial := fmt.Sprint("TRAVEL", i)
		resolveAt(t, r, serial, 39.13, 117.2)
		waitFor(t, "the first scan to be stored", func() bool { return r.Stats().Stored == int64(2*i+1) })
		resolveAt(t, r, serial, -33.87, 151.21)
	}
	waitFor(t, "every scan to be stored while the alerts wait", func() bool { return r.Stats().Stored == 40 })
	close(st.alertGate)
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	alerts, _, err := r.Alerts(context.Background(), trace.Principal{Role: trace.RoleRegulator}, scan.AlertImpossibleTravel, trace.Page{Limit: 100})
	if err != nil || len(alerts) != 20 {
		t.Fatalf("%d impossible-travel alerts (%v), want 20", len(alerts), err)
	}
}

// TestFullQueueWaitsThenDrops checks that with the store stuck, scans
// queue up to the bound, the next one waits for room and is then dropped
// and counted, and answering goes on.
func TestFullQueueWaitsThenDrops(t *testing.T) {
	r, st := newResolver(t, scan.Config{StoreAttempts: 1})
	st.hang.Store(true)
	resolve(t, r, "HELD0")
	waitFor(t, "the recorder to hold its first batch", func() bool { return st.attempts.Load() == 1 })
	for i := range 2048 {
		resolve(t, r, fmt.Sprint("Q", i))
	}
	if s := r.Stats(); s.Queued != 2048 || s.Dropped != 0 {
		t.Fatalf("stats with a full queue: %+v", s)
	}
	resolve(t, r, "ONEMORE") // waits for room, gets none, is dropped
	if s := r.Stats(); s.Dropped != 1 {
		t.Fatalf("stats after one more scan: %+v, want it dropped", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	r.Close(ctx) // gives up on the stuck store
}
