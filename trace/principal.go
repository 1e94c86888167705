package trace

import "fmt"

// Role is what a caller may do.
type Role string

// The roles. RolePublic is the anonymous caller, who presents no key.
const (
	RoleRegulator Role = "regulator"
	RoleInspector Role = "inspector"
	RoleEntity    Role = "entity"
	RolePublic    Role = "public"
)

// Principal is who is calling: a role, the key it presented, and for
// [RoleEntity] the market entity the key acts for. Every domain service
// takes the principal and applies the entity-scope rules itself.
type Principal struct {
	KeyID    string `json:"keyId,omitempty"`
	Role     Role   `json:"role"`
	EntityID string `json:"entityId,omitempty"` // set for RoleEntity only
}

// Public is the anonymous principal.
var Public = Principal{Role: RolePublic}

// System is the principal of the service's own work (start-up, sweepers,
// recall scoping): it sees everything, like an official.
var System = Principal{Role: RoleRegulator, KeyID: "system"}

// IsOfficial reports whether p is a regulator or an inspector.
func (p Principal) IsOfficial() bool { return p.Role == RoleRegulator || p.Role == RoleInspector }

// IsEntity reports whether p acts for market entity id.
func (p Principal) IsEntity(id string) bool {
	return p.Role == RoleEntity && p.EntityID == id && id != ""
}

// Scope returns the entity p is confined to: its entity for an entity
// key, "" for officials, who see every entity's records.
func (p Principal) Scope() string {
	if p.IsOfficial() {
		return ""
	}
	return p.EntityID
}

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

// Require returns [ErrUnauthorized] for the public caller and
// [ErrForbidden] for a principal whose role is not among roles.
func (p Principal) Require(roles ...Role) error {
	for _, r := range roles {
		if p.Role == r {
			return nil
		}
	}
	if p.Role == RolePublic {
		return fmt.Errorf("this needs an API key: %w", ErrUnauthorized)
	}
	return fmt.Errorf("a %s key may not do this: %w", p.Role, ErrForbidden)
}
