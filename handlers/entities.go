package handlers

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"tracesvc/trace"
	"tracesvc/trace/access"
)

// entityView is an entity as the API shows it. Contact and webhook fields
// appear only to officials and to the entity itself; the webhook secret
// never does.
type entityView struct {
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	USCC             string         `json:"uscc"`
	Kinds            []trace.Kind   `json:"kinds"`
	Region           string         `json:"region"`
	Address          string         `json:"address"`
	GLN              string         `json:"gln,omitempty"`
	CompanyPrefix    string         `json:"companyPrefix,omitempty"`
	Contact          *trace.Contact `json:"contact,omitempty"`
	WebhookURL       string         `json:"webhookUrl,omitempty"`
	WebhookSecretSet *bool          `json:"webhookSecretSet,omitempty"`
	CreatedAt        time.Time      `json:"createdAt"`
	UpdatedAt        time.Time      `json:"updatedAt"`
}

func viewEntity(e trace.Entity, p access.Principal) entityView {
	v := entityView{ID: e.ID, Name: e.Name, USCC: e.USCC, Kinds: e.Kinds, Region: e.Region, Address: e.Address,
		GLN: e.GLN, CompanyPrefix: e.CompanyPrefix, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if p.IsOfficial() || (p.Role == access.RoleEntity && p.EntityID == e.ID) {
		contact := e.Contact
		secretSet := e.WebhookSecret != ""
		v.Contact, v.WebhookURL, v.WebhookSecretSet = &contact, e.WebhookURL, &secretSet
	}
	return v
}

func (s *Server) createEntity(c *gin.Context) error {
	var in trace.NewEntity
	if err := decode(c, &in); err != nil {
		return err
	}
	ctx := c.Request.Context()
	e, err := s.registry.CreateEntity(ctx, in)
	if err != nil {
		return err
	}
	setTarget(c, "entity:"+e.ID)
	k, secret, err := s.access.Create(ctx, access.RoleEntity, e.ID, "first key of "+e.Name, principal(c).String())
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"entity": viewEntity(e, principal(c)), "key": secret, "apiKey": k})
	return nil
}

func (s *Server) getEntity(c *gin.Context) error {
	e, err := s.registry.Entity(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, viewEntity(e, principal(c)))
	return nil
}

func (s *Server) listEntities(c *gin.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	f := trace.EntityFilter{Kind: trace.Kind(c.Query("kind")), Region: c.Query("region"), USCC: c.Query("uscc"),
		GLN: c.Query("gln"), Name: c.Query("name")}
	list, next, err := s.registry.Entities(c.Request.Context(), f, p)
	if err != nil {
		return err
	}
	views := make([]entityView, len(list))
	for i, e := range list {
		views[i] = viewEntity(e, principal(c))
	}
	c.JSON(http.StatusOK, listBody("entities", views, next))
	return nil
}

func (s *Server) updateEntity(c *gin.Context) error {
	id := c.Param("id")
	p := principal(c)
	if err := sameEntity(p, id, true); err != nil {
		return err
	}
	var patch trace.EntityPatch
	if err := decode(c, &patch); err != nil {
		return err
	}
	setTarget(c, "entity:"+id)
	e, err := s.registry.UpdateEntity(c.Request.Context(), id, patch, p.Role == access.RoleRegulator)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, viewEntity(e, p))
	return nil
}
