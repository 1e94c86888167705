package handlers

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"tracesvc/trace"
	"tracesvc/trace/epcis"
	"tracesvc/trace/gs1"
)

// epcisHeaders advertises the EPCIS REST binding's versions and limits on
// every /epcis response.
func epcisHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("GS1-EPCIS-Version", "2.0.0")
	h.Set("GS1-CBV-Version", "2.0.0")
	h.Set("GS1-EPCIS-Capture-Limit", strconv.Itoa(trace.MaxCaptureEvents))
	h.Set("GS1-EPCIS-Capture-File-Size-Limit", strconv.Itoa(trace.MaxCaptureBytes))
	c.Next()
}

// readCapture reads a capture body of at most the advertised size.
func readCapture(c *gin.Context) ([]byte, error) {
	ct := c.ContentType()
	if ct != "" && ct != "application/ld+json" && ct != "application/json" {
		return nil, trace.Invalid("Content-Type", "must be application/ld+json or application/json, not %s", ct)
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, trace.MaxCaptureBytes))
	if err != nil {
		return nil, err
	}
	return body, nil
}

// capture answers POST /epcis/capture: the document is validated and
// stored before the answer, and the answer is 202 with the job's Location,
// as the binding prescribes; the job says whether it succeeded.
func (s *Server) capture(c *gin.Context) error {
	body, err := readCapture(c)
	if err != nil {
		return err
	}
	job, err := s.chain.Capture(c.Request.Context(), principal(c), trace.CaptureRequest{Document: body,
		ErrorBehaviour: strings.ToLower(c.GetHeader("GS1-Capture-Error-Behaviour"))})
	if err != nil {
		return err
	}
	s.metrics.capturedJob(job)
	c.Header("Location", "/epcis/capture/"+job.ID)
	c.JSON(http.StatusAccepted, job)
	return nil
}

// captureEvent answers POST /epcis/events: one event, stored or refused
// at once (201 with its Location, or 400 with every rule it broke).
func (s *Server) captureEvent(c *gin.Context) error {
	body, err := readCapture(c)
	if err != nil {
		return err
	}
	job, err := s.chain.Capture(c.Request.Context(), principal(c), trace.CaptureRequest{Document: body,
		SingleEvent: true})
	if err != nil {
		if errors.Is(err, trace.ErrInvalid) {
			s.metrics.capturedJob(trace.CaptureJob{Events: 1}) // the one event, refused before any check of its rules
		}
		return err
	}
	s.metrics.capturedJob(job)
	if !job.Success {
		e := job.Errors[0]
		writeErrorWith(c, s.logger, trace.Invalid(e.Pointer, "%s", e.Message), gin.H{"errors": job.Errors, "captureID": job.ID})
		return nil
	}
	id, _ := eventIDOf(body)
	c.Header("Location", "/epcis/events/"+url.PathEscape(id))
	c.JSON(http.StatusCreated, job)
	return nil
}

func eventIDOf(raw []byte) (string, error) {
	ev, err := epcis.ParseEvent(raw)
	return ev.ID, err
}

func (s *Server) captureJob(c *gin.Context) error {
	job, err := s.chain.CaptureJob(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, job)
	return nil
}

// eventQuery reads the EPCIS 2.0 query parameters.
func eventQuery(c *gin.Context) (trace.EventFilter, trace.EventOrder, error) {
	var f trace.EventFilter
	list := func(name string) []string {
		var out []string
		for _, v := range c.QueryArray(name) {
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
		}
		return out
	}
	keys := func(name string) ([]string, error) {
		var out []string
		for _, v := range list(name) {
			k, _, err := gs1.ParseEPC(v)
			if err != nil {
				return nil, trace.Invalid(name, "%v", err)
			}
			out = append(out, k)
		}
		return out, nil
	}
	var err error
	f.Types = list("eventType")
	f.Actions = list("EQ_action")
	for _, a := range f.Actions {
		if a != "ADD" && a != "OBSERVE" && a != "DELETE" {
			return f, "", trace.Invalid("EQ_action", "must be ADD, OBSERVE or DELETE, got %q", a)
		}
	}
	for name, v := range map[string]struct {
		dst   *[]string
		vocab epcis.Vocabulary
	}{"EQ_bizStep": {&f.BizSteps, epcis.BizStep}, "EQ_disposition": {&f.Dispositions, epcis.Disposition}} {
		for _, s := range list(name) {
			norm, ok := v.vocab.Normalize(s)
			if !ok {
				return f, "", trace.Invalid(name, "%q is not a CBV 2.0 %s", s, v.vocab)
			}
			*v.dst = append(*v.dst, norm)
		}
	}
	f.EventIDs = list("EQ_eventID")
	for name, dst := range map[string]*[]string{"EQ_bizLocation": &f.BizLocations, "EQ_readPoint": &f.ReadPoints,
		"MATCH_epc": &f.EPCs, "MATCH_anyEPC": &f.AnyEPCs, "MATCH_parentID": &f.Parents, "MATCH_inputEPC": &f.Inputs,
		"MATCH_outputEPC": &f.Outputs, "MATCH_epcClass": &f.Classes} {
		if *dst, err = keys(name); err != nil {
			return f, "", err
		}
	}
	for name, dst := range map[string]*time.Time{"GE_eventTime": &f.EventTimeFrom, "LT_eventTime": &f.EventTimeTo,
		"GE_recordTime": &f.RecordTimeFrom, "LT_recordTime": &f.RecordTimeTo} {
		if v := c.Query(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, "", trace.Invalid(name, "must be an RFC 3339 time with offset, got %q", v)
			}
			*dst = t
		}
	}
	order := trace.EventOrder(c.DefaultQuery("orderBy", string(trace.ByRecordTime)))
	if order != trace.ByRecordTime && order != trace.ByEventTime {
		return f, "", trace.Invalid("orderBy", "must be eventTime or recordTime, got %q", order)
	}
	return f, order, nil
}

// pageToken encodes and decodes nextPageToken: the time and ID of the last
// event of a page.
func pageToken(cur trace.EventCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(cur.Time.UnixMilli(), 10) + " " + cur.ID))
}

func parsePageToken(tok string) (*trace.EventCursor, error) {
	if tok == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	ms, id, ok := strings.Cut(string(b), " ")
	n, perr := strconv.ParseInt(ms, 10, 64)
	if err != nil || !ok || perr != nil || id == "" {
		return nil, trace.Invalid("nextPageToken", "is not a token this query returned")
	}
	return &trace.EventCursor{Time: time.UnixMilli(n).UTC(), ID: id}, nil
}

// queryEvents answers GET /epcis/events (and /epcis/epcs/{epc}/events)
// with an EPCISQueryDocument, each event with its recordTime. Entities
// see the events they may read; officials see all.
func (s *Server) queryEvents(c *gin.Context) error {
	f, order, err := eventQuery(c)
	if err != nil {
		return err
	}
	if epc := c.Param("epc"); epc != "" {
		k, _, err := gs1.ParseEPC(epc)
		if err != nil {
			return trace.Invalid("epc", "%v", err)
		}
		f.AnyEPCs = append(f.AnyEPCs, k)
	}
	perPage := 100
	if v := c.Query("perPage"); v != "" {
		if perPage, err = strconv.Atoi(v); err != nil || perPage < 1 || perPage > 1000 {
			return trace.Invalid("perPage", "must be between 1 and 1000")
		}
	}
	cur, err := parsePageToken(c.Query("nextPageToken"))
	if err != nil {
		return err
	}
	events, next, err := s.chain.Query(c.Request.Context(), principal(c), f, order, cur, perPage)
	if err != nil {
		return err
	}
	raws := make([]json.RawMessage, len(events))
	for i, e := range events {
		if raws[i], err = epcis.WithRecordTime(e.Raw, e.RecordTime); err != nil {
			return fmt.Errorf("event %s: %w", e.ID, err)
		}
	}
	doc, err := epcis.QueryDocument(nil, "SimpleEventQuery", raws, time.Now().UTC())
	if err != nil {
		return err
	}
	if next != nil {
		tok := pageToken(*next)
		q := c.Request.URL.Query()
		q.Set("nextPageToken", tok)
		c.Header("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, c.Request.URL.Path, q.Encode()))
		c.Header("GS1-Next-Page-Token", tok)
	}
	c.Data(http.StatusOK, "application/ld+json", doc)
	return nil
}

// getEvent answers GET /epcis/events/{eventID}, with the event's
// recordTime like a query.
func (s *Server) getEvent(c *gin.Context) error {
	ev, err := s.chain.Event(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	raw, err := epcis.WithRecordTime(ev.Raw, ev.RecordTime)
	if err != nil {
		return fmt.Errorf("event %s: %w", ev.ID, err)
	}
	c.Data(http.StatusOK, "application/ld+json", raw)
	return nil
}

// fsma204 answers GET /api/v1/trace/lots/{gtin}/{lot}/fsma204.csv,
// streamed: the status and headers go out with the first row, so an error
// before it gets its own status; one after it cuts the connection, so the
// client sees a broken download rather than a short spreadsheet.
func (s *Server) fsma204(c *gin.Context) error {
	out := &lazyCSV{c: c, name: fmt.Sprintf(`attachment; filename="fsma204-%s-%s.csv"`, c.Param("gtin"), url.PathEscape(c.Param("lot")))}
	out.bw = bufio.NewWriterSize(writerFunc(out.send), 64<<10)
	err := s.fsma.Export(c.Request.Context(), principal(c), c.Param("gtin"), c.Param("lot"), out.bw)
	if err == nil {
		err = out.bw.Flush()
	}
	switch {
	case err == nil:
		if !out.sent { // no row at all: the header row is always written, so this does not happen
			c.Status(http.StatusOK)
		}
		return nil
	case !out.sent:
		return err
	}
	if _, ok := streamError(c, s.logger, err); ok {
		s.logger.WarnContext(c.Request.Context(), "fsma export broke off", "gtin", c.Param("gtin"), "lot", c.Param("lot"), "err", err)
	}
	panic(http.ErrAbortHandler)
}

// lazyCSV sends a CSV answer's status and headers with its first bytes.
type lazyCSV struct {
	c    *gin.Context
	bw   *bufio.Writer
	name string
	sent bool
}

func (l *lazyCSV) send(p []byte) (int, error) {
	if !l.sent {
		l.sent = true
		l.c.Header("Content-Type", "text/csv; charset=utf-8")
		l.c.Header("Content-Disposition", l.name)
		l.c.Status(http.StatusOK)
	}
	return l.c.Writer.Write(p)
}

// writerFunc is a function as an io.Writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
