package webhook

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// local lets tests reach httptest servers on 127.0.0.1 over http.
var local = Policy{AllowPrivate: true, AllowHTTPHosts: []string{"127.0.0.1"}}

// received is one request as a test receiver saw it.
type received struct {
	header    http.Header
	body      []byte
	verifyErr error
}

// receiver is a test webhook endpoint that verifies each request against
// secrets with Verify and then runs respond.
type receiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []received
}

func newReceiver(t *testing.T, secrets [][]byte, respond func(w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := Verify(body, r.Header, secrets, time.Now(), 0)
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Header.Clone(), body, err})
		rc.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		respond(w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// requests returns what the receiver has seen so far.
func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func status(code int, header ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
	}
}

var secret = []byte("whsec_test-secret")

func attempt(url string) Attempt {
	return Attempt{URL: url, Body: []byte(`{"recall":"R-1"}`), Secrets: [][]byte{secret}, IdempotencyKey: "notice-1"}
}

func TestDeliverStatuses(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	tests := []struct {
		name       string
		respond    func(http.ResponseWriter, *http.Request)
		want       Outcome
		retryAfter time.Duration
	}{
		{"200", status(200), Delivered, 0},
		{"204", status(204), Delivered, 0},
		{"202 with Retry-After ignored", status(202, "Retry-After", "5"), Delivered, 0},
		{"500", status(500), Retry, 0},
		{"502", status(502), Retry, 0},
		{"503 Retry-After seconds", status(503, "Retry-After", "7"), Retry, 7 * time.Second},
		{"503 Retry-After date", status(503, "Retry-After", now.Add(90*time.Second).UTC().Format(http.TimeFormat)), Retry, 90 * time.Second},
		{"400", status(400), Permanent, 0},
		{"404", status(404), Permanent, 0},
		{"410", status(410), Permanent, 0},
		{"408", status(408), Retry, 0},
		{"429", status(429, "Retry-After", "30"), Retry, 30 * time.Second},
		{"304", status(304), Retry, 0},
		{"large body", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write(bytes.Repeat([]byte("x"), 1<<20))
		}, Delivered, 0},
	}
	d := New(Config{Policy: local})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, [][]byte{secret}, tt.respond)
			a := attempt(rc.URL + "/hook")
			a.Now = now
			res := d.Deliver(context.Background(), a)
			if res.Outcome != tt.want || res.RetryAfter != tt.retryAfter {
				t.Fatalf("Deliver = %+v, want %s with RetryAfter %s", res, tt.want, tt.retryAfter)
			}
			code, _ := strconv.Atoi(strings.Fields(tt.name)[0])
			if tt.name != "large body" && res.StatusCode != code {
				t.Fatalf("StatusCode = %d, want %d", res.StatusCode, code)
			}
			if res.Reason == "" {
				t.Fatal("empty Reason")
			}
			reqs := rc.requests()
			if len(reqs) != 1 || reqs[0].verifyErr != nil {
				t.Fatalf("receiver saw %d requests, verify error %v", len(reqs), reqs[0].verifyErr)
			}
		})
	}
}

func TestDeliverHeaders(t *testing.T) {
	rc := newReceiver(t, [][]byte{secret}, status(200))
	d := New(Config{Policy: local, UserAgent: ""})
	now := time.Now().Add(-time.Minute)
	a := attempt(rc.URL)
	a.Now = now
	for range 2 { // two attempts of one notice
		if res := d.Deliver(context.Background(), a); res.Outcome != Delivered {
			t.Fatalf("Deliver = %+v", res)
		}
	}
	reqs := rc.requests()
	for _, r := range reqs {
		h := r.header
		checks := map[string]string{
			"Content-Type":       "application/json",
			"User-Agent":         "tracesvc-webhook/1",
			HeaderIdempotencyKey: "notice-1",
			HeaderTimestamp:      strconv.FormatInt(now.Unix(), 10),
			HeaderSignature:      Sign(secret, now, a.Body),
		}
		for k, want := range checks {
			if got := h.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if string(r.body) != string(a.Body) {
			t.Errorf("body = %q", r.body)
		}
	}
}

func TestDeliverRotation(t *testing.T) {
	oldSecret, newSecret := []byte("whsec_old"), []byte("whsec_new")
	for _, tt := range []struct {
		name  string
		knows [][]byte
		want  Outcome
	}{
		{"receiver knows only the new secret", [][]byte{newSecret}, Delivered},
		{"receiver knows only the old secret", [][]byte{oldSecret}, Delivered},
		{"receiver knows neither", [][]byte{[]byte("whsec_other")}, Permanent},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, tt.knows, status(204))
			a := attempt(rc.URL)
			a.Secrets = [][]byte{newSecret, oldSecret}
			res := New(Config{Policy: local}).Deliver(context.Background(), a)
			if res.Outcome != tt.want {
				t.Fatalf("Deliver = %+v, want %s", res, tt.want)
			}
			if sig := rc.requests()[0].header.Get(HeaderSignature); strings.Count(sig, "v1=") != 2 {
				t.Fatalf("signature header %q, want two v1 values", sig)
			}
		})
	}
}

func TestDeliverStaleTimestampRejected(t *testing.T) {
	rc := newReceiver(t, [][]byte{secret}, status(200))
	a := attempt(rc.URL)
	a.Now = time.Now().Add(-10 * time.Minute)
	res := New(Config{Policy: local}).Deliver(context.Background(), a)
	if res.Outcome != Permanent || res.StatusCode != 401 {
		t.Fatalf("Deliver = %+v, want the receiver's 401", res)
	}
	if err := rc.requests()[0].verifyErr; !errors.Is(err, ErrStale) {
		t.Fatalf("receiver's Verify = %v, want ErrStale", err)
	}
}

func TestDeliverDoesNotFollowRedirects(t *testing.T) {
	target := newReceiver(t, [][]byte{secret}, status(200))
	rc := newReceiver(t, [][]byte{secret}, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusFound)
	})
	res := New(Config{Policy: local}).Deliver(context.Background(), attempt(rc.URL))
	if res.Outcome != Retry || res.StatusCode != http.StatusFound || !strings.Contains(res.Reason, "not followed") {
		t.Fatalf("Deliver = %+v, want a failed attempt with 302", res)
	}
	if n := len(target.requests()); n != 0 {
		t.Fatalf("redirect target got %d requests", n)
	}
}

func TestDeliverTimeout(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, [][]byte{secret}, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before rc.Close
	d := New(Config{Policy: local, Timeout: 50 * time.Millisecond})
	res := d.Deliver(context.Background(), attempt(rc.URL))
	if res.Outcome != Retry || res.StatusCode != 0 || !strings.Contains(res.Reason, "no response within 50ms") {
		t.Fatalf("Deliver = %+v, want a retry after the timeout", res)
	}
	if !errors.Is(res.Err, context.DeadlineExceeded) {
		t.Fatalf("Err = %v, want DeadlineExceeded", res.Err)
	}
}

func TestDeliverCanceled(t *testing.T) {
	rc := newReceiver(t, [][]byte{secret}, status(200))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := New(Config{Policy: local}).Deliver(ctx, attempt(rc.URL))
	if res.Outcome != Retry || !strings.Contains(res.Reason, "canceled") {
		t.Fatalf("Deliver = %+v, want a retry after cancellation", res)
	}
}

func TestDeliverConnectionRefused(t *testing.T) {
	rc := newReceiver(t, [][]byte{secret}, status(200))
	url := rc.URL
	rc.Close() // nothing listens any more
	res := New(Config{Policy: local}).Deliver(context.Background(), attempt(url))
	if res.Outcome != Retry || res.Err == nil || errors.Is(res.Err, ErrRefused) {
		t.Fatalf("Deliver = %+v, want a retry", res)
	}
}

func TestDeliverDialerRefusesPrivate(t *testing.T) {
	rc := newReceiver(t, [][]byte{secret}, status(200))
	// http is allowed for the host, so only the dialer stands in the way.
	d := New(Config{Policy: Policy{AllowHTTPHosts: []string{"127.0.0.1"}}})
	res := d.Deliver(context.Background(), attempt(rc.URL))
	if res.Outcome != Permanent || !errors.Is(res.Err, ErrRefused) || !strings.Contains(res.Reason, "127.0.0.1, a loopback address") {
		t.Fatalf("Deliver = %+v, want a permanent refusal by the dialer", res)
	}
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("receiver got %d requests", n)
	}
}

func TestDeliverTLS(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := Verify(body, r.Header, [][]byte{secret}, time.Now(), 0); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
		}
	}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted handshake below fails on purpose
	ts.StartTLS()
	defer ts.Close()
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())

	res := New(Config{Policy: Policy{AllowPrivate: true}, RootCAs: pool}).Deliver(context.Background(), attempt(ts.URL))
	if res.Outcome != Delivered {
		t.Fatalf("Deliver = %+v, want delivered over https", res)
	}
	res = New(Config{Policy: Policy{AllowPrivate: true}}).Deliver(context.Background(), attempt(ts.URL))
	if res.Outcome != Retry || res.Err == nil {
		t.Fatalf("untrusted certificate: %+v, want a retry", res)
	}
}

func TestDeliverInvalidAttempts(t *testing.T) {
	rc := newReceiver(t, [][]byte{secret}, status(200))
	d := New(Config{Policy: local})
	tests := []struct {
		name   string
		change func(*Attempt)
		reason string
	}{
		{"no key", func(a *Attempt) { a.IdempotencyKey = "" }, "no idempotency key"},
		{"control character in key", func(a *Attempt) { a.IdempotencyKey = "a\r\nX-Evil: 1" }, "control characters"},
		{"no secret", func(a *Attempt) { a.Secrets = nil }, "no signing secret"},
		{"empty secret", func(a *Attempt) { a.Secrets = [][]byte{secret, {}} }, "empty signing secret"},
		{"bad scheme", func(a *Attempt) { a.URL = strings.Replace(a.URL, "http:", "ftp:", 1) }, `scheme "ftp"`},
		{"http not allowed", func(a *Attempt) { a.URL = strings.Replace(a.URL, "127.0.0.1", "localhost", 1) }, "plain http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := attempt(rc.URL)
			tt.change(&a)
			res := d.Deliver(context.Background(), a)
			if res.Outcome != Permanent || !strings.Contains(res.Reason, tt.reason) {
				t.Fatalf("Deliver = %+v, want permanent: %s", res, tt.reason)
			}
		})
	}
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("receiver got %d requests", n)
	}
}

func TestDeliverLogsThroughSlog(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rc := newReceiver(t, [][]byte{secret}, status(200))
	d := New(Config{Policy: Policy{AllowHTTPHosts: []string{"127.0.0.1"}}, Logger: logger})
	a := attempt(rc.URL + "/hook?token=hunter2")
	d.Deliver(context.Background(), a)
	out := buf.String()
	for _, want := range []string{"performing request", "request failed", "webhook attempt", "outcome=permanent"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("log shows the URL's token:\n%s", out)
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{Retry: "retry", Delivered: "delivered", Permanent: "permanent", 9: "Outcome(9)"} {
		if got := o.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(o), got, want)
		}
	}
}
