package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"tracesvc/trace/audit"
)

const (
	auditTargetKey     = "tracesvc.auditTarget"
	auditComplianceKey = "tracesvc.auditCompliance"
)

// setTarget names what a write acted on, for its audit record.
func setTarget(c *gin.Context, target string) { c.Set(auditTargetKey, target) }

// compliance marks the routes that change compliance records, whose
// every change is audited, by entities too.
func compliance(c *gin.Context) { c.Set(auditComplianceKey, true) }

// auditWrites appends an audit record for the requests audit.Records
// names: every write by an official, whatever its outcome, every key
// issued, and every change of a compliance record. The record
// is appended before the response leaves the server's buffer; when the
// append fails the write stands and the failure is logged as an error.
func (s *Server) auditWrites(c *gin.Context) {
	c.Next()
	p := principal(c)
	req := audit.Request{
		// Verifying against a checkpoint is a POST that changes nothing.
		Write: c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead &&
			c.FullPath() != "/api/v1/audit/verify",
		IssuesKey:  c.FullPath() == "/api/v1/keys" || c.FullPath() == "/api/v1/entities",
		Succeeded:  c.Writer.Status() < 300,
		Compliance: c.GetBool(auditComplianceKey),
	}
	if !audit.Records(p, req) {
		return
	}
	target := c.Request.URL.Path
	if t, ok := c.Get(auditTargetKey); ok {
		target = t.(string)
	}
	action := c.Request.Method + " " + c.FullPath()
	if c.FullPath() == "" {
		action = c.Request.Method + " " + c.Request.URL.Path
	}
	if _, err := s.audit.Append(c.Request.Context(), audit.Entry{Actor: p.String(), Role: string(p.Role),
		Action: action, Target: target, Status: c.Writer.Status()}); err != nil {
		s.logger.ErrorContext(c.Request.Context(), "audit append failed", "action", action, "target", target, "err", err)
	}
}

func (s *Server) listAudit(c *gin.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	recs, next, err := s.audit.List(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listBody("records", recs, next))
	return nil
}

// auditCheckpoint answers GET /api/v1/audit/checkpoint: the signed head
// of the chain, for an official to keep.
func (s *Server) auditCheckpoint(c *gin.Context) error {
	cp, err := s.audit.Checkpoint(c.Request.Context())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, cp)
	return nil
}

// verifyAuditCheckpoint answers POST /api/v1/audit/verify with a saved
// checkpoint: does the log still reach it?
func (s *Server) verifyAuditCheckpoint(c *gin.Context) error {
	var cp audit.Checkpoint
	if err := decode(c, &cp); err != nil {
		return err
	}
	v, err := s.audit.VerifyCheckpoint(c.Request.Context(), cp)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}

func (s *Server) verifyAudit(c *gin.Context) error {
	v, err := s.audit.Verify(c.Request.Context())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}
