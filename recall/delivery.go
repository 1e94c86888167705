package recall

import (
	"context"
	"time"
)

// DeliveryState is where a delivery is in the outbox.
type DeliveryState string

// The delivery states.
const (
	// DeliveryPending waits for its next attempt (at NextAt).
	DeliveryPending DeliveryState = "pending"
	// DeliveryDelivered was answered 2xx by the custodian's webhook.
	DeliveryDelivered DeliveryState = "delivered"
	// DeliveryDead failed permanently, or ran out of attempts: it is
	// listed for regulators, who may re-drive it.
	DeliveryDead DeliveryState = "dead"
	// DeliveryNoEndpoint is for a custodian without a webhook: it reads
	// its notices at GET /api/v1/notices instead.
	DeliveryNoEndpoint DeliveryState = "no_endpoint"
)

// Delivery is one message on its way to a custodian's webhook: the
// durable outbox's record. Body is fixed when it is enqueued and sent and
// signed as is on every attempt; ID is the idempotency key receivers
// dedupe on.
type Delivery struct {
	ID       string `json:"id"`
	EntityID string `json:"entityId"` // the custodian
	// Kind says what Body is: "recall_notice" or "scope_update".
	Kind string `json:"kind"`
	// Ref is the record the delivery carries, e.g. the notice's ID.
	Ref         string        `json:"ref"`
	Body        []byte        `json:"-"`
	State       DeliveryState `json:"state"`
	Attempts    int           `json:"attempts"`
	NextAt      time.Time     `json:"nextAt,omitzero"`
	LeaseOwner  string        `json:"-"`
	LeaseUntil  time.Time     `json:"-"`
	LastStatus  int           `json:"lastStatus,omitempty"`
	LastError   string        `json:"lastError,omitempty"`
	CreatedAt   time.Time     `json:"createdAt"`
	UpdatedAt   time.Time     `json:"updatedAt"`
	DeliveredAt time.Time     `json:"deliveredAt,omitzero"`
}

// Sender is what recall campaigns need of the outbox: to enqueue
// deliveries (idempotently: an ID already enqueued is left as it is) and
// to read their states back by ID (unknown IDs are left out).
type Sender interface {
	Enqueue(ctx context.Context, ds []Delivery) error
	Lookup(ctx context.Context, ids []string) ([]Delivery, error)
}
