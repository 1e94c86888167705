package tracesql_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"tracesvc/trace"
	"tracesvc/trace/audit"
	"tracesvc/trace/scan"
	"tracesvc/trace/sqlitedb"
	"tracesvc/trace/storetest"
	"tracesvc/trace/tracesql"
)

// Open returns a store on a fresh database in a temp folder.
func open(t testing.TB) (*sqlitedb.DB, *tracesql.Store) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := tracesql.New(ctx, db.W, db.R)
	if err != nil {
		t.Fatal(err)
	}
	return db, s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB) storetest.Stores {
		db, s := open(t)
		return storetest.Stores{Trace: s, Keys: s, Audit: s, Codes: s, Events: s, Scans: s,
			RewriteAudit: func(ctx context.Context, r audit.Record) error {
				_, err := db.W.ExecContext(ctx, `UPDATE audit_log SET at = ?, actor = ?, role = ?, action = ?, target = ?,
					status = ?, prev_hash = ?, hash = ? WHERE seq = ?`, sqlitedb.Millis(r.At), r.Actor, r.Role, r.Action, r.Target,
					r.Status, r.PrevHash, r.Hash, r.Seq)
				return err
			},
			DeleteAudit: func(ctx context.Context, from int64) error {
				_, err := db.W.ExecContext(ctx, `DELETE FROM audit_log WHERE seq >= ?`, from)
				return err
			}}
	})
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for range 2 {
		db, err := sqlitedb.Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tracesql.New(ctx, db.W, db.R); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLegacyEntityWebhooks opens a database whose entities table still has
// the webhook columns of earlier versions: new entities can be stored, and
// the old settings are kept aside.
func TestLegacyEntityWebhooks(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlitedb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.W.ExecContext(ctx, `CREATE TABLE entities (id TEXT PRIMARY KEY, uscc TEXT NOT NULL UNIQUE,
		gln TEXT, name TEXT NOT NULL, kinds TEXT NOT NULL, region TEXT NOT NULL, address TEXT NOT NULL,
		company_prefix TEXT NOT NULL, contact TEXT NOT NULL, webhook_url TEXT NOT NULL, webhook_secret TEXT NOT NULL,
		created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.ExecContext(ctx, `INSERT INTO entities VALUES ('old', '91120000MA0000001X', NULL, 'Old', '[]',
		'Tianjin', '1 Road', '', '{}', 'https://hooks.example.cn/r', 'sixteen-chars-secret', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	s, err := tracesql.New(ctx, db.W, db.R)
	if err != nil {
		t.Fatal(err)
	}
	e := trace.Entity{ID: "new", USCC: "91120000MA0000002X", Name: "New", Kinds: []trace.Kind{trace.KindFarm},
		Region: "Tianjin", Address: "2 Road"}
	if err := s.CreateEntity(ctx, e); err != nil {
		t.Fatalf("new entity on an upgraded database: %v", err)
	}
	var url string
	if err := db.R.QueryRowContext(ctx, `SELECT url FROM legacy_entity_webhooks WHERE entity_id = 'old'`).Scan(&url); err != nil || url != "https://hooks.example.cn/r" {
		t.Fatalf("legacy webhook kept: %q, %v", url, err)
	}
	// Opening again changes nothing.
	if _, err := tracesql.New(ctx, db.W, db.R); err != nil {
		t.Fatal(err)
	}
}

// TestLegacyIssuances opens a database whose issuances table predates
// leases, with an issuance a crash left running: the table gains the
// lease columns, and the issuance counts as abandoned.
func TestLegacyIssuances(t *testing.T) {
	ctx := context.Background()
	db := legacyDB(t,
		`CREATE TABLE issuances (id TEXT PRIMARY KEY, kind TEXT NOT NULL, owner_id TEXT NOT NULL, gtin TEXT NOT NULL,
			lot TEXT NOT NULL, requested INTEGER NOT NULL, issued INTEGER NOT NULL, state TEXT NOT NULL,
			idem_key TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID`,
		`INSERT INTO issuances VALUES ('old', 'sgtin', 'e1', '09506000134352', 'L1', 1000, 0, 'running', 'k', 1, 1)`)
	s, err := tracesql.New(ctx, db.W, db.R)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.InterruptIssuances(ctx, "p1", time.Now()); err != nil || n != 1 {
		t.Fatalf("sweep on an upgraded database: %d, %v", n, err)
	}
	is, err := s.IssuanceByKey(ctx, "e1", "k")
	if err != nil || is.State != trace.IssuanceInterrupted {
		t.Fatalf("old running issuance: %+v, %v", is, err)
	}
	if _, err := tracesql.New(ctx, db.W, db.R); err != nil {
		t.Fatalf("opening again: %v", err)
	}
}

// TestLegacyAlerts opens a database from before alerts had a unique key,
// holding the same alert twice (two processes raised it): the first is
// kept, and the key holds from then on.
func TestLegacyAlerts(t *testing.T) {
	ctx := context.Background()
	db := legacyDB(t,
		`CREATE TABLE alerts (id TEXT PRIMARY KEY, kind TEXT NOT NULL, gtin TEXT NOT NULL, serial TEXT NOT NULL,
			owner_id TEXT NOT NULL, scans TEXT NOT NULL, detail TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID`,
		`CREATE INDEX alerts_code ON alerts(kind, gtin, serial)`,
		`INSERT INTO alerts VALUES ('a1', 'too_many_scans', '09506000134352', 'S1', 'e1', '[]', 'first', 1)`,
		`INSERT INTO alerts VALUES ('a2', 'too_many_scans', '09506000134352', 'S1', 'e1', '[]', 'again', 2)`)
	s, err := tracesql.New(ctx, db.W, db.R)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ListAlerts(ctx, scan.AlertFilter{}, trace.Page{Limit: 10})
	if err != nil || len(got) != 1 || got[0].ID != "a1" {
		t.Fatalf("alerts after the upgrade: %+v, %v", got, err)
	}
	if err := s.InsertAlert(ctx, scan.Alert{ID: "a3", Kind: scan.AlertTooManyScans, GTIN: "09506000134352", Serial: "S1",
		Scans: []string{}}); !errors.Is(err, trace.ErrConflict) {
		t.Fatalf("a third copy: %v", err)
	}
}

// TestLegacyScanCounts: a store from before scan_counts gets each code's
// count from its scans when it opens, and counts on from there.
func TestLegacyScanCounts(t *testing.T) {
	ctx := context.Background()
	const gtin = "09506000134352"
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	db, s := open(t)
	var scans []scan.Scan
	for i, serial := range []string{"S1", "S1", "S1", "S2"} {
		scans = append(scans, scan.Scan{ID: fmt.Sprintf("sc%d", i), GTIN: gtin, Serial: serial, At: at, Verdict: scan.VerdictGenuine})
	}
	if err := s.InsertScans(ctx, scans); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`DROP TRIGGER scans_counted`, `DROP TABLE scan_counts`} {
		if _, err := db.W.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	s, err := tracesql.New(ctx, db.W, db.R)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InsertScans(ctx, []scan.Scan{{ID: "sc9", GTIN: gtin, Serial: "S2", At: at, Verdict: scan.VerdictGenuine}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.CountScansOf(ctx, []scan.CodeKey{{GTIN: gtin, Serial: "S1"}, {GTIN: gtin, Serial: "S2"}, {GTIN: gtin, Serial: "S3"}})
	if err != nil || fmt.Sprint(got) != fmt.Sprint(map[scan.CodeKey]int{{GTIN: gtin, Serial: "S1"}: 3, {GTIN: gtin, Serial: "S2"}: 2}) {
		t.Fatalf("counts after the upgrade: %v, %v", got, err)
	}
	// Opening again does not count the scans twice.
	if s, err = tracesql.New(ctx, db.W, db.R); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountScans(ctx, gtin, "S1"); n != 3 || err != nil {
		t.Fatalf("S1 after a second start: %d, %v", n, err)
	}
}

// TestScanIndexesUpgrade: a store from before keeps neither its index of
// every scan's verdict nor its index of every scan by code after the
// upgrade, only the partial ones of recalled scans, which the count of
// recalled scans reads and counts the same with, and of located scans,
// built from the scans already stored.
func TestScanIndexesUpgrade(t *testing.T) {
	ctx := context.Background()
	const gtin = "09506000134352"
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	db, s := open(t)
	for _, q := range []string{`DROP INDEX scans_located`, `CREATE INDEX scans_verdict ON scans(gtin, verdict, at, serial)`,
		`CREATE INDEX scans_code ON scans(gtin, serial, at)`} {
		if _, err := db.W.ExecContext(ctx, q); err != nil {
			t.Fatal(err) // the indexes of a store from before
		}
	}
	var scans []scan.Scan
	for i, v := range []scan.Verdict{scan.VerdictRecalled, scan.VerdictGenuine, scan.VerdictRecalled} {
		scans = append(scans, scan.Scan{ID: fmt.Sprintf("sc%d", i), GTIN: gtin, Serial: "S1", At: at, Verdict: v,
			HasLocation: i == 1, Lat: 31.23, Lon: 121.47})
	}
	if err := s.InsertScans(ctx, scans); err != nil {
		t.Fatal(err)
	}
	s, err := tracesql.New(ctx, db.W, db.R)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	rows, err := db.R.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'scans' AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	rows.Close()
	if fmt.Sprint(names) != "[scans_located scans_recalled]" {
		t.Fatalf("indexes of scans after the upgrade: %v", names)
	}
	var plan string
	q, args := tracesql.CountRecalledQuery(gtin, at, 10)
	if err := db.R.QueryRowContext(ctx, `EXPLAIN QUERY PLAN `+q, args...).Scan(new(int), new(int), new(int), &plan); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "scans_recalled") {
		t.Fatalf("the count of recalled scans reads %q", plan)
	}
	prev, ok, err := s.LocatedBefore(ctx, gtin, "S1", "sc9")
	if err != nil || !ok || prev.ID != "sc1" {
		t.Fatalf("located scan before sc9: %+v, %v, %v", prev, ok, err)
	}
	got, err := s.CountRecalledScans(ctx, gtin, at, 10)
	if err != nil || fmt.Sprint(got) != "map[S1:2]" {
		t.Fatalf("recalled scans: %v, %v", got, err)
	}
}

// TestCaptureAllOrNothing (issue 10, item 1): a capture that fails, or
// whose process dies, after its custody updates or its events leaves
// nothing: one transaction, rolled back.
func TestCaptureAllOrNothing(t *testing.T) {
	ctx := context.Background()
	const gtin = "09506000134352"
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for _, step := range []string{"custody", "events"} {
		for _, mode := range []string{"error", "crash"} {
			t.Run(mode+" after "+step, func(t *testing.T) {
				db, s := open(t)
				if _, err := db.W.ExecContext(ctx, `INSERT INTO codes (gtin, serial, lot, iss, pos, state, possessor, issued_at, updated_at)
					VALUES (?, 'A1', 'L1', 'i1', 'i1.0000001', 'issued', '', 1, 1), (?, 'B1', 'L1', 'i1', 'i1.0000002', 'issued', '', 1, 1)`, gtin, gtin); err != nil {
					t.Fatal(err)
				}
				w := trace.CaptureWrite{Events: []trace.StoredEvent{{ID: "ev1", Type: "ObjectEvent", EventTime: at, RecordTime: at,
					CapturedBy: "e1", Raw: []byte(`{}`)}}}
				for _, serial := range []string{"A1", "B1"} {
					w.Custody = append(w.Custody, trace.Custody{Key: "01/" + gtin + "/21/" + serial, State: trace.StateCommissioned,
						Possessor: "e1", LastEventAt: at, Version: 1})
				}
				injected := errors.New("injected fault")
				tracesql.SetFaults(s, func(at string) error {
					if at != step {
						return nil
					}
					if mode == "crash" {
						panic("the process dies")
					}
					return injected
				})
				func() {
					defer func() { recover() }()
					if err := s.ApplyCapture(ctx, w); mode == "error" && !errors.Is(err, injected) {
						t.Errorf("ApplyCapture: %v", err)
					}
				}()
				var changed, events int
				db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM codes WHERE version != 0 OR state != 'issued'`).Scan(&changed)
				db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&events)
				if changed != 0 || events != 0 {
					t.Fatalf("left behind: %d codes changed, %d events", changed, events)
				}
			})
		}
	}
}

// legacyDB opens a fresh database holding what stmts make: tables as an
// earlier version wrote them.
func legacyDB(t *testing.T, stmts ...string) *sqlitedb.DB {
	t.Helper()
	db, err := sqlitedb.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, stmt := range stmts {
		if _, err := db.W.ExecContext(context.Background(), stmt); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// TestLegacyCodeRefs: a store from before code_refs gets the references to
// its moved codes from event_refs when it opens, once, with their events'
// sole holders, and walks by the codes' rows find the same events as by
// their keys; references to codes never issued here stay in event_refs
// alone. A store whose code_refs has no holder column gets it, filled.
func TestLegacyCodeRefs(t *testing.T) {
	ctx := context.Background()
	const gtin = "09506000134352"
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	db, s := open(t)
	if _, err := db.W.ExecContext(ctx, `INSERT INTO codes (gtin, serial, lot, iss, pos, state, possessor, issued_at, updated_at)
		VALUES (?, 'A1', 'L1', 'i1', 'i1.0000001', 'issued', '', 1, 1), (?, 'B1', 'L1', 'i1', 'i1.0000002', 'issued', '', 1, 1),
		(?, 'C1', 'L1', 'i1', 'i1.0000003', 'issued', '', 1, 1)`, gtin, gtin, gtin); err != nil {
		t.Fatal(err)
	}
	item := func(serial string) string { return trace.ItemKey(gtin, serial) }
	ev := func(id, step string, refs ...trace.EventRef) trace.StoredEvent {
		return trace.StoredEvent{ID: id, Type: "ObjectEvent", BizStep: step, EventTime: at, RecordTime: at, CapturedBy: "e1", Refs: refs, Raw: []byte(`{}`)}
	}
	epc := func(k string) trace.EventRef { return trace.EventRef{Key: k, Role: trace.RoleEPC} }
	with := func(e trace.StoredEvent, typ string, parties ...string) trace.StoredEvent {
		e.Type, e.Parties = typ, parties
		return e
	}
	child := trace.EventRef{Key: item("B1"), Role: trace.RoleChild}
	w := trace.CaptureWrite{Events: []trace.StoredEvent{ev("ev1", "commissioning", epc(item("A1")), epc(item("B1")), epc("01/04006381333931/21/X")),
		ev("ev2", "retail_selling", epc(item("B1"))), ev("ev3", "shipping", epc(item("A1"))),
		// Each way of having no sole holder, and an empty party list.
		ev("ev4", "receiving", epc(item("A1"))),
		with(ev("ev5", "packing", child, trace.EventRef{Key: "00/106141411234567897", Role: trace.RoleParent}), "AggregationEvent"),
		with(ev("ev6", "", trace.EventRef{Key: item("A1"), Role: trace.RoleInput}), "TransformationEvent"),
		with(ev("ev7", "inspecting", epc(item("B1"))), "ObjectEvent", "source:e2"),
		with(ev("ev8", "inspecting", epc(item("A1"))), "ObjectEvent", []string{}...)}}
	for _, serial := range []string{"A1", "B1"} {
		w.Custody = append(w.Custody, trace.Custody{Key: item(serial), State: trace.StateCommissioned, Possessor: "e1", LastEventAt: at, Version: 1})
	}
	if err := s.ApplyCapture(ctx, w); err != nil {
		t.Fatal(err)
	}
	// By the Go rule at capture; the upgrades apply the same rule in SQL.
	const want = "A1 epc ev1 e1, A1 epc ev3 -, A1 epc ev4 -, A1 epc ev8 e1, A1 input ev6 -, " +
		"B1 child ev5 -, B1 epc ev1 e1, B1 epc ev2 e1, B1 epc ev7 -"
	rows := func() string {
		t.Helper()
		var out []string
		list, err := db.R.QueryContext(ctx, `SELECT c.serial, r.role, e.id, coalesce(r.holder, '-')
			FROM code_refs r JOIN codes c ON c.id = r.code JOIN events e ON e.seq = r.seq ORDER BY 1, 2, 3`)
		if err != nil {
			t.Fatal(err)
		}
		defer list.Close()
		for list.Next() {
			var a, b, c, d string
			if err := list.Scan(&a, &b, &c, &d); err != nil {
				t.Fatal(err)
			}
			out = append(out, strings.Join([]string{a, b, c, d}, " "))
		}
		return strings.Join(out, ", ")
	}
	if got := rows(); got != want {
		t.Fatalf("code_refs after the capture: %s, want %s", got, want)
	}
	reopen := func(stage string) {
		t.Helper()
		for range 2 { // the second start finds them there
			var err error
			if s, err = tracesql.New(ctx, db.W, db.R); err != nil {
				t.Fatal(err)
			}
			if got := rows(); got != want {
				t.Fatalf("code_refs after the upgrade %s: %s, want %s", stage, got, want)
			}
		}
	}
	if _, err := db.W.ExecContext(ctx, `DROP TABLE code_refs`); err != nil {
		t.Fatal(err)
	}
	reopen("from no code_refs")
	for _, stmt := range []string{`CREATE TABLE old_refs AS SELECT code, role, seq FROM code_refs`, `DROP TABLE code_refs`,
		`CREATE TABLE code_refs (code INTEGER NOT NULL, role TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (code, role, seq)) WITHOUT ROWID`,
		`INSERT INTO code_refs SELECT * FROM old_refs`, `DROP TABLE old_refs`} {
		if _, err := db.W.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	reopen("from code_refs without holders")

	codes, err := s.ListCodes(ctx, trace.CodeFilter{GTIN: gtin, Lot: "L1", Moved: true}, trace.Page{Limit: 10})
	if err != nil || len(codes) != 2 {
		t.Fatalf("moved codes: %v, %v", codes, err)
	}
	keys := []string{item("A1"), item("B1"), "01/04006381333931/21/X"}
	for _, merge := range []bool{false, true} {
		list, err := s.WalkEvents(ctx, keys, []string{codes[0].Seq, codes[1].Seq, ""}, merge, 10)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, e := range list {
			id := e.ID
			if e.Merged {
				id = "held by " + e.CapturedBy
			}
			got[id] += len(e.Touched)
		}
		want := "map[ev1:3 ev2:1 ev3:1 ev4:1 ev5:1 ev6:1 ev7:1 ev8:1]"
		if merge { // ev1 names X, which is no code here, by key
			want = "map[ev1:1 ev3:1 ev4:1 ev5:1 ev6:1 ev7:1 held by e1:4]"
		}
		if fmt.Sprint(got) != want {
			t.Fatalf("events by the codes' rows and a key (merge %v): %v, want %s", merge, got, want)
		}
	}
}

// TestListCodesPages: pages of any length list the same codes in the same
// order for every filter a walk, an export or a replay uses, each with the
// same fields as the code read on its own (a list reads them packed in
// one column).
func TestListCodesPages(t *testing.T) {
	ctx := context.Background()
	const gtin, n = "09506000134352", 9_001
	db, s := open(t)
	if _, err := db.W.ExecContext(ctx, `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
		INSERT INTO codes (gtin, serial, lot, iss, pos, state, possessor, container, issued_at, updated_at, version)
		SELECT ?, printf('S%05d', i), 'L1', 'i' || (i % 2), printf('p%05d', i), iif(i % 3 = 0, 'shipped', 'issued'),
			iif(i % 3 = 0, 'e' || (i % 7), ''), iif(i % 5 = 0, '00/10614141123456789' || (i % 10), ''), 1764576000000 + i, 1764576000000 + 2 * i,
			i % 3 = 0 FROM k`, n, gtin); err != nil {
		t.Fatal(err)
	}
	list := func(f trace.CodeFilter, limit int) []trace.Code {
		t.Helper()
		var out []trace.Code
		for p := (trace.Page{Limit: limit}); ; {
			codes, err := s.ListCodes(ctx, f, p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, codes...)
			if len(codes) < limit {
				return out
			}
			p.After = codes[len(codes)-1].Seq
		}
	}
	for _, f := range []trace.CodeFilter{{}, {Moved: true}, {Unmoved: true}, {Issuance: "i1"}} {
		f.GTIN, f.Lot = gtin, "L1"
		want := list(f, 500)
		if len(want) < n/3 {
			t.Fatalf("%+v: %d codes", f, len(want))
		}
		for i := 0; i < len(want); i += 97 {
			c, err := s.Code(ctx, gtin, want[i].Serial)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(want[i], c) {
				t.Fatalf("%+v: listed %+v, read on its own %+v", f, want[i], c)
			}
		}
		for _, limit := range []int{4096, 6001, 10_000} {
			if got := list(f, limit); !reflect.DeepEqual(got, want) {
				t.Fatalf("%+v in pages of %d: %d codes, want %d as in pages of 500", f, limit, len(got), len(want))
			}
		}
	}
}

// TestWalkEventsMergedParts: a walk of more keys than one query reads
// (walkPart) learns the same with and without merging, where an event
// names keys of several parts (the commissioning of every code, a case
// packed across a part's end) and holders hold codes in every part.
func TestWalkEventsMergedParts(t *testing.T) {
	ctx := context.Background()
	const gtin, n = "09506000134352", 5_000
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	db, s := open(t)
	if _, err := db.W.ExecContext(ctx, `WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < ? - 1)
		INSERT INTO codes (gtin, serial, lot, iss, pos, state, possessor, issued_at, updated_at)
		SELECT ?, printf('S%05d', i), 'L1', 'i1', printf('p%05d', i), 'issued', '', 1, 1 FROM k`, n, gtin); err != nil {
		t.Fatal(err)
	}
	item := func(i int) string { return trace.ItemKey(gtin, fmt.Sprintf("S%05d", i)) }
	ev := func(id, typ, step, by string, refs ...trace.EventRef) trace.StoredEvent {
		return trace.StoredEvent{ID: id, Type: typ, BizStep: step, EventTime: at, RecordTime: at, CapturedBy: by, Refs: refs, Raw: []byte(`{}`)}
	}
	epc := func(i int) trace.EventRef { return trace.EventRef{Key: item(i), Role: trace.RoleEPC} }
	w := trace.CaptureWrite{}
	all := ev("made", "ObjectEvent", "commissioning", "e1")
	for i := range n {
		all.Refs = append(all.Refs, epc(i))
		w.Custody = append(w.Custody, trace.Custody{Key: item(i), State: trace.StateCommissioned, Possessor: "e1", LastEventAt: at, Version: 1})
		w.Events = append(w.Events, ev(fmt.Sprintf("sold%d", i), "ObjectEvent", "retail_selling", fmt.Sprintf("shop%d", i%3), epc(i)))
	}
	w.Events = append(w.Events, all)
	for j := range n / 50 {
		pack := ev(fmt.Sprintf("case%d", j), "AggregationEvent", "packing", "e1",
			trace.EventRef{Key: fmt.Sprintf("00/1061414100000%05d", j), Role: trace.RoleParent})
		for i := j * 50; i < j*50+50; i++ {
			pack.Refs = append(pack.Refs, trace.EventRef{Key: item(i), Role: trace.RoleChild})
		}
		w.Events = append(w.Events, pack)
	}
	moved := ev("moved", "ObjectEvent", "shipping", "e1")
	for i := 2040; i < 2056; i++ { // across the end of the first part
		moved.Refs = append(moved.Refs, epc(i))
	}
	moved.Parties = []string{"destination:shop0"}
	w.Events = append(w.Events, moved)
	if err := s.ApplyCapture(ctx, w); err != nil {
		t.Fatal(err)
	}
	var keys, seqs []string
	for after := ""; ; {
		codes, err := s.ListCodes(ctx, trace.CodeFilter{GTIN: gtin, Lot: "L1", Moved: true}, trace.Page{Limit: 1000, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range codes {
			keys, seqs = append(keys, trace.ItemKey(c.GTIN, c.Serial)), append(seqs, c.Seq)
		}
		if len(codes) < 1000 {
			break
		}
		after = codes[len(codes)-1].Seq
	}
	if len(keys) != n {
		t.Fatalf("%d moved codes", len(keys))
	}
	learnt := func(merge bool) (map[string]bool, int) {
		t.Helper()
		list, err := s.WalkEvents(ctx, keys, seqs, merge, 100_000)
		if err != nil {
			t.Fatal(err)
		}
		out, ids, merged := map[string]bool{}, map[string]bool{}, 0
		for _, e := range list {
			from := e.ID
			switch {
			case e.Merged:
				merged++
				from = "held by " + e.CapturedBy
			case ids[e.ID]:
				t.Fatalf("event %s came twice (merge %v)", e.ID, merge)
			case e.SoleHolder() != "":
				from = "held by " + e.SoleHolder()
			}
			ids[e.ID] = true
			for _, r := range e.Touched {
				k := from + " " + r.Role + " " + r.Key
				if out[k] {
					t.Fatalf("%s learnt twice (merge %v)", k, merge)
				}
				out[k] = true
			}
		}
		return out, merged
	}
	want, _ := learnt(false)
	if len(want) != 3*n+16 { // commissioned, sold, packed; 16 shipped
		t.Fatalf("%d references learnt without merging, want %d", len(want), 3*n+16)
	}
	got, merged := learnt(true)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("merged: %d references learnt, want %d", len(got), len(want))
	}
	if merged < 4*3 { // e1 and three shops in each of three parts at least
		t.Fatalf("%d merged entries", merged)
	}
}
