// Package access issues API keys and turns a presented key into a
// [trace.Principal]: who is calling, in which role, and for which market entity.
//
// Keys are 256-bit random secrets shown once at creation; the store keeps
// only their SHA-256. A plain hash suffices because the secrets are
// high-entropy: there is no password to brute-force.
package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"tracesvc/trace"
)

// Key is a stored API key. The secret itself is never stored.
type Key struct {
	ID        string     `json:"id"`
	Hash      string     `json:"-"`
	Role      trace.Role `json:"role"`
	EntityID  string     `json:"entityId,omitempty"`
	Label     string     `json:"label,omitempty"`
	CreatedBy string     `json:"createdBy,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
}

// KeyFilter narrows a list of keys. Empty fields match everything.
type KeyFilter struct {
	Role     trace.Role
	EntityID string
}

// BootstrapKeyID is the ID of the first regulator key. Its fixed ID makes
// bootstrap happen once, even when several instances start together.
const BootstrapKeyID = "bootstrap"

// Store is the storage [Service] needs, implemented by trace/tracesql and
// trace/tracemongo.
type Store interface {
	// CreateKey stores k; [trace.ErrConflict] when its ID or hash exists.
	CreateKey(ctx context.Context, k Key) error
	// KeyByHash returns the key whose secret hashes to hash, or [trace.ErrNotFound].
	KeyByHash(ctx context.Context, hash string) (Key, error)
	// Key returns key id, or [trace.ErrNotFound].
	Key(ctx context.Context, id string) (Key, error)
	// ListKeys returns keys in ascending ID order after p.After.
	ListKeys(ctx context.Context, f KeyFilter, p trace.Page) ([]Key, error)
	// RevokeKey sets RevokedAt on key id unless it is already set, and
	// returns the key as stored; [trace.ErrNotFound] when there is no such key.
	RevokeKey(ctx context.Context, id string, at time.Time) (Key, error)
	// DeleteKey removes key id; deleting a missing key is not an error. It
	// undoes a key whose entity could not be registered.
	DeleteKey(ctx context.Context, id string) error
}

// Service issues, checks and revokes keys, and decides who may issue or
// see which key.
type Service struct {
	store Store
	now   trace.Clock
}

// NewService returns a Service over store.
func NewService(store Store, now trace.Clock) *Service {
	return &Service{store: store, now: now}
}

const secretPrefix = "tsk_"

// HashSecret returns the stored form of a key secret.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return secretPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// Authenticate returns the principal a secret stands for. An empty secret
// is the public principal; an unknown or revoked one is
// [trace.ErrUnauthorized].
func (s *Service) Authenticate(ctx context.Context, secret string) (trace.Principal, error) {
	if secret == "" {
		return trace.Public, nil
	}
	k, err := s.store.KeyByHash(ctx, HashSecret(secret))
	if errors.Is(err, trace.ErrNotFound) {
		return trace.Principal{}, fmt.Errorf("unknown API key: %w", trace.ErrUnauthorized)
	}
	if err != nil {
		return trace.Principal{}, fmt.Errorf("look up API key: %w", err)
	}
	if k.RevokedAt != nil {
		return trace.Principal{}, fmt.Errorf("API key %s was revoked: %w", k.ID, trace.ErrUnauthorized)
	}
	return trace.Principal{KeyID: k.ID, Role: k.Role, EntityID: k.EntityID}, nil
}

// NewKey asks for a key: its role, the entity it acts for (entity keys
// only), and a label for people.
type NewKey struct {
	Role     trace.Role `json:"role"`
	EntityID string     `json:"entityId"`
	Label    string     `json:"label"`
}

// Entities tells whether an entity is registered; *trace.Registry
// implements it.
type Entities interface {
	Entity(ctx context.Context, id string) (trace.Entity, error)
}

// Create issues a new key as p asks. A regulator issues any key; an entity
// issues further keys for itself only (to rotate them); nobody else issues
// keys. It returns the stored key and the secret, which is shown this once.
func (s *Service) Create(ctx context.Context, p trace.Principal, entities Entities, in NewKey) (Key, string, error) {
	if err := p.Require(trace.RoleRegulator, trace.RoleEntity); err != nil {
		return Key{}, "", err
	}
	if p.Role == trace.RoleEntity {
		if in.Role != trace.RoleEntity || (in.EntityID != "" && in.EntityID != p.EntityID) {
			return Key{}, "", &trace.FieldError{Field: "role", Msg: "an entity may only issue keys for itself", Kind: trace.ErrForbidden}
		}
		in.EntityID = p.EntityID
	}
	if in.Role == trace.RoleEntity && in.EntityID != "" {
		if _, err := entities.Entity(ctx, in.EntityID); errors.Is(err, trace.ErrNotFound) {
			return Key{}, "", trace.Invalid("entityId", "no entity %q is registered", in.EntityID)
		} else if err != nil {
			return Key{}, "", err
		}
	}
	k, secret, err := s.newKey(in, p.String())
	if err != nil {
		return Key{}, "", err
	}
	if err := s.store.CreateKey(ctx, k); err != nil {
		return Key{}, "", fmt.Errorf("create %s key: %w", in.Role, err)
	}
	return k, secret, nil
}

// CreateRegulatorOnHost issues a regulator key for someone at the host's
// command line (operator names them), who is trusted as the host's
// administrator is, with no key: the way to replace a lost regulator key.
// The caller records it in the audit log.
func (s *Service) CreateRegulatorOnHost(ctx context.Context, operator, label string) (Key, string, error) {
	k, secret, err := s.newKey(NewKey{Role: trace.RoleRegulator, Label: label}, "host:"+operator)
	if err != nil {
		return Key{}, "", err
	}
	if err := s.store.CreateKey(ctx, k); err != nil {
		return Key{}, "", fmt.Errorf("create regulator key on the host: %w", err)
	}
	return k, secret, nil
}

// newKey validates in and makes the key and its secret, without storing them.
func (s *Service) newKey(in NewKey, createdBy string) (Key, string, error) {
	switch in.Role {
	case trace.RoleRegulator, trace.RoleInspector:
		if in.EntityID != "" {
			return Key{}, "", trace.Invalid("entityId", "must be empty for a %s key", in.Role)
		}
	case trace.RoleEntity:
		if in.EntityID == "" {
			return Key{}, "", trace.Invalid("entityId", "is required for an entity key")
		}
	default:
		return Key{}, "", trace.Invalid("role", "must be regulator, inspector or entity, got %q", in.Role)
	}
	if err := trace.CheckText("label", in.Label, false, maxLabel); err != nil {
		return Key{}, "", err
	}
	now := s.now.Now()
	secret := newSecret()
	return Key{ID: trace.NewID(now), Hash: HashSecret(secret), Role: in.Role, EntityID: in.EntityID,
		Label: strings.TrimSpace(in.Label), CreatedBy: createdBy, CreatedAt: now}, secret, nil
}

// Registrar registers entities in two steps; *trace.Registry implements it.
type Registrar interface {
	ValidateEntity(p trace.Principal, in trace.NewEntity) (trace.Entity, error)
	InsertEntity(ctx context.Context, e trace.Entity) error
}

// RegisterEntity registers a market entity and issues its first key, as
// one operation: the key is stored first and removed again if the entity
// cannot be stored, so no entity is ever left without a key. (A crash
// between the two leaves at most a key for an entity that does not exist,
// which can do nothing.) Only a regulator may register entities.
func (s *Service) RegisterEntity(ctx context.Context, p trace.Principal, reg Registrar, in trace.NewEntity) (trace.Entity, Key, string, error) {
	e, err := reg.ValidateEntity(p, in)
	if err != nil {
		return trace.Entity{}, Key{}, "", err
	}
	k, secret, err := s.newKey(NewKey{Role: trace.RoleEntity, EntityID: e.ID, Label: firstKeyLabel(e.Name)}, p.String())
	if err != nil {
		return trace.Entity{}, Key{}, "", err
	}
	if err := s.store.CreateKey(ctx, k); err != nil {
		return trace.Entity{}, Key{}, "", fmt.Errorf("create first key of %s: %w", e.ID, err)
	}
	if err := reg.InsertEntity(ctx, e); err != nil {
		// The undo must run even if the client has gone.
		if derr := s.store.DeleteKey(context.WithoutCancel(ctx), k.ID); derr != nil {
			err = errors.Join(err, fmt.Errorf("remove the key of the unregistered entity: %w", derr))
		}
		return trace.Entity{}, Key{}, "", err
	}
	return e, k, secret, nil
}

// maxLabel is the longest key label, in characters.
const maxLabel = 200

// firstKeyLabel labels an entity's first key after its name, cut to fit
// a label: a name may be as long as a label.
func firstKeyLabel(name string) string {
	l := []rune("first key of " + name)
	if len(l) > maxLabel {
		l = append(l[:maxLabel-1], '…')
	}
	return string(l)
}

// CheckChosenSecret refuses a secret an operator chose (such as
// TRACESVC_ADMIN_KEY) that is too weak to stand for a key: shorter than
// 32 characters, a placeholder, a run or a repetition, or with less than
// about 96 bits by its character statistics. Generated keys have 256.
func CheckChosenSecret(s string) error {
	if n := utf8.RuneCountInString(s); n < 32 {
		return fmt.Errorf("is %d characters; use at least 32 random ones, e.g. openssl rand -hex 32", n)
	}
	lower := strings.ToLower(s)
	for _, w := range []string{"change", "replace", "example", "placeholder", "password", "secret", "your-", "your_", "todo", "xxxx"} {
		if strings.Contains(lower, w) {
			return fmt.Errorf("looks like a placeholder (%q); use a random one, e.g. openssl rand -hex 32", w)
		}
	}
	counts := map[rune]int{}
	steps := 0
	prev := rune(-1)
	n := 0
	for _, r := range s {
		counts[r]++
		if r == prev || r == prev+1 || r == prev-1 {
			steps++
		}
		prev = r
		n++
	}
	bits := 0.0
	for _, c := range counts {
		p := float64(c) / float64(n)
		bits -= float64(n) * p * math.Log2(p)
	}
	if bits < 96 || steps*3 > n {
		return fmt.Errorf("has too little randomness (about %.0f bits); use a random one, e.g. openssl rand -hex 32", bits)
	}
	return nil
}

// Bootstrap makes sure the store has its first regulator key. On an empty
// store it stores adminKey (or, when that is empty, a fresh secret) and
// returns the key with created true; the caller shows a generated secret
// once. On a store that was bootstrapped before, it changes nothing.
func (s *Service) Bootstrap(ctx context.Context, adminKey string) (k Key, secret string, created bool, err error) {
	secret = adminKey
	if secret == "" {
		secret = newSecret()
	}
	now := s.now.Now()
	k = Key{ID: BootstrapKeyID, Hash: HashSecret(secret), Role: trace.RoleRegulator,
		Label: "bootstrap regulator key", CreatedBy: "bootstrap", CreatedAt: now}
	switch err := s.store.CreateKey(ctx, k); {
	case errors.Is(err, trace.ErrConflict):
		return Key{}, "", false, nil
	case err != nil:
		return Key{}, "", false, fmt.Errorf("bootstrap regulator key: %w", err)
	}
	return k, secret, true, nil
}

// Key returns key id to a regulator, or to the entity the key acts for.
// Another caller is told it does not exist: another entity's key IDs are
// not its business.
func (s *Service) Key(ctx context.Context, p trace.Principal, id string) (Key, error) {
	if err := p.Require(trace.RoleRegulator, trace.RoleEntity); err != nil {
		return Key{}, err
	}
	k, err := s.store.Key(ctx, id)
	if err != nil {
		return Key{}, fmt.Errorf("key %s: %w", id, err)
	}
	if p.Role != trace.RoleRegulator && k.EntityID != p.EntityID {
		return Key{}, fmt.Errorf("key %s: %w", id, trace.ErrNotFound)
	}
	return k, nil
}

// Keys returns one page of keys matching f and the next cursor. An entity
// lists its own keys only, whatever f says.
func (s *Service) Keys(ctx context.Context, caller trace.Principal, f KeyFilter, p trace.Page) ([]Key, string, error) {
	if err := caller.Require(trace.RoleRegulator, trace.RoleEntity); err != nil {
		return nil, "", err
	}
	if caller.Role == trace.RoleEntity {
		f = KeyFilter{EntityID: caller.EntityID}
	}
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	keys, err := s.store.ListKeys(ctx, f, trace.Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("list keys: %w", err)
	}
	return trace.PageOf(keys, p.Limit, func(k Key) string { return k.ID })
}

// Revoke revokes key id, which p must be allowed to see (see
// [Service.Key]). Revoking twice keeps the first revocation time.
func (s *Service) Revoke(ctx context.Context, p trace.Principal, id string) (Key, error) {
	if _, err := s.Key(ctx, p, id); err != nil {
		return Key{}, err
	}
	k, err := s.store.RevokeKey(ctx, id, s.now.Now())
	if err != nil {
		return Key{}, fmt.Errorf("revoke key %s: %w", id, err)
	}
	return k, nil
}
