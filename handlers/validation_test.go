package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"tracesvc/handlers"
)

// TestValidationGaps is issue 9 item 13: text that is not UTF-8 is refused
// naming the field, never repaired; locations must be finite and in
// range; counts and quantities get range errors; nothing is stored on a
// refusal.
func TestValidationGaps(t *testing.T) { eachBackend(t, testValidationGaps) }

func testValidationGaps(t *testing.T, backend string) {
	e := newBatchEnvOn(t, backend)
	g := gtin(t, 77)
	raw := func(path, key, body string) response {
		return e.do("POST", path, key, body)
	}
	for name, tc := range map[string]struct{ path, body, field string }{
		"product name":     {"/api/v1/products", `{"gtin":"` + g + `","name":"Mi` + "\xff" + `k","category":"food"}`, "name"},
		"lone surrogate":   {"/api/v1/products", `{"gtin":"` + g + `","name":"Mi\ud800k","category":"food"}`, "name"},
		"reversed pair":    {"/api/v1/products", `{"gtin":"` + g + `","brand":"\udc00\ud800","name":"x","category":"food"}`, "brand"},
		"truncated rune":   {"/api/v1/products", `{"gtin":"` + g + `","name":"牛` + "\xe5\xa5" + `","category":"food"}`, "name"},
		"batch origin":     {"/api/v1/products/" + e.gtin + "/batches", `{"lot":"U1","productionDate":"2026-11-01","quantity":1,"unit":"EA","origin":{"name":"Farm ` + "\xc3\x28" + `"}}`, "origin.name"},
		"batch quantity":   {"/api/v1/products/" + e.gtin + "/batches", `{"lot":"U1","productionDate":"2026-11-01","quantity":1e308,"unit":"EA"}`, "quantity"},
		"batch quantity 0": {"/api/v1/products/" + e.gtin + "/batches", `{"lot":"U1","productionDate":"2026-11-01","quantity":-1,"unit":"EA"}`, "quantity"},
		"count 1e18":       {e.codesPath, `{"count":1e18}`, "count"},
		"count 2.5":        {e.codesPath, `{"count":2.5}`, "count"},
		"count 10^18":      {e.codesPath, `{"count":1000000000000000000}`, "count"},
		"count beyond int": {e.codesPath, `{"count":99999999999999999999999}`, "count"},
		"key in an array":  {"/api/v1/products", `{"gtin":"` + g + `","name":"x","category":"food","description":"ok","model":"` + "\x80" + `"}`, "model"},
	} {
		r := raw(tc.path, e.owner, tc.body)
		if r.Code != 400 || r.errCode() != "invalid" || r.errField() != tc.field {
			t.Errorf("%s: %d %s, want 400 naming %s", name, r.Code, r.Body, tc.field)
		}
	}
	if r := e.do("GET", "/api/v1/products/"+g, "", nil); r.Code != 404 {
		t.Fatalf("a refused product was stored: %d", r.Code)
	}
	if r := e.do("GET", "/api/v1/products/"+e.gtin+"/batches/U1", "", nil); r.Code != 404 {
		t.Fatalf("a refused batch was stored: %d", r.Code)
	}
	// EPCIS: the same rules, pointing into the event.
	class := "https://id.example.cn/01/" + e.gtin + "/10/" + url.PathEscape(e.lot)
	event := func(extra string) string {
		return `{"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","eventTime":"2026-11-02T08:00:00+08:00",` +
			`"eventTimeZoneOffset":"+08:00","epcList":[],"quantityList":[{"epcClass":"` + class + `","quantity":5,"uom":"EA"}]` + extra + `}`
	}
	for name, tc := range map[string]struct{ body, field string }{
		"not UTF-8": {event(`,"readPoint":{"id":"urn:x:` + "\xff" + `"}`), "/readPoint/id"},
		"1e308":     {strings.Replace(event(""), `"quantity":5`, `"quantity":1e308`, 1), "/quantityList/0/quantity"},
	} {
		r := e.do("POST", "/epcis/events", e.owner, tc.body)
		if r.Code != 400 || r.errField() != tc.field {
			t.Errorf("EPCIS %s: %d %s", name, r.Code, r.Body)
		}
	}
	doc := `{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0",` +
		`"creationDate":"2026-11-02T08:00:00+08:00","epcisBody":{"eventList":[` + event(`,"readPoint":{"id":"urn:x:`+"\xc3\x28"+`"}`) + `]}}`
	if r := e.do("POST", "/epcis/capture", e.owner, doc); r.Code != 400 || r.errField() != "/epcisBody/eventList/0/readPoint/id" {
		t.Errorf("EPCIS document not UTF-8: %d %s", r.Code, r.Body)
	}
	for _, q := range []string{"lat=NaN&lon=0", "lat=0&lon=Inf", "lat=1e400&lon=0", "lat=-Inf&lon=1", "lat=91&lon=0", "lat=0&lon=nan"} {
		r := e.get("/01/"+e.gtin+"?"+q, "application/json", "")
		if r.Code != 400 || r.errField() != "lat" {
			t.Errorf("%s: %d %s", q, r.Code, r.Body)
		}
	}
}

// TestMalformedEscapes is issue 9 item 13: a link whose path has a
// malformed percent-escape gets the service's JSON error (or a page for a
// browser), not net/http's plain-text 400.
func TestMalformedEscapes(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: e.h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(handlers.Listener(ln))
	defer srv.Shutdown(context.Background())
	send := func(requests ...string) []*http.Response {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(conn)
		var out []*http.Response
		for _, r := range requests {
			conn.Write([]byte(r))
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%q: %v", r, err)
			}
			var body json.RawMessage
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Header.Set("X-Test-Body", string(body))
			resp.Body.Close()
			out = append(out, resp)
		}
		return out
	}
	for _, p := range []string{"/01/09506000134352/10/%zz", "/01/09506000134352/10/A%2", "/01/09506000134352/21/%", "/gtin/%G1"} {
		r := send("GET " + p + " HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n")[0]
		var body struct {
			Error struct{ Code, Field, Message string }
		}
		json.Unmarshal([]byte(r.Header.Get("X-Test-Body")), &body)
		if r.StatusCode != 400 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") ||
			body.Error.Code != "invalid" || body.Error.Field != "uri" || !strings.Contains(body.Error.Message, "percent-escape") {
			t.Fatalf("%s: %d %s %s", p, r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("X-Test-Body"))
		}
	}
	page := send("GET /01/09506000134352/10/%zz HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\nAccept-Language: zh-CN\r\n\r\n")[0]
	if page.StatusCode != 400 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") || page.Header.Get("Content-Language") != "zh" {
		t.Fatalf("browser: %d %s", page.StatusCode, page.Header.Get("Content-Type"))
	}
	// Well-formed requests pass through untouched, several on one
	// connection, escapes, bodies and all.
	body := `{"subject":"product","gtin":"09506000134352","category":"quality","description":"A GET /x%zz HTTP/1.1 look-alike"}`
	rs := send("GET /.well-known/gs1resolver HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /api/v1/tipoffs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body,
		"GET /01/09506000134352/10/"+url.PathEscape("A/1")+" HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n")
	if rs[0].StatusCode != 200 || rs[1].StatusCode != 201 || rs[2].StatusCode != 200 {
		t.Fatalf("pass-through: %d %d %d", rs[0].StatusCode, rs[1].StatusCode, rs[2].StatusCode)
	}
	// On a kept-alive connection, after a chunked body and a body that
	// looks like a request line, a malformed link still gets the JSON
	// error, and the connection goes on.
	chunked := "POST /api/v1/tipoffs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
		strconv.FormatInt(int64(len(body)-40), 16) + "\r\n" + body[:len(body)-40] + "\r\n" +
		strconv.FormatInt(40, 16) + ";ext=1\r\n" + body[len(body)-40:] + "\r\n0\r\n\r\n"
	rs = send(chunked,
		"POST /api/v1/tipoffs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body,
		"GET /01/09506000134352/10/%zz HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n",
		"GET /.well-known/gs1resolver HTTP/1.1\r\nHost: x\r\n\r\n")
	if rs[0].StatusCode != 201 || rs[1].StatusCode != 201 || rs[2].StatusCode != 400 ||
		!strings.Contains(rs[2].Header.Get("X-Test-Body"), "percent-escape") || rs[3].StatusCode != 200 {
		t.Fatalf("kept alive: %d %d %d %s %d", rs[0].StatusCode, rs[1].StatusCode, rs[2].StatusCode, rs[2].Header.Get("X-Test-Body"), rs[3].StatusCode)
	}
}
