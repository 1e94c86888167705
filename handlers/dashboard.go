package handlers

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"tracesvc/trace"
)

//go:embed templates/dashboard/*.html templates/dashboard/dashboard.css
var dashboardFS embed.FS

// The dashboard's cookies. Both are HttpOnly and SameSite=Strict, Secure
// when the service is reached over https, and sent to /dashboard only.
const (
	// sessionCookie holds the official's API key: the dashboard's pages
	// read it, the API never does (it takes Bearer keys only).
	sessionCookie = "tracesvc_dashboard"
	// loginCookie holds the login form's CSRF token until the login.
	loginCookie = "tracesvc_login_csrf"
	// dashboardPath is where the dashboard's pages live.
	dashboardPath = "/dashboard"
	// sessionAge is how long a login lasts.
	sessionAge = 8 * 60 * 60
)

// dashboard renders the regulator dashboard's pages (see dashboardRoutes).
type dashboard struct {
	logger *slog.Logger
	tmpl   *template.Template
	t      map[string]map[string]string // language → key → words
	css    template.CSS
	csp    string
	// csrfKey keys the CSRF tokens of a logged-in official's forms: a
	// token is a MAC of the session's key, so it cannot be made without
	// the service's secret, and changes with the login.
	csrfKey []byte
}

func newDashboard(logger *slog.Logger, fpKey []byte) *dashboard {
	css, err := dashboardFS.ReadFile("templates/dashboard/dashboard.css")
	if err != nil {
		panic(err) // embedded at build time
	}
	sum := sha256.Sum256(css)
	d := &dashboard{logger: logger, css: template.CSS(css), t: map[string]map[string]string{},
		// No script; the one style sheet by its hash; inline SVG needs
		// nothing more; forms post to this origin only.
		csp: "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; img-src 'self' data:; " +
			"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"}
	d.tmpl = template.Must(template.New("dashboard").Funcs(template.FuncMap{"pct": pct, "dict": dict}).
		ParseFS(dashboardFS, "templates/dashboard/*.html"))
	// The CSRF key is derived from the fingerprint key, so that every
	// process given the same key accepts the others' tokens; without one
	// it is random, and a login lasts as long as the process.
	if len(fpKey) == 0 {
		fpKey = make([]byte, 32)
		_, _ = rand.Read(fpKey)
	}
	m := hmac.New(sha256.New, fpKey)
	m.Write([]byte("tracesvc dashboard csrf"))
	d.csrfKey = m.Sum(nil)
	for lang, words := range dashboardTexts {
		d.t[lang] = words
	}
	return d
}

// dashboardRoutes registers the dashboard: a login form, the overview and
// one detail page per kind of item, for officials (regulators and
// inspectors). They authenticate by the session cookie, never by the
// Authorization header; every POST carries a CSRF token.
func (s *Server) dashboardRoutes() {
	g := s.engine.Group(dashboardPath)
	g.GET("/login", s.loginPage)
	g.POST("/login", s.rateLimit(s.public), s.login)
	g.POST("/logout", s.official, s.logout)
	g.GET("", s.official, s.dashboardPage)
	g.GET("/recalls/:id", s.official, s.dashboardDetail("recall"))
	g.GET("/incidents/:id", s.official, s.dashboardDetail("incident"))
	g.GET("/awareness/:id", s.official, s.dashboardDetail("awareness"))
	g.GET("/alerts/:id", s.official, s.dashboardDetail("alert"))
	g.GET("/tipoffs/:id", s.official, s.dashboardDetail("tipoff"))
	g.GET("/entities/:id", s.official, s.dashboardDetail("entity"))
	g.GET("/deliveries/:id", s.official, s.dashboardDetail("delivery"))
}

// secure says whether the dashboard's cookies get the Secure attribute:
// when the request came over TLS or the public origin is https.
func (s *Server) secure(c *gin.Context) bool {
	return c.Request.TLS != nil || strings.HasPrefix(s.baseURL, "https://")
}

func (s *Server) setCookie(c *gin.Context, name, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: value, Path: dashboardPath, MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteStrictMode})
}

// csrfToken is the CSRF token of the forms of the session with key.
func (d *dashboard) csrfToken(key string) string {
	m := hmac.New(sha256.New, d.csrfKey)
	m.Write([]byte(key))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// errCSRF refuses a form whose CSRF token is missing or wrong.
var errCSRF = fmt.Errorf("the form's CSRF token is missing or does not match this session: reload the page and send the form again: %w", trace.ErrForbidden)

// sameToken compares two tokens in constant time; empty never matches.
func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// official lets a logged-in official through and sets the principal;
// anyone else gets the login form, with 401 (no or a revoked key) or 403
// (a key that is no official's).
func (s *Server) official(c *gin.Context) {
	key, err := c.Cookie(sessionCookie)
	if err != nil || key == "" {
		s.renderLogin(c, http.StatusUnauthorized, "")
		c.Abort()
		return
	}
	p, err := s.access.Authenticate(c.Request.Context(), key)
	switch {
	case errors.Is(err, trace.ErrUnauthorized):
		s.setCookie(c, sessionCookie, "", -1)
		s.renderLogin(c, http.StatusUnauthorized, "login_revoked")
		c.Abort()
		return
	case err != nil:
		writeError(c, s.logger, err)
		c.Abort()
		return
	case !p.IsOfficial():
		s.setCookie(c, sessionCookie, "", -1)
		s.renderLogin(c, http.StatusForbidden, "login_not_official")
		c.Abort()
		return
	}
	c.Set(principalKey, p)
	c.Set(sessionCookie, key)
	c.Next()
}

// loginPage answers GET /dashboard/login.
func (s *Server) loginPage(c *gin.Context) { s.renderLogin(c, http.StatusOK, "") }

// renderLogin shows the login form with a fresh CSRF token, and a
// message (a key in dashboardTexts) when there is one.
func (s *Server) renderLogin(c *gin.Context, status int, message string) {
	buf := make([]byte, 32)
	_, _ = rand.Read(buf)
	token := base64.RawURLEncoding.EncodeToString(buf)
	s.setCookie(c, loginCookie, token, 30*60)
	v := s.dash.base(c)
	v.CSRF = token
	if message != "" {
		v.Message = v.T[message]
	}
	s.dash.render(c, status, "login", v)
}

// login answers POST /dashboard/login: the form's CSRF token must match
// its cookie, and the key must be an official's.
func (s *Server) login(c *gin.Context) {
	cookie, _ := c.Cookie(loginCookie)
	if !sameToken(c.PostForm("csrf"), cookie) {
		writeError(c, s.logger, errCSRF)
		return
	}
	key := strings.TrimSpace(c.PostForm("key"))
	if key == "" {
		s.renderLogin(c, http.StatusBadRequest, "login_empty")
		return
	}
	p, err := s.access.Authenticate(c.Request.Context(), key)
	switch {
	case errors.Is(err, trace.ErrUnauthorized):
		s.renderLogin(c, http.StatusUnauthorized, "login_bad")
		return
	case err != nil:
		writeError(c, s.logger, err)
		return
	case !p.IsOfficial():
		s.renderLogin(c, http.StatusForbidden, "login_not_official")
		return
	}
	s.logger.InfoContext(c.Request.Context(), "dashboard login", "key", p.KeyID, "role", string(p.Role))
	s.setCookie(c, loginCookie, "", -1)
	s.setCookie(c, sessionCookie, key, sessionAge)
	c.Redirect(http.StatusSeeOther, dashboardPath+langQuery(c))
}

// logout answers POST /dashboard/logout.
func (s *Server) logout(c *gin.Context) {
	if !sameToken(c.PostForm("csrf"), s.dash.csrfToken(c.GetString(sessionCookie))) {
		writeError(c, s.logger, errCSRF)
		return
	}
	s.setCookie(c, sessionCookie, "", -1)
	c.Redirect(http.StatusSeeOther, dashboardPath+"/login"+langQuery(c))
}

// langQuery keeps the chosen language across a redirect.
func langQuery(c *gin.Context) string {
	if l := c.Query("lang"); l == langZH || l == langEN {
		return "?lang=" + l
	}
	return ""
}

// base is what every dashboard page shows: the language, its switch and,
// once logged in, who is and the logout form's token.
func (d *dashboard) base(c *gin.Context) dashView {
	lang, _, switchURL := languages(c)
	v := dashView{CSS: d.css, Lang: lang, T: d.t[lang], SwitchURL: switchURL,
		LangQuery: "?lang=" + lang, ActionQuery: "?" + url.Values{"lang": {lang}}.Encode()}
	if key := c.GetString(sessionCookie); key != "" {
		v.CSRF = d.csrfToken(key)
		v.Role = v.T["role_"+string(principal(c).Role)]
	}
	return v
}

func (d *dashboard) render(c *gin.Context, status int, name string, v dashView) {
	var buf bytes.Buffer
	if err := d.tmpl.ExecuteTemplate(&buf, name, v); err != nil {
		d.logger.ErrorContext(c.Request.Context(), "page failed", "page", name, "err", err)
		writeError(c, d.logger, errPage)
		return
	}
	c.Header("Content-Security-Policy", d.csp)
	c.Header("Content-Language", v.Lang)
	c.Header("Cache-Control", "no-store")
	c.Header("Vary", "Accept-Language, Cookie")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// dict makes a map of its name, value pairs: a template passes two values
// to another this way.
func dict(kv ...any) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		name, _ := kv[i].(string)
		m[name] = kv[i+1]
	}
	return m
}
