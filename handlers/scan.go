package handlers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"tracesvc/standards"
	"tracesvc/trace"
	"tracesvc/trace/gs1"
	"tracesvc/trace/scan"
)

//go:embed templates/*.html templates/scan.css
var templateFS embed.FS

// pages are the server-rendered HTML pages: the scan page, the page of a
// code that cannot be read, and a tip-off receipt.
type pages struct {
	logger *slog.Logger
	tmpl   map[string]*template.Template // language → the pages with its words and the style sheet written in
	t      map[string]map[string]string  // language → key (dots as underscores) → words
	css    template.CSS                  // the pages' one inline style sheet
	csp    string                        // their Content-Security-Policy, which allows that sheet by its hash
	opts   map[string]string             // language → the tip-off form's categories as escaped <option>s
	bufs   sync.Pool                     // *bytes.Buffer: pages are rendered into a reused buffer, then written out
}

// maxPooledPage is the largest render buffer kept for reuse: a rare huge
// page does not pin its memory.
const maxPooledPage = 64 << 10

func loadPages(logger *slog.Logger) *pages {
	css, err := templateFS.ReadFile("templates/scan.css")
	if err != nil {
		panic(err) // embedded at build time
	}
	sum := sha256.Sum256(css)
	p := &pages{logger: logger, tmpl: map[string]*template.Template{}, t: map[string]map[string]string{},
		opts: map[string]string{}, css: template.CSS(css),
		// No script at all; the style sheet by its hash; the tip-off form
		// posts to this origin; no framing.
		csp: "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; img-src 'self' data:; " +
			"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"}
	for lang, words := range texts {
		m := map[string]string{}
		for k, v := range words {
			m[strings.ReplaceAll(k, ".", "_")] = v
		}
		p.t[lang] = m
		p.opts[lang] = optionsHTML(m)
		p.tmpl[lang] = specialise(m, p.opts[lang], string(css))
	}
	return p
}

// wordRef is a template's reference to a fixed text of the page's
// language, {{.T.key}} or {{$.T.key}}.
var wordRef = regexp.MustCompile(`\{\{\$?\.T\.([a-z0-9_]+)\}\}`)

// specialise parses the page templates for one language with its words,
// the tip-off categories and the style sheet written in as template text,
// escaped as HTML: a page
// then runs about a third fewer actions, each a reflective call (the
// scan page's rendering was a fifth of its CPU time). Words are used only
// in element text and quoted attributes, where HTML escaping is the right
// escaping; texts chosen at run time stay {{index .T …}}.
func specialise(words map[string]string, options, css string) *template.Template {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err) // embedded at build time
	}
	t := template.New("")
	for _, f := range files {
		src, err := templateFS.ReadFile(f)
		if err != nil {
			panic(err)
		}
		s := wordRef.ReplaceAllStringFunc(string(src), func(ref string) string {
			return html.EscapeString(words[wordRef.FindStringSubmatch(ref)[1]])
		})
		s = strings.ReplaceAll(s, "<style>{{.CSS}}</style>", "<style>"+css+"</style>")
		s = strings.ReplaceAll(s, `{{range .Categories}}<option value="{{.Value}}">{{.Label}}</option>{{end}}`, options)
		template.Must(t.New(path.Base(f)).Parse(s))
	}
	return t
}

// pageView is what the templates render.
type pageView struct {
	CSS                    template.CSS
	Lang, Other, SwitchURL string
	T                      map[string]string
	URI                    string
	Verdict, VerdictText   string
	Explain                string
	Title, Reason, Help    string // of an error page (Reason: a tip-off's receipt)
	StatusText, DueText    string // of a tip-off receipt page
	BackURL                string // the product page a tip-off came from
	Mismatches             []string
	SaleText               string
	ChecksText             string
	Caution                bool
	Unit                   *scan.UnitFacts
	Recall                 *scan.RecallNotice
	Product                *scan.ProductFacts
	Category               string
	CreditText             string
	CreditColour           string
	Batch                  *scan.BatchFacts
	Serial                 string
	Stages                 []stageView
	Standards              []scan.DeclaredStandard
	Categories             []option    // tip-off categories: written into the pages of each language, set only to render the generic templates
	Report                 *reportView // the credit report page
}

type stageView struct{ Stage, Step, Date, Place, Custodian string }

type option struct{ Value, Label string }

func (p *pages) base(c *gin.Context) pageView {
	lang, other, switchURL := languages(c)
	return pageView{CSS: p.css, Lang: lang, Other: other, T: p.t[lang], SwitchURL: switchURL}
}

// languages picks a page's language from ?lang= or Accept-Language, and
// gives the other one and this page's address in it.
func languages(c *gin.Context) (lang, other, switchURL string) {
	lang = pickLang(c.Query("lang"), c.GetHeader("Accept-Language"))
	other = langEN
	if lang == langEN {
		other = langZH
	}
	q := c.Request.URL.Query()
	q.Set("lang", other)
	return lang, other, c.Request.URL.EscapedPath() + "?" + q.Encode()
}

func (p *pages) render(c *gin.Context, status int, name string, v pageView) {
	buf, _ := p.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledPage {
			p.bufs.Put(buf)
		}
	}()
	lang := v.Lang
	if _, ok := p.tmpl[lang]; !ok {
		lang = langZH
	}
	if name == "scan" {
		writeScanPage(buf, v, p.opts[lang])
	} else if err := p.tmpl[lang].ExecuteTemplate(buf, name, v); err != nil {
		p.logger.ErrorContext(c.Request.Context(), "page failed", "page", name, "err", err)
		writeError(c, p.logger, errPage)
		return
	}
	c.Header("Content-Security-Policy", p.csp)
	c.Header("Content-Language", v.Lang)
	c.Header("Vary", "Accept, Accept-Language")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// fingerprint is a keyed hash of the client's address and user agent. It
// lets the service rate-limit and correlate scans without storing an IP.
func (s *Server) fingerprint(c *gin.Context) string {
	m := hmac.New(sha256.New, s.fpKey)
	m.Write([]byte(c.ClientIP()))
	m.Write([]byte{0})
	m.Write([]byte(c.Request.UserAgent()))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// Media types the resolver answers in.
const (
	mediaHTML    = "text/html"
	mediaLinkset = "application/linkset+json"
)

// resolve answers a GS1 Digital Link on this host: the scan page for a
// browser, the same facts as JSON, or a linkset.
func (s *Server) resolve(c *gin.Context) {
	uri := s.baseURL + c.Request.URL.Path
	if c.Request.URL.RawQuery != "" {
		uri += "?" + c.Request.URL.RawQuery
	}
	format := c.NegotiateFormat(mediaHTML, mediaJSON, mediaLinkset)
	linkType := c.Query("linkType")
	if linkType == "linkset" || linkType == "all" {
		format = mediaLinkset
	}
	e, err := gs1.ParseDigitalLink("https://resolver" + c.Request.URL.EscapedPath() + queryAIs(c.Request.URL))
	if err != nil {
		s.badLink(c, format, err)
		return
	}
	canon, err := gs1.BuildDigitalLink(s.baseURL, e)
	if err != nil {
		s.badLink(c, format, err)
		return
	}
	if format == mediaLinkset {
		c.Header("Link", `<`+canon+`>; rel="owl:sameAs"`)
		c.Data(http.StatusOK, mediaLinkset, s.linkset(canon))
		return
	}
	client := scan.Client{Fingerprint: s.fingerprint(c)}
	if lat, lon := c.Query("lat"), c.Query("lon"); lat != "" || lon != "" {
		la, err1 := strconv.ParseFloat(lat, 64)
		lo, err2 := strconv.ParseFloat(lon, 64)
		// The negated tests also refuse NaN; ±Inf are out of range.
		if err1 != nil || err2 != nil || !(la >= -90 && la <= 90) || !(lo >= -180 && lo <= 180) {
			s.badLink(c, format, trace.Invalid("lat", "lat and lon must be decimal degrees within range"))
			return
		}
		client.Lat, client.Lon = &la, &lo
	}
	res, err := s.resolver.Resolve(c.Request.Context(), canon, e, client)
	if err != nil {
		if errors.Is(err, trace.ErrInvalid) {
			s.badLink(c, format, err)
			return
		}
		if format == mediaHTML {
			s.errorPage(c, err, 0)
			return
		}
		writeError(c, s.logger, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	switch {
	case linkType == "gs1:recallStatus":
		c.JSON(http.StatusOK, gin.H{"uri": canon, "recalled": res.Verdict == scan.VerdictRecalled, "recall": res.Recall})
	case linkType == "gs1:certificationInfo":
		c.JSON(http.StatusOK, gin.H{"uri": canon, "standards": nonNil(res.Standards)})
	case format == mediaJSON:
		c.JSON(http.StatusOK, res)
	default:
		s.pages.render(c, http.StatusOK, "scan", s.scanView(c, res))
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// queryAIs keeps the numeric (AI) parameters of a query string, which are
// data attributes of the link; the rest (lang, lat, linkType…) are not.
func queryAIs(u *url.URL) string {
	var keep []string
	for _, part := range strings.Split(u.RawQuery, "&") {
		k, _, _ := strings.Cut(part, "=")
		if k != "" && strings.Trim(k, "0123456789") == "" {
			keep = append(keep, part)
		}
	}
	if len(keep) == 0 {
		return ""
	}
	return "?" + strings.Join(keep, "&")
}

// badLink answers a link that is not a valid Digital Link with 400 and
// what is wrong: in plain words on a page for browsers, precisely in JSON.
func (s *Server) badLink(c *gin.Context, format string, err error) {
	if format == mediaHTML {
		s.errorPage(c, fmt.Errorf("%w: %w", trace.ErrInvalid, err), 0)
		return
	}
	var fe *trace.FieldError
	if errors.As(err, &fe) {
		writeError(c, s.logger, err) // it names its field (uri, lat…)
		return
	}
	writeError(c, s.logger, trace.Invalid("uri", "%s", strings.TrimPrefix(err.Error(), "gs1: ")))
}

// errorPage answers a browser whose scan failed with a page in its
// language, in plain words, with the status the JSON error would have;
// wait is the Retry-After of a rate-limited client, in seconds.
func (s *Server) errorPage(c *gin.Context, err error, wait int) {
	status, code := classify(err)
	v := s.pages.base(c)
	v.Title, v.Help = v.T["error_title"], v.T["error_help"]
	switch {
	case errors.Is(err, gs1.ErrCheckDigit):
		v.Reason = v.T["error_checkdigit"]
	case errors.Is(err, scan.ErrUnsupportedAI):
		v.Reason = v.T["error_unsupported"]
	case code == "invalid":
		v.Reason = v.T["error_damaged"]
	case code == "rate_limited":
		v.Title, v.Reason, v.Help = v.T["busy_title"], fmt.Sprintf(v.T["busy_help"], wait), ""
	default:
		if status == http.StatusServiceUnavailable || status == http.StatusInternalServerError {
			s.logger.WarnContext(c.Request.Context(), "scan failed", "path", c.Request.URL.Path, "err", err)
		}
		if status == http.StatusServiceUnavailable {
			c.Header("Retry-After", retryAfterUnavailable)
		}
		v.Title, v.Reason, v.Help = v.T["unavailable_title"], v.T["unavailable_help"], ""
	}
	c.Header("Cache-Control", "no-store")
	s.pages.render(c, status, "error", v)
	c.Abort()
}

func (s *Server) scanView(c *gin.Context, res scan.Resolution) pageView {
	v := s.pages.base(c)
	v.URI, v.Verdict = res.URI, string(res.Verdict)
	v.VerdictText = v.T["verdict_"+v.Verdict]
	v.Explain = v.T["explain_"+v.Verdict]
	if res.Unit != nil {
		v.Explain = v.T["explain_unit_"+v.Verdict]
	}
	v.Recall, v.Product, v.Batch, v.Serial, v.Standards, v.Unit = res.Recall, res.Product, res.Batch, res.Serial, res.Standards, res.Unit
	for _, m := range res.Mismatches {
		record := m.Record
		if record == "" {
			record = v.T["mismatch_none"]
		}
		v.Mismatches = append(v.Mismatches, fmt.Sprintf(v.T["mismatch_line"], v.T["field_"+m.Field], m.Link, record))
	}
	if sale := res.Sale; sale != nil {
		v.SaleText = fmt.Sprintf(v.T["sold"], sale.Date)
		if sale.Shop != "" {
			v.SaleText = fmt.Sprintf(v.T["sold_by"], sale.Date, sale.Shop)
		}
	}
	switch {
	case res.Checks == 1:
		v.ChecksText = v.T["checks_first"]
	case res.Checks > 1:
		v.ChecksText = fmt.Sprintf(v.T["checks"], res.Checks)
	}
	v.Caution = res.Caution
	if res.Product != nil {
		v.Category = categoryNames[v.Lang][string(res.Product.Category)]
		if cr := res.Product.Maker.Credit; cr != nil {
			v.CreditText, v.CreditColour = v.T["credit_"+cr.Class], cr.Colour
		}
	}
	for _, st := range res.Provenance {
		step := strings.ReplaceAll(st.Step, "_", " ")
		if v.Lang == langZH {
			if zh, ok := stepNamesZH[st.Step]; ok {
				step = zh
			}
		}
		v.Stages = append(v.Stages, stageView{Stage: v.T["stage_"+st.Stage], Step: step, Date: st.Date, Place: st.Place,
			Custodian: st.Custodian})
	}
	return v
}

// optionsHTML is the tip-off form's categories in a language as the
// <option>s the pages have written in.
func optionsHTML(words map[string]string) string {
	var b strings.Builder
	for _, o := range tipoffOptions(words) {
		b.WriteString(`<option value="` + html.EscapeString(o.Value) + `">` + html.EscapeString(o.Label) + `</option>`)
	}
	return b.String()
}

// tipoffOptions are the tip-off form's categories in a language; the
// pages have them written in (see specialise).
func tipoffOptions(words map[string]string) []option {
	var out []option
	for _, cat := range standards.TipoffCategories {
		out = append(out, option{Value: cat, Label: words["cat_"+cat]})
	}
	return out
}

// linkset is the GS1 / RFC 9264 linkset of a Digital Link.
func (s *Server) linkset(uri string) []byte {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	link := func(href, title, typ string) []gin.H {
		return []gin.H{{"href": href, "title": title, "type": typ, "hreflang": []string{"zh", "en"}}}
	}
	set := gin.H{
		"anchor":                                uri,
		"https://gs1.org/voc/pip":               link(uri, "Product information page", "text/html"),
		"https://gs1.org/voc/defaultLink":       link(uri, "Product information page", "text/html"),
		"https://gs1.org/voc/recallStatus":      link(uri+sep+"linkType=gs1:recallStatus", "Recall status", "application/json"),
		"https://gs1.org/voc/certificationInfo": link(uri+sep+"linkType=gs1:certificationInfo", "Declared standards", "application/json"),
		"https://gs1.org/voc/traceability": link(s.baseURL+"/epcis/events?MATCH_anyEPC="+url.QueryEscape(strings.Split(uri, "?")[0]),
			"Traceability events (EPCIS 2.0; needs an API key)", "application/ld+json"),
	}
	b, _ := jsonMarshal(gin.H{"linkset": []gin.H{set}})
	return b
}

// wellKnown describes the resolver (GS1 Digital Link resolver description).
func (s *Server) wellKnown(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{
		"name":                        "tracesvc GS1 Digital Link resolver",
		"resolverRoot":                s.baseURL,
		"supportedPrimaryKeys":        []string{"01", "00"},
		"supportedQualifiers":         []string{"10", "21"},
		"supportedDataAttributes":     []string{"11", "17"},
		"linkTypeDefaultCanBeLinkset": true,
		"supportedLinkType": []string{"gs1:pip", "gs1:defaultLink", "gs1:recallStatus", "gs1:certificationInfo",
			"gs1:traceability"},
		"contentNegotiation": []string{mediaHTML, mediaJSON, mediaLinkset},
		"languages":          []string{"zh", "en"},
	})
}
