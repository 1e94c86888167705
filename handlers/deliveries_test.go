package handlers_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"tracesvc/cmd/wire"
	"tracesvc/recall"
	"tracesvc/recall/webhook"
)

// receiver is a custodian's webhook: it verifies every request's
// signature with webhook.Verify, counts attempts per Idempotency-Key and
// processes each key once, as a receiver that dedupes does.
type receiver struct {
	*httptest.Server
	secrets [][]byte
	// respond returns the status of the n-th request (from 1) of a key,
	// setting headers or sleeping as it likes; nil answers 200.
	respond func(w http.ResponseWriter, n int) int

	mu        sync.Mutex
	attempts  map[string][]time.Time // every request, by key
	processed map[string]string      // the body of each key's first 2xx
	dupes     int                    // 2xx requests of a key processed already
	bad       []string               // why requests failed verification
	sigs      []int                  // v1 signatures per request
}

func newReceiver(t testing.TB, secrets []string, respond func(w http.ResponseWriter, n int) int) *receiver {
	rc := &receiver{respond: respond, attempts: map[string][]time.Time{}, processed: map[string]string{}}
	for _, s := range secrets {
		rc.secrets = append(rc.secrets, []byte(s))
	}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		key := r.Header.Get(webhook.HeaderIdempotencyKey)
		rc.mu.Lock()
		rc.attempts[key] = append(rc.attempts[key], time.Now())
		n := len(rc.attempts[key])
		rc.sigs = append(rc.sigs, strings.Count(r.Header.Get(webhook.HeaderSignature), "v1="))
		err := webhook.Verify(body, r.Header, rc.secrets, time.Now(), 5*time.Minute)
		if err != nil {
			rc.bad = append(rc.bad, err.Error())
		}
		rc.mu.Unlock()
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		status := http.StatusOK
		if rc.respond != nil {
			status = rc.respond(w, n)
		}
		if status >= 200 && status <= 299 {
			rc.mu.Lock()
			if _, seen := rc.processed[key]; seen {
				rc.dupes++
			} else {
				rc.processed[key] = string(body)
			}
			rc.mu.Unlock()
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// tries returns how many requests the receiver got for key.
func (rc *receiver) tries(key string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.attempts[key])
}

// noticeEnv is a service whose outbox runs with quick retries and a short
// attempt timeout, reaching webhooks on 127.0.0.1 over http.
func noticeEnv(t *testing.T, backend string, allowPrivate bool) *env {
	t.Helper()
	e := newEnvWith(t, backend, func(o *wire.Options) {
		o.WebhookPolicy = webhook.Policy{AllowPrivate: allowPrivate, AllowHTTPHosts: []string{"127.0.0.1"}}
		o.Notices = recall.OutboxConfig{MaxAttempts: 4, Workers: 4, RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
			AttemptTimeout: 500 * time.Millisecond, Poll: 20 * time.Millisecond}
	})
	e.runOutbox(t)
	return e
}

// runOutbox runs e's outbox until the test ends.
func (e *env) runOutbox(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.outbox.Run(ctx, context.Background())
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// hooked registers an entity whose webhook is url, signed with secret.
func (e *env) hooked(url, secret string) string {
	e.t.Helper()
	id, _ := e.newEntity("retailer")
	e.must(http.StatusOK, "PATCH", "/api/v1/entities/"+id, e.reg, map[string]any{"webhookUrl": url, "webhookSecret": secret})
	return id
}

// settle waits until none of ids is pending and returns them by ID.
func (e *env) settle(ids ...string) map[string]recall.Delivery {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ds, err := e.outbox.Lookup(context.Background(), ids)
		if err != nil {
			e.t.Fatal(err)
		}
		out := map[string]recall.Delivery{}
		pending := 0
		for _, d := range ds {
			out[d.ID] = d
			if d.State == recall.DeliveryPending {
				pending++
			}
		}
		if pending == 0 && len(out) == len(ids) {
			return out
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("deliveries still pending: %+v", out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func notice(id, entity string) recall.Delivery {
	return recall.Delivery{ID: id, EntityID: entity, Kind: "recall_notice", Ref: "n-" + id,
		Body: []byte(`{"notice":"` + id + `","instructions":"stop selling lot L1"}`)}
}

const hookSecret = "whsec_test-0123456789abcdef"

// TestNoticeRetries: a receiver that fails twice gets its notice on the
// third attempt, once after dedupe; one that answers 400 dead-letters it
// after one attempt; one that times out gets it again; a 429's
// Retry-After is waited out; a custodian without a webhook is left to
// read its notices. Dead deliveries are listed for regulators and can be
// re-driven.
func TestNoticeRetries(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := noticeEnv(t, backend, true)
		flaky := newReceiver(t, []string{hookSecret}, func(w http.ResponseWriter, n int) int {
			if n <= 2 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		refusing := newReceiver(t, []string{hookSecret}, func(http.ResponseWriter, int) int { return http.StatusBadRequest })
		slow := newReceiver(t, []string{hookSecret}, func(w http.ResponseWriter, n int) int {
			if n == 1 {
				time.Sleep(time.Second) // past the 500 ms attempt timeout
			}
			return http.StatusNoContent
		})
		busy := newReceiver(t, []string{hookSecret}, func(w http.ResponseWriter, n int) int {
			if n == 1 {
				w.Header().Set("Retry-After", "1")
				return http.StatusTooManyRequests
			}
			return http.StatusOK
		})
		ents := map[string]string{
			"flaky": e.hooked(flaky.URL+"/hook", hookSecret), "refusing": e.hooked(refusing.URL, hookSecret),
			"slow": e.hooked(slow.URL, hookSecret), "busy": e.hooked(busy.URL, hookSecret),
		}
		silent, _ := e.newEntity("retailer")
		ids := []string{"n-flaky", "n-refusing", "n-slow", "n-busy", "n-silent"}
		ds := []recall.Delivery{notice("n-flaky", ents["flaky"]), notice("n-refusing", ents["refusing"]),
			notice("n-slow", ents["slow"]), notice("n-busy", ents["busy"]), notice("n-silent", silent)}
		if err := e.outbox.Enqueue(context.Background(), ds); err != nil {
			t.Fatal(err)
		}
		// Enqueued again, nothing changes.
		if err := e.outbox.Enqueue(context.Background(), ds[:1]); err != nil {
			t.Fatal(err)
		}
		got := e.settle(ids...)

		check := func(id string, state recall.DeliveryState, attempts, tries int, rc *receiver) {
			t.Helper()
			d := got[id]
			if d.State != state || d.Attempts != attempts {
				t.Errorf("%s: %s after %d attempts (%d %q), want %s after %d", id, d.State, d.Attempts, d.LastStatus, d.LastError, state, attempts)
			}
			if rc != nil && rc.tries(id) != tries {
				t.Errorf("%s: the receiver got %d requests, want %d", id, rc.tries(id), tries)
			}
		}
		check("n-flaky", recall.DeliveryDelivered, 3, 3, flaky)
		check("n-refusing", recall.DeliveryDead, 1, 1, refusing)
		check("n-slow", recall.DeliveryDelivered, 2, 2, slow)
		check("n-busy", recall.DeliveryDelivered, 2, 2, busy)
		check("n-silent", recall.DeliveryNoEndpoint, 1, 0, nil)
		if d := got["n-refusing"]; d.LastStatus != 400 || !strings.Contains(d.LastError, "400") {
			t.Errorf("dead delivery records %d %q", d.LastStatus, d.LastError)
		}
		if gap := busy.attempts["n-busy"][1].Sub(busy.attempts["n-busy"][0]); gap < 900*time.Millisecond {
			t.Errorf("the retry after 429 with Retry-After: 1 came %s later", gap)
		}
		for name, rc := range map[string]*receiver{"flaky": flaky, "slow": slow, "busy": busy} {
			if len(rc.bad) > 0 || len(rc.processed) != 1 {
				t.Errorf("%s: %d processed, failed verification: %v", name, len(rc.processed), rc.bad)
			}
			if body := rc.processed["n-"+name]; body != string(notice("n-"+name, "").Body) {
				t.Errorf("%s processed %q", name, body)
			}
		}

		// Regulators list the dead delivery and re-drive it; it dies again
		// after one more attempt. Only a dead delivery can be re-driven.
		_, entityKey := e.newEntity("retailer")
		e.must(http.StatusForbidden, "GET", "/api/v1/deliveries?state=dead", entityKey, nil)
		e.must(http.StatusBadRequest, "GET", "/api/v1/deliveries?state=lost", e.reg, nil)
		list := e.must(http.StatusOK, "GET", "/api/v1/deliveries?state=dead", e.reg, nil).JSON()
		items := list["deliveries"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["id"] != "n-refusing" || items[0].(map[string]any)["lastStatus"] != 400.0 {
			t.Fatalf("dead deliveries: %v", list)
		}
		page := e.must(http.StatusOK, "GET", "/api/v1/deliveries?state=delivered&limit=2", e.reg, nil).JSON()
		if len(page["deliveries"].([]any)) != 2 || page["nextCursor"] != "n-flaky" {
			t.Fatalf("first page of delivered: %v", page)
		}
		e.must(http.StatusConflict, "POST", "/api/v1/deliveries/n-flaky/redrive", e.reg, nil)
		e.must(http.StatusNotFound, "POST", "/api/v1/deliveries/nope/redrive", e.reg, nil)
		e.must(http.StatusForbidden, "POST", "/api/v1/deliveries/n-refusing/redrive", entityKey, nil)
		r := e.must(http.StatusOK, "POST", "/api/v1/deliveries/n-refusing/redrive", e.reg, nil).JSON()
		if r["state"] != "pending" || r["attempts"] != 0.0 {
			t.Fatalf("re-driven: %v", r)
		}
		if d := e.settle("n-refusing")["n-refusing"]; d.State != recall.DeliveryDead || d.Attempts != 1 || refusing.tries("n-refusing") != 2 {
			t.Fatalf("after the re-drive: %s after %d attempts, %d requests", d.State, d.Attempts, refusing.tries("n-refusing"))
		}
	})
}

// TestNoticeOutOfAttempts: a receiver that always fails gets the
// configured number of attempts, then the delivery is dead.
func TestNoticeOutOfAttempts(t *testing.T) {
	e := noticeEnv(t, "sqlite", true)
	down := newReceiver(t, []string{hookSecret}, func(http.ResponseWriter, int) int { return http.StatusBadGateway })
	if err := e.outbox.Enqueue(context.Background(), []recall.Delivery{notice("n-down", e.hooked(down.URL, hookSecret))}); err != nil {
		t.Fatal(err)
	}
	if d := e.settle("n-down")["n-down"]; d.State != recall.DeliveryDead || d.Attempts != 4 || down.tries("n-down") != 4 || d.LastStatus != 502 {
		t.Fatalf("%s after %d attempts (%d requests), last %d %q", d.State, d.Attempts, down.tries("n-down"), d.LastStatus, d.LastError)
	}
}

// TestNoticePrivateTarget: without -webhook-allow-private a webhook on
// 127.0.0.1 is refused at registration, and one stored anyway (registered
// while the flag was on) is refused at delivery: dead after one attempt,
// and the receiver never hears of it.
func TestNoticePrivateTarget(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := noticeEnv(t, backend, false)
		rc := newReceiver(t, []string{hookSecret}, nil)
		id, _ := e.newEntity("retailer")
		r := e.must(http.StatusBadRequest, "PATCH", "/api/v1/entities/"+id, e.reg, map[string]any{"webhookUrl": rc.URL, "webhookSecret": hookSecret})
		if r.errField() != "webhookUrl" {
			t.Fatalf("refusal names %q", r.errField())
		}
		// Stored behind the API's back, as if registered while private
		// targets were allowed.
		sealer, err := webhook.NewSealer(bytes.Repeat([]byte{7}, 32)) // newEnvWith's SecretKey
		if err != nil {
			t.Fatal(err)
		}
		sealed, _ := sealer.Seal([]byte(hookSecret))
		if err := e.st.Endpoints.PutEndpoint(context.Background(), recall.Endpoint{EntityID: id, URL: rc.URL,
			SealedSecret: sealed, UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := e.outbox.Enqueue(context.Background(), []recall.Delivery{notice("n-private", id)}); err != nil {
			t.Fatal(err)
		}
		d := e.settle("n-private")["n-private"]
		if d.State != recall.DeliveryDead || d.Attempts != 1 || !strings.Contains(d.LastError, "loopback") || rc.tries("n-private") != 0 {
			t.Fatalf("%s after %d attempts: %q; receiver got %d", d.State, d.Attempts, d.LastError, rc.tries("n-private"))
		}
	})
}
