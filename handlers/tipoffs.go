package handlers

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"tracesvc/standards"
	"tracesvc/trace"
	"tracesvc/trace/scan"
)

// fileTipoff takes a tip-off from anyone: JSON from apps, or the scan
// page's form, which gets a receipt page back.
func (s *Server) fileTipoff(c *gin.Context) error {
	var in standards.NewTipoff
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10))
	if err != nil {
		return err
	}
	// A form post from the scan page, unless the body is JSON (curl -d
	// sends JSON with the form content type).
	form := c.ContentType() == "application/x-www-form-urlencoded" && !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{"))
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	if form {
		in = standards.NewTipoff{Subject: c.PostForm("subject"), Code: c.PostForm("code"), GTIN: c.PostForm("gtin"),
			EntityID: c.PostForm("entityId"), Category: c.PostForm("category"), Description: c.PostForm("description"),
			Name: c.PostForm("name"), Contact: c.PostForm("contact")}
	} else if err := decode(c, &in); err != nil {
		return err
	}
	tip, err := s.tipoffs.File(c.Request.Context(), in, s.fingerprint(c))
	if err != nil {
		return err
	}
	setTarget(c, "tipoff:"+tip.Receipt)
	if form {
		s.receiptPage(c, http.StatusCreated, s.tipoffs.PublicView(tip), true)
		return nil
	}
	c.Header("Location", "/api/v1/tipoffs/"+tip.Receipt)
	c.JSON(http.StatusCreated, gin.H{"receipt": tip.Receipt, "status": tip.Status, "createdAt": tip.CreatedAt})
	return nil
}

// tipoffStatus shows the public only the status of a receipt; regulators
// see the whole tip-off.
func (s *Server) tipoffStatus(c *gin.Context) error {
	st, full, err := s.tipoffs.Lookup(c.Request.Context(), principal(c), c.Param("receipt"))
	if err != nil {
		return err
	}
	if full != nil {
		c.JSON(http.StatusOK, full)
		return nil
	}
	if strings.Contains(c.GetHeader("Accept"), mediaHTML) {
		s.receiptPage(c, http.StatusOK, st, false)
		return nil
	}
	c.JSON(http.StatusOK, st)
	return nil
}

// receiptPage shows a tipster their receipt, its status and the decision
// deadline, in their language; its language switch and the page a
// tipster bookmarks are the receipt's public status page. filed marks the
// page that answers the filing.
func (s *Server) receiptPage(c *gin.Context, status int, st standards.TipoffStatusView, filed bool) {
	v := s.pages.base(c)
	v.SwitchURL = "/api/v1/tipoffs/" + url.PathEscape(st.Receipt) + "?lang=" + v.Other
	if !filed {
		v.Title = v.T["tipoff_title"]
	}
	v.Reason = st.Receipt
	v.StatusText = v.T["tipstatus_"+string(st.Status)]
	if st.Status == standards.TipoffReceived || st.Status == standards.TipoffVerifying {
		v.DueText = st.VerifyByDate
	}
	if strings.HasPrefix(st.Code, s.baseURL+"/") {
		v.BackURL = st.Code // only a page of this service
	}
	s.pages.render(c, status, "receipt", v)
}

func (s *Server) listTipoffs(c *gin.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	var overdue bool
	switch c.Query("overdue") {
	case "", "false":
	case "true":
		overdue = true
	default:
		return trace.Invalid("overdue", "must be true or false, got %q", c.Query("overdue"))
	}
	list, next, err := s.tipoffs.List(c.Request.Context(), principal(c), standards.TipoffStatus(c.Query("status")), overdue, p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listBody("tipoffs", list, next))
	return nil
}

func (s *Server) updateTipoff(c *gin.Context) error {
	var in standards.TipoffUpdate
	if err := decode(c, &in); err != nil {
		return err
	}
	setTarget(c, "tipoff:"+c.Param("receipt"))
	tip, err := s.tipoffs.Update(c.Request.Context(), principal(c), c.Param("receipt"), in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, tip)
	return nil
}

// listAlerts lists counterfeit alerts: all for officials, an entity's own
// products' for an entity.
func (s *Server) listAlerts(c *gin.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	list, next, err := s.resolver.Alerts(c.Request.Context(), principal(c), scan.AlertKind(c.Query("kind")), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listBody("alerts", list, next))
	return nil
}
