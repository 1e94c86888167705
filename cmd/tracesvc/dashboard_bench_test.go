package main

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"

	"tracesvc/trace/uscc"
)

// benchUSCC is the n-th valid USCC outside the demo's own.
func benchUSCC(b *testing.B, n int) string {
	first := fmt.Sprintf("91120116MB%07d", n)
	c, err := uscc.CheckChar(first)
	if err != nil {
		b.Fatal(err)
	}
	return first + string(c)
}

// BenchmarkDashboard (issue 15) times GET /dashboard over real HTTP on
// the demo data, and with more entities registered beside it: the credit
// chart classifies every entity (up to 1,000) at each view.
func BenchmarkDashboard(b *testing.B) {
	for _, extra := range []int{0, 200} {
		b.Run("entities="+strconv.Itoa(8+extra), func(b *testing.B) {
			in := start(b, nil, "-demo", "-data", filepath.Join(b.TempDir(), "demo"))
			key, links := printedLinks(b, in.stderr.String())
			for i := range extra {
				body := fmt.Sprintf(`{"name":"Shop %d","uscc":%q,"kinds":["retailer"],"region":"天津市和平区","address":"No. %d"}`,
					i, benchUSCC(b, i), i)
				if code, r := in.call(b, "POST", "/api/v1/entities", key, body); code != 201 {
					b.Fatalf("entity %d: %d %v", i, code, r)
				}
			}
			req, _ := http.NewRequest("GET", links.Dashboard, nil)
			req.AddCookie(&http.Cookie{Name: "tracesvc_dashboard", Value: key})
			b.ResetTimer()
			for b.Loop() {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("GET /dashboard: %d", resp.StatusCode)
				}
			}
		})
	}
}
