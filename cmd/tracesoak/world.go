package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tracesvc/trace/gs1"
	"tracesvc/trace/uscc"
)

// Company prefixes of the soak's maker and distributor (7 digits).
const (
	makerPrefix = "6909871"
	distPrefix  = "6909872"
	shipSize    = 24 // codes in one shipment: one pallet's load
)

// entity is a registered entity and its key.
type entity struct{ id, key string }

// lot is a batch of the soak's maker.
type lot struct {
	gtin, lot  string
	opening    atomic.Int64 // Unix nanoseconds when its recall was sent to open; 0 while none
	recalledAt atomic.Int64 // Unix nanoseconds when its recall had opened; 0 while none
}

// code is an issued item code.
type code struct {
	uri  string // its Digital Link as issued, on the service's public origin
	path string // the same on the service's address: what a scan requests
	lot  *lot
}

// world is the soak's supply chain: who is registered, what was issued,
// and what is left to ship. Its methods are safe for concurrent use.
type world struct {
	// Set during the set-up, read-only after (origin under mu while
	// the first codes are issued).
	origin   string // the service's public origin, as its codes carry it
	reg      string // regulator key
	maker    entity
	dist     entity
	shops    []entity
	products []string // GTINs
	lots     []*lot   // the six lots of the set-up
	fresh    *lot     // the lot new codes are issued in during the run

	mu      sync.Mutex // guards the fields below
	codes   []code     // every issued code: what scans pick from
	unsent  [][]code   // commissioned codes not shipped yet, a shipment each
	pallets []string   // the distributor's SSCC URIs not used yet
}

// gtinOf is item n of the maker's prefix, with its check digit.
func gtinOf(n int) string {
	first := fmt.Sprintf("0%s%05d", makerPrefix, n)
	c, _ := gs1.CheckDigit(first)
	return first + string(c)
}

// usccOf is a valid Unified Social Credit Code, different for each n.
func usccOf(n int) (string, error) {
	first := fmt.Sprintf("91120116MA%07d", 900+n)
	c, err := uscc.CheckChar(first)
	if err != nil {
		return "", fmt.Errorf("USCC %d: %w", n, err)
	}
	return first + string(c), nil
}

// jsonBody marshals v for a request body.
func jsonBody(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only the soak's own literals are marshalled
	}
	return b
}

// decodeInto decodes an answer's JSON body into v.
func decodeInto(a answer, v any) error {
	if err := json.Unmarshal(a.body, v); err != nil {
		return fmt.Errorf("decode %.200s: %w", a.body, err)
	}
	return nil
}

// setUp registers the supply chain through the API: a maker, a
// distributor and three retailers; three food products, each with a
// published standards declaration and two lots; codesPerLot codes issued
// per lot and commissioned; SSCCs for the distributor's pallets. It
// signs the regulator in to the dashboard.
func setUp(ctx context.Context, cl *client, reg string, codesPerLot int) (*world, error) {
	w := &world{reg: reg}
	register := func(n int, name string, prefix string, kinds ...string) (entity, error) {
		u, err := usccOf(n)
		if err != nil {
			return entity{}, err
		}
		body := map[string]any{"name": name, "uscc": u, "kinds": kinds, "region": "天津市", "address": "天津市 " + name}
		if prefix != "" {
			body["companyPrefix"] = prefix
		}
		a, err := cl.do(ctx, call{class: "set-up", method: "POST", path: "/api/v1/entities", key: reg, body: jsonBody(body), want: []int{201}})
		if err != nil {
			return entity{}, err
		}
		var got struct {
			Entity struct{ ID string }
			Key    string
		}
		if err := decodeInto(a, &got); err != nil {
			return entity{}, err
		}
		return entity{id: got.Entity.ID, key: got.Key}, nil
	}
	var err error
	if w.maker, err = register(1, "Soak Dairy", makerPrefix, "manufacturer"); err != nil {
		return nil, err
	}
	if w.dist, err = register(2, "Soak Logistics", distPrefix, "distributor"); err != nil {
		return nil, err
	}
	for i := range 3 {
		shop, err := register(3+i, fmt.Sprintf("Soak Shop %d", i+1), "", "retailer")
		if err != nil {
			return nil, err
		}
		w.shops = append(w.shops, shop)
	}
	for p := 1; p <= 3; p++ {
		g := gtinOf(p)
		w.products = append(w.products, g)
		if err := w.product(ctx, cl, g, p); err != nil {
			return nil, err
		}
		for l := 1; l <= 2; l++ {
			lt, err := w.batch(ctx, cl, "set-up", g, fmt.Sprintf("S%d-%d", p, l))
			if err != nil {
				return nil, err
			}
			w.lots = append(w.lots, lt)
			codes, err := w.issue(ctx, cl, "set-up", lt, codesPerLot)
			if err != nil {
				return nil, err
			}
			if err := w.commission(ctx, cl, "set-up", codes); err != nil {
				return nil, err
			}
			w.add(codes)
		}
	}
	if w.fresh, err = w.batch(ctx, cl, "set-up", w.products[2], "S3-FRESH"); err != nil {
		return nil, err
	}
	if err := w.morePallets(ctx, cl, "set-up"); err != nil {
		return nil, err
	}
	return w, signIn(ctx, cl, reg)
}

// product registers a food product and publishes its declaration (a food
// product's batches need one).
func (w *world) product(ctx context.Context, cl *client, g string, n int) error {
	if _, err := cl.do(ctx, call{class: "set-up", method: "POST", path: "/api/v1/products", key: w.maker.key, want: []int{201},
		body: jsonBody(map[string]any{"gtin": g, "name": fmt.Sprintf("Soak milk %d 1 L", n), "brand": "Soak", "category": "food"})}); err != nil {
		return err
	}
	a, err := cl.do(ctx, call{class: "set-up", method: "POST", path: "/api/v1/declarations", key: w.maker.key, want: []int{201},
		body: jsonBody(map[string]any{"gtins": []string{g}, "standards": []map[string]any{
			{"type": "GB", "number": "GB 25190-2010", "name": "食品安全国家标准 灭菌乳"}}})})
	if err != nil {
		return err
	}
	var decl struct{ ID string }
	if err := decodeInto(a, &decl); err != nil {
		return err
	}
	_, err = cl.do(ctx, call{class: "set-up", method: "POST", path: "/api/v1/declarations/" + decl.ID + "/publish", key: w.maker.key})
	return err
}

// batch registers lot name of product g.
func (w *world) batch(ctx context.Context, cl *client, class, g, name string) (*lot, error) {
	today := time.Now()
	_, err := cl.do(ctx, call{class: class, method: "POST", path: "/api/v1/products/" + g + "/batches", key: w.maker.key, want: []int{201},
		body: jsonBody(map[string]any{"lot": name, "productionDate": today.AddDate(0, 0, -1).Format(time.DateOnly),
			"expiryDate": today.AddDate(1, 0, 0).Format(time.DateOnly), "quantity": 100_000, "unit": "EA"})})
	if err != nil {
		return nil, err
	}
	return &lot{gtin: g, lot: name}, nil
}

// issue issues n codes of lt as one JSON answer (at most 10,000).
func (w *world) issue(ctx context.Context, cl *client, class string, lt *lot, n int) ([]code, error) {
	a, err := cl.do(ctx, call{class: class, method: "POST", path: "/api/v1/products/" + lt.gtin + "/batches/" + lt.lot + "/codes",
		key: w.maker.key, want: []int{201}, body: jsonBody(map[string]any{"count": n})})
	if err != nil {
		return nil, err
	}
	var got struct{ Codes []struct{ URI string } }
	if err := decodeInto(a, &got); err != nil {
		return nil, err
	}
	var uris []string
	for _, c := range got.Codes {
		uris = append(uris, c.URI)
	}
	return w.codesOf(lt, uris, n)
}

// issueStream issues n codes of lt streamed as NDJSON, and checks the
// trailers say the issuance completed.
func (w *world) issueStream(ctx context.Context, cl *client, class string, lt *lot, n int) ([]code, error) {
	a, err := cl.do(ctx, call{class: class, method: "POST", path: "/api/v1/products/" + lt.gtin + "/batches/" + lt.lot + "/codes",
		key: w.maker.key, accept: "application/x-ndjson", want: []int{201}, body: jsonBody(map[string]any{"count": n})})
	if err != nil {
		return nil, err
	}
	if st := a.header.Get("X-Issuance-State"); st != "complete" {
		return nil, fmt.Errorf("streamed issuance of %d codes of %s ended %q (X-Issued-Count %q)", n, lt.lot, st, a.header.Get("X-Issued-Count"))
	}
	var uris []string
	sc := bufio.NewScanner(bytes.NewReader(a.body))
	for sc.Scan() {
		var c struct{ URI string }
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("issued line %.200q: %w", sc.Text(), err)
		}
		uris = append(uris, c.URI)
	}
	return w.codesOf(lt, uris, n)
}

// codesOf makes codes of lt from their URIs, checking there are n, and
// learns the service's public origin from the first.
func (w *world) codesOf(lt *lot, uris []string, n int) ([]code, error) {
	if len(uris) != n {
		return nil, fmt.Errorf("issued %d codes of %s, asked for %d", len(uris), lt.lot, n)
	}
	out := make([]code, 0, n)
	for _, s := range uris {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("issued code %q: %w", s, err)
		}
		w.mu.Lock()
		if w.origin == "" {
			w.origin = u.Scheme + "://" + u.Host
		}
		w.mu.Unlock()
		out = append(out, code{uri: s, path: u.RequestURI(), lot: lt})
	}
	return out, nil
}

// add puts commissioned codes in the scan pool and in shipments.
func (w *world) add(codes []code) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.codes = append(w.codes, codes...)
	for len(codes) >= shipSize {
		w.unsent = append(w.unsent, codes[:shipSize:shipSize])
		codes = codes[shipSize:]
	}
}

// nextShipment takes the oldest shipment of codes whose lot is not
// recalled; false when there is none.
func (w *world) nextShipment() ([]code, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.unsent) > 0 {
		s := w.unsent[0]
		w.unsent = w.unsent[1:]
		if s[0].lot.recalledAt.Load() == 0 {
			return s, true
		}
	}
	return nil, false
}

// pick is a code to scan, drawn with r (an index in [0, 1)).
func (w *world) pick(r float64) code {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.codes[int(r*float64(len(w.codes)))]
}

// pallet takes an unused SSCC of the distributor, issuing more when they
// run out.
func (w *world) pallet(ctx context.Context, cl *client) (string, error) {
	for {
		w.mu.Lock()
		if len(w.pallets) > 0 {
			p := w.pallets[0]
			w.pallets = w.pallets[1:]
			w.mu.Unlock()
			return p, nil
		}
		w.mu.Unlock()
		if err := w.morePallets(ctx, cl, "issue SSCC"); err != nil {
			return "", err
		}
	}
}

// morePallets issues 100 SSCCs to the distributor.
func (w *world) morePallets(ctx context.Context, cl *client, class string) error {
	a, err := cl.do(ctx, call{class: class, method: "POST", path: "/api/v1/sscc", key: w.dist.key, want: []int{201},
		body: jsonBody(map[string]any{"count": 100})})
	if err != nil {
		return err
	}
	var got struct{ SSCCs []struct{ URI string } }
	if err := decodeInto(a, &got); err != nil {
		return err
	}
	if len(got.SSCCs) != 100 {
		return fmt.Errorf("issued %d SSCCs, asked for 100", len(got.SSCCs))
	}
	w.mu.Lock()
	for _, s := range got.SSCCs {
		w.pallets = append(w.pallets, s.URI)
	}
	w.mu.Unlock()
	return nil
}

// party is an entity as an EPCIS source or destination.
func (w *world) party(e entity) string { return w.origin + "/api/v1/entities/" + e.id }

// commission captures the commissioning of codes by the maker.
func (w *world) commission(ctx context.Context, cl *client, class string, codes []code) error {
	return capture(ctx, cl, class, w.maker, object("ADD", "commissioning", "active", time.Now(), uris(codes)))
}

// uris are the codes' Digital Links.
func uris(codes []code) []string {
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = c.uri
	}
	return out
}

// object is an ObjectEvent at t; extra are more members, without braces.
func object(action, step, disposition string, t time.Time, epcs []string, extra ...string) string {
	ev := fmt.Sprintf(`{"type":"ObjectEvent","action":%q,"bizStep":%q,"disposition":%q,"eventTime":%q,"eventTimeZoneOffset":"+08:00","epcList":%s`,
		action, step, disposition, stamp(t), jsonBody(epcs))
	for _, x := range extra {
		ev += "," + x
	}
	return ev + "}"
}

// aggregation packs children into parent at t.
func aggregation(t time.Time, parent string, children []string) string {
	return fmt.Sprintf(`{"type":"AggregationEvent","action":"ADD","bizStep":"packing","disposition":"in_progress","eventTime":%q,"eventTimeZoneOffset":"+08:00","parentID":%q,"childEPCs":%s}`,
		stamp(t), parent, jsonBody(children))
}

// moving names where goods go from and to.
func moving(from, to string) string {
	return fmt.Sprintf(`"sourceList":[{"type":"possessing_party","source":%q}],"destinationList":[{"type":"possessing_party","destination":%q}]`, from, to)
}

// stamp is an EPCIS event time in the regulator's zone, to the millisecond.
func stamp(t time.Time) string {
	return t.In(time.FixedZone("+08:00", 8*3600)).Format("2006-01-02T15:04:05.000-07:00")
}

// capture sends events as one EPCIS document captured by who, then reads
// its job back: it must have stored every event.
func capture(ctx context.Context, cl *client, class string, who entity, events ...string) error {
	doc := `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument",` +
		`"schemaVersion":"2.0","creationDate":"` + time.Now().UTC().Format(time.RFC3339) + `",` +
		`"epcisBody":{"eventList":[` + strings.Join(events, ",") + `]}}`
	a, err := cl.do(ctx, call{class: class, method: "POST", path: "/epcis/capture", key: who.key,
		ctype: "application/ld+json", body: []byte(doc), want: []int{http.StatusAccepted}})
	if err != nil {
		return err
	}
	loc := a.header.Get("Location")
	if loc == "" {
		err := errors.New("capture answered 202 without a Location")
		cl.stats.wrong(class, err)
		return err
	}
	a, err = cl.do(ctx, call{class: "capture job", method: "GET", path: loc, key: who.key})
	if err != nil {
		return err
	}
	var job struct {
		Running, Success             bool
		Events, Captured, Duplicates int
		Errors                       []json.RawMessage
	}
	if err := decodeInto(a, &job); err != nil {
		cl.stats.wrong("capture job", err)
		return err
	}
	if job.Running || !job.Success || job.Captured+job.Duplicates != len(events) || job.Events != len(events) {
		err := fmt.Errorf("capture job %s: running %v, success %v, %d of %d events captured (%d duplicates): %.500s",
			loc, job.Running, job.Success, job.Captured, len(events), job.Duplicates, a.body)
		cl.stats.wrong("capture job", err)
		return err
	}
	return nil
}

// signIn signs the regulator in to the dashboard: the login form's CSRF
// cookie, then the form, which sets the session cookie.
func signIn(ctx context.Context, cl *client, reg string) error {
	if _, err := cl.do(ctx, call{class: "set-up", method: "GET", path: "/dashboard/login", accept: "text/html", cookies: true}); err != nil {
		return err
	}
	u, err := url.Parse(cl.base + "/dashboard/login")
	if err != nil {
		return fmt.Errorf("dashboard address: %w", err)
	}
	token := ""
	for _, c := range cl.dash.Jar.Cookies(u) {
		if c.Name == "tracesvc_login_csrf" {
			token = c.Value
		}
	}
	if token == "" {
		return errors.New("the dashboard's login page set no CSRF cookie")
	}
	form := url.Values{"csrf": {token}, "key": {reg}}
	_, err = cl.do(ctx, call{class: "set-up", method: "POST", path: "/dashboard/login", accept: "text/html", form: true,
		body: []byte(form.Encode()), want: []int{http.StatusSeeOther}})
	return err
}
