package handlers

import (
	"encoding/json"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPIDescribesEveryRoute: every route registered under /api/v1 is
// in openapi.json, with its path parameters, and nothing else is.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string `json:"openapi"`
		Servers []struct{ URL string }
		Paths   map[string]map[string]struct {
			Summary    string
			Parameters []struct{ Name, In string }
			Security   []map[string][]string
			Roles      []string `json:"x-roles"`
			Responses  map[string]any
		}
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") || len(doc.Servers) != 1 || doc.Servers[0].URL != "/api/v1" {
		t.Fatalf("openapi %q, servers %v", doc.OpenAPI, doc.Servers)
	}
	s := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	param := regexp.MustCompile(`:(\w+)`)
	registered := map[string]bool{}
	for _, r := range s.engine.Routes() {
		rest, ok := strings.CutPrefix(r.Path, "/api/v1/")
		if !ok {
			continue
		}
		path := "/" + param.ReplaceAllString(rest, "{$1}")
		key := r.Method + " " + path
		registered[key] = true
		op, ok := doc.Paths[path][strings.ToLower(r.Method)]
		if !ok {
			t.Errorf("%s %s is not described", r.Method, r.Path)
			continue
		}
		var names []string
		for _, p := range op.Parameters {
			if p.In == "path" {
				names = append(names, p.Name)
			}
		}
		var want []string
		for _, m := range param.FindAllStringSubmatch(r.Path, -1) {
			want = append(want, m[1])
		}
		if !slices.Equal(names, want) {
			t.Errorf("%s: path parameters %v, want %v", key, names, want)
		}
		if op.Summary == "" || len(op.Security) == 0 || len(op.Roles) == 0 || op.Responses["400"] == nil {
			t.Errorf("%s: summary, security, x-roles or the error response missing", key)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if key := strings.ToUpper(method) + " " + path; !registered[key] {
				t.Errorf("%s is described but not served", key)
			}
		}
	}
	if len(registered) < 90 {
		t.Fatalf("only %d routes under /api/v1", len(registered))
	}
}
