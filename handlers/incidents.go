package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"tracesvc/standards"
	"tracesvc/trace"
)

// fileIncident takes a mandatory incident report from an entity, or from
// a regulator on an entity's behalf.
func (s *Server) fileIncident(c *gin.Context) error {
	var in standards.NewIncident
	if err := decode(c, &in); err != nil {
		return err
	}
	r, err := s.incidents.File(c.Request.Context(), principal(c), in)
	if err != nil {
		return err
	}
	setTarget(c, "incident:"+r.ID)
	c.Header("Location", "/api/v1/incidents/"+r.ID)
	c.JSON(http.StatusCreated, r)
	return nil
}

// getIncident shows a report as the caller may see it.
func (s *Server) getIncident(c *gin.Context) error {
	v, err := s.incidents.Get(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}

// boolQuery reads an optional true/false query parameter.
func boolQuery(c *gin.Context, name string) (*bool, error) {
	switch c.Query(name) {
	case "":
		return nil, nil
	case "true":
		v := true
		return &v, nil
	case "false":
		v := false
		return &v, nil
	}
	return nil, trace.Invalid(name, "must be true or false, got %q", c.Query(name))
}

// listIncidents lists the reports the caller may see: ?gtin=, ?entity=,
// ?status=, ?severity=, ?late=.
func (s *Server) listIncidents(c *gin.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	late, err := boolQuery(c, "late")
	if err != nil {
		return err
	}
	f := standards.IncidentFilter{GTIN: c.Query("gtin"), EntityID: c.Query("entity"),
		Status: standards.IncidentStatus(c.Query("status")), Severity: standards.Severity(c.Query("severity")), Late: late}
	list, next, err := s.incidents.List(c.Request.Context(), principal(c), f, p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listBody("incidents", list, next))
	return nil
}

// incidentStats is the public's aggregate view: counts by product
// category and month, ?from=&to= (YYYY-MM).
func (s *Server) incidentStats(c *gin.Context) error {
	st, err := s.incidents.Stats(c.Request.Context(), c.Query("from"), c.Query("to"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}

// updateIncident moves a report in the regulator's follow-up.
func (s *Server) updateIncident(c *gin.Context) error {
	var in standards.IncidentUpdate
	if err := decode(c, &in); err != nil {
		return err
	}
	setTarget(c, "incident:"+c.Param("id"))
	r, err := s.incidents.Update(c.Request.Context(), principal(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, r)
	return nil
}

// recordAwareness stores a regulator's record that an entity became
// aware of an incident.
func (s *Server) recordAwareness(c *gin.Context) error {
	var in standards.NewAwareness
	if err := decode(c, &in); err != nil {
		return err
	}
	a, err := s.incidents.RecordAwareness(c.Request.Context(), principal(c), in)
	if err != nil {
		return err
	}
	setTarget(c, "incident-awareness:"+a.ID)
	c.JSON(http.StatusCreated, a)
	return nil
}

// overdueIncidents lists the awareness records no report answered by
// their deadline.
func (s *Server) overdueIncidents(c *gin.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	list, next, err := s.incidents.Overdue(c.Request.Context(), principal(c), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listBody("awareness", list, next))
	return nil
}
