package recall

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"tracesvc/recall/webhook"
	"tracesvc/trace"
)

// Endpoint is where an entity receives recall notices: an https URL and
// the secret notices are signed with (see recall/webhook). The secret is
// kept sealed; only [Endpoints] opens it.
//
// After a rotation the replaced secret keeps signing beside the new one
// until PreviousUntil, so that a receiver can switch over without
// refusing notices. Endpoints stored before rotations existed have no
// previous secret.
type Endpoint struct {
	EntityID     string
	URL          string
	SealedSecret string
	// PreviousSealedSecret is the sealed secret the last rotation replaced,
	// or "" when there is none.
	PreviousSealedSecret string
	// PreviousUntil is when the previous secret stops signing.
	PreviousUntil time.Time
	UpdatedAt     time.Time
}

// EndpointStore keeps one endpoint per entity. recall/recallsql and
// recall/recallmongo implement it; recall/storetest holds them to it.
type EndpointStore interface {
	// PutEndpoint stores e, replacing the entity's endpoint if any.
	PutEndpoint(ctx context.Context, e Endpoint) error
	// Endpoint returns the entity's endpoint, or [ErrNotFound].
	Endpoint(ctx context.Context, entityID string) (Endpoint, error)
	// DeleteEndpoint removes the entity's endpoint; removing none is not
	// an error.
	DeleteEndpoint(ctx context.Context, entityID string) error
}

// EndpointChange is a change to an entity's endpoint. Nil fields keep
// their value; an empty URL removes the endpoint.
type EndpointChange struct {
	URL    *string
	Secret *string
	// SecretGrace is how long the secret Secret replaces keeps signing
	// beside it; nil means [DefaultSecretGrace], zero drops it at once.
	// It is only valid with Secret.
	SecretGrace *time.Duration
}

// IsZero reports whether the change changes nothing.
func (c EndpointChange) IsZero() bool { return c.URL == nil && c.Secret == nil && c.SecretGrace == nil }

// EndpointView is an endpoint as its entity and officials see it: never
// the secret, only whether one is set, and until when a rotated-out
// secret still signs.
type EndpointView struct {
	URL       string `json:"webhookUrl,omitempty"`
	SecretSet bool   `json:"webhookSecretSet"`
	// PreviousSecretUntil is set while the secret a rotation replaced
	// still signs notices.
	PreviousSecretUntil *time.Time `json:"webhookPreviousSecretUntil,omitempty"`
}

// Secret length limits, in bytes.
const (
	MinSecretLen = 16
	MaxSecretLen = 200
)

// Grace periods of a rotated-out secret: the default, and the longest a
// change may ask for.
const (
	DefaultSecretGrace = 24 * time.Hour
	MaxSecretGrace     = 7 * 24 * time.Hour
)

// Endpoints manages entities' recall-notice endpoints.
type Endpoints struct {
	store  EndpointStore
	sealer *webhook.Sealer
	policy webhook.Policy
	now    trace.Clock
}

// NewEndpoints returns the endpoint service. sealer seals secrets at rest;
// policy says which URLs are acceptable.
func NewEndpoints(store EndpointStore, sealer *webhook.Sealer, policy webhook.Policy, now trace.Clock) *Endpoints {
	return &Endpoints{store: store, sealer: sealer, policy: policy, now: now}
}

// Check validates a change against the entity's current endpoint (the
// zero Endpoint when it has none) without storing anything, so that a
// caller can refuse a whole request before it writes elsewhere.
func (s *Endpoints) Check(current Endpoint, ch EndpointChange) error {
	url := current.URL
	if ch.URL != nil {
		url = *ch.URL
	}
	if ch.SecretGrace != nil {
		if ch.Secret == nil {
			return invalid("webhookSecretGraceHours", "is set but webhookSecret is not: the grace period is for the secret a new one replaces")
		}
		if g := *ch.SecretGrace; g < 0 || g > MaxSecretGrace {
			return invalid("webhookSecretGraceHours", "must be between 0 and %d hours", int(MaxSecretGrace/time.Hour))
		}
	}
	if ch.Secret != nil {
		if url == "" {
			return invalid("webhookSecret", "is set but webhookUrl is empty")
		}
		if n := len(*ch.Secret); n < MinSecretLen || n > MaxSecretLen {
			return invalid("webhookSecret", "must be %d to %d bytes long", MinSecretLen, MaxSecretLen)
		}
		if !utf8.ValidString(*ch.Secret) {
			return invalid("webhookSecret", "must be valid UTF-8")
		}
	}
	if url == "" {
		return nil
	}
	if err := webhook.CheckSyntax(url, s.policy); err != nil {
		return invalid("webhookUrl", "is refused: %s", publicReason(err))
	}
	if ch.Secret == nil && current.SealedSecret == "" {
		return invalid("webhookSecret", "is required with webhookUrl (%d to %d bytes)", MinSecretLen, MaxSecretLen)
	}
	return nil
}

// publicReason is a refusal from recall/webhook without its package prefix.
func publicReason(err error) string {
	return strings.TrimPrefix(err.Error(), webhook.ErrRefused.Error()+": ")
}

// Apply validates ch and stores the entity's new endpoint (or removes it
// when the URL becomes empty). The caller has checked that p may manage
// the entity; Apply checks it again by role and scope.
func (s *Endpoints) Apply(ctx context.Context, p trace.Principal, entityID string, ch EndpointChange) (EndpointView, error) {
	current, err := s.Current(ctx, p, entityID)
	if err != nil {
		return EndpointView{}, err
	}
	if ch.IsZero() {
		return s.viewOf(current), nil
	}
	if err := s.Check(current, ch); err != nil {
		return EndpointView{}, err
	}
	now := s.now.Now()
	next := current
	next.EntityID, next.UpdatedAt = entityID, now
	if !next.PreviousUntil.After(now) {
		next.PreviousSealedSecret, next.PreviousUntil = "", time.Time{}
	}
	if ch.URL != nil {
		next.URL = *ch.URL
	}
	if next.URL == "" {
		if err := s.store.DeleteEndpoint(ctx, entityID); err != nil {
			return EndpointView{}, fmt.Errorf("remove endpoint of %s: %w", entityID, err)
		}
		return EndpointView{}, nil
	}
	if ch.Secret != nil {
		if next.SealedSecret, err = s.sealer.Seal([]byte(*ch.Secret)); err != nil {
			return EndpointView{}, fmt.Errorf("seal secret of %s: %w", entityID, err)
		}
		// The secret replaced keeps signing for the grace period; a second
		// rotation within it retires the oldest at once.
		grace := DefaultSecretGrace
		if ch.SecretGrace != nil {
			grace = *ch.SecretGrace
		}
		next.PreviousSealedSecret, next.PreviousUntil = "", time.Time{}
		if current.SealedSecret != "" && grace > 0 {
			next.PreviousSealedSecret, next.PreviousUntil = current.SealedSecret, now.Add(grace)
		}
	}
	if err := s.store.PutEndpoint(ctx, next); err != nil {
		return EndpointView{}, fmt.Errorf("store endpoint of %s: %w", entityID, err)
	}
	return s.viewOf(next), nil
}

// Current returns the entity's endpoint for p to change (the zero
// Endpoint when it has none); only regulators and the entity itself may.
func (s *Endpoints) Current(ctx context.Context, p trace.Principal, entityID string) (Endpoint, error) {
	if err := mayManage(p, entityID); err != nil {
		return Endpoint{}, err
	}
	e, err := s.store.Endpoint(ctx, entityID)
	if errors.Is(err, ErrNotFound) {
		return Endpoint{}, nil
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("read endpoint of %s: %w", entityID, err)
	}
	return e, nil
}

// View returns the entity's endpoint as p may see it: nil for callers
// other than officials and the entity itself.
func (s *Endpoints) View(ctx context.Context, p trace.Principal, entityID string) (*EndpointView, error) {
	if !p.IsOfficial() && !p.IsEntity(entityID) {
		return nil, nil
	}
	e, err := s.store.Endpoint(ctx, entityID)
	if errors.Is(err, ErrNotFound) {
		return &EndpointView{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read endpoint of %s: %w", entityID, err)
	}
	v := s.viewOf(e)
	return &v, nil
}

// Target returns where and with which secret to deliver the entity's
// notices; [ErrNotFound] when it has no endpoint.
func (s *Endpoints) Target(ctx context.Context, entityID string) (url string, secret []byte, err error) {
	e, err := s.store.Endpoint(ctx, entityID)
	if err != nil {
		return "", nil, fmt.Errorf("endpoint of %s: %w", entityID, err)
	}
	secret, err = s.sealer.Open(e.SealedSecret)
	if err != nil {
		return "", nil, fmt.Errorf("open secret of %s: %w", entityID, err)
	}
	return e.URL, secret, nil
}

// Signing returns where to deliver the entity's notices and every secret
// that signs them: the current one, then the one a rotation replaced while
// its grace period lasts. It returns [ErrNotFound] when the entity has no
// endpoint.
func (s *Endpoints) Signing(ctx context.Context, entityID string) (url string, secrets [][]byte, err error) {
	e, err := s.store.Endpoint(ctx, entityID)
	if err != nil {
		return "", nil, fmt.Errorf("endpoint of %s: %w", entityID, err)
	}
	secret, err := s.sealer.Open(e.SealedSecret)
	if err != nil {
		return "", nil, fmt.Errorf("open secret of %s: %w", entityID, err)
	}
	secrets = [][]byte{secret}
	if e.PreviousSealedSecret != "" && e.PreviousUntil.After(s.now.Now()) {
		prev, err := s.sealer.Open(e.PreviousSealedSecret)
		if err != nil {
			return "", nil, fmt.Errorf("open previous secret of %s: %w", entityID, err)
		}
		secrets = append(secrets, prev)
	}
	return e.URL, secrets, nil
}

// viewOf shows e, with its previous secret's end while it still signs.
func (s *Endpoints) viewOf(e Endpoint) EndpointView {
	v := EndpointView{URL: e.URL, SecretSet: e.SealedSecret != ""}
	if e.PreviousSealedSecret != "" && e.PreviousUntil.After(s.now.Now()) {
		until := e.PreviousUntil
		v.PreviousSecretUntil = &until
	}
	return v
}

// mayManage lets regulators and the entity itself change its endpoint.
func mayManage(p trace.Principal, entityID string) error {
	if p.Role == trace.RoleRegulator || p.IsEntity(entityID) {
		return nil
	}
	if err := p.Require(trace.RoleRegulator, trace.RoleEntity); err != nil {
		return err
	}
	return fmt.Errorf("entity %s is not yours: %w", entityID, trace.ErrForbidden)
}
