package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"tracesvc/standards"
)

// recordSpotCheck takes a lab result from an inspector or a regulator.
func (s *Server) recordSpotCheck(c *gin.Context) error {
	var in standards.NewSpotCheck
	if err := decode(c, &in); err != nil {
		return err
	}
	sc, err := s.spotChecks.Record(c.Request.Context(), principal(c), in)
	if err != nil {
		return err
	}
	setTarget(c, "spotcheck:"+sc.ID)
	c.Header("Location", "/api/v1/spotchecks/"+sc.ID)
	c.JSON(http.StatusCreated, sc)
	return nil
}

func (s *Server) getSpotCheck(c *gin.Context) error {
	sc, err := s.spotChecks.Get(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, sc)
	return nil
}

// listSpotChecks lists spot checks by ?entity=, ?gtin=, ?result= and the
// report dates ?from= and ?to= (both included).
func (s *Server) listSpotChecks(c *gin.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	f := standards.SpotCheckFilter{EntityID: c.Query("entity"), GTIN: c.Query("gtin"), Result: c.Query("result"),
		From: c.Query("from"), To: c.Query("to")}
	list, next, err := s.spotChecks.List(c.Request.Context(), principal(c), f, p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listBody("spotChecks", list, next))
	return nil
}
