package tracemongo_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"tracesvc/trace"
	"tracesvc/trace/tracemongo"
)

const capGTIN = "09506000134352"

func newCaptureFixture(t *testing.T) (*tracemongo.Store, func() (codes map[string]int64, events int, intents int), trace.CaptureWrite) {
	t.Helper()
	ctx := context.Background()
	db := srv.Database(t)
	s, err := tracemongo.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, serial := range []string{"A1", "B1"} {
		if _, err := db.Collection("codes").InsertOne(ctx, bson.D{{Key: "_id", Value: capGTIN + serial}, {Key: "gtin", Value: capGTIN},
			{Key: "serial", Value: serial}, {Key: "lot", Value: "L1"}, {Key: "state", Value: "issued"}, {Key: "possessor", Value: ""},
			{Key: "pendingTo", Value: ""}, {Key: "version", Value: int64(0)}}); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	w := trace.CaptureWrite{Events: []trace.StoredEvent{{ID: "ev-commission", Type: "ObjectEvent", Action: "ADD", BizStep: "commissioning",
		EventTime: at, RecordTime: at, CapturedBy: "e1", Raw: []byte(`{}`)}}}
	for _, serial := range []string{"A1", "B1"} {
		w.Custody = append(w.Custody, trace.Custody{Key: "01/" + capGTIN + "/21/" + serial, Owner: "e1", State: trace.StateCommissioned,
			Possessor: "e1", LastEventAt: at, Version: 1})
	}
	state := func() (map[string]int64, int, int) {
		codes := map[string]int64{}
		cur, err := db.Collection("codes").Find(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var docs []struct {
			ID      string `bson:"_id"`
			State   string `bson:"state"`
			Version int64  `bson:"version"`
		}
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			if (d.Version == 0) != (d.State == "issued") {
				t.Fatalf("code %s is %s at version %d", d.ID, d.State, d.Version)
			}
			codes[d.ID[14:]] = d.Version
		}
		events, _ := db.Collection("events").CountDocuments(ctx, bson.D{})
		intents, _ := db.Collection("capture_intents").CountDocuments(ctx, bson.D{})
		return codes, int(events), int(intents)
	}
	return s, state, w
}

// TestCaptureAllOrNothing (issue 10, item 1): a capture failing after
// any of its write steps, or a code's version moving under it, leaves
// nothing; a process dying after any step leaves an intent that recovery
// undoes, or finishes once the capture committed.
func TestCaptureAllOrNothing(t *testing.T) {
	ctx := context.Background()
	injected := errors.New("injected fault")
	none := func(t *testing.T, state func() (map[string]int64, int, int)) {
		t.Helper()
		codes, events, intents := state()
		if codes["A1"] != 0 || codes["B1"] != 0 || events != 0 || intents != 0 {
			t.Fatalf("left behind: codes %v, %d events, %d intents", codes, events, intents)
		}
	}
	whole := func(t *testing.T, state func() (map[string]int64, int, int)) {
		t.Helper()
		codes, events, _ := state()
		if codes["A1"] != 1 || codes["B1"] != 1 || events != 1 {
			t.Fatalf("not whole: codes %v, %d events", codes, events)
		}
	}
	for _, step := range []string{"intent", "custody", "events"} {
		t.Run("error after "+step, func(t *testing.T) {
			s, state, w := newCaptureFixture(t)
			tracemongo.SetFaults(s, func(at string) error {
				if at == step {
					return injected
				}
				return nil
			})
			if err := s.ApplyCapture(ctx, w); !errors.Is(err, injected) {
				t.Fatalf("ApplyCapture: %v", err)
			}
			none(t, state)
		})
		t.Run("crash after "+step, func(t *testing.T) {
			s, state, w := newCaptureFixture(t)
			tracemongo.SetFaults(s, func(at string) error {
				if at == step {
					panic("the process dies")
				}
				return nil
			})
			func() {
				defer func() { recover() }()
				s.ApplyCapture(ctx, w)
			}()
			if _, _, intents := state(); intents == 0 {
				t.Fatal("a dead process left no intent")
			}
			n, err := s.RecoverCaptures(ctx, time.Now().Add(time.Minute), "")
			if err != nil || n != 1 {
				t.Fatalf("recovery undid %d: %v", n, err)
			}
			none(t, state)
		})
	}
	t.Run("crash after commit", func(t *testing.T) {
		s, state, w := newCaptureFixture(t)
		tracemongo.SetFaults(s, func(at string) error {
			if at == "commit" {
				panic("the process dies")
			}
			return nil
		})
		func() {
			defer func() { recover() }()
			s.ApplyCapture(ctx, w)
		}()
		whole(t, state)
		if n, err := s.RecoverCaptures(ctx, time.Now().Add(time.Minute), ""); err != nil || n != 0 {
			t.Fatalf("recovery of a committed capture undid %d: %v", n, err)
		}
		whole(t, state)
		if _, _, intents := state(); intents != 0 {
			t.Fatalf("%d intents left after recovery", intents)
		}
	})
	t.Run("a version moves under it", func(t *testing.T) {
		s, state, w := newCaptureFixture(t)
		tracemongo.SetFaults(s, func(at string) error {
			if at == "intent" {
				// Another process moves B1 after this capture read it.
				w2 := trace.CaptureWrite{Custody: []trace.Custody{{Key: "01/" + capGTIN + "/21/B1", State: trace.StateCommissioned,
					Possessor: "e2", Version: 1}}}
				tracemongo.SetFaults(s, nil)
				if err := s.ApplyCapture(ctx, w2); err != nil {
					t.Errorf("the other capture: %v", err)
				}
			}
			return nil
		})
		if err := s.ApplyCapture(ctx, w); !errors.Is(err, trace.ErrConflict) {
			t.Fatalf("ApplyCapture: %v", err)
		}
		codes, events, intents := state()
		if codes["A1"] != 0 || codes["B1"] != 1 || events != 0 || intents != 0 {
			t.Fatalf("after the conflict: codes %v, %d events, %d intents", codes, events, intents)
		}
	})
	t.Run("no fault", func(t *testing.T) {
		s, state, w := newCaptureFixture(t)
		if err := s.ApplyCapture(ctx, w); err != nil {
			t.Fatal(err)
		}
		whole(t, state)
		if _, _, intents := state(); intents != 0 {
			t.Fatalf("%d intents left", intents)
		}
	})
}

// TestConcurrentCaptureOfOneEvent (issue 10, item 1): two captures of the
// same event at once store it once.
func TestConcurrentCaptureOfOneEvent(t *testing.T) {
	ctx := context.Background()
	s, state, w := newCaptureFixture(t)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { errs[i] = s.ApplyCapture(ctx, w) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, trace.ErrConflict):
			t.Fatal(err)
		}
	}
	if _, events, intents := state(); ok == 0 || events != 1 || intents != 0 {
		t.Fatalf("%d succeeded, %d events stored, %d intents left", ok, events, intents)
	}
}

// TestRecoverOwnIntentsAtStart: a process that starts again under its
// name undoes at once what its previous run left half written, and leaves
// a sibling's fresh intent alone.
func TestRecoverOwnIntentsAtStart(t *testing.T) {
	ctx := context.Background()
	s, state, w := newCaptureFixture(t)
	w.Writer = "pod-1"
	tracemongo.SetFaults(s, func(at string) error {
		if at == "custody" {
			panic("the process dies")
		}
		return nil
	})
	func() {
		defer func() { recover() }()
		s.ApplyCapture(ctx, w)
	}()
	tracemongo.SetFaults(s, nil)
	if n, err := s.RecoverCaptures(ctx, time.Now().Add(-time.Hour), "pod-2"); err != nil || n != 0 {
		t.Fatalf("another process's start undid %d: %v", n, err)
	}
	if n, err := s.RecoverCaptures(ctx, time.Now().Add(-time.Hour), "pod-1"); err != nil || n != 1 {
		t.Fatalf("pod-1's start undid %d: %v", n, err)
	}
	if codes, events, intents := state(); codes["A1"] != 0 || codes["B1"] != 0 || events != 0 || intents != 0 {
		t.Fatalf("left behind: %v, %d events, %d intents", codes, events, intents)
	}
}
