package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"tracesvc/trace"
	"tracesvc/trace/access"
)

// createKey issues a key as the caller asks; access.Service rules who may
// issue which key.
func (s *Server) createKey(c *gin.Context) error {
	var in access.NewKey
	if err := decode(c, &in); err != nil {
		return err
	}
	k, secret, err := s.access.Create(c.Request.Context(), principal(c), s.registry, in)
	if err != nil {
		return err
	}
	setTarget(c, "key:"+k.ID)
	c.JSON(http.StatusCreated, gin.H{"apiKey": k, "key": secret})
	return nil
}

func (s *Server) getKey(c *gin.Context) error {
	k, err := s.access.Key(c.Request.Context(), principal(c), c.Param("id"))
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
	f := access.KeyFilter{Role: trace.Role(c.Query("role")), EntityID: c.Query("entityId")}
	keys, next, err := s.access.Keys(c.Request.Context(), principal(c), f, pg)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listBody("keys", keys, next))
	return nil
}

func (s *Server) revokeKey(c *gin.Context) error {
	setTarget(c, "key:"+c.Param("id"))
	k, err := s.access.Revoke(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, k)
	return nil
}
