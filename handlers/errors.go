package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"tracesvc/recall"
	"tracesvc/recall/credit"
	"tracesvc/standards"
	"tracesvc/trace"
	"tracesvc/trace/jsonscan"
)

// apiError is the body of every error response.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Errors of the HTTP layer itself, mapped like the domains' sentinels.
var (
	errNoRoute     = errors.New("no such endpoint")
	errMethod      = errors.New("method not allowed")
	errRateLimited = errors.New("rate limited")
	errPanic       = errors.New("internal error; it has been logged")
	errPage        = errors.New("the page could not be rendered; it has been logged")
)

// errStatus maps sentinels to statuses and codes: every domain's, in the
// same order, and this package's own. It is the only place where errors
// become HTTP.
var errStatus = []struct {
	errs   []error
	status int
	code   string
}{
	{[]error{trace.ErrInvalid, standards.ErrInvalid, recall.ErrInvalid, credit.ErrInvalid}, http.StatusBadRequest, "invalid"},
	{[]error{trace.ErrUnauthorized}, http.StatusUnauthorized, "unauthorized"},
	{[]error{credit.ErrRestricted}, http.StatusForbidden, "credit_restricted"},
	{[]error{trace.ErrForbidden}, http.StatusForbidden, "forbidden"},
	{[]error{trace.ErrNotFound, standards.ErrNotFound, recall.ErrNotFound, credit.ErrNotFound, errNoRoute}, http.StatusNotFound, "not_found"},
	{[]error{errMethod}, http.StatusMethodNotAllowed, "method_not_allowed"},
	{[]error{trace.ErrConflict, standards.ErrConflict, recall.ErrConflict, credit.ErrConflict}, http.StatusConflict, "conflict"},
	{[]error{errRateLimited}, http.StatusTooManyRequests, "rate_limited"},
	{[]error{trace.ErrUnavailable, standards.ErrUnavailable, recall.ErrUnavailable, credit.ErrUnavailable}, http.StatusServiceUnavailable, "unavailable"},
}

// headerFields names the request headers behind domain fields that the
// API takes as headers, so that an error points at what the client sent.
var headerFields = map[string]string{
	"idempotencyKey": "Idempotency-Key",
	"errorBehaviour": "GS1-Capture-Error-Behaviour",
}

// retryAfterUnavailable is the Retry-After of a 503: stores that do not
// answer are usually back within seconds (a busy writer, an election).
const retryAfterUnavailable = "2"

// writeError writes err as the JSON error body with its status. Errors
// nobody classified are logged in full and answered with a generic 500;
// a 503's cause is logged too, and the body never carries driver text.
func writeError(c *gin.Context, logger *slog.Logger, err error) { writeErrorWith(c, logger, err, nil) }

// writeErrorWith is writeError with more members beside "error" in the
// body (a refused single-event capture lists every rule it broke).
func writeErrorWith(c *gin.Context, logger *slog.Logger, err error, extra gin.H) {
	body := func(e apiError) gin.H {
		h := gin.H{"error": e}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	status, e := describeError(c, logger, err)
	c.AbortWithStatusJSON(status, body(e))
}

// describeError is the status and body of err, as writeError answers it:
// it logs what needs logging and sets the headers that go with the status
// (which do nothing once a streamed answer has begun; a stream that breaks
// off tells its client in its own way, see streamError).
func describeError(c *gin.Context, logger *slog.Logger, err error) (int, apiError) {
	status, code := classify(err)
	var tooBig *http.MaxBytesError
	e := apiError{Code: code, Message: publicMessage(err)}
	var fe *trace.FieldError
	var busy *trace.InProgressError
	switch {
	case errors.As(err, &tooBig):
		e.Message = fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit)
	case status == http.StatusInternalServerError:
		if !errors.Is(err, errPanic) {
			logger.ErrorContext(c.Request.Context(), "request failed", "method", c.Request.Method,
				"path", c.FullPath(), "err", err)
		}
		e.Message = errPanic.Error()
		if errors.Is(err, errPage) {
			e.Message = errPage.Error()
		}
	case errors.As(err, &busy):
		e.Field, e.Message = "Idempotency-Key", busy.Error()
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(busy.RetryAfter.Seconds()))))
		c.Header("X-Issuance-Id", busy.Issuance)
	case errors.As(err, &fe):
		e.Field, e.Message = fe.Field, fe.Msg
		if h, ok := headerFields[fe.Field]; ok {
			e.Field = h
		}
	case code == "conflict":
		// A clash the domain did not name comes from the store: its
		// detail is for the log, not the client.
		logger.WarnContext(c.Request.Context(), "unnamed conflict", "method", c.Request.Method,
			"path", c.FullPath(), "err", err)
		e.Message = "this conflicts with a record already stored"
	}
	switch status {
	case http.StatusUnauthorized:
		c.Header("WWW-Authenticate", `Bearer realm="tracesvc"`)
	case http.StatusServiceUnavailable:
		logger.WarnContext(c.Request.Context(), "store unavailable", "method", c.Request.Method,
			"path", c.FullPath(), "err", err)
		c.Header("Retry-After", retryAfterUnavailable)
		e.Message = "the service cannot answer now; retry shortly"
	}
	return status, e
}

// streamError describes an error that ended a streamed answer after its
// status went out: logged as writeError would, and returned as the body a
// stream writes as its last record. A client that went away gets nothing.
func streamError(c *gin.Context, logger *slog.Logger, err error) (apiError, bool) {
	if c.Request.Context().Err() != nil {
		logger.DebugContext(c.Request.Context(), "stream cut off by the client", "path", c.FullPath(), "err", err)
		return apiError{}, false
	}
	_, e := describeError(c, logger, err)
	return e, true
}

// classify returns the status and code of err: a body too large is 413,
// an error wrapping none of the sentinels of errStatus is 500 "internal".
func classify(err error) (int, string) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return http.StatusRequestEntityTooLarge, "invalid"
	}
	for _, m := range errStatus {
		if slices.ContainsFunc(m.errs, func(s error) bool { return errors.Is(err, s) }) {
			return m.status, m.code
		}
	}
	if transient(err) {
		return http.StatusServiceUnavailable, "unavailable"
	}
	return http.StatusInternalServerError, "internal"
}

// transient reports whether err says the store did not answer in time or
// lost its connection, though no adapter named it [trace.ErrUnavailable]:
// by the interfaces database drivers' errors implement (a timeout, or
// MongoDB's labels for errors worth retrying), without knowing the driver.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var timeout interface{ Timeout() bool }
	if errors.As(err, &timeout) && timeout.Timeout() {
		return true
	}
	var labelled interface{ HasErrorLabel(string) bool }
	if errors.As(err, &labelled) {
		for _, l := range []string{"NetworkError", "RetryableWriteError", "TransientTransactionError"} {
			if labelled.HasErrorLabel(l) {
				return true
			}
		}
	}
	return false
}

// publicMessage strips the domain prefixes of wrapped sentinels
// ("create product 0950…: trace: already exists") down to readable words,
// and this package's own sentinels from the end of the message.
func publicMessage(err error) string {
	msg := err.Error()
	// "authorization header …: trace: unauthorized" says it twice: the
	// status and code carry the sentinel.
	for _, m := range errStatus {
		for _, sentinel := range m.errs {
			if cut, ok := strings.CutSuffix(msg, ": "+sentinel.Error()); ok && cut != "" {
				msg = cut
			}
		}
	}
	for _, prefix := range []string{"trace: ", "standards: ", "recall: ", "credit: "} {
		msg = strings.ReplaceAll(msg, prefix, "")
	}
	for _, own := range []error{errNoRoute, errMethod, errRateLimited} {
		msg = strings.TrimSuffix(msg, ": "+own.Error())
	}
	return msg
}

// handle adapts a handler that returns an error; only writeError writes
// error responses.
func (s *Server) handle(h func(*gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			writeError(c, s.logger, err)
		}
	}
}

// maxBody is the largest JSON body the service's own API accepts.
const maxBody = 1 << 20

// decode reads a JSON body into v strictly: unknown fields, trailing data,
// wrong types and text that is not valid UTF-8 (which encoding/json would
// quietly replace with U+FFFD) are [trace.ErrInvalid] errors naming the
// field.
func decode(c *gin.Context, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	if err != nil {
		return jsonError(err)
	}
	if at := jsonscan.InvalidUTF8(body); at >= 0 {
		return trace.Invalid(jsonscan.Dotted(jsonscan.PathAt(body, at)), "is not valid UTF-8 text (byte %d of the body); nothing was stored", at)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return trace.Invalid("", "request body has data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return err
	case errors.Is(err, io.EOF):
		return trace.Invalid("", "request body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return trace.Invalid("", "request body ends in the middle of the JSON value")
	case errors.As(err, &syntax):
		return trace.Invalid("", "malformed JSON at byte %d: %v", syntax.Offset, err)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return trace.Invalid("", "request body must be a JSON object, not %s", typ.Value)
		}
		if want := jsonType(typ.Type.Kind().String()); want == "a number" && strings.HasPrefix(typ.Value, "number") {
			// A number that does not fit, such as 1e18 or 2.5 for a count.
			return trace.Invalid(typ.Field, "must be a whole number in range, not %s", strings.TrimPrefix(typ.Value, "number "))
		}
		return trace.Invalid(typ.Field, "must be %s, not %s", jsonType(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return trace.Invalid(f, "unknown field")
	}
	return trace.Invalid("", "cannot read JSON body: %v", err)
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "float64", "float32", "int", "int64", "int32", "uint", "uint64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "a " + kind
}
