// Package access issues API keys and turns a presented key into a
// [Principal]: who is calling, in which role, and for which market entity.
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
	"strings"
	"time"

	"tracesvc/trace"
)

// Role is what a caller may do.
type Role string

// The roles. Public is the anonymous caller, who presents no key.
const (
	RoleRegulator Role = "regulator"
	RoleInspector Role = "inspector"
	RoleEntity    Role = "entity"
	RolePublic    Role = "public"
)

// Principal is an authenticated caller.
type Principal struct {
	KeyID    string `json:"keyId,omitempty"`
	Role     Role   `json:"role"`
	EntityID string `json:"entityId,omitempty"` // set for RoleEntity only
}

// Public is the anonymous principal.
var Public = Principal{Role: RolePublic}

// IsOfficial reports whether p is a regulator or an inspector.
func (p Principal) IsOfficial() bool { return p.Role == RoleRegulator || p.Role == RoleInspector }

// String names the principal for logs and audit records.
func (p Principal) String() string {
	switch p.Role {
	case RoleEntity:
		return fmt.Sprintf("entity:%s/key:%s", p.EntityID, p.KeyID)
	case RolePublic:
		return "public"
	}
	return fmt.Sprintf("%s/key:%s", p.Role, p.KeyID)
}

// Key is a stored API key. The secret itself is never stored.
type Key struct {
	ID        string     `json:"id"`
	Hash      string     `json:"-"`
	Role      Role       `json:"role"`
	EntityID  string     `json:"entityId,omitempty"`
	Label     string     `json:"label,omitempty"`
	CreatedBy string     `json:"createdBy,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
}

// KeyFilter narrows a list of keys. Empty fields match everything.
type KeyFilter struct {
	Role     Role
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
}

// Service issues, checks and revokes keys.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service over store; nil now means [time.Now].
func NewService(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
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
func (s *Service) Authenticate(ctx context.Context, secret string) (Principal, error) {
	if secret == "" {
		return Public, nil
	}
	k, err := s.store.KeyByHash(ctx, HashSecret(secret))
	if errors.Is(err, trace.ErrNotFound) {
		return Principal{}, fmt.Errorf("unknown API key: %w", trace.ErrUnauthorized)
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up API key: %w", err)
	}
	if k.RevokedAt != nil {
		return Principal{}, fmt.Errorf("API key %s was revoked: %w", k.ID, trace.ErrUnauthorized)
	}
	return Principal{KeyID: k.ID, Role: k.Role, EntityID: k.EntityID}, nil
}

// Create issues a new key with role for entityID (which must be set for
// [RoleEntity] and empty otherwise). It returns the stored key and the
// secret, which is shown this once.
func (s *Service) Create(ctx context.Context, role Role, entityID, label, createdBy string) (Key, string, error) {
	switch role {
	case RoleRegulator, RoleInspector:
		if entityID != "" {
			return Key{}, "", trace.Invalid("entityId", "must be empty for a %s key", role)
		}
	case RoleEntity:
		if entityID == "" {
			return Key{}, "", trace.Invalid("entityId", "is required for an entity key")
		}
	default:
		return Key{}, "", trace.Invalid("role", "must be regulator, inspector or entity, got %q", role)
	}
	if len(label) > 200 {
		return Key{}, "", trace.Invalid("label", "must be at most 200 characters")
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	secret := newSecret()
	k := Key{ID: trace.NewID(now), Hash: HashSecret(secret), Role: role, EntityID: entityID,
		Label: strings.TrimSpace(label), CreatedBy: createdBy, CreatedAt: now}
	if err := s.store.CreateKey(ctx, k); err != nil {
		return Key{}, "", fmt.Errorf("create %s key: %w", role, err)
	}
	return k, secret, nil
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
	now := s.now().UTC().Truncate(time.Millisecond)
	k = Key{ID: BootstrapKeyID, Hash: HashSecret(secret), Role: RoleRegulator,
		Label: "bootstrap regulator key", CreatedBy: "bootstrap", CreatedAt: now}
	switch err := s.store.CreateKey(ctx, k); {
	case errors.Is(err, trace.ErrConflict):
		return Key{}, "", false, nil
	case err != nil:
		return Key{}, "", false, fmt.Errorf("bootstrap regulator key: %w", err)
	}
	return k, secret, true, nil
}

// Key returns key id, or [trace.ErrNotFound].
func (s *Service) Key(ctx context.Context, id string) (Key, error) {
	k, err := s.store.Key(ctx, id)
	if err != nil {
		return Key{}, fmt.Errorf("key %s: %w", id, err)
	}
	return k, nil
}

// Keys returns one page of keys matching f and the next cursor.
func (s *Service) Keys(ctx context.Context, f KeyFilter, p trace.Page) ([]Key, string, error) {
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

// Revoke revokes key id. Revoking twice keeps the first revocation time.
func (s *Service) Revoke(ctx context.Context, id string) (Key, error) {
	k, err := s.store.RevokeKey(ctx, id, s.now().UTC().Truncate(time.Millisecond))
	if err != nil {
		return Key{}, fmt.Errorf("revoke key %s: %w", id, err)
	}
	return k, nil
}
