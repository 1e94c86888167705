package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"tracesvc/recall"
	"tracesvc/trace"
)

// entityBody is an entity as the API shows it: the register's view, with
// its recall-notice endpoint for officials and the entity itself (the
// secret never leaves the service, only whether one is set).
type entityBody struct {
	trace.EntityView
	*recall.EndpointView
}

// webhookFields are the recall-notice endpoint fields an entity's create
// and update bodies may carry; recall.Endpoints keeps them.
type webhookFields struct {
	WebhookURL    *string `json:"webhookUrl"`
	WebhookSecret *string `json:"webhookSecret"`
	// WebhookSecretGraceHours is how long the secret a new webhookSecret
	// replaces keeps signing beside it (default 24, 0 to stop at once).
	WebhookSecretGraceHours *int `json:"webhookSecretGraceHours"`
}

func (w webhookFields) change() recall.EndpointChange {
	ch := recall.EndpointChange{URL: w.WebhookURL, Secret: w.WebhookSecret}
	if w.WebhookSecretGraceHours != nil {
		// Clamped so that the multiplication cannot overflow; the domain
		// refuses anything out of range.
		g := time.Duration(min(max(*w.WebhookSecretGraceHours, -1), 100_000)) * time.Hour
		ch.SecretGrace = &g
	}
	return ch
}

func (s *Server) viewEntity(ctx context.Context, p trace.Principal, e trace.Entity) (entityBody, error) {
	ep, err := s.endpoints.View(ctx, p, e.ID)
	if err != nil {
		return entityBody{}, err
	}
	return entityBody{EntityView: e.ViewFor(p), EndpointView: ep}, nil
}

func (s *Server) createEntity(c *gin.Context) error {
	var in struct {
		trace.NewEntity
		webhookFields
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	ctx, p := c.Request.Context(), principal(c)
	// The whole body is checked before anything is stored.
	if err := s.endpoints.Check(recall.Endpoint{}, in.change()); err != nil {
		return err
	}
	e, k, secret, err := s.access.RegisterEntity(ctx, p, s.registry, in.NewEntity)
	if err != nil {
		return err
	}
	setTarget(c, "entity:"+e.ID)
	if !in.change().IsZero() {
		if _, err := s.endpoints.Apply(ctx, p, e.ID, in.change()); err != nil {
			return err
		}
	}
	view, err := s.viewEntity(ctx, p, e)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"entity": view, "key": secret, "apiKey": k})
	return nil
}

func (s *Server) getEntity(c *gin.Context) error {
	ctx := c.Request.Context()
	e, err := s.registry.Entity(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	view, err := s.viewEntity(ctx, principal(c), e)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, view)
	return nil
}

func (s *Server) listEntities(c *gin.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	f := trace.EntityFilter{Kind: trace.Kind(c.Query("kind")), Region: c.Query("region"), USCC: c.Query("uscc"),
		GLN: c.Query("gln"), Name: c.Query("name")}
	list, next, err := s.registry.Entities(ctx, f, p)
	if err != nil {
		return err
	}
	views := make([]entityBody, len(list))
	for i, e := range list {
		if views[i], err = s.viewEntity(ctx, principal(c), e); err != nil {
			return err
		}
	}
	c.JSON(http.StatusOK, listBody("entities", views, next))
	return nil
}

func (s *Server) updateEntity(c *gin.Context) error {
	id, p, ctx := c.Param("id"), principal(c), c.Request.Context()
	if err := s.registry.MayManage(p, id); err != nil {
		return err
	}
	var in struct {
		trace.EntityPatch
		webhookFields
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	setTarget(c, "entity:"+id)
	ch := in.change()
	if !ch.IsZero() {
		// Check the endpoint change first, so that a bad one stores nothing.
		current, err := s.endpoints.Current(ctx, p, id)
		if err != nil {
			return err
		}
		if err := s.endpoints.Check(current, ch); err != nil {
			return err
		}
	}
	e, err := s.registry.UpdateEntity(ctx, p, id, in.EntityPatch)
	if err != nil {
		return err
	}
	if !ch.IsZero() {
		if _, err := s.endpoints.Apply(ctx, p, id, ch); err != nil {
			return err
		}
	}
	view, err := s.viewEntity(ctx, p, e)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, view)
	return nil
}
