package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestLandingPage: / is a page in the client's language linking the scan
// help, the dashboard, the recalls and the API description, under the
// pages' Content-Security-Policy; a wrong key gets a 401 like elsewhere.
func TestLandingPage(t *testing.T) {
	e := newEnv(t)
	for lang, words := range map[string]string{"en": "How to check a product", "zh-CN": "如何查验产品"} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Accept-Language", lang)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		r := response{Code: rec.Code, Body: rec.Body.Bytes(), Hdr: rec.Header()}
		if r.Code != 200 || !strings.HasPrefix(r.Hdr.Get("Content-Type"), "text/html") || !strings.Contains(string(r.Body), words) {
			t.Fatalf("%s: %d %s\n%s", lang, r.Code, r.Hdr.Get("Content-Type"), r.Body)
		}
		if !strings.Contains(r.Hdr.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s: CSP %q", lang, r.Hdr.Get("Content-Security-Policy"))
		}
		for _, link := range []string{`id="scan-help"`, `href="/dashboard"`, `href="/api/v1/openapi.json"`, `href="/api/v1/recalls"`} {
			if !strings.Contains(string(r.Body), link) {
				t.Errorf("%s: the page has no %s", lang, link)
			}
		}
		if regexp.MustCompile(`<script|\{\{|<no value>`).Match(r.Body) {
			t.Errorf("%s: a script or template residue:\n%s", lang, r.Body)
		}
	}
	e.must(200, "GET", "/", e.reg, nil)
	e.must(401, "GET", "/", "tsk_wrong", nil)
}

// TestOpenAPIServedAndKeysAsDescribed: the description is served to
// anyone, and every operation it says needs a key answers 401 without
// one (and one it calls public does not).
func TestOpenAPIServedAndKeysAsDescribed(t *testing.T) {
	e := newEnv(t)
	r := e.must(200, "GET", "/api/v1/openapi.json", "", nil)
	e.must(401, "GET", "/api/v1/openapi.json", "tsk_wrong", nil)
	var doc struct {
		Paths map[string]map[string]struct {
			Roles []string `json:"x-roles"`
		}
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil || len(doc.Paths) == 0 {
		t.Fatalf("description: %v", err)
	}
	param := regexp.MustCompile(`\{\w+\}`)
	for path, ops := range doc.Paths {
		for method, op := range ops {
			url := "/api/v1" + param.ReplaceAllString(path, "x")
			public := len(op.Roles) == 1 && op.Roles[0] == "public"
			got := e.do(strings.ToUpper(method), url, "", nil).Code
			if public == (got == http.StatusUnauthorized) {
				t.Errorf("%s %s (roles %v) without a key: %d", strings.ToUpper(method), path, op.Roles, got)
			}
		}
	}
}
