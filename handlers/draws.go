package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"tracesvc/recall/draw"
)

// createDraw makes a "two randoms" inspection draw for a regulator.
func (s *Server) createDraw(c *gin.Context) error {
	var in draw.NewDraw
	if err := decode(c, &in); err != nil {
		return err
	}
	d, err := s.draws.Create(c.Request.Context(), principal(c), in)
	if err != nil {
		return err
	}
	setTarget(c, "draw:"+d.ID)
	c.Header("Location", "/api/v1/inspections/draws/"+d.ID)
	c.JSON(http.StatusCreated, d)
	return nil
}

// getDraw answers a published draw, to anyone.
func (s *Server) getDraw(c *gin.Context) error {
	d, err := s.draws.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, d)
	return nil
}

// listDraws lists the published draws, oldest first.
func (s *Server) listDraws(c *gin.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	list, next, err := s.draws.List(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listBody("draws", list, next))
	return nil
}

// verifyDraw re-runs a published draw and says whether it gives the
// stored result, to anyone.
func (s *Server) verifyDraw(c *gin.Context) error {
	v, err := s.draws.Verify(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}
