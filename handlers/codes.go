package handlers

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"tracesvc/trace"
	"tracesvc/trace/safecsv"
)

// Media types of code lists.
const (
	mediaJSON   = "application/json"
	mediaCSV    = "text/csv"
	mediaNDJSON = "application/x-ndjson"
)

// maxJSONCodes is the most codes answered as one JSON document; larger
// requests must stream CSV or NDJSON.
const maxJSONCodes = 10_000

type issueBody struct {
	Count     int `json:"count"`
	Extension int `json:"extension"`
}

// issuedJSON is one code in a JSON answer; key names the serial's field
// ("serial" for item codes, "sscc" for SSCCs).
type issuedJSON struct {
	URI    string `json:"uri"`
	Serial string `json:"serial,omitempty"`
	SSCC   string `json:"sscc,omitempty"`
}

// issueCodes mints item codes for a batch the caller owns.
func (s *Server) issueCodes(c *gin.Context) error {
	var in issueBody
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.Extension != 0 {
		return trace.Invalid("extension", "applies to SSCCs only")
	}
	req := trace.IssueRequest{GTIN: c.Param("gtin"), Lot: c.Param("lot"),
		Count: in.Count, IdempotencyKey: c.GetHeader("Idempotency-Key")}
	return s.streamIssued(c, in.Count, "codes", false, func(emit trace.Emit) (trace.Issuance, error) {
		return s.codes.Issue(c.Request.Context(), principal(c), req, emit)
	})
}

// issueSSCCs mints SSCCs under the caller's GS1 company prefix.
func (s *Server) issueSSCCs(c *gin.Context) error {
	var in issueBody
	if err := decode(c, &in); err != nil {
		return err
	}
	req := trace.SSCCRequest{Count: in.Count, Extension: in.Extension,
		IdempotencyKey: c.GetHeader("Idempotency-Key")}
	return s.streamIssued(c, in.Count, "ssccs", true, func(emit trace.Emit) (trace.Issuance, error) {
		return s.codes.IssueSSCCs(c.Request.Context(), principal(c), req, emit)
	})
}

// streamIssued answers an issuance in the negotiated format. JSON is built
// whole and sent with 201 once every code is stored. CSV and NDJSON stream:
// 201 goes out with the first stored chunk, each chunk follows as it is
// stored, and the trailers X-Issued-Count and X-Issuance-State tell how it
// ended. A client that disconnects stops the issuance after the chunk in
// flight; what was stored stays listable, and the same request with the
// same Idempotency-Key resumes it.
func (s *Server) streamIssued(c *gin.Context, count int, name string, sscc bool, issue func(trace.Emit) (trace.Issuance, error)) error {
	format := c.NegotiateFormat(mediaJSON, mediaCSV, mediaNDJSON)
	if format == "" {
		format = mediaJSON
	}
	if format == mediaJSON {
		if count > maxJSONCodes {
			return trace.Invalid("count", "more than %d codes must be streamed: send Accept: %s or %s", maxJSONCodes, mediaCSV, mediaNDJSON)
		}
		var out []issuedJSON
		is, err := issue(func(_ trace.Issuance, codes []trace.Issued) error {
			for _, cd := range codes {
				out = append(out, viewIssued(cd, sscc))
			}
			return nil
		})
		if err != nil {
			return err
		}
		setTarget(c, "issuance:"+is.ID)
		c.Header("Location", "/api/v1/issuances/"+is.ID)
		c.JSON(http.StatusCreated, gin.H{"issuance": is, name: out})
		return nil
	}

	w := c.Writer
	w.Header().Set("Trailer", "X-Issued-Count, X-Issuance-State")
	bw := bufio.NewWriterSize(w, 64<<10)
	var cw *safecsv.Writer
	started := false
	is, err := issue(func(is trace.Issuance, codes []trace.Issued) error {
		if !started {
			started = true
			w.Header().Set("Content-Type", format+"; charset=utf-8")
			w.Header().Set("X-Issuance-Id", is.ID)
			w.Header().Set("Location", "/api/v1/issuances/"+is.ID)
			w.WriteHeader(http.StatusCreated)
			if format == mediaCSV {
				cw = safecsv.NewWriter(bw)
				if err := cw.Write([]string{map[bool]string{false: "serial", true: "sscc"}[sscc], "uri"}); err != nil {
					return err
				}
			}
		}
		for _, cd := range codes {
			if cw != nil {
				if err := cw.Write([]string{cd.Serial, cd.URI}); err != nil {
					return err
				}
				continue
			}
			b, err := json.Marshal(viewIssued(cd, sscc))
			if err != nil {
				return err
			}
			bw.Write(b)
			if err := bw.WriteByte('\n'); err != nil {
				return err
			}
		}
		if cw != nil {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		w.Flush()
		return nil
	})
	if !started {
		return err // nothing sent yet: an ordinary error answer
	}
	setTarget(c, "issuance:"+is.ID)
	w.Header().Set("X-Issued-Count", strconv.Itoa(is.Issued))
	w.Header().Set("X-Issuance-State", string(is.State))
	if err != nil {
		s.logger.WarnContext(c.Request.Context(), "issuance stopped", "issuance", is.ID, "issued", is.Issued,
			"requested", is.Requested, "err", err)
	}
	return nil
}

func viewIssued(cd trace.Issued, sscc bool) issuedJSON {
	if sscc {
		return issuedJSON{URI: cd.URI, SSCC: cd.Serial}
	}
	return issuedJSON{URI: cd.URI, Serial: cd.Serial}
}

// listCodes pages through a batch's codes as JSON, or streams them all as
// CSV or NDJSON when asked.
func (s *Server) listCodes(c *gin.Context) error {
	ctx := c.Request.Context()
	actor, gtin, lot, iss := principal(c), c.Param("gtin"), c.Param("lot"), c.Query("issuance")
	format := c.NegotiateFormat(mediaJSON, mediaCSV, mediaNDJSON)
	if format == mediaJSON || format == "" {
		pg, err := page(c)
		if err != nil {
			return err
		}
		codes, next, err := s.codes.BatchCodes(ctx, actor, gtin, lot, iss, pg)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, listBody("codes", codes, next))
		return nil
	}
	// Streaming export: read the first page before committing to 200, so
	// that a bad request still gets its error status.
	const chunk = 10_000
	codes, next, err := s.codes.AllBatchCodes(ctx, actor, gtin, lot, iss, chunk, c.Query("cursor"))
	if err != nil {
		return err
	}
	w := c.Writer
	w.Header().Set("Content-Type", format+"; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := safecsv.NewWriter(bw)
	if format == mediaCSV {
		cw.Write([]string{"serial", "uri", "state", "possessor", "issuedAt", "issuance"})
	}
	for {
		for _, cd := range codes {
			if format == mediaCSV {
				cw.Write([]string{cd.Serial, cd.URI, string(cd.State), cd.Possessor, cd.IssuedAt.Format(timeRFC3339), cd.Issuance})
				continue
			}
			b, _ := json.Marshal(cd)
			bw.Write(b)
			bw.WriteByte('\n')
		}
		cw.Flush()
		if err := bw.Flush(); err != nil {
			return nil // the client went away
		}
		if next == "" {
			return nil
		}
		if codes, next, err = s.codes.AllBatchCodes(ctx, actor, gtin, lot, iss, chunk, next); err != nil {
			s.logger.ErrorContext(ctx, "code export broke off", "gtin", gtin, "lot", lot, "err", err)
			return nil
		}
	}
}

const timeRFC3339 = "2006-01-02T15:04:05.000Z07:00"

func (s *Server) getIssuance(c *gin.Context) error {
	is, err := s.codes.Issuance(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, is)
	return nil
}

// listSSCCs pages through an entity's SSCCs: its own for an entity key, any
// entity's (?ownerId=) for officials.
func (s *Server) listSSCCs(c *gin.Context) error {
	pg, err := page(c)
	if err != nil {
		return err
	}
	list, next, err := s.codes.SSCCs(c.Request.Context(), principal(c), c.Query("ownerId"), c.Query("issuance"), pg)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listBody("ssccs", list, next))
	return nil
}
