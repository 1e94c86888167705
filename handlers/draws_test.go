package handlers_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"tracesvc/cmd/wire"
	"tracesvc/recall/draw"
)

// creditClassesDouble is a test double of the credit record
// (recall/credit), which is not merged into this branch yet: a real
// [draw.Classes] answering each entity's class from a map ("" when it is
// not in it: not rated).
type creditClassesDouble struct {
	mu    sync.Mutex
	class map[string]string
}

// ClassAt implements [draw.Classes].
func (c *creditClassesDouble) ClassAt(_ context.Context, entityID string, _ time.Time) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.class[entityID], nil
}

func (c *creditClassesDouble) set(entityID, class string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.class[entityID] = class
}

// newDrawEnv is a service on backend whose credit classes come from the
// returned double.
func newDrawEnv(t *testing.T, backend string) (*env, *creditClassesDouble) {
	t.Helper()
	classes := &creditClassesDouble{class: map[string]string{}}
	e := newEnvWith(t, backend, func(o *wire.Options) { o.Classes = classes })
	return e, classes
}

// newInspector issues an inspector key and returns its ID and secret.
func (e *env) newInspector() (id, secret string) {
	e.t.Helper()
	m := e.must(http.StatusCreated, "POST", "/api/v1/keys", e.reg, map[string]any{"role": "inspector", "label": "inspector"}).JSON()
	return m["apiKey"].(map[string]any)["id"].(string), m["key"].(string)
}

// makeDraw asks for a draw as the regulator and decodes it.
func (e *env) makeDraw(body map[string]any) draw.Draw {
	e.t.Helper()
	var d draw.Draw
	if err := json.Unmarshal(e.must(http.StatusCreated, "POST", "/api/v1/inspections/draws", e.reg, body).Body, &d); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// verifyDraw answers GET …/verify of draw id, as the public.
func (e *env) verifyDraw(id string) draw.Verification {
	e.t.Helper()
	var v draw.Verification
	if err := json.Unmarshal(e.must(http.StatusOK, "GET", "/api/v1/inspections/draws/"+id+"/verify", "", nil).Body, &v); err != nil {
		e.t.Fatal(err)
	}
	return v
}

// tamperDraw changes the stored draw id behind the service's back, in
// the database itself.
func (e *env) tamperDraw(id string, change func(*draw.Draw)) {
	e.t.Helper()
	var d draw.Draw
	if err := json.Unmarshal(e.must(http.StatusOK, "GET", "/api/v1/inspections/draws/"+id, "", nil).Body, &d); err != nil {
		e.t.Fatal(err)
	}
	change(&d)
	body, err := json.Marshal(d)
	if err != nil {
		e.t.Fatal(err)
	}
	switch {
	case e.db != nil:
		res, err := e.db.W.Exec(`UPDATE inspection_draws SET body = ? WHERE id = ?`, body, id)
		if err != nil {
			e.t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			e.t.Fatalf("tampered with %d rows", n)
		}
	default:
		res, err := e.mdb.Collection("inspection_draws").UpdateOne(context.Background(), bson.D{{Key: "_id", Value: id}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "body", Value: string(body)}}}})
		if err != nil {
			e.t.Fatal(err)
		}
		if res.ModifiedCount != 1 {
			e.t.Fatalf("tampered with %d documents", res.ModifiedCount)
		}
	}
}

// rerun re-runs d's published input with the algorithm, as anyone
// holding it can.
func rerun(t testing.TB, d draw.Draw) []draw.Assignment {
	t.Helper()
	seed, err := hex.DecodeString(d.Seed)
	if err != nil {
		t.Fatal(err)
	}
	got, err := draw.Run(d.Input(seed))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func drawnEntities(d draw.Draw) []string {
	out := make([]string, len(d.Result))
	for i, a := range d.Result {
		out[i] = a.EntityID
	}
	return out
}

const testSeed = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed"

// TestDrawRoles: only a regulator draws; anyone reads, lists and
// verifies draws; the regulator's draw is in the audit trail.
func TestDrawRoles(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e, _ := newDrawEnv(t, backend)
		_, entityKey := e.newEntity()
		e.newEntity()
		_, inspectorKey := e.newInspector()
		e.newInspector()
		body := map[string]any{"entities": 1, "inspectorsPerEntity": 1}

		for name, c := range map[string]struct {
			key    string
			status int
			code   string
		}{
			"no key":    {"", 401, "unauthorized"},
			"wrong key": {"tsk_not-a-key-at-all", 401, "unauthorized"},
			"entity":    {entityKey, 403, "forbidden"},
			"inspector": {inspectorKey, 403, "forbidden"},
		} {
			t.Run(name, func(t *testing.T) {
				r := e.with(t).must(c.status, "POST", "/api/v1/inspections/draws", c.key, body)
				if r.errCode() != c.code {
					t.Fatalf("code %q, want %q", r.errCode(), c.code)
				}
			})
		}
		if n := e.must(200, "GET", "/api/v1/inspections/draws", "", nil).JSON()["draws"].([]any); len(n) != 0 {
			t.Fatalf("refused draws were stored: %v", n)
		}

		r := e.must(201, "POST", "/api/v1/inspections/draws", e.reg, body)
		var d draw.Draw
		if err := json.Unmarshal(r.Body, &d); err != nil {
			t.Fatal(err)
		}
		if r.Hdr.Get("Location") != "/api/v1/inspections/draws/"+d.ID {
			t.Errorf("Location %q", r.Hdr.Get("Location"))
		}
		if d.SeedSource != draw.SeedGenerated || len(d.Seed) != 64 || d.Algorithm != draw.Algorithm || d.Seq != 1 {
			t.Errorf("seed %q (%s), algorithm %q, seq %d", d.Seed, d.SeedSource, d.Algorithm, d.Seq)
		}

		// Public reads, with any key or none.
		for _, key := range []string{"", entityKey, inspectorKey, e.reg} {
			got := e.must(200, "GET", "/api/v1/inspections/draws/"+d.ID, key, nil)
			if string(got.Body) != string(r.Body) {
				t.Fatalf("read back %s\nwant %s", got.Body, r.Body)
			}
			list := e.must(200, "GET", "/api/v1/inspections/draws", key, nil).JSON()["draws"].([]any)
			if len(list) != 1 || list[0].(map[string]any)["id"] != d.ID {
				t.Fatalf("list %v", list)
			}
			if v := e.must(200, "GET", "/api/v1/inspections/draws/"+d.ID+"/verify", key, nil).JSON(); v["matches"] != true {
				t.Fatalf("verify %v", v)
			}
		}
		e.must(404, "GET", "/api/v1/inspections/draws/nope", "", nil)
		e.must(404, "GET", "/api/v1/inspections/draws/nope/verify", "", nil)

		// The draw, and the refused attempts of officials, are audited.
		recs := e.must(200, "GET", "/api/v1/audit?limit=500", e.reg, nil).JSON()["records"].([]any)
		var actions []string
		for _, rec := range recs {
			m := rec.(map[string]any)
			if m["action"] == "POST /api/v1/inspections/draws" {
				actions = append(actions, fmt.Sprintf("%s %v %s", m["role"], m["status"], m["target"]))
			}
		}
		want := []string{"inspector 403 /api/v1/inspections/draws", "regulator 201 draw:" + d.ID}
		if !slices.Equal(actions, want) {
			t.Fatalf("audited draws %q, want %q", actions, want)
		}
		if v := e.must(200, "GET", "/api/v1/audit/verify", e.reg, nil).JSON(); v["ok"] != true {
			t.Fatalf("audit verify %v", v)
		}
	})
}

// TestDrawValidation: bad input is 400 naming the field; a draw the
// register cannot satisfy is 409. Nothing is stored.
func TestDrawValidation(t *testing.T) {
	e, _ := newDrawEnv(t, "sqlite")
	_, entityKey := e.newEntity()
	e.newEntity()
	inspector, _ := e.newInspector()
	revoked, _ := e.newInspector()
	e.must(200, "DELETE", "/api/v1/keys/"+revoked, e.reg, nil)
	entityKeyID := e.must(200, "GET", "/api/v1/me", entityKey, nil).JSON()["keyId"].(string)

	for name, c := range map[string]struct {
		body   any
		status int
		field  string
	}{
		"no entities":          {map[string]any{}, 400, "entities"},
		"zero entities":        {map[string]any{"entities": 0}, 400, "entities"},
		"too many entities":    {map[string]any{"entities": 1001}, 400, "entities"},
		"entities not number":  {map[string]any{"entities": "2"}, 400, "entities"},
		"per entity negative":  {map[string]any{"entities": 1, "inspectorsPerEntity": -1}, 400, "inspectorsPerEntity"},
		"per entity too many":  {map[string]any{"entities": 1, "inspectorsPerEntity": 11}, 400, "inspectorsPerEntity"},
		"unknown category":     {map[string]any{"entities": 1, "category": "weapons"}, 400, "category"},
		"unknown kind":         {map[string]any{"entities": 1, "kinds": []string{"bank"}}, 400, "kinds"},
		"kind twice":           {map[string]any{"entities": 1, "kinds": []string{"farm", "farm"}}, 400, "kinds"},
		"long region":          {map[string]any{"entities": 1, "region": strings.Repeat("r", 101)}, 400, "region"},
		"seed not hex":         {map[string]any{"entities": 1, "seed": "not hex at all"}, 400, "seed"},
		"seed too short":       {map[string]any{"entities": 1, "seed": "00112233"}, 400, "seed"},
		"seed too long":        {map[string]any{"entities": 1, "seed": strings.Repeat("ab", 65)}, 400, "seed"},
		"unknown inspector":    {map[string]any{"entities": 1, "inspectors": []string{"nobody"}}, 400, "inspectors"},
		"entity key inspector": {map[string]any{"entities": 1, "inspectors": []string{entityKeyID}}, 400, "inspectors"},
		"revoked inspector":    {map[string]any{"entities": 1, "inspectors": []string{revoked}}, 400, "inspectors"},
		"inspector twice":      {map[string]any{"entities": 1, "inspectors": []string{inspector, inspector}}, 400, "inspectors"},
		"pool too small":       {map[string]any{"entities": 1, "inspectors": []string{inspector}, "inspectorsPerEntity": 2}, 400, "inspectors"},
		"unknown field":        {map[string]any{"entities": 1, "lucky": true}, 400, "lucky"},
		// The register cannot satisfy these: conflicts.
		"fewer candidates":    {map[string]any{"entities": 3, "inspectorsPerEntity": 1}, 409, "entities"},
		"no candidates":       {map[string]any{"entities": 1, "region": "Nowhere", "inspectorsPerEntity": 1}, 409, "entities"},
		"too few inspectors":  {map[string]any{"entities": 1}, 409, "inspectors"}, // one active inspector key, two wanted
		"no such kind around": {map[string]any{"entities": 1, "kinds": []string{"farm"}, "inspectorsPerEntity": 1}, 409, "entities"},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.with(t).must(c.status, "POST", "/api/v1/inspections/draws", e.reg, c.body)
			if r.errField() != c.field {
				t.Fatalf("field %q, want %q: %s", r.errField(), c.field, r.Body)
			}
		})
	}
	if n := e.must(200, "GET", "/api/v1/inspections/draws", "", nil).JSON()["draws"].([]any); len(n) != 0 {
		t.Fatalf("refused draws were stored: %v", n)
	}
	e.must(400, "GET", "/api/v1/inspections/draws?limit=0", "", nil)
}

// TestDrawReproducible: the same seed and candidates give the same
// draw through HTTP; the published draw re-runs, by the algorithm alone,
// to its result; the filters choose the candidates.
func TestDrawReproducible(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e, _ := newDrawEnv(t, backend)
		var all []string
		for range 8 {
			id, _ := e.newEntity("manufacturer")
			all = append(all, id)
		}
		retailer, retailerKey := e.newEntity("retailer")
		all = append(all, retailer)
		e.must(201, "POST", "/api/v1/products", retailerKey, map[string]any{"gtin": gtin(t, 1), "name": "Toy car", "category": "toy"})
		elsewhere, _ := e.newEntity("manufacturer")
		e.must(200, "PATCH", "/api/v1/entities/"+elsewhere, e.reg, map[string]any{"region": "Beijing"})
		slices.Sort(all)
		var pool []string
		for range 6 {
			id, _ := e.newInspector()
			pool = append(pool, id)
		}
		slices.Sort(pool)

		body := map[string]any{"region": "Tianjin", "entities": 4, "inspectorsPerEntity": 2, "seed": testSeed}
		d1 := e.makeDraw(body)
		if !slices.Equal(d1.Candidates, all) || d1.CandidatesHash != draw.HashList(all) {
			t.Fatalf("candidates %v, want the 9 in Tianjin %v", d1.Candidates, all)
		}
		if !slices.Equal(d1.Inspectors, pool) || d1.InspectorsHash != draw.HashList(pool) {
			t.Fatalf("pool %v, want every inspector key %v", d1.Inspectors, pool)
		}
		if got := rerun(t, d1); fmt.Sprint(got) != fmt.Sprint(d1.Result) {
			t.Fatalf("re-run %v, published %v", got, d1.Result)
		}
		if d1.Date != d1.CreatedAt.In(shanghai(t)).Format(time.DateOnly) || d1.Filters.Region != "Tianjin" {
			t.Fatalf("date %s, filters %+v", d1.Date, d1.Filters)
		}

		// Same seed, same candidates: the same entities in the same
		// order. Their inspectors follow the same algorithm, with the
		// first draw's now left out.
		d2 := e.makeDraw(body)
		if d2.CandidatesHash != d1.CandidatesHash || !slices.Equal(drawnEntities(d2), drawnEntities(d1)) {
			t.Fatalf("same seed: drew %v, then %v", drawnEntities(d1), drawnEntities(d2))
		}
		if len(d2.Previous) != 4 || d2.Previous[0].DrawID != d1.ID {
			t.Fatalf("previous %+v", d2.Previous)
		}
		if got := rerun(t, d2); fmt.Sprint(got) != fmt.Sprint(d2.Result) {
			t.Fatalf("re-run %v, published %v", got, d2.Result)
		}
		// Another seed, another draw.
		body["seed"] = strings.Repeat("01", 32)
		if d3 := e.makeDraw(body); slices.Equal(drawnEntities(d3), drawnEntities(d1)) {
			t.Fatalf("seeds %s and %s drew the same %v", testSeed, body["seed"], drawnEntities(d1))
		}

		// The filters.
		for _, c := range []struct {
			body map[string]any
			want []string
		}{
			{map[string]any{"kinds": []string{"retailer"}}, []string{retailer}},
			{map[string]any{"category": "toy"}, []string{retailer}},
			{map[string]any{"region": "Beijing", "kinds": []string{"manufacturer", "retailer"}}, []string{elsewhere}},
			{map[string]any{"region": "Beijing", "category": "toy"}, nil},
		} {
			c.body["entities"], c.body["inspectorsPerEntity"] = 1, 1
			if c.want == nil {
				e.must(409, "POST", "/api/v1/inspections/draws", e.reg, c.body)
				continue
			}
			if d := e.makeDraw(c.body); !slices.Equal(d.Candidates, c.want) {
				t.Fatalf("%v: candidates %v, want %v", c.body, d.Candidates, c.want)
			}
		}
	})
}

func shanghai(t testing.TB) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestDrawOnlyGood: entities rated warning, dishonest or seriously
// dishonest are never candidates and never drawn; good and unrated ones
// are.
func TestDrawOnlyGood(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e, classes := newDrawEnv(t, backend)
		var good []string
		for _, class := range []string{"good", "warning", "", "dishonest", "good", "seriously_dishonest", "warning", "good"} {
			id, _ := e.newEntity()
			classes.set(id, class)
			if class == "good" || class == "" {
				good = append(good, id)
			}
		}
		slices.Sort(good)
		for range 4 { // two each, the previous two left out
			e.newInspector()
		}
		for s := range 10 {
			d := e.makeDraw(map[string]any{"entities": 4, "seed": fmt.Sprintf("%064x", s)})
			if !slices.Equal(d.Candidates, good) || d.Excluded != 4 {
				t.Fatalf("candidates %v (%d left out), want the good and unrated %v (4 left out)", d.Candidates, d.Excluded, good)
			}
			drawn := slices.Sorted(slices.Values(drawnEntities(d)))
			if !slices.Equal(drawn, good) {
				t.Fatalf("drew %v, want every good one %v", drawn, good)
			}
		}
		// Five asked of four good: refused, naming what is left out.
		r := e.must(409, "POST", "/api/v1/inspections/draws", e.reg, map[string]any{"entities": 5})
		if !strings.Contains(r.errMessage(), "only 4") || !strings.Contains(r.errMessage(), "4 more") {
			t.Fatalf("message %q", r.errMessage())
		}
		// An entity rated down after a draw is not drawn again.
		classes.set(good[0], "warning")
		d := e.makeDraw(map[string]any{"entities": 3})
		if slices.Contains(d.Candidates, good[0]) || slices.Contains(drawnEntities(d), good[0]) {
			t.Fatalf("the entity rated warning is a candidate: %v", d.Candidates)
		}
	})
}

// TestDrawVerifyDetectsTampering: a draw verifies as stored; a result,
// candidate list or previous assignment changed in the database does
// not.
func TestDrawVerifyDetectsTampering(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e, _ := newDrawEnv(t, backend)
		for range 5 {
			e.newEntity()
		}
		for range 5 {
			e.newInspector()
		}
		body := map[string]any{"entities": 2, "seed": testSeed}
		d1 := e.makeDraw(body)
		d2 := e.makeDraw(body) // same entities: previous assignments from d1
		for _, d := range []draw.Draw{d1, d2} {
			if v := e.verifyDraw(d.ID); !v.Matches || !v.Result || !v.CandidatesHash || !v.InspectorsHash || !v.Previous || len(v.Problems) > 0 {
				t.Fatalf("untouched draw %s: %+v", d.ID, v)
			}
		}

		// Another inspector written into d2's result.
		e.tamperDraw(d2.ID, func(d *draw.Draw) {
			a := &d.Result[0]
			for _, i := range d.Inspectors {
				if !slices.Contains(a.Inspectors, i) {
					a.Inspectors[0] = i
					break
				}
			}
		})
		v := e.verifyDraw(d2.ID)
		if v.Matches || v.Result || !v.CandidatesHash || fmt.Sprint(v.Recomputed) != fmt.Sprint(d2.Result) {
			t.Fatalf("tampered result: %+v", v)
		}

		// d1's result changed: d1 fails, and so does d2, whose previous
		// assignments no longer are what d1 says.
		e.tamperDraw(d1.ID, func(d *draw.Draw) {
			d.Result[0].Inspectors[0], d.Result[0].Inspectors[1] = d.Result[0].Inspectors[1], d.Result[0].Inspectors[0]
		})
		if v := e.verifyDraw(d1.ID); v.Matches || v.Result {
			t.Fatalf("swapped inspectors: %+v", v)
		}
		if v := e.verifyDraw(d2.ID); v.Previous {
			t.Fatalf("d2 after d1 was changed: %+v", v)
		}

		// A candidate dropped from the list d1 publishes.
		e.tamperDraw(d1.ID, func(d *draw.Draw) { d.Candidates = d.Candidates[1:] })
		if v := e.verifyDraw(d1.ID); v.Matches || v.CandidatesHash {
			t.Fatalf("dropped candidate: %+v", v)
		}
	})
}

// TestDrawNeverSameInspectorTwiceInARow: over draws that keep drawing
// the same entities, no entity gets an inspector of its previous draw;
// when the pool cannot respect that, the draw is refused with 409.
func TestDrawNeverSameInspectorTwiceInARow(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e, _ := newDrawEnv(t, backend)
		a, _ := e.newEntity()
		b, _ := e.newEntity()
		var pool []string
		for range 5 {
			id, _ := e.newInspector()
			pool = append(pool, id)
		}
		last := map[string][]string{}
		lastDraw := map[string]string{}
		for s := range 8 {
			d := e.makeDraw(map[string]any{"entities": 2, "inspectorsPerEntity": 2, "seed": fmt.Sprintf("%064x", s+100)})
			for _, as := range d.Result {
				for _, i := range as.Inspectors {
					if slices.Contains(last[as.EntityID], i) {
						t.Fatalf("draw %d: entity %s got %s again (previous %v)", s, as.EntityID, i, last[as.EntityID])
					}
				}
				if prev, ok := lastDraw[as.EntityID]; ok {
					i := slices.IndexFunc(d.Previous, func(p draw.Previous) bool { return p.EntityID == as.EntityID })
					if i < 0 || d.Previous[i].DrawID != prev || !slices.Equal(d.Previous[i].Inspectors, last[as.EntityID]) {
						t.Fatalf("draw %d publishes previous %+v, want %s's %v from %s", s, d.Previous, as.EntityID, last[as.EntityID], prev)
					}
				}
				last[as.EntityID], lastDraw[as.EntityID] = as.Inspectors, d.ID
			}
		}
		if len(last) != 2 || last[a] == nil || last[b] == nil {
			t.Fatalf("drawn %v", last)
		}

		// Three inspectors, two each: after a draw, one is left for the
		// entity, which needs two. Refused, and nothing stored.
		c, _ := e.newEntity()
		e.must(200, "PATCH", "/api/v1/entities/"+c, e.reg, map[string]any{"region": "Hebei"})
		small := pool[:3]
		e.makeDraw(map[string]any{"region": "Hebei", "entities": 1, "inspectors": small[:2], "inspectorsPerEntity": 2})
		before := len(e.must(200, "GET", "/api/v1/inspections/draws?limit=500", "", nil).JSON()["draws"].([]any))
		r := e.must(409, "POST", "/api/v1/inspections/draws", e.reg, map[string]any{"region": "Hebei", "entities": 1, "inspectors": small, "inspectorsPerEntity": 2})
		if r.errField() != "inspectors" || !strings.Contains(r.errMessage(), "previous draw") {
			t.Fatalf("field %q, message %q", r.errField(), r.errMessage())
		}
		if after := len(e.must(200, "GET", "/api/v1/inspections/draws?limit=500", "", nil).JSON()["draws"].([]any)); after != before {
			t.Fatalf("%d draws after the refusal, %d before", after, before)
		}
	})
}

// TestDrawsRacing: draws made at once each get their own place in the
// sequence, and each reads the previous assignments of the draws before
// it, so the rule holds between consecutive draws whatever their order.
func TestDrawsRacing(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e, _ := newDrawEnv(t, backend)
		e.newEntity()
		e.newEntity()
		for range 6 {
			e.newInspector()
		}
		const racers = 4 // at most the attempts a draw makes
		var wg sync.WaitGroup
		codes := make([]int, racers)
		for i := range racers {
			wg.Go(func() {
				codes[i] = e.do("POST", "/api/v1/inspections/draws", e.reg, map[string]any{"entities": 2}).Code
			})
		}
		wg.Wait()
		for i, c := range codes {
			if c != http.StatusCreated {
				t.Fatalf("racer %d: status %d", i, c)
			}
		}
		var list struct{ Draws []draw.Draw }
		if err := json.Unmarshal(e.must(200, "GET", "/api/v1/inspections/draws", "", nil).Body, &list); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(list.Draws, func(a, b draw.Draw) int { return int(a.Seq - b.Seq) })
		last := map[string][]string{}
		for i, d := range list.Draws {
			if d.Seq != int64(i+1) {
				t.Fatalf("draw %d has seq %d", i, d.Seq)
			}
			for _, a := range d.Result {
				for _, in := range a.Inspectors {
					if slices.Contains(last[a.EntityID], in) {
						t.Fatalf("seq %d: entity %s got %s again", d.Seq, a.EntityID, in)
					}
				}
				last[a.EntityID] = a.Inspectors
			}
			if v := e.verifyDraw(d.ID); !v.Matches {
				t.Fatalf("seq %d: %+v", d.Seq, v)
			}
		}
	})
}
