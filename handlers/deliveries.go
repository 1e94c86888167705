package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"tracesvc/recall"
)

// listDeliveries lists the outbox's deliveries for regulators, by state
// (?state=dead|pending|delivered|no_endpoint; all when absent).
func (s *Server) listDeliveries(c *gin.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	ds, next, err := s.outbox.List(c.Request.Context(), principal(c), recall.DeliveryState(c.Query("state")), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listBody("deliveries", ds, next))
	return nil
}

// redriveDelivery gives a dead delivery a new run of attempts; 409 unless
// it is dead.
func (s *Server) redriveDelivery(c *gin.Context) error {
	id := c.Param("id")
	setTarget(c, "delivery:"+id)
	d, err := s.outbox.Redrive(c.Request.Context(), principal(c), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, d)
	return nil
}
