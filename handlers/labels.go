package handlers

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"tracesvc/trace"
	"tracesvc/trace/gs1"
	"tracesvc/trace/label"
)

// labelError turns a label package error into the domain's invalid error,
// keeping the field it names.
func labelError(err error, field string) error {
	var le *label.Error
	if errors.As(err, &le) {
		if field == "" {
			field = le.Field
		}
		return trace.Invalid(field, "%s", le.Msg)
	}
	return err
}

// parseCode reads a code given as a Digital Link URI or as a GS1 element
// string (bracketed HRI, or raw with GS separators and an optional
// symbology identifier).
func parseCode(code string) (gs1.Elements, bool, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return nil, false, trace.Invalid("code", "is required: a GS1 Digital Link URI or element string")
	}
	if strings.HasPrefix(code, "http://") || strings.HasPrefix(code, "https://") {
		e, err := gs1.ParseDigitalLink(code)
		if err != nil {
			return nil, true, trace.Invalid("code", "%v", err)
		}
		return e, true, nil
	}
	e, err := gs1.ParseElementString(code)
	if err != nil {
		return nil, false, trace.Invalid("code", "%v", err)
	}
	return e, false, nil
}

// renderLabel draws one code as QR, GS1 DataMatrix or GS1-128, in PNG or
// SVG. A QR holds the Digital Link URI (the code as given when it is one,
// or built on the service's base URL from an element string); a DataMatrix
// holds the element string, or the URI with content=uri; GS1-128 holds the
// element string.
func (s *Server) renderLabel(c *gin.Context) error {
	elements, isURI, err := parseCode(c.Query("code"))
	if err != nil {
		return err
	}
	spec := label.Spec{Symbology: label.Symbology(c.DefaultQuery("symbology", "qr")),
		Format: label.Format(c.DefaultQuery("format", "png"))}
	if v := c.Query("size"); v != "" {
		if spec.Size, err = strconv.Atoi(v); err != nil || spec.Size < 1 {
			return trace.Invalid("size", "must be a positive whole number of pixels, got %q", v)
		}
	}
	uri := strings.TrimSpace(c.Query("code"))
	if !isURI {
		if uri, err = gs1.BuildDigitalLink(s.baseURL, elements); err != nil {
			return trace.Invalid("code", "%v", err)
		}
	}
	switch content := c.DefaultQuery("content", ""); {
	case spec.Symbology == label.QR:
		spec.URI = uri
	case content == "uri" && spec.Symbology == label.DataMatrix:
		spec.URI = uri
	case content != "" && content != "elements":
		return trace.Invalid("content", "must be elements or uri (uri only for datamatrix), got %q", content)
	default:
		spec.Elements = elements
	}
	var buf bytes.Buffer
	ct, err := s.labels.Render(&buf, spec)
	if err != nil {
		return labelError(err, "")
	}
	c.Header("Cache-Control", "private, max-age=86400")
	c.Data(http.StatusOK, ct, buf.Bytes())
	return nil
}

// maxSheetLabels is the most labels one PDF request prints; the rest
// follow with the cursor in X-Next-Cursor.
const maxSheetLabels = 5000

// labelSheet prints a batch's codes as an A4 PDF of QR labels, each with
// the product name, GTIN, lot, expiry and serial.
func (s *Server) labelSheet(c *gin.Context) error {
	ctx := c.Request.Context()
	actor := principal(c)
	layout := label.DefaultLayout()
	layout.FontPath = s.labelFont
	ints := map[string]*int{"columns": &layout.Columns, "rows": &layout.Rows}
	for name, p := range ints {
		if v := c.Query(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return trace.Invalid(name, "must be a whole number, got %q", v)
			}
			*p = n
		}
	}
	floats := map[string]*float64{"labelWidthMm": &layout.LabelWidthMM, "labelHeightMm": &layout.LabelHeightMM,
		"marginMm": &layout.MarginMM, "columnGapMm": &layout.ColumnGapMM, "rowGapMm": &layout.RowGapMM}
	for name, p := range floats {
		if v := c.Query(name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return trace.Invalid(name, "must be a number of millimetres, got %q", v)
			}
			*p = f
		}
	}
	if err := layout.Validate(); err != nil {
		return labelError(err, "")
	}
	limit := maxSheetLabels
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSheetLabels {
			return trace.Invalid("limit", "must be between 1 and %d", maxSheetLabels)
		}
		limit = n
	}
	gtin, lot, iss := c.Param("gtin"), c.Param("lot"), c.Query("issuance")
	batch, err := s.registry.Batch(ctx, gtin, lot)
	if err != nil {
		return err
	}
	product, err := s.registry.Product(ctx, gtin)
	if err != nil {
		return err
	}
	codes, next, err := s.codes.AllBatchCodes(ctx, actor, gtin, lot, iss, limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	if len(codes) == 0 {
		return trace.Invalid("lot", "batch %s has no codes to print (issue some first)", batch.Lot)
	}
	items := func(yield func(label.Item) bool) {
		for _, cd := range codes {
			if !yield(label.Item{URI: cd.URI, ProductName: product.Name, GTIN: cd.GTIN, Lot: cd.Lot,
				Expiry: batch.ExpiryDate, Serial: cd.Serial}) {
				return
			}
		}
	}
	var buf bytes.Buffer
	unprintable := map[rune]bool{}
	layout.Unprintable = func(r rune) { unprintable[r] = true }
	if err := label.Sheet(&buf, layout, iter.Seq[label.Item](items)); err != nil {
		return labelError(err, "")
	}
	if len(unprintable) > 0 {
		// Say so rather than hand out a sheet of "???".
		var sample []rune
		for r := range unprintable {
			if len(sample) < 10 {
				sample = append(sample, r)
			}
		}
		slices.Sort(sample)
		msg := fmt.Sprintf("%d characters of the label text (such as %+q) have no font here and print as '?'; "+
			"start the service with -label-font pointing at a TrueType font that has them", len(unprintable), string(sample))
		s.logger.WarnContext(ctx, "labels print characters as '?'", "gtin", batch.GTIN, "lot", batch.Lot, "characters", string(sample))
		c.Header("Warning", `299 tracesvc "`+strings.ReplaceAll(msg, `"`, `'`)+`"`)
		c.Header("X-Label-Missing-Glyphs", strconv.Itoa(len(unprintable)))
	}
	if next != "" {
		c.Header("X-Next-Cursor", next)
	}
	c.Header("Content-Disposition", `inline; filename="labels-`+batch.GTIN+`.pdf"`)
	c.Data(http.StatusOK, "application/pdf", buf.Bytes())
	return nil
}
