package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// dashGet requests a dashboard page with the given cookies (name, value
// pairs) and headers.
func (e *env) dashDo(method, path string, form url.Values, cookies map[string]string, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	for n, v := range cookies {
		req.AddCookie(&http.Cookie{Name: n, Value: v})
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// formToken reads the CSRF token of a page's form.
func formToken(t testing.TB, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", body)
	}
	return m[1]
}

func cookieOf(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// login signs in to the dashboard with key and returns the answer.
func (e *env) dashLogin(key string) *httptest.ResponseRecorder {
	e.t.Helper()
	page := e.dashDo("GET", "/dashboard/login?lang=en", nil, nil)
	formCookie := cookieOf(page, "tracesvc_login_csrf")
	if page.Code != 200 || formCookie == nil {
		e.t.Fatalf("login page: %d, cookie %v", page.Code, formCookie)
	}
	return e.dashDo("POST", "/dashboard/login?lang=en", url.Values{"csrf": {formToken(e.t, page.Body.String())}, "key": {key}},
		map[string]string{"tracesvc_login_csrf": formCookie.Value})
}

// TestDashboardAccess (issue 15): the dashboard opens to officials only,
// by a cookie the login form sets (HttpOnly, SameSite=Strict, Secure on
// an https origin); no key, a wrong key and an entity's key are refused;
// the forms need their CSRF tokens; the cookie opens no API endpoint and
// a Bearer key no dashboard page; an inspector sees the sections that are
// not the regulator's only. On both backends.
func TestDashboardAccess(t *testing.T) { eachBackend(t, testDashboardAccess) }

func testDashboardAccess(t *testing.T, backend string) {
	e := newEnvOn(t, backend, 0, 0)
	entityID, entityKey := e.newEntity()
	inspector := e.must(201, "POST", "/api/v1/keys", e.reg, map[string]any{"role": "inspector"}).JSON()["key"].(string)
	const wrong = "tsk_0123456789abcdef0123456789abcdef0123456789a"

	// Refused: no cookie (also with a Bearer key), a wrong key, an
	// entity's key.
	for name, rec := range map[string]*httptest.ResponseRecorder{
		"no key":      e.dashDo("GET", "/dashboard", nil, nil),
		"bearer only": e.dashDo("GET", "/dashboard", nil, nil, "Authorization", "Bearer "+e.reg),
		"wrong key":   e.dashDo("GET", "/dashboard", nil, map[string]string{"tracesvc_dashboard": wrong}),
	} {
		if rec.Code != 401 || !strings.Contains(rec.Body.String(), `id="login"`) {
			t.Errorf("%s: %d, want 401 and the login form", name, rec.Code)
		}
	}
	if rec := e.dashDo("GET", "/dashboard", nil, map[string]string{"tracesvc_dashboard": entityKey}); rec.Code != 403 {
		t.Errorf("an entity's key in the cookie: %d, want 403", rec.Code)
	}
	for name, c := range map[string]struct {
		key    string
		status int
	}{"wrong key": {wrong, 401}, "entity key": {entityKey, 403}, "empty": {"", 400}} {
		rec := e.dashLogin(c.key)
		if rec.Code != c.status || cookieOf(rec, "tracesvc_dashboard") != nil || !strings.Contains(rec.Body.String(), `id="login-error"`) {
			t.Errorf("login with %s: %d, want %d and no session", name, rec.Code, c.status)
		}
	}
	// A login post without the form's cookie is refused: a forged form.
	page := e.dashDo("GET", "/dashboard/login", nil, nil)
	rec := e.dashDo("POST", "/dashboard/login", url.Values{"csrf": {formToken(t, page.Body.String())}, "key": {e.reg}}, nil)
	var body struct{ Error struct{ Code string } }
	if json.Unmarshal(rec.Body.Bytes(), &body); rec.Code != 403 || body.Error.Code != "forbidden" {
		t.Errorf("login without the form's cookie: %d %s", rec.Code, rec.Body)
	}

	// The regulator signs in.
	rec = e.dashLogin(e.reg)
	session := cookieOf(rec, "tracesvc_dashboard")
	if rec.Code != 303 || rec.Header().Get("Location") != "/dashboard?lang=en" || session == nil {
		t.Fatalf("login: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	if !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteStrictMode || session.Path != "/dashboard" {
		t.Errorf("session cookie %+v: want HttpOnly, Secure (https origin), SameSite=Strict, Path=/dashboard", session)
	}
	cookies := map[string]string{"tracesvc_dashboard": session.Value}
	rec = e.dashDo("GET", "/dashboard?lang=en", nil, cookies)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `id="recalls"`) || strings.Contains(rec.Body.String(), "Shown to regulators only") {
		t.Fatalf("the regulator's dashboard: %d\n%s", rec.Code, rec.Body)
	}
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || !strings.Contains(csp, "form-action 'self'") {
		t.Errorf("CSP %q", csp)
	}
	if rec := e.dashDo("GET", "/dashboard/entities/"+entityID+"?lang=en", nil, cookies); rec.Code != 200 || !strings.Contains(rec.Body.String(), `id="detail"`) {
		t.Errorf("an entity's detail page: %d", rec.Code)
	}
	if rec := e.dashDo("GET", "/dashboard/recalls/nothing", nil, cookies); rec.Code != 404 {
		t.Errorf("an unknown recall's page: %d", rec.Code)
	}

	// The cookie opens no API endpoint.
	if r := e.dashDo("GET", "/api/v1/me", nil, cookies); !strings.Contains(r.Body.String(), `"role":"public"`) {
		t.Errorf("/api/v1/me with the dashboard cookie: %s", r.Body)
	}
	if r := e.dashDo("GET", "/api/v1/tipoffs", nil, cookies); r.Code != 401 {
		t.Errorf("/api/v1/tipoffs with the dashboard cookie: %d, want 401", r.Code)
	}

	// Signing out needs the page's token.
	token := formToken(t, e.dashDo("GET", "/dashboard", nil, cookies).Body.String())
	for name, form := range map[string]url.Values{"no token": {}, "forged": {"csrf": {"forged"}},
		"another session's": {"csrf": {formToken(t, e.dashDo("GET", "/dashboard", nil,
			map[string]string{"tracesvc_dashboard": inspector}).Body.String())}}} {
		if r := e.dashDo("POST", "/dashboard/logout", form, cookies); r.Code != 403 {
			t.Errorf("sign-out with %s token: %d, want 403", name, r.Code)
		}
	}
	rec = e.dashDo("POST", "/dashboard/logout", url.Values{"csrf": {token}}, cookies)
	if c := cookieOf(rec, "tracesvc_dashboard"); rec.Code != 303 || c == nil || c.MaxAge >= 0 {
		t.Errorf("sign-out: %d, cookie %+v", rec.Code, c)
	}

	// An inspector sees the dashboard without the regulator's sections.
	rec = e.dashDo("GET", "/dashboard?lang=en", nil, map[string]string{"tracesvc_dashboard": inspector})
	if rec.Code != 200 || strings.Count(rec.Body.String(), "Shown to regulators only") != 3 {
		t.Errorf("the inspector's dashboard: %d\n%s", rec.Code, rec.Body)
	}
	// A revoked key's session ends.
	var keys struct{ Keys []struct{ ID, Role string } }
	json.Unmarshal(e.must(200, "GET", "/api/v1/keys", e.reg, nil).Body, &keys)
	for _, k := range keys.Keys {
		if k.Role == "inspector" {
			e.must(200, "DELETE", "/api/v1/keys/"+k.ID, e.reg, nil)
		}
	}
	if rec := e.dashDo("GET", "/dashboard", nil, map[string]string{"tracesvc_dashboard": inspector}); rec.Code != 401 {
		t.Errorf("a revoked key's session: %d, want 401", rec.Code)
	}
}
