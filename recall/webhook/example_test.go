package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"tracesvc/recall/webhook"
)

// A custodian's receiver verifies each notice and processes it once, even
// when a retry delivers it again. The handler is what a custodian copies.
func ExampleVerify() {
	secret := []byte(webhook.NewSecret()) // shown once to the custodian

	var mu sync.Mutex
	done := map[string]bool{} // Idempotency-Key values already processed; use a table in production
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := webhook.Verify(body, r.Header, [][]byte{secret}, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		key := r.Header.Get("Idempotency-Key")
		mu.Lock()
		defer mu.Unlock()
		if done[key] {
			fmt.Println("already processed", key)
			w.WriteHeader(http.StatusOK) // acknowledge, or the sender retries
			return
		}
		fmt.Printf("recall notice %s: %s\n", key, body) // act on the recall here
		done[key] = true
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	// tracesvc's side: the same notice delivered twice, as after a lost reply.
	d := webhook.New(webhook.Config{Policy: webhook.Policy{AllowPrivate: true, AllowHTTPHosts: []string{"127.0.0.1"}}})
	notice := webhook.Attempt{
		URL:            receiver.URL + "/recall",
		Body:           []byte(`{"recall":"R-1","gtin":"09506000134352"}`),
		Secrets:        [][]byte{secret},
		IdempotencyKey: "notice-42",
	}
	for range 2 {
		fmt.Println(d.Deliver(context.Background(), notice).Outcome)
	}

	// A forged request without a signature is refused.
	resp, err := http.Post(receiver.URL+"/recall", "application/json", strings.NewReader(`{"recall":"fake"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("forged:", resp.Status)

	// Output:
	// recall notice notice-42: {"recall":"R-1","gtin":"09506000134352"}
	// delivered
	// already processed notice-42
	// delivered
	// forged: 401 Unauthorized
}
