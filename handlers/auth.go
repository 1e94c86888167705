package handlers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"tracesvc/trace"
)

const principalKey = "tracesvc.principal"

// authenticate resolves the Authorization header to a principal for every
// request. No header means the public principal; a bad or unknown key is
// refused at once, so a typo never silently downgrades to public.
func (s *Server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	p := trace.Public
	if h != "" {
		scheme, secret, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
			writeError(c, s.logger, fmt.Errorf("authorization header must be \"Bearer <key>\": %w", trace.ErrUnauthorized))
			return
		}
		var err error
		if p, err = s.access.Authenticate(c.Request.Context(), strings.TrimSpace(secret)); err != nil {
			writeError(c, s.logger, err)
			return
		}
	}
	c.Set(principalKey, p)
	c.Next()
}

// principal returns the caller set by authenticate.
func principal(c *gin.Context) trace.Principal {
	if p, ok := c.Get(principalKey); ok {
		return p.(trace.Principal)
	}
	return trace.Public
}

// allow lets only the given roles through: the public caller gets 401 (it
// should present a key), a key of another role gets 403.
func (s *Server) allow(roles ...trace.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := principal(c)
		if slices.Contains(roles, p.Role) {
			c.Next()
			return
		}
		if p.Role == trace.RolePublic {
			writeError(c, s.logger, fmt.Errorf("this endpoint needs an API key: %w", trace.ErrUnauthorized))
			return
		}
		writeError(c, s.logger, fmt.Errorf("a %s key may not do this: %w", p.Role, trace.ErrForbidden))
	}
}

var (
	officials  = []trace.Role{trace.RoleRegulator, trace.RoleInspector}
	regulator  = []trace.Role{trace.RoleRegulator}
	entityOnly = []trace.Role{trace.RoleEntity}
	// entityOrRegulator: a regulator acts for an entity (e.g. registers
	// a product whose GTIN is under no company prefix).
	entityOrRegulator = []trace.Role{trace.RoleEntity, trace.RoleRegulator}
	anyKey            = []trace.Role{trace.RoleRegulator, trace.RoleInspector, trace.RoleEntity}
)
