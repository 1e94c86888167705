package handlers_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tracesvc/cmd/wire"
	"tracesvc/trace"
	"tracesvc/trace/gs1"
)

// batchEnv is an env with one entity owning one product and one batch.
type batchEnv struct {
	*env
	ownerID, owner, other string
	gtin, lot             string
	codesPath             string
}

func newBatchEnv(t *testing.T) *batchEnv { return newBatchEnvOn(t, "sqlite") }

func newBatchEnvOn(t *testing.T, backend string) *batchEnv {
	return batchEnvOver(newEnvOn(t, backend, 0, 0))
}

// batchEnvOver adds the entities, product and batch of a batchEnv to e.
func batchEnvOver(e *env) *batchEnv {
	id, key := e.newEntity()
	_, other := e.newEntity()
	g := e.newProduct(key, 1)
	lot := "L/2026-11" // a slash: escaped in paths, percent-encoded in links
	e.must(201, "POST", "/api/v1/products/"+g+"/batches", key, map[string]any{"lot": lot,
		"productionDate": "2026-11-01", "expiryDate": "2027-02-28", "quantity": 1000, "unit": "EA"})
	return &batchEnv{env: e, ownerID: id, owner: key, other: other, gtin: g, lot: lot,
		codesPath: "/api/v1/products/" + g + "/batches/" + url.PathEscape(lot) + "/codes"}
}

type issued struct {
	Issuance trace.Issuance
	Codes    []struct{ URI, Serial string }
}

func TestIssueCodesJSON(t *testing.T) {
	e := newBatchEnv(t)
	r := e.must(201, "POST", e.codesPath, e.owner, map[string]any{"count": 500})
	var got issued
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Codes) != 500 || got.Issuance.Issued != 500 || got.Issuance.State != trace.IssuanceComplete {
		t.Fatalf("issued %d codes, issuance %+v", len(got.Codes), got.Issuance)
	}
	if loc := r.Hdr.Get("Location"); loc != "/api/v1/issuances/"+got.Issuance.ID {
		t.Fatalf("Location %q", loc)
	}
	seen := map[string]bool{}
	for _, c := range got.Codes {
		if len(c.Serial) != trace.DefaultSerialLength || strings.Trim(c.Serial, trace.SerialAlphabet) != "" {
			t.Fatalf("serial %q is not %d characters of %s", c.Serial, trace.DefaultSerialLength, trace.SerialAlphabet)
		}
		if seen[c.Serial] {
			t.Fatalf("serial %s issued twice", c.Serial)
		}
		seen[c.Serial] = true
		want := "https://id.example.cn/01/" + e.gtin + "/10/L%2F2026-11/21/" + c.Serial + "?17=270228"
		if c.URI != want {
			t.Fatalf("uri %s, want %s", c.URI, want)
		}
		el, err := gs1.ParseDigitalLink(c.URI)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := el.Get("10"); v != e.lot {
			t.Fatalf("lot in link: %q", v)
		}
	}
	// The issuance is readable by its owner and officials only.
	e.must(200, "GET", "/api/v1/issuances/"+got.Issuance.ID, e.owner, nil)
	e.must(200, "GET", "/api/v1/issuances/"+got.Issuance.ID, e.reg, nil)
	e.must(404, "GET", "/api/v1/issuances/"+got.Issuance.ID, e.other, nil)
}

func TestIssueCodesErrors(t *testing.T) {
	e := newBatchEnv(t)
	runCases(t, e.env, map[string]authCase{
		"no key":        {"POST", e.codesPath, "", map[string]any{"count": 1}, 401, "unauthorized"},
		"wrong key":     {"POST", e.codesPath, bogusKey, map[string]any{"count": 1}, 401, "unauthorized"},
		"other entity":  {"POST", e.codesPath, e.other, map[string]any{"count": 1}, 403, "forbidden"},
		"regulator":     {"POST", e.codesPath, e.reg, map[string]any{"count": 1}, 403, "forbidden"},
		"zero":          {"POST", e.codesPath, e.owner, map[string]any{"count": 0}, 400, "invalid"},
		"too many":      {"POST", e.codesPath, e.owner, map[string]any{"count": trace.MaxIssue + 1}, 400, "invalid"},
		"json too big":  {"POST", e.codesPath, e.owner, map[string]any{"count": 10_001}, 400, "invalid"},
		"count string":  {"POST", e.codesPath, e.owner, map[string]any{"count": "5"}, 400, "invalid"},
		"extension":     {"POST", e.codesPath, e.owner, map[string]any{"count": 5, "extension": 3}, 400, "invalid"},
		"no batch":      {"POST", "/api/v1/products/" + e.gtin + "/batches/NOPE/codes", e.owner, map[string]any{"count": 1}, 404, "not_found"},
		"list public":   {"GET", e.codesPath, "", nil, 401, "unauthorized"},
		"list other":    {"GET", e.codesPath, e.other, nil, 403, "forbidden"},
		"list bad lot":  {"GET", "/api/v1/products/" + e.gtin + "/batches/" + url.PathEscape("a b") + "/codes", e.owner, nil, 400, "invalid"},
		"issuance none": {"GET", "/api/v1/issuances/nope", e.owner, nil, 404, "not_found"},
	})
}

// stream posts an issue request with an Accept header over real HTTP.
func stream(t *testing.T, base, path, key, accept, idem string, count int) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(fmt.Sprintf(`{"count":%d}`, count)))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", accept)
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestIssueCodesStreaming(t *testing.T) {
	e := newBatchEnv(t)
	srv := httptest.NewServer(e.h)
	defer srv.Close()

	resp := stream(t, srv.URL, e.codesPath, e.owner, "text/csv", "", 25_000)
	rows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 201 || len(rows) != 25_001 || rows[0][0] != "serial" || rows[0][1] != "uri" {
		t.Fatalf("csv: status %d, %d rows, header %v", resp.StatusCode, len(rows), rows[0])
	}
	if resp.Trailer.Get("X-Issued-Count") != "25000" || resp.Trailer.Get("X-Issuance-State") != "complete" {
		t.Fatalf("trailers: %v", resp.Trailer)
	}

	resp = stream(t, srv.URL, e.codesPath, e.owner, "application/x-ndjson", "", 1234)
	n := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var line struct{ Serial, URI string }
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Serial == "" || !strings.HasSuffix(strings.Split(line.URI, "?")[0], line.Serial) {
			t.Fatalf("ndjson line %q: %v", sc.Text(), err)
		}
		n++
	}
	resp.Body.Close()
	if n != 1234 {
		t.Fatalf("ndjson lines: %d", n)
	}

	// Every issued code can be listed again: JSON pages and a CSV export.
	total, cursor := 0, ""
	for {
		r := e.must(200, "GET", e.codesPath+"?limit=500&cursor="+url.QueryEscape(cursor), e.owner, nil).JSON()
		total += len(r["codes"].([]any))
		next, _ := r["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if total != 26_234 {
		t.Fatalf("listed %d codes, want 26234", total)
	}
	req, _ := http.NewRequest("GET", srv.URL+e.codesPath, nil)
	req.Header.Set("Authorization", "Bearer "+e.reg)
	req.Header.Set("Accept", "text/csv")
	exp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rows, err = csv.NewReader(exp.Body).ReadAll()
	exp.Body.Close()
	if err != nil || len(rows) != 26_235 || rows[1][2] != "issued" {
		t.Fatalf("csv export: %d rows, %v, first %v", len(rows), err, rows[1])
	}
}

func TestIssueCodesDisconnectAndResume(t *testing.T) {
	e := newBatchEnv(t)
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	const want = 300_000
	resp := stream(t, srv.URL, e.codesPath, e.owner, "text/csv", "print-run-7", want)
	id := resp.Header.Get("X-Issuance-Id")
	br := bufio.NewReader(resp.Body)
	var firstRows []string
	for range 1000 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		firstRows = append(firstRows, line)
	}
	resp.Body.Close() // the client goes away mid-stream

	var is trace.Issuance
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := e.must(200, "GET", "/api/v1/issuances/"+id, e.owner, nil)
		json.Unmarshal(r.Body, &is)
		if is.State != trace.IssuanceRunning || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if is.State != trace.IssuanceInterrupted || is.Issued == 0 || is.Issued >= want {
		t.Fatalf("after disconnect: %+v", is)
	}
	// What the issuance says is stored is exactly what can be listed.
	listed := 0
	for cursor := ""; ; {
		r := e.must(200, "GET", e.codesPath+"?limit=500&issuance="+id+"&cursor="+url.QueryEscape(cursor), e.owner, nil).JSON()
		listed += len(r["codes"].([]any))
		if cursor, _ = r["nextCursor"].(string); cursor == "" {
			break
		}
	}
	if listed != is.Issued {
		t.Fatalf("listed %d codes, issuance says %d", listed, is.Issued)
	}

	// The same request with the same key replays what is stored and mints the rest.
	resp = stream(t, srv.URL, e.codesPath, e.owner, "text/csv", "print-run-7", want)
	br = bufio.NewReader(resp.Body)
	n := -1 // header
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n+1 < len(firstRows) && line != firstRows[n+1] {
			t.Fatalf("row %d replayed as %q, first sent as %q", n+1, line, firstRows[n+1])
		}
		n++
	}
	resp.Body.Close()
	if n != want || resp.Trailer.Get("X-Issuance-State") != "complete" || resp.Header.Get("X-Issuance-Id") != id {
		t.Fatalf("resume: %d codes, trailers %v, id %s", n, resp.Trailer, resp.Header.Get("X-Issuance-Id"))
	}
	// Reusing the key for another request is a conflict.
	req, _ := http.NewRequest("POST", srv.URL+e.codesPath, strings.NewReader(`{"count":5}`))
	req.Header.Set("Authorization", "Bearer "+e.owner)
	req.Header.Set("Idempotency-Key", "print-run-7")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 409 {
		t.Fatalf("key reused for another count: %d", res.StatusCode)
	}
}

func TestIdempotentJSONIssue(t *testing.T) {
	e := newBatchEnv(t)
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	var first, again issued
	for _, out := range []*issued{&first, &again} {
		resp := stream(t, srv.URL, e.codesPath, e.owner, "application/json", "k1", 20)
		json.NewDecoder(resp.Body).Decode(out)
		resp.Body.Close()
	}
	if first.Issuance.ID != again.Issuance.ID || len(again.Codes) != 20 || first.Codes[19] != again.Codes[19] {
		t.Fatalf("a retried request minted new codes: %v vs %v", first.Issuance, again.Issuance)
	}
	all := e.must(200, "GET", e.codesPath, e.owner, nil).JSON()["codes"].([]any)
	if len(all) != 20 {
		t.Fatalf("batch has %d codes after a retry, want 20", len(all))
	}
}

func TestSSCC(t *testing.T) {
	e := newEnv(t)
	_, noPrefix := e.newEntity("distributor")
	r := e.must(201, "POST", "/api/v1/entities", e.reg, map[string]any{"name": "Pallets Ltd", "uscc": validUSCC(t, 77),
		"kinds": []string{"distributor"}, "region": "Tianjin", "address": "Port 1", "companyPrefix": "0614141"}).JSON()
	key, id := r["key"].(string), r["entity"].(map[string]any)["id"].(string)
	runCases(t, e, map[string]authCase{
		"no key":     {"POST", "/api/v1/sscc", "", map[string]any{"count": 1}, 401, "unauthorized"},
		"wrong key":  {"POST", "/api/v1/sscc", bogusKey, map[string]any{"count": 1}, 401, "unauthorized"},
		"regulator":  {"POST", "/api/v1/sscc", e.reg, map[string]any{"count": 1}, 403, "forbidden"},
		"no prefix":  {"POST", "/api/v1/sscc", noPrefix, map[string]any{"count": 1}, 400, "invalid"},
		"bad ext":    {"POST", "/api/v1/sscc", key, map[string]any{"count": 1, "extension": 10}, 400, "invalid"},
		"list none":  {"GET", "/api/v1/sscc", "", nil, 401, "unauthorized"},
		"list owner": {"GET", "/api/v1/sscc", e.reg, nil, 400, "invalid"},
	})
	var got struct {
		SSCCs []struct{ SSCC, URI string }
	}
	json.Unmarshal(e.must(201, "POST", "/api/v1/sscc", key, map[string]any{"count": 50, "extension": 3}).Body, &got)
	if len(got.SSCCs) != 50 {
		t.Fatalf("got %d SSCCs", len(got.SSCCs))
	}
	for _, s := range got.SSCCs {
		if err := gs1.ValidateSSCC(s.SSCC); err != nil || !strings.HasPrefix(s.SSCC, "30614141") {
			t.Fatalf("SSCC %s: %v", s.SSCC, err)
		}
		if s.URI != "https://id.example.cn/00/"+s.SSCC {
			t.Fatalf("uri %s", s.URI)
		}
	}
	own := e.must(200, "GET", "/api/v1/sscc?limit=20", key, nil).JSON()
	if len(own["ssccs"].([]any)) != 20 || own["nextCursor"] == nil {
		t.Fatalf("own list: %v", own)
	}
	reg := e.must(200, "GET", "/api/v1/sscc?limit=500&ownerId="+id, e.reg, nil).JSON()
	if len(reg["ssccs"].([]any)) != 50 {
		t.Fatalf("regulator list: %d", len(reg["ssccs"].([]any)))
	}
	if other := e.must(200, "GET", "/api/v1/sscc", noPrefix, nil).JSON(); len(other["ssccs"].([]any)) != 0 {
		t.Fatalf("another entity sees SSCCs: %v", other)
	}
}

// TestResumeAfterCrash resumes issuances that a process which died left
// running, on both backends: one an earlier process of this instance held,
// which the start-up sweep interrupts, and one another process held, which
// a repeat takes over once its lease has ended. Each stored more codes than
// it recorded, its last chunk in part (as an unordered MongoDB insert
// leaves one). The repeated request sends the stored codes and issues the
// rest, to exactly the count asked for; while the lease is live it gets 409
// naming the issuance, with Retry-After.
func TestResumeAfterCrash(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		var ahead atomic.Int64 // the service's clock runs ahead of the wall clock by this
		now := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
		e := batchEnvOver(newEnvWith(t, backend, func(o *wire.Options) { o.Now = now }))
		srv := httptest.NewServer(e.h)
		defer srv.Close()
		ctx := context.Background()
		const count = 250

		// crashed stores what the process left: a running issuance whose
		// count says 100, with 170 codes stored at positions 0–149 and
		// 160–179.
		crashed := func(idem, prefix string, l trace.Lease) (string, map[string]bool) {
			at := trace.Clock(now).Now()
			id := trace.NewID(at)
			if err := e.st.Codes.CreateIssuance(ctx, trace.Issuance{ID: id, Kind: trace.IssuanceItems, OwnerID: e.ownerID,
				GTIN: e.gtin, Lot: e.lot, Requested: count, Issued: 100, State: trace.IssuanceRunning, IdempotencyKey: idem,
				Lease: l, CreatedAt: at, UpdatedAt: at}); err != nil {
				t.Fatal(err)
			}
			stored := map[string]bool{}
			var codes []trace.Code
			for pos := range 180 {
				if pos >= 150 && pos < 160 {
					continue
				}
				sn := fmt.Sprintf("%s%08d", prefix, pos)
				stored[sn] = true
				codes = append(codes, trace.Code{GTIN: e.gtin, Serial: sn, Lot: e.lot, Issuance: id,
					Seq: fmt.Sprintf("%s.%07d", id, pos), State: trace.StateIssued, IssuedAt: at, UpdatedAt: at})
			}
			if taken, err := e.st.Codes.InsertCodes(ctx, codes); err != nil || len(taken) > 0 {
				t.Fatalf("store codes: %v, taken %v", err, taken)
			}
			return id, stored
		}
		until := trace.Clock(now).Now().Add(30 * time.Second)
		mine, mineStored := crashed("run-a", "AA", trace.Lease{Instance: testInstance, Holder: testInstance + "#dead", Until: until})
		theirs, theirsStored := crashed("run-b", "BB", trace.Lease{Instance: "other-process", Holder: "other-process#1", Until: until})

		state := func(id string) (string, bool) {
			t.Helper()
			r := e.must(200, "GET", "/api/v1/issuances/"+id, e.owner, nil).JSON()
			_, leased := r["lease"]
			return r["state"].(string), leased
		}
		// Before the sweep, both leases are live: a repeat is told the
		// issuance is in progress, and when to try again.
		for idem, id := range map[string]string{"run-a": mine, "run-b": theirs} {
			resp := stream(t, srv.URL, e.codesPath, e.owner, "application/json", idem, count)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var r response
			r.Body = body
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			if resp.StatusCode != 409 || r.errField() != "Idempotency-Key" || !strings.Contains(r.errMessage(), id) ||
				!strings.Contains(r.errMessage(), "in progress") || wait < 1 || wait > 30 || resp.Header.Get("X-Issuance-Id") != id {
				t.Fatalf("repeat of %s while its lease is live: %d, Retry-After %q, %s", idem, resp.StatusCode,
					resp.Header.Get("Retry-After"), body)
			}
		}
		if s, leased := state(theirs); s != "running" || !leased {
			t.Fatalf("issuance with a live lease: %s, lease shown %v", s, leased)
		}

		// check resumes an issuance with its key, then lists its codes in
		// pages: exactly count distinct codes, the stored ones among them.
		check := func(idem, id string, stored map[string]bool) {
			t.Helper()
			resp := stream(t, srv.URL, e.codesPath, e.owner, "application/json", idem, count)
			var got issued
			err := json.NewDecoder(resp.Body).Decode(&got)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 201 {
				t.Fatalf("resume %s: %d, %v", idem, resp.StatusCode, err)
			}
			if got.Issuance.ID != id || got.Issuance.Issued != count || got.Issuance.State != trace.IssuanceComplete ||
				got.Issuance.Lease != (trace.Lease{}) {
				t.Fatalf("resumed issuance: %+v", got.Issuance)
			}
			sent := map[string]bool{}
			for _, c := range got.Codes {
				sent[c.Serial] = true
			}
			// Small pages: two codes at one position would straddle a page
			// boundary, and one of them be skipped.
			listed := map[string]bool{}
			for cursor := ""; ; {
				r := e.must(200, "GET", e.codesPath+"?limit=3&issuance="+id+"&cursor="+url.QueryEscape(cursor), e.owner, nil).JSON()
				for _, c := range r["codes"].([]any) {
					listed[c.(map[string]any)["serial"].(string)] = true
				}
				if cursor, _ = r["nextCursor"].(string); cursor == "" {
					break
				}
			}
			if len(got.Codes) != count || len(sent) != count || len(listed) != count {
				t.Fatalf("resume %s: %d codes sent, %d distinct, %d listed; want %d", idem, len(got.Codes), len(sent), len(listed), count)
			}
			for sn := range listed {
				if !sent[sn] {
					t.Fatalf("listed code %s was not sent", sn)
				}
			}
			for sn := range stored {
				if !sent[sn] {
					t.Fatalf("stored code %s was not sent again", sn)
				}
			}
		}

		// The start-up sweep interrupts what an earlier process of this
		// instance held, live lease or not, and leaves the other alone.
		if n, err := e.codes.InterruptAbandoned(ctx); err != nil || n != 1 {
			t.Fatalf("sweep: %d, %v", n, err)
		}
		if s, leased := state(mine); s != "interrupted" || leased {
			t.Fatalf("after the sweep: %s, lease shown %v", s, leased)
		}
		check("run-a", mine, mineStored)

		// Once the other process's lease has ended, its issuance reads as
		// interrupted and a repeat takes it over.
		ahead.Store(int64(31 * time.Second))
		if s, leased := state(theirs); s != "interrupted" || leased {
			t.Fatalf("after its lease ended: %s, lease shown %v", s, leased)
		}
		check("run-b", theirs, theirsStored)
		check("run-b", theirs, theirsStored) // a repeat of a complete issuance issues nothing new

		all := 0
		for cursor := ""; ; {
			r := e.must(200, "GET", e.codesPath+"?limit=500&cursor="+url.QueryEscape(cursor), e.owner, nil).JSON()
			all += len(r["codes"].([]any))
			if cursor, _ = r["nextCursor"].(string); cursor == "" {
				break
			}
		}
		if all != 2*count {
			t.Fatalf("the batch has %d codes, want %d", all, 2*count)
		}
	})
}

// stallingWriter is a client that stops reading: after the status, its
// writes wait until gate is closed.
type stallingWriter struct {
	hdr    http.Header
	status chan int
	gate   chan struct{}
	body   bytes.Buffer // written only after gate is closed
}

func newStallingWriter() *stallingWriter {
	return &stallingWriter{hdr: http.Header{}, status: make(chan int, 1), gate: make(chan struct{})}
}

func (w *stallingWriter) Header() http.Header    { return w.hdr }
func (w *stallingWriter) WriteHeader(status int) { w.status <- status }
func (w *stallingWriter) Flush()                 {}
func (w *stallingWriter) Write(p []byte) (int, error) {
	<-w.gate
	return w.body.Write(p)
}

// TestIssuanceLeaseWhileStalled checks the lease of a streamed issuance
// whose client has stopped reading: the request keeps renewing it, so a
// repeat is told the issuance is in progress however long the stall; and
// once another request has taken the issuance over, the stalled one stores
// no more codes when its client reads on. (SQLite only: the store's side
// of leases is in the conformance suite, on both backends.)
func TestIssuanceLeaseWhileStalled(t *testing.T) {
	// The first chunk is a tenth of the full 100,000 (see trace.Codes.hold).
	const lease, count, firstChunk = 300 * time.Millisecond, 150_000, 10_000
	e := batchEnvOver(newEnvWith(t, "sqlite", func(o *wire.Options) { o.IssuanceLease = lease }))
	w := newStallingWriter()
	req := httptest.NewRequest("POST", e.codesPath, strings.NewReader(fmt.Sprintf(`{"count":%d}`, count)))
	req.Header.Set("Authorization", "Bearer "+e.owner)
	req.Header.Set("Accept", "text/csv")
	req.Header.Set("Idempotency-Key", "stall")
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.h.ServeHTTP(w, req)
	}()
	if status := <-w.status; status != 201 {
		t.Fatalf("issue: %d", status)
	}
	id := w.hdr.Get("X-Issuance-Id")

	time.Sleep(4 * lease)
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	again := stream(t, srv.URL, e.codesPath, e.owner, "text/csv", "stall", count)
	again.Body.Close()
	if again.StatusCode != 409 || again.Header.Get("X-Issuance-Id") != id {
		t.Fatalf("repeat during a stall of four leases: %d %v", again.StatusCode, again.Header)
	}

	// Another request takes it over (as if the lease had ended); the
	// stalled one, once its client reads on, stops after the chunk it was
	// sending.
	ctx := context.Background()
	thief := trace.Lease{Instance: "other", Holder: "other#1", Until: time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)}
	if _, err := e.st.Codes.ClaimIssuance(ctx, id, thief, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	close(w.gate)
	<-done
	rows, err := csv.NewReader(&w.body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != firstChunk+1 || w.hdr.Get("X-Issuance-State") != "interrupted" {
		t.Fatalf("the stalled stream sent %d codes, state %q; want the first chunk, interrupted", len(rows)-1,
			w.hdr.Get("X-Issuance-State"))
	}
	is, err := e.st.Codes.Issuance(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	n, _, err := e.st.Codes.CountIssued(ctx, is)
	if err != nil || n != firstChunk || is.State != trace.IssuanceRunning || is.Lease != thief || is.Issued != firstChunk {
		t.Fatalf("after the takeover: %d stored (%v), issuance %+v", n, err, is)
	}
}

// TestIssuanceProgressWhileStreaming: GET /api/v1/issuances/{id} shows
// issued counting up while the codes stream, never behind what the
// client has read, and only the owner and officials see it.
func TestIssuanceProgressWhileStreaming(t *testing.T) {
	const total = 300_000
	e := newBatchEnv(t)
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	resp := stream(t, srv.URL, e.codesPath, e.owner, "text/csv", "progress-1", total)
	defer resp.Body.Close()
	id := resp.Header.Get("X-Issuance-Id")
	if resp.StatusCode != 201 || id == "" {
		t.Fatalf("status %d, X-Issuance-Id %q", resp.StatusCode, id)
	}
	e.must(401, "GET", "/api/v1/issuances/"+id, "", nil)
	e.must(401, "GET", "/api/v1/issuances/"+id, "tsk_not-a-key", nil)
	if r := e.do("GET", "/api/v1/issuances/"+id, e.other, nil); r.Code != 404 && r.Code != 403 {
		t.Fatalf("another entity reads the issuance: %d %s", r.Code, r.Body)
	}
	look := func() (int, string) {
		var is trace.Issuance
		if err := json.Unmarshal(e.must(200, "GET", "/api/v1/issuances/"+id, e.owner, nil).Body, &is); err != nil {
			t.Fatal(err)
		}
		return is.Issued, string(is.State)
	}
	// The answer began once the first chunk was stored: the issuance is
	// running, with part of the codes counted.
	issued, state := look()
	seen := []int{issued}
	if state != "running" || issued <= 0 || issued >= total {
		t.Fatalf("at the answer's start: issued %d, state %s", issued, state)
	}
	rd := bufio.NewReader(resp.Body)
	lines := -1 // the header row
	for {
		_, err := rd.ReadSlice('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if lines++; lines%25_000 == 0 && lines < total {
			n, state := look()
			if n < lines || n < seen[len(seen)-1] || (state != "running" && n != total) {
				t.Fatalf("after %d codes read: issued %d (%s), before %v", lines, n, state, seen)
			}
			seen = append(seen, n)
		}
	}
	if issued, state = look(); lines != total || issued != total || state != "complete" {
		t.Fatalf("at the end: %d codes read, issued %d, state %s", lines, issued, state)
	}
	t.Logf("issued as the client read: %v", seen)
}
