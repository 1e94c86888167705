package schemamongo

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"
)

// TestCommandMonitor: the monitor reports the commands of Commands by
// name and every other one as "other", on success and on failure.
func TestCommandMonitor(t *testing.T) {
	var got []string
	m := CommandMonitor(func(c string, d time.Duration) {
		if d != time.Millisecond {
			t.Errorf("%s: duration %s", c, d)
		}
		got = append(got, c)
	})
	if m.Started != nil {
		t.Error("the monitor asks for started events, which the driver then builds for nothing")
	}
	ctx := context.Background()
	for _, c := range Commands {
		m.Succeeded(ctx, &event.CommandSucceededEvent{CommandFinishedEvent: event.CommandFinishedEvent{CommandName: c, Duration: time.Millisecond}})
	}
	m.Failed(ctx, &event.CommandFailedEvent{Failure: errors.New("boom"),
		CommandFinishedEvent: event.CommandFinishedEvent{CommandName: "saslStart", Duration: time.Millisecond}})
	for i, c := range Commands {
		if got[i] != c {
			t.Errorf("%s reported as %s", c, got[i])
		}
	}
	if last := got[len(got)-1]; last != "other" {
		t.Errorf("saslStart reported as %s, want other", last)
	}
}
