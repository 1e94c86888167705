package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tracesvc/cmd/wire"
	"tracesvc/recall"
	"tracesvc/recall/webhook"
	"tracesvc/trace"
	"tracesvc/trace/sqlitedb"
)

// hookSecret signs every test custodian's notices.
const hookSecret = "whsec_process-test-0123456789"

// dedupeReceiver is the custodians' webhook (all of them on one host): it
// verifies each request and processes each Idempotency-Key once.
type dedupeReceiver struct {
	*httptest.Server
	mu        sync.Mutex
	requests  map[string]int // by key, every request
	processed int            // distinct keys processed
	bad       int            // requests that failed verification
}

func newDedupeReceiver(t *testing.T, delay time.Duration) *dedupeReceiver {
	rc := &dedupeReceiver{requests: map[string]int{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		time.Sleep(delay)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if webhook.Verify(body, r.Header, [][]byte{[]byte(hookSecret)}, time.Now(), 5*time.Minute) != nil {
			rc.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		key := r.Header.Get(webhook.HeaderIdempotencyKey)
		if rc.requests[key]++; rc.requests[key] == 1 {
			rc.processed++
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *dedupeReceiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.processed
}

// fillOutbox prepares the data folder dir as the service would leave it:
// n custodians whose webhooks point at url, and one pending notice to
// each, due at due.
func fillOutbox(t *testing.T, dir, url string, n int, due time.Time) []string {
	t.Helper()
	ctx := context.Background()
	key, err := webhook.LoadOrCreateKey("", dir) // the key file the service will read
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlitedb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := wire.SQLite(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := webhook.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	eps := recall.NewEndpoints(st.Endpoints, sealer, webhook.Policy{AllowPrivate: true, AllowHTTPHosts: []string{"127.0.0.1"}}, nil)
	outbox, err := recall.NewOutbox(st.Outbox, eps, webhook.New(webhook.Config{}), recall.OutboxConfig{Owner: "filler"})
	if err != nil {
		t.Fatal(err)
	}
	reg := trace.Principal{Role: trace.RoleRegulator}
	secret := hookSecret
	ids := make([]string, n)
	ds := make([]recall.Delivery, n)
	for i := range n {
		entity := fmt.Sprintf("ent-%05d", i)
		u := fmt.Sprintf("%s/hooks/%s", url, entity)
		if _, err := eps.Apply(ctx, reg, entity, recall.EndpointChange{URL: &u, Secret: &secret}); err != nil {
			t.Fatal(err)
		}
		ids[i] = fmt.Sprintf("notice-%05d", i)
		ds[i] = recall.Delivery{ID: ids[i], EntityID: entity, Kind: "recall_notice", Ref: ids[i], NextAt: due,
			Body: fmt.Appendf(nil, `{"notice":%q,"lots":["L1"],"instructions":"stop selling"}`, ids[i])}
	}
	if err := outbox.Enqueue(ctx, ds); err != nil {
		t.Fatal(err)
	}
	return ids
}

// outboxStates counts the deliveries of the data folder by state.
func outboxStates(t *testing.T, dir string) map[string]int {
	t.Helper()
	db, err := sqlitedb.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.R.Query(`SELECT state, count(*) FROM recall_deliveries GROUP BY state`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out[s] = n
	}
	return out
}

// waitFor polls cond for up to max.
func waitFor(t *testing.T, max time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(max)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, max)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var outboxArgs = []string{"-webhook-allow-private", "-webhook-http-hosts", "127.0.0.1", "-notice-timeout", "2s", "-notice-workers", "16"}

// TestKill9MidDelivery: the service, with 1,000 pending notices to 1,000
// custodians, is killed with SIGKILL while it delivers them and started
// again on the same data folder: every notice reaches the receiver at
// least once, and exactly once after the receiver's dedupe.
func TestKill9MidDelivery(t *testing.T) {
	const n = 1000
	bin, dir := buildBinary(t), t.TempDir()
	rc := newDedupeReceiver(t, 15*time.Millisecond)
	ids := fillOutbox(t, dir, rc.URL, n, time.Time{})
	env := map[string]string{"TRACESVC_ADMIN_KEY": "kill9-notices-4c1e5f27b84d3a60e2f1c7d9"}

	p := startBinary(t, bin, env, append([]string{"-data", dir}, outboxArgs...)...)
	waitFor(t, 60*time.Second, "300 notices delivered", func() bool { return rc.count() >= 300 })
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.waitExit(t, 10*time.Second)
	before := rc.count()
	t.Logf("killed after %d of %d notices reached the receiver; the store says %v", before, n, outboxStates(t, dir))
	if before >= n {
		t.Fatal("every notice was delivered before the kill: slow the receiver down")
	}

	p = startBinary(t, bin, env, append([]string{"-data", dir}, outboxArgs...)...)
	// Every notice reached the receiver, and the store says so: notices
	// delivered before the kill but not recorded are attempted again
	// after the restart, and only then recorded.
	waitFor(t, 60*time.Second, "every notice delivered and recorded", func() bool {
		return rc.count() == n && outboxStates(t, dir)["delivered"] == n
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitExit(t, 30*time.Second)
	if !p.state.Success() {
		t.Fatalf("exit after SIGTERM: %v\n%s", p.state, p.stderr)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	again := 0
	for _, id := range ids {
		switch c := rc.requests[id]; {
		case c == 0:
			t.Errorf("%s never reached the receiver", id)
		case c > 1:
			again += c - 1
		}
	}
	t.Logf("%d notices processed once each after dedupe; %d requests repeated a notice the kill left unrecorded; %d failed verification",
		rc.processed, again, rc.bad)
	if rc.bad > 0 {
		t.Errorf("%d requests failed verification", rc.bad)
	}
	if st := outboxStates(t, dir); st["delivered"] != n {
		t.Errorf("the store says %v", st)
	}
}

// TestTwoProcessesOneStore: two service processes share one store (the
// same SQLite data folder, each with its own -instance) and deliver 1,000
// notices between them: each notice is attempted exactly once.
//
// They share an SQLite folder rather than a MongoDB database because the
// tests' MongoDB is FerretDB, whose findOneAndUpdate is not atomic (see
// trace/mongotest); SQLite's claims are atomic across processes under its
// file lock.
func TestTwoProcessesOneStore(t *testing.T) {
	const n = 1000
	bin, dir := buildBinary(t), t.TempDir()
	// A receiver slow enough, and polls frequent enough, that the
	// delivery lasts several of each process's polls: one process cannot
	// drain the outbox between two polls of the other.
	rc := newDedupeReceiver(t, 20*time.Millisecond)
	args := append([]string{"-notice-poll", "100ms"}, outboxArgs...)
	// Due a few seconds out, so that both processes are up when they are.
	due := time.Now().Add(5 * time.Second)
	ids := fillOutbox(t, dir, rc.URL, n, due)
	env := map[string]string{"TRACESVC_ADMIN_KEY": "two-procs-9c1e5f27b84d3a60e2f1c7d95b0"}
	a := startBinary(t, bin, env, append([]string{"-data", dir, "-instance", "proc-a"}, args...)...)
	b := startBinary(t, bin, env, append([]string{"-data", dir, "-instance", "proc-b"}, args...)...)
	if time.Now().After(due) {
		t.Log("the processes took longer to start than the notices took to come due")
	}
	waitFor(t, 60*time.Second, "every notice delivered and recorded", func() bool {
		return rc.count() == n && outboxStates(t, dir)["delivered"] == n
	})
	for _, p := range []*process{a, b} {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		p.waitExit(t, 30*time.Second)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, id := range ids {
		if c := rc.requests[id]; c != 1 {
			t.Errorf("%s was attempted %d times", id, c)
		}
	}
	byA, byB := strings.Count(a.stdout.String(), `"msg":"webhook attempt"`), strings.Count(b.stdout.String(), `"msg":"webhook attempt"`)
	t.Logf("process a made %d attempts, process b %d", byA, byB)
	if byA+byB != n || byA == 0 || byB == 0 {
		t.Errorf("attempts by process: %d and %d, want %d between both, some by each", byA, byB, n)
	}
	if st := outboxStates(t, dir); st["delivered"] != n {
		t.Errorf("the store says %v", st)
	}
}
