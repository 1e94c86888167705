package handlers_test

import (
	"context"
	"net/http"
	"testing"

	"tracesvc/recall"
)

// TestSecretRotation: a new webhookSecret signs at once, and the one it
// replaced signs beside it for the grace period, so that a receiver still
// on the old secret and one already on the new both verify notices; with
// webhookSecretGraceHours 0 the old one stops at once.
func TestSecretRotation(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := noticeEnv(t, backend, true)
		const oldSecret, newSecret, newest = "whsec_old-0123456789abcdef", "whsec_new-0123456789abcdef", "whsec_newest-0123456789ab"
		onOld := newReceiver(t, []string{oldSecret}, nil)
		id := e.hooked(onOld.URL, oldSecret)
		path := "/api/v1/entities/" + id

		e.must(http.StatusBadRequest, "PATCH", path, e.reg, map[string]any{"webhookSecretGraceHours": 2})
		e.must(http.StatusBadRequest, "PATCH", path, e.reg, map[string]any{"webhookSecret": newSecret, "webhookSecretGraceHours": 1000})
		v := e.must(http.StatusOK, "PATCH", path, e.reg, map[string]any{"webhookSecret": newSecret, "webhookSecretGraceHours": 2}).JSON()
		if v["webhookPreviousSecretUntil"] == nil || v["webhookSecretSet"] != true {
			t.Fatalf("after the rotation: %v", v)
		}
		if err := e.outbox.Enqueue(context.Background(), []recall.Delivery{notice("n-rot-1", id)}); err != nil {
			t.Fatal(err)
		}
		if d := e.settle("n-rot-1")["n-rot-1"]; d.State != recall.DeliveryDelivered {
			t.Fatalf("signed with both secrets, a receiver on the old one: %s %q", d.State, d.LastError)
		}
		onNew := newReceiver(t, []string{newSecret}, nil)
		e.must(http.StatusOK, "PATCH", path, e.reg, map[string]any{"webhookUrl": onNew.URL})
		if err := e.outbox.Enqueue(context.Background(), []recall.Delivery{notice("n-rot-2", id)}); err != nil {
			t.Fatal(err)
		}
		if d := e.settle("n-rot-2")["n-rot-2"]; d.State != recall.DeliveryDelivered {
			t.Fatalf("a receiver on the new one: %s %q", d.State, d.LastError)
		}
		if onOld.sigs[0] != 2 || onNew.sigs[0] != 2 {
			t.Fatalf("signatures per request: %v and %v, want two during the grace period", onOld.sigs, onNew.sigs)
		}

		// Rotated again without grace: only the newest signs.
		v = e.must(http.StatusOK, "PATCH", path, e.reg, map[string]any{"webhookSecret": newest, "webhookSecretGraceHours": 0}).JSON()
		if _, ok := v["webhookPreviousSecretUntil"]; ok {
			t.Fatalf("no grace asked, yet: %v", v)
		}
		onNewest := newReceiver(t, []string{newest}, nil)
		e.must(http.StatusOK, "PATCH", path, e.reg, map[string]any{"webhookUrl": onNewest.URL})
		if err := e.outbox.Enqueue(context.Background(), []recall.Delivery{notice("n-rot-3", id)}); err != nil {
			t.Fatal(err)
		}
		if d := e.settle("n-rot-3")["n-rot-3"]; d.State != recall.DeliveryDelivered || onNewest.sigs[0] != 1 {
			t.Fatalf("after a rotation without grace: %s, %v signatures", d.State, onNewest.sigs)
		}
	})
}
