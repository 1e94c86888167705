package recall

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"tracesvc/recall/webhook"
	"tracesvc/trace"
)

// OutboxStore keeps the durable outbox: one record per [Delivery], changed
// only by single-record atomic writes, so that several processes can share
// it. recall/recallsql and recall/recallmongo implement it;
// recall/storetest holds them to it.
//
// A claim leases a pending delivery to one owner until a time, and moves
// its NextAt to that time: a lease that ends without a completion (its
// process died) makes the delivery due again, for any claimer.
type OutboxStore interface {
	// EnqueueDeliveries stores ds as given. A delivery whose ID is stored
	// already is left untouched, whatever its state.
	EnqueueDeliveries(ctx context.Context, ds []Delivery) error
	// Deliveries returns the stored deliveries among ids, in no particular
	// order; unknown IDs are left out.
	Deliveries(ctx context.Context, ids []string) ([]Delivery, error)
	// ClaimDeliveries leases up to n pending deliveries due at at (NextAt
	// not after it), earliest first, to owner until until. Each claim is
	// one atomic write: two claimers never get the same delivery while its
	// lease lasts. A claimed delivery counts one more attempt, and its
	// NextAt becomes until. The deliveries are returned as stored after
	// the claim.
	ClaimDeliveries(ctx context.Context, owner string, at, until time.Time, n int) ([]Delivery, error)
	// CompleteDeliveries records attempts' results: State, Attempts,
	// NextAt, LastStatus, LastError, UpdatedAt and DeliveredAt of each of
	// ds, and
	// ends its lease. A delivery is only changed while it is still leased
	// to its LeaseOwner until its LeaseUntil; the IDs of the others (their
	// lease ended and was taken over, or they are gone) are returned as
	// refused and left as they are.
	CompleteDeliveries(ctx context.Context, ds []Delivery) (refused []string, err error)
	// ReleaseDeliveries makes the pending deliveries leased to owner due at
	// at, their leases ended, and returns how many there were. A process
	// calls it at start, before it claims anything, for what its earlier
	// run left leased.
	ReleaseDeliveries(ctx context.Context, owner string, at time.Time) (int, error)
	// ListDeliveries lists deliveries in state (all when empty) by ID.
	ListDeliveries(ctx context.Context, state DeliveryState, p trace.Page) ([]Delivery, string, error)
	// CountDeliveries counts the deliveries in state, through an index.
	CountDeliveries(ctx context.Context, state DeliveryState) (int64, error)
	// RedriveDelivery puts a dead delivery back to pending, due at at, with
	// no attempts counted; it keeps the last status and error. It returns
	// [ErrNotFound] for an unknown ID and [ErrConflict] when the delivery
	// is not dead.
	RedriveDelivery(ctx context.Context, id string, at time.Time) (Delivery, error)
}

// Outbox defaults, used when [OutboxConfig] leaves a field zero.
const (
	DefaultNoticeAttempts = 8
	DefaultNoticeWorkers  = 16
	DefaultRetryBase      = 30 * time.Second
	DefaultRetryMax       = 6 * time.Hour
	DefaultOutboxPoll     = time.Second
)

// MaxDeliveryIDLen is the longest delivery ID: it is sent as the
// Idempotency-Key header.
const MaxDeliveryIDLen = 200

// OutboxConfig configures an [Outbox].
type OutboxConfig struct {
	// Owner names this process in the leases it takes (the instance name,
	// the same across restarts); required.
	Owner string
	// MaxAttempts is how many attempts a delivery gets before it is dead.
	MaxAttempts int
	// Workers is how many attempts run at once.
	Workers int
	// RetryBase and RetryMax bound the backoff between attempts (see
	// webhook.NextDelay).
	RetryBase, RetryMax time.Duration
	// AttemptTimeout is the Deliverer's per-attempt timeout; the lease
	// lasts twice that and 10 s more, so that it outlives one attempt and
	// the store write after it. Zero means webhook.DefaultTimeout.
	AttemptTimeout time.Duration
	// Poll is how often the store is asked for due deliveries when nothing
	// wakes the workers: deliveries another process enqueued, or retries
	// coming due.
	Poll time.Duration
	// Logger receives what the workers do; nil discards it.
	Logger *slog.Logger
	// Now is the clock; nil is the wall clock.
	Now trace.Clock
	// Rand draws the backoff's jitter in [0, 1); nil is math/rand/v2.
	Rand func() float64
}

// Outbox is the durable outbox of notices to custodians' webhooks: it
// implements [Sender] for recall campaigns, and its workers (see
// [Outbox.Start]) deliver each delivery with signed attempts, retries and
// dead letters.
type Outbox struct {
	store     OutboxStore
	endpoints *Endpoints
	deliverer *webhook.Deliverer
	cfg       OutboxConfig
	lease     time.Duration
	log       *slog.Logger
	wake      chan struct{}
	stats     outboxStats
}

// OutboxStats count the attempts this process's workers made since it
// started, by how they ended.
type OutboxStats struct {
	Delivered  int64 // answered 2xx
	Retried    int64 // failed, to be tried again
	Dead       int64 // failed for good, or out of attempts: dead-lettered
	NoEndpoint int64 // the custodian has no webhook: nothing was sent
}

// outboxStats are the counters behind [OutboxStats].
type outboxStats struct{ delivered, retried, dead, noEndpoint atomic.Int64 }

// count counts an attempt that left its delivery in state.
func (s *outboxStats) count(state DeliveryState) {
	switch state {
	case DeliveryDelivered:
		s.delivered.Add(1)
	case DeliveryPending:
		s.retried.Add(1)
	case DeliveryDead:
		s.dead.Add(1)
	case DeliveryNoEndpoint:
		s.noEndpoint.Add(1)
	}
}

// Stats returns the counts of attempts this process made.
func (o *Outbox) Stats() OutboxStats {
	s := &o.stats
	return OutboxStats{Delivered: s.delivered.Load(), Retried: s.retried.Load(), Dead: s.dead.Load(), NoEndpoint: s.noEndpoint.Load()}
}

// Depth counts the deliveries every process sharing the store has yet to
// make (pending), and the dead letters waiting for a regulator to re-drive
// them. Each count is one indexed store query.
func (o *Outbox) Depth(ctx context.Context) (pending, dead int64, err error) {
	if pending, err = o.store.CountDeliveries(ctx, DeliveryPending); err != nil {
		return 0, 0, fmt.Errorf("count pending deliveries: %w", err)
	}
	if dead, err = o.store.CountDeliveries(ctx, DeliveryDead); err != nil {
		return 0, 0, fmt.Errorf("count dead deliveries: %w", err)
	}
	return pending, dead, nil
}

var _ Sender = (*Outbox)(nil)

// NewOutbox returns the outbox over store. endpoints says where and with
// which secrets to deliver; deliverer makes the attempts.
func NewOutbox(store OutboxStore, endpoints *Endpoints, deliverer *webhook.Deliverer, cfg OutboxConfig) (*Outbox, error) {
	if cfg.Owner == "" {
		return nil, fmt.Errorf("recall outbox: no owner name for its leases")
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultNoticeAttempts
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultNoticeWorkers
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = DefaultRetryBase
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = DefaultRetryMax
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = webhook.DefaultTimeout
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultOutboxPoll
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Outbox{store: store, endpoints: endpoints, deliverer: deliverer, cfg: cfg,
		lease: 2*cfg.AttemptTimeout + 10*time.Second, log: cfg.Logger, wake: make(chan struct{}, 1)}, nil
}

// Enqueue implements [Sender]: it stores ds as pending and due now (or at
// their NextAt, when later), and wakes the workers. A delivery whose ID is
// enqueued already is left untouched. Every delivery needs an ID (at most
// [MaxDeliveryIDLen] bytes, no control characters), an entity, a kind and
// a body.
func (o *Outbox) Enqueue(ctx context.Context, ds []Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	now := o.cfg.Now.Now()
	out := make([]Delivery, len(ds))
	for i, d := range ds {
		if err := checkDelivery(d); err != nil {
			return fmt.Errorf("delivery %d: %w", i, err)
		}
		next := d.NextAt
		if next.Before(now) {
			next = now
		}
		out[i] = Delivery{ID: d.ID, EntityID: d.EntityID, Kind: d.Kind, Ref: d.Ref, Body: d.Body,
			State: DeliveryPending, NextAt: next.UTC().Truncate(time.Millisecond), CreatedAt: now, UpdatedAt: now}
	}
	if err := o.store.EnqueueDeliveries(ctx, out); err != nil {
		return fmt.Errorf("enqueue %d deliveries: %w", len(out), err)
	}
	o.Wake()
	return nil
}

// checkDelivery rejects a delivery that cannot be sent.
func checkDelivery(d Delivery) error {
	switch {
	case d.ID == "" || len(d.ID) > MaxDeliveryIDLen:
		return invalid("id", "must be 1 to %d bytes long", MaxDeliveryIDLen)
	case strings.ContainsFunc(d.ID, func(r rune) bool { return r < 0x21 || r == 0x7f }):
		return invalid("id", "must not contain spaces or control characters")
	case d.EntityID == "":
		return invalid("entityId", "is required")
	case d.Kind == "":
		return invalid("kind", "is required")
	case len(d.Body) == 0:
		return invalid("body", "is required")
	}
	return nil
}

// Lookup implements [Sender].
func (o *Outbox) Lookup(ctx context.Context, ids []string) ([]Delivery, error) {
	ds, err := o.store.Deliveries(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("look up %d deliveries: %w", len(ids), err)
	}
	return ds, nil
}

// Wake makes idle workers ask the store for due deliveries now rather than
// at their next poll.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// List lists deliveries in state (all when empty) by ID, for regulators.
func (o *Outbox) List(ctx context.Context, p trace.Principal, state DeliveryState, pg trace.Page) ([]Delivery, string, error) {
	if err := p.Require(trace.RoleRegulator); err != nil {
		return nil, "", err
	}
	switch state {
	case "", DeliveryPending, DeliveryDelivered, DeliveryDead, DeliveryNoEndpoint:
	default:
		return nil, "", invalid("state", "must be one of pending, delivered, dead and no_endpoint, got %q", state)
	}
	pg, err := pg.Normalize()
	if err != nil {
		return nil, "", err
	}
	ds, next, err := o.store.ListDeliveries(ctx, state, pg)
	if err != nil {
		return nil, "", fmt.Errorf("list %s deliveries: %w", state, err)
	}
	return ds, next, nil
}

// Redrive gives a dead delivery a new run of attempts, starting now; only
// regulators may. It returns [ErrNotFound], or [ErrConflict] when the
// delivery is not dead.
func (o *Outbox) Redrive(ctx context.Context, p trace.Principal, id string) (Delivery, error) {
	if err := p.Require(trace.RoleRegulator); err != nil {
		return Delivery{}, err
	}
	d, err := o.store.RedriveDelivery(ctx, id, o.cfg.Now.Now())
	if err != nil {
		return Delivery{}, fmt.Errorf("redrive delivery %s: %w", id, err)
	}
	o.log.InfoContext(ctx, "delivery re-driven", "delivery", id, "entity", d.EntityID, "by", p.String())
	o.Wake()
	return d, nil
}
