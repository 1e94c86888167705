package handlers_test

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"

	"tracesvc/cmd/wire"
)

// milkStandards is a declaration's standards: a national one, and an
// enterprise standard whose protein minimum is below the national
// standard it names.
var milkStandards = []map[string]any{
	{"type": "GB", "number": "GB 25190-2010", "name": "食品安全国家标准 灭菌乳"},
	{"type": "enterprise", "number": "Q/TJXX 0001S-2023", "name": "Haihe UHT milk", "nationalStandard": "GB 25190-2010",
		"indicators": []map[string]any{
			{"name": "Protein", "unit": "g/100g", "comparator": "≥", "value": 2.8, "method": "GB 5009.5-2016",
				"national": map[string]any{"comparator": ">=", "value": 2.9}},
			{"name": "Lead", "unit": "mg/kg", "comparator": "<=", "value": 0.02, "method": "GB 5009.12-2017",
				"national": map[string]any{"comparator": "<=", "value": 0.05}},
			{"name": "Acidity", "unit": "°T", "comparator": "range", "min": 12, "max": 18},
		}},
}

// pdfText is a small PDF as a standard's text.
var pdfText = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// putText uploads body as a standard's text.
func (e *env) putText(path, key, contentType string, body []byte) response {
	e.t.Helper()
	req := httptest.NewRequest("PUT", path, bytes.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return response{Code: rec.Code, Body: rec.Body.Bytes(), Hdr: rec.Header()}
}

// TestDeclarations (issue 11): every declarations endpoint with each
// role — no key, a wrong key, another entity's key, the entity, an
// inspector, a regulator — through the lifecycle draft → published →
// revised → withdrawn, with the public search and the standard's PDF, on
// both backends.
func TestDeclarations(t *testing.T) { eachBackend(t, testDeclarations) }

func testDeclarations(t *testing.T, backend string) {
	e := newEnvOn(t, backend, 0, 0)
	aID, a := e.newEntity()
	_, b := e.newEntity()
	inspector := e.must(201, "POST", "/api/v1/keys", e.reg, map[string]any{"role": "inspector"}).JSON()["key"].(string)
	const wrong = "tsk_0123456789abcdef0123456789abcdef"
	milk, cheese, theirs := e.newProduct(a, 1), e.newProduct(a, 2), e.newProduct(b, 3)
	body := map[string]any{"gtins": []string{milk, cheese}, "standards": milkStandards}

	// Declaring: the entity, for its own products only.
	for who, c := range map[string]struct {
		key    string
		status int
	}{"no key": {"", 401}, "wrong key": {wrong, 401}, "regulator": {e.reg, 403}, "inspector": {inspector, 403}} {
		if r := e.do("POST", "/api/v1/declarations", c.key, body); r.Code != c.status {
			t.Errorf("declare with %s: %d %s", who, r.Code, r.Body)
		}
	}
	r := e.must(403, "POST", "/api/v1/declarations", b, body)
	if r.errField() != "gtins[0]" || !strings.Contains(r.errMessage(), "another entity") {
		t.Fatalf("another entity's product: %s", r.Body)
	}
	e.must(403, "POST", "/api/v1/declarations", a, map[string]any{"gtins": []string{milk, theirs}, "standards": milkStandards})
	d := e.must(201, "POST", "/api/v1/declarations", a, body).JSON()
	id := d["id"].(string)
	if d["status"] != "draft" || d["version"] != 1.0 || d["entityId"] != aID {
		t.Fatalf("declared: %v", d)
	}
	std := d["standards"].([]any)[1].(map[string]any)
	ind := std["indicators"].([]any)
	if std["belowNationalStandard"] != true || ind[0].(map[string]any)["belowNationalStandard"] != true ||
		ind[1].(map[string]any)["belowNationalStandard"] != nil || ind[0].(map[string]any)["comparator"] != ">=" {
		t.Fatalf("protein below the national minimum is flagged, lead within it is not: %v", std)
	}

	// A draft is its entity's and the officials'.
	path := "/api/v1/declarations/" + id
	for who, c := range map[string]struct {
		key    string
		status int
	}{"no key": {"", 401}, "wrong key": {wrong, 401}, "another entity": {b, 403}, "the entity": {a, 200},
		"inspector": {inspector, 200}, "regulator": {e.reg, 200}} {
		if r := e.do("GET", path, c.key, nil); r.Code != c.status {
			t.Errorf("GET a draft with %s: %d %s", who, r.Code, r.Body)
		}
	}
	if l := e.must(200, "GET", "/api/v1/declarations?gtin="+milk, "", nil).JSON()["declarations"].([]any); len(l) != 0 {
		t.Fatalf("a draft is listed publicly: %v", l)
	}
	e.must(401, "GET", "/api/v1/declarations?status=draft&entity="+aID, "", nil)
	e.must(403, "GET", "/api/v1/declarations?status=draft&entity="+aID, b, nil)
	if l := e.must(200, "GET", "/api/v1/declarations?status=draft&entity="+aID, a, nil).JSON()["declarations"].([]any); len(l) != 1 {
		t.Fatalf("the entity's own drafts: %v", l)
	}

	// The standard text goes with the draft.
	text := path + "/standards/1/text"
	if r := e.putText(text, b, "application/pdf", pdfText); r.Code != 403 {
		t.Fatalf("another entity uploads: %d %s", r.Code, r.Body)
	}
	if r := e.putText(text, a, "application/pdf", []byte("<html>not a pdf</html>")); r.Code != 400 || r.errField() != "body" {
		t.Fatalf("an HTML file as a PDF: %d %s", r.Code, r.Body)
	}
	if r := e.putText(path+"/standards/7/text", a, "application/pdf", pdfText); r.Code != 404 {
		t.Fatalf("standard 7 of 2: %d %s", r.Code, r.Body)
	}
	if r := e.putText(text, a, "application/pdf", append(append([]byte("%PDF-1.4\n"), make([]byte, 10<<20)...), "%%EOF"...)); r.Code != 400 {
		t.Fatalf("an 11 MB text: %d %s", r.Code, r.Body[:min(len(r.Body), 200)])
	}
	up := e.putText(text, a, "application/pdf", pdfText)
	if up.Code != 200 {
		t.Fatalf("upload: %d %s", up.Code, up.Body)
	}
	url := up.JSON()["standards"].([]any)[1].(map[string]any)["text"].(map[string]any)["url"]
	if url != text {
		t.Fatalf("text url %v, want %s", url, text)
	}
	e.must(401, "GET", text, "", nil) // the draft's text is not public yet
	if r := e.must(200, "GET", text, a, nil); r.Hdr.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("a draft's text may be cached by others: %q", r.Hdr.Get("Cache-Control"))
	}

	// Editing a draft keeps the text of a standard it keeps.
	edit := e.must(200, "PUT", path, a, map[string]any{"gtins": []string{milk}, "standards": milkStandards}).JSON()
	if len(edit["products"].([]any)) != 1 || edit["standards"].([]any)[1].(map[string]any)["text"] == nil {
		t.Fatalf("edited draft: %v", edit)
	}
	e.must(403, "PUT", path, b, body)

	// Publishing: its entity only, and again is harmless.
	e.must(401, "POST", path+"/publish", "", nil)
	e.must(403, "POST", path+"/publish", b, nil)
	e.must(403, "POST", path+"/publish", e.reg, nil)
	if p := e.must(200, "POST", path+"/publish", a, nil).JSON(); p["status"] != "published" || p["publishedAt"] == nil {
		t.Fatalf("published: %v", p)
	}
	e.must(200, "POST", path+"/publish", a, nil)
	e.must(409, "PUT", path, a, body)
	if r := e.putText(text, a, "application/pdf", pdfText); r.Code != 409 {
		t.Fatalf("a published text changed: %d", r.Code)
	}
	e.must(200, "GET", path, "", nil)
	pdf := e.must(200, "GET", text, "", nil)
	if pdf.Hdr.Get("Content-Type") != "application/pdf" || !bytes.Equal(pdf.Body, pdfText) || !strings.HasPrefix(pdf.Hdr.Get("Cache-Control"), "public") ||
		!strings.Contains(pdf.Hdr.Get("Content-Disposition"), "Q_TJXX_0001S-2023.pdf") {
		t.Fatalf("text served as %q %q, %d bytes", pdf.Hdr.Get("Content-Type"), pdf.Hdr.Get("Content-Disposition"), len(pdf.Body))
	}

	// The public search, by each of its keys.
	for _, q := range []string{"gtin=" + milk, "entity=" + aID, "standard=GB+25190", "standard=gb%2025190%E2%80%942010",
		"standard=Q/TJXX+0001S-2023", "q=UHT", "q=protein"} {
		l := e.must(200, "GET", "/api/v1/declarations?"+q, "", nil).JSON()["declarations"].([]any)
		if len(l) != 1 || l[0].(map[string]any)["id"] != id {
			t.Errorf("search %s: %v", q, l)
		}
	}
	for _, q := range []string{"gtin=" + cheese, "standard=GB+2760", "q=vanilla", "entity=nope"} {
		if l := e.must(200, "GET", "/api/v1/declarations?"+q, "", nil).JSON()["declarations"].([]any); len(l) != 0 {
			t.Errorf("search %s found %v", q, l)
		}
	}
	e.must(400, "GET", "/api/v1/declarations?gtin=123", "", nil)
	e.must(400, "GET", "/api/v1/declarations?status=lost", "", nil)

	// Revising: a new draft version; one at a time; publishing it marks
	// the first revised. History stays public.
	e.must(403, "POST", path+"/revise", b, body)
	rev := e.must(201, "POST", path+"/revise", a, body).JSON()
	revPath := "/api/v1/declarations/" + rev["id"].(string)
	if rev["version"] != 2.0 || rev["supersedes"] != id || rev["status"] != "draft" {
		t.Fatalf("revision: %v", rev)
	}
	if r := e.must(409, "POST", path+"/revise", a, body); !strings.Contains(r.errMessage(), "draft revising it") {
		t.Fatalf("a second revision: %s", r.Body)
	}
	e.must(200, "POST", revPath+"/publish", a, nil)
	first := e.must(200, "GET", path, "", nil).JSON()
	if first["status"] != "revised" || first["supersededBy"] != rev["id"] {
		t.Fatalf("the first version after the revision: %v", first)
	}
	e.must(409, "POST", path+"/revise", a, body) // only the published version is revised
	hist := e.must(200, "GET", path+"/history", "", nil).JSON()["versions"].([]any)
	if len(hist) != 2 || hist[0].(map[string]any)["status"] != "revised" || hist[1].(map[string]any)["status"] != "published" {
		t.Fatalf("history: %v", hist)
	}
	l := e.must(200, "GET", "/api/v1/declarations?gtin="+milk, "", nil).JSON()["declarations"].([]any)
	if len(l) != 1 || l[0].(map[string]any)["id"] != rev["id"] {
		t.Fatalf("the search shows the version in force: %v", l)
	}
	e.must(200, "GET", text, "", nil) // the first version's text stays served

	// Withdrawing: the entity, or a regulator with a reason.
	e.must(401, "POST", revPath+"/withdraw", "", map[string]any{})
	e.must(403, "POST", revPath+"/withdraw", b, map[string]any{})
	e.must(403, "POST", revPath+"/withdraw", inspector, map[string]any{"reason": "x"})
	if r := e.must(400, "POST", revPath+"/withdraw", e.reg, map[string]any{}); r.errField() != "reason" {
		t.Fatalf("a regulator withdraws without a reason: %s", r.Body)
	}
	w := e.must(200, "POST", revPath+"/withdraw", a, map[string]any{"reason": "product discontinued"}).JSON()
	if w["status"] != "withdrawn" || w["reason"] != "product discontinued" {
		t.Fatalf("withdrawn: %v", w)
	}
	e.must(409, "POST", revPath+"/withdraw", a, map[string]any{})
	if l := e.must(200, "GET", "/api/v1/declarations?gtin="+milk, "", nil).JSON()["declarations"].([]any); len(l) != 0 {
		t.Fatalf("a withdrawn declaration is listed as in force: %v", l)
	}
	if l := e.must(200, "GET", "/api/v1/declarations?status=withdrawn&gtin="+milk, "", nil).JSON()["declarations"].([]any); len(l) != 1 {
		t.Fatalf("withdrawn declarations stay findable: %v", l)
	}

	// Every change is audited, the entity's too.
	recs := e.must(200, "GET", "/api/v1/audit?limit=200", e.reg, nil).JSON()["records"].([]any)
	var actions []string
	for _, rec := range recs {
		m := rec.(map[string]any)
		if strings.HasPrefix(m["target"].(string), "declaration:") {
			actions = append(actions, m["action"].(string))
		}
	}
	for _, want := range []string{"POST /api/v1/declarations", "PUT /api/v1/declarations/:id", "PUT /api/v1/declarations/:id/standards/:n/text",
		"POST /api/v1/declarations/:id/publish", "POST /api/v1/declarations/:id/revise", "POST /api/v1/declarations/:id/withdraw"} {
		if !strings.Contains(strings.Join(actions, "\n"), want) {
			t.Errorf("no audit record of %s in %q", want, actions)
		}
	}
}

// TestDeclarationValidation: what a declaration must hold, each error
// naming its field.
func TestDeclarationValidation(t *testing.T) {
	e := newEnv(t)
	_, a := e.newEntity()
	milk := e.newProduct(a, 1)
	std := func(m map[string]any) map[string]any {
		return map[string]any{"gtins": []string{milk}, "standards": []map[string]any{m}}
	}
	ind := []map[string]any{{"name": "Fat", "unit": "g/100g", "comparator": ">=", "value": 3.1}}
	for name, c := range map[string]struct {
		body  any
		field string
	}{
		"no gtins":              {map[string]any{"standards": milkStandards}, "gtins"},
		"unregistered gtin":     {map[string]any{"gtins": []string{gtin(t, 99)}, "standards": milkStandards}, "gtins[0]"},
		"bad gtin":              {map[string]any{"gtins": []string{"123"}, "standards": milkStandards}, "gtins[0]"},
		"no standards":          {map[string]any{"gtins": []string{milk}}, "standards"},
		"unknown type":          {std(map[string]any{"type": "national", "number": "GB 2760-2014", "name": "x"}), "standards[0].type"},
		"bad number":            {std(map[string]any{"type": "GB", "number": "GB 2760", "name": "x"}), "standards[0].number"},
		"type mismatch":         {std(map[string]any{"type": "GB", "number": "GB/T 19001-2016", "name": "x"}), "standards[0].number"},
		"no name":               {std(map[string]any{"type": "GB", "number": "GB 2760-2014"}), "standards[0].name"},
		"indicators on a GB":    {std(map[string]any{"type": "GB", "number": "GB 2760-2014", "name": "x", "indicators": ind}), "standards[0].indicators"},
		"enterprise, none":      {std(map[string]any{"type": "enterprise", "number": "Q/AB 0001S-2023", "name": "x"}), "standards[0].indicators"},
		"bad comparator":        {std(map[string]any{"type": "group", "number": "T/CAB 0001-2017", "name": "x", "indicators": []map[string]any{{"name": "Fat", "comparator": "<", "value": 1}}}), "standards[0].indicators[0].comparator"},
		"range without max":     {std(map[string]any{"type": "group", "number": "T/CAB 0001-2017", "name": "x", "indicators": []map[string]any{{"name": "Fat", "comparator": "range", "min": 1}}}), "standards[0].indicators[0].max"},
		"national, no number":   {std(map[string]any{"type": "enterprise", "number": "Q/AB 0001S-2023", "name": "x", "indicators": []map[string]any{{"name": "Fat", "comparator": ">=", "value": 1, "national": map[string]any{"comparator": ">=", "value": 2}}}}), "standards[0].indicators[0].national"},
		"national not GB":       {std(map[string]any{"type": "enterprise", "number": "Q/AB 0001S-2023", "name": "x", "nationalStandard": "QB/T 1-2019", "indicators": ind}), "standards[0].nationalStandard"},
		"twice the same":        {map[string]any{"gtins": []string{milk}, "standards": []map[string]any{milkStandards[0], milkStandards[0]}}, "standards[1].number"},
		"unknown field":         {map[string]any{"gtins": []string{milk}, "standards": milkStandards, "status": "published"}, "status"},
		"invalid UTF-8 in name": {`{"gtins":["` + milk + `"],"standards":[{"type":"GB","number":"GB 2760-2014","name":"` + "\xff" + `"}]}`, "standards[0].name"},
	} {
		r := e.do("POST", "/api/v1/declarations", a, c.body)
		if r.Code != 400 || r.errField() != c.field {
			t.Errorf("%s: %d field %q, want 400 field %q: %s", name, r.Code, r.errField(), c.field, r.Body)
		}
	}
}

// TestBatchGate (issue 11): a batch of a food product needs a published
// declaration — 409 naming what is missing, then 201 once it is
// published; a draft or another product's declaration does not count,
// and categories outside the list need none.
func TestBatchGate(t *testing.T) { eachBackend(t, testBatchGate) }

func testBatchGate(t *testing.T, backend string) {
	e := newEnvWith(t, backend, func(o *wire.Options) { o.DeclarationGated = nil }) // the default categories
	_, a := e.newEntity()
	milk, cheese := e.newProduct(a, 1), e.newProduct(a, 2)
	gadget := gtin(t, 3)
	e.must(201, "POST", "/api/v1/products", a, map[string]any{"gtin": gadget, "name": "Charger", "category": "electronics"})
	batch := map[string]any{"lot": "L1", "productionDate": "2026-11-20", "quantity": 10, "unit": "EA"}

	r := e.must(409, "POST", "/api/v1/products/"+milk+"/batches", a, batch)
	if !strings.Contains(r.errMessage(), "food product") || !strings.Contains(r.errMessage(), "published declaration") ||
		!strings.Contains(r.errMessage(), milk) {
		t.Fatalf("the refusal names what is missing: %s", r.Body)
	}
	d := e.must(201, "POST", "/api/v1/declarations", a, map[string]any{"gtins": []string{cheese}, "standards": milkStandards[:1]}).JSON()
	e.must(200, "POST", "/api/v1/declarations/"+d["id"].(string)+"/publish", a, nil)
	e.must(409, "POST", "/api/v1/products/"+milk+"/batches", a, batch) // another product's declaration
	d = e.must(201, "POST", "/api/v1/declarations", a, map[string]any{"gtins": []string{milk}, "standards": milkStandards[:1]}).JSON()
	e.must(409, "POST", "/api/v1/products/"+milk+"/batches", a, batch) // a draft
	e.must(200, "POST", "/api/v1/declarations/"+d["id"].(string)+"/publish", a, nil)
	e.must(201, "POST", "/api/v1/products/"+milk+"/batches", a, batch)
	e.must(201, "POST", "/api/v1/products/"+gadget+"/batches", a, batch) // electronics are not gated

	// A withdrawn declaration gates again.
	e.must(200, "POST", "/api/v1/declarations/"+d["id"].(string)+"/withdraw", a, map[string]any{})
	batch["lot"] = "L2"
	e.must(409, "POST", "/api/v1/products/"+milk+"/batches", a, batch)
}

// TestDeclarationRoles is the role table of every declarations endpoint:
// no key, a wrong key, another entity's key, an inspector, a regulator
// and the entity itself, on a draft and on a published declaration.
func TestDeclarationRoles(t *testing.T) {
	e := newEnv(t)
	_, a := e.newEntity()
	_, b := e.newEntity()
	inspector := e.must(201, "POST", "/api/v1/keys", e.reg, map[string]any{"role": "inspector"}).JSON()["key"].(string)
	const wrong = "tsk_0123456789abcdef0123456789abcdef"
	milk := e.newProduct(a, 1)
	body := map[string]any{"gtins": []string{milk}, "standards": milkStandards}
	draft := func() string {
		t.Helper()
		id := e.must(201, "POST", "/api/v1/declarations", a, body).JSON()["id"].(string)
		if r := e.putText("/api/v1/declarations/"+id+"/standards/1/text", a, "application/pdf", pdfText); r.Code != 200 {
			t.Fatalf("upload: %d %s", r.Code, r.Body)
		}
		return id
	}
	published := func() string {
		t.Helper()
		id := draft()
		e.must(200, "POST", "/api/v1/declarations/"+id+"/publish", a, nil)
		return id
	}
	keys := []struct{ name, key string }{{"no key", ""}, {"wrong key", wrong}, {"another entity", b},
		{"inspector", inspector}, {"regulator", e.reg}, {"the entity", a}}
	type want [6]int // by keys, in order
	reason := map[string]any{"reason": "misleading"}
	for _, c := range []struct {
		name   string
		method string
		path   func() string // a fresh target for each key
		body   any
		want   want
	}{
		{"declare", "POST", func() string { return "/api/v1/declarations" }, body, want{401, 401, 403, 403, 403, 201}},
		{"search", "GET", func() string { return "/api/v1/declarations?gtin=" + milk }, nil, want{200, 401, 200, 200, 200, 200}},
		{"read a draft", "GET", func() string { return "/api/v1/declarations/" + draft() }, nil, want{401, 401, 403, 200, 200, 200}},
		{"read a published one", "GET", func() string { return "/api/v1/declarations/" + published() }, nil, want{200, 401, 200, 200, 200, 200}},
		{"a draft's history", "GET", func() string { return "/api/v1/declarations/" + draft() + "/history" }, nil, want{401, 401, 403, 200, 200, 200}},
		{"history", "GET", func() string { return "/api/v1/declarations/" + published() + "/history" }, nil, want{200, 401, 200, 200, 200, 200}},
		{"edit a draft", "PUT", func() string { return "/api/v1/declarations/" + draft() }, body, want{401, 401, 403, 403, 403, 200}},
		{"publish", "POST", func() string { return "/api/v1/declarations/" + draft() + "/publish" }, nil, want{401, 401, 403, 403, 403, 200}},
		{"revise", "POST", func() string { return "/api/v1/declarations/" + published() + "/revise" }, body, want{401, 401, 403, 403, 403, 201}},
		{"withdraw", "POST", func() string { return "/api/v1/declarations/" + published() + "/withdraw" }, reason, want{401, 401, 403, 403, 200, 200}},
		{"discard a draft", "POST", func() string { return "/api/v1/declarations/" + draft() + "/withdraw" }, reason, want{401, 401, 403, 403, 200, 200}},
		{"a draft's text", "GET", func() string { return "/api/v1/declarations/" + draft() + "/standards/1/text" }, nil, want{401, 401, 403, 200, 200, 200}},
		{"a published text", "GET", func() string { return "/api/v1/declarations/" + published() + "/standards/1/text" }, nil, want{200, 401, 200, 200, 200, 200}},
	} {
		for i, k := range keys {
			path := c.path()
			if r := e.do(c.method, path, k.key, c.body); r.Code != c.want[i] {
				t.Errorf("%s with %s: %d, want %d: %s", c.name, k.name, r.Code, c.want[i], r.Body)
			}
		}
	}
	for i, k := range keys {
		r := e.putText("/api/v1/declarations/"+draft()+"/standards/1/text", k.key, "application/pdf", pdfText)
		if wantCode := (want{401, 401, 403, 403, 403, 200})[i]; r.Code != wantCode {
			t.Errorf("upload a text with %s: %d, want %d: %s", k.name, r.Code, wantCode, r.Body)
		}
	}
}
