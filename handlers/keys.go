package handlers

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"tracesvc/trace"
	"tracesvc/trace/access"
)

type newKey struct {
	Role     access.Role `json:"role"`
	EntityID string      `json:"entityId"`
	Label    string      `json:"label"`
}

// createKey issues a key. A regulator issues any key; an entity issues
// further keys for itself only (to rotate them).
func (s *Server) createKey(c *gin.Context) error {
	var in newKey
	if err := decode(c, &in); err != nil {
		return err
	}
	p := principal(c)
	ctx := c.Request.Context()
	if p.Role == access.RoleEntity {
		if in.Role != access.RoleEntity || (in.EntityID != "" && in.EntityID != p.EntityID) {
			return &trace.FieldError{Field: "role", Msg: "an entity may only issue keys for itself", Kind: trace.ErrForbidden}
		}
		in.EntityID = p.EntityID
	}
	if in.Role == access.RoleEntity && in.EntityID != "" {
		if _, err := s.registry.Entity(ctx, in.EntityID); err != nil {
			return trace.Invalid("entityId", "no entity %q is registered", in.EntityID)
		}
	}
	k, secret, err := s.access.Create(ctx, in.Role, in.EntityID, in.Label, p.String())
	if err != nil {
		return err
	}
	setTarget(c, "key:"+k.ID)
	c.JSON(http.StatusCreated, gin.H{"apiKey": k, "key": secret})
	return nil
}

// ownKey loads key id and checks that the caller may see it.
func (s *Server) ownKey(c *gin.Context) (access.Key, error) {
	k, err := s.access.Key(c.Request.Context(), c.Param("id"))
	if err != nil {
		return access.Key{}, err
	}
	if p := principal(c); p.Role != access.RoleRegulator && k.EntityID != p.EntityID {
		// Answer as for a missing key: another entity's key IDs are not its business.
		return access.Key{}, fmt.Errorf("key %s: %w", k.ID, trace.ErrNotFound)
	}
	return k, nil
}

func (s *Server) getKey(c *gin.Context) error {
	k, err := s.ownKey(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, k)
	return nil
}

func (s *Server) listKeys(c *gin.Context) error {
	pg, err := page(c)
	if err != nil {
		return err
	}
	f := access.KeyFilter{Role: access.Role(c.Query("role")), EntityID: c.Query("entityId")}
	if p := principal(c); p.Role == access.RoleEntity {
		f = access.KeyFilter{EntityID: p.EntityID}
	}
	keys, next, err := s.access.Keys(c.Request.Context(), f, pg)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listBody("keys", keys, next))
	return nil
}

func (s *Server) revokeKey(c *gin.Context) error {
	k, err := s.ownKey(c)
	if err != nil {
		return err
	}
	setTarget(c, "key:"+k.ID)
	k, err = s.access.Revoke(c.Request.Context(), k.ID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, k)
	return nil
}
