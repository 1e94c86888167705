package scan

import (
	"context"
	"errors"
	"log/slog"

	"tracesvc/trace"
)

// Alerter turns the custody record's signals into alerts for officials
// and the GTIN's owner; it implements [trace.Signals].
type Alerter struct {
	store  Store
	now    trace.Clock
	logger *slog.Logger
}

// NewAlerter returns an Alerter storing alerts in store. A nil logger
// discards.
func NewAlerter(store Store, now trace.Clock, logger *slog.Logger) *Alerter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Alerter{store: store, now: now, logger: logger}
}

var _ trace.Signals = (*Alerter)(nil)

// Raise implements [trace.Signals]: one alert per kind and code. It runs
// even when the capture's client has gone, and logs its failures.
func (a *Alerter) Raise(ctx context.Context, s trace.Signal) {
	ctx = context.WithoutCancel(ctx)
	kind := AlertKind(s.Kind)
	seen, err := a.store.HasAlert(ctx, kind, s.GTIN, s.Serial)
	if err == nil && !seen {
		now := a.now.Now()
		err = a.store.InsertAlert(ctx, Alert{ID: trace.NewID(now), Kind: kind, GTIN: s.GTIN, Serial: s.Serial,
			Owner: s.Owner, Scans: []string{}, Detail: s.Detail, CreatedAt: now})
	}
	if err != nil && !errors.Is(err, trace.ErrConflict) { // another process raised it first
		a.logger.ErrorContext(ctx, "raising an alert failed", "kind", s.Kind, "gtin", s.GTIN, "serial", s.Serial, "err", err)
	}
}
