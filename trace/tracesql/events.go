package tracesql

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"tracesvc/trace"
	"tracesvc/trace/sqlitedb"
)

var _ trace.EventStore = (*Store)(nil)

var eventSchema = []string{
	// Events sit in insertion order (seq); their identifiers and readers
	// are in narrow side tables keyed for the lookups that need them.
	`CREATE TABLE IF NOT EXISTS events (
		seq INTEGER PRIMARY KEY,
		id TEXT NOT NULL UNIQUE,
		type TEXT NOT NULL,
		action TEXT NOT NULL,
		biz_step TEXT NOT NULL,
		disposition TEXT NOT NULL,
		read_point TEXT NOT NULL,
		biz_location TEXT NOT NULL,
		event_time INTEGER NOT NULL,
		record_time INTEGER NOT NULL,
		captured_by TEXT NOT NULL,
		refs TEXT NOT NULL,
		parties TEXT NOT NULL,
		visible TEXT NOT NULL,
		raw BLOB NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS events_record ON events(record_time, id)`,
	`CREATE INDEX IF NOT EXISTS events_time ON events(event_time, id)`,
	`CREATE TABLE IF NOT EXISTS event_refs (
		key TEXT NOT NULL,
		role TEXT NOT NULL,
		seq INTEGER NOT NULL,
		PRIMARY KEY (key, role, seq)
	) WITHOUT ROWID`,
	// The references to issued codes again, by the code's row (codes.id):
	// a lot's codes were issued together, so a forward walk finds their
	// events in one stretch of this table where event_refs, by key, has
	// them one random page each (the serials are random). Written beside
	// event_refs by ApplyCapture, for the codes whose custody the capture
	// changes: every issued code an event names (a serial of a GTIN
	// registered here that was never issued cannot be recorded). A store
	// from before the table gets the references of its moved codes once,
	// in the migration that makes it; the gate keeps it from reading them
	// again at later starts (see scan_counts). An issued serial has only
	// unreserved characters (trace.SerialAlphabet), so its key is its GTIN
	// and serial as they are. Holder is the event's sole holder
	// (trace.StoredEvent.SoleHolder), NULL when it has none: a walk learns
	// from such a reference who held the code without reading the event
	// (see codeRefsUpgrade for stores from before).
	`CREATE TABLE IF NOT EXISTS code_refs (
		code INTEGER NOT NULL,
		role TEXT NOT NULL,
		seq INTEGER NOT NULL,
		holder TEXT,
		PRIMARY KEY (code, role, seq)
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS event_readers (
		entity TEXT NOT NULL,
		seq INTEGER NOT NULL,
		PRIMARY KEY (entity, seq)
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS capture_jobs (
		id TEXT PRIMARY KEY,
		owner_id TEXT NOT NULL,
		job TEXT NOT NULL
	) WITHOUT ROWID`,
}

// StoredEventIDs implements [trace.EventStore].
func (s *Store) StoredEventIDs(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for start := 0; start < len(ids); start += 500 {
		part := ids[start:min(start+500, len(ids))]
		rows, err := s.db.W.QueryContext(ctx, `SELECT id, captured_by FROM events WHERE id IN (`+sqlitedb.Marks(len(part))+`)`, sqlitedb.Args(part)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, by string
			if err := rows.Scan(&id, &by); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = by
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// custodyOf splits a code key into its table and key columns.
func custodyOf(key string) (table string, args []any, ok bool) {
	switch {
	case strings.HasPrefix(key, "01/"):
		gtin, rest, _ := strings.Cut(key[3:], "/21/")
		if len(gtin) != 14 || rest == "" || strings.Contains(rest, "/") {
			return "", nil, false
		}
		return "codes", []any{gtin, rest}, true
	case strings.HasPrefix(key, "00/") && len(key) == 21:
		return "ssccs", []any{key[3:]}, true
	}
	return "", nil, false
}

const (
	codeCustodySQL = `SELECT c.gtin, c.serial, b.owner_id, c.state, c.possessor, c.pending_to, c.container, c.last_event_at, c.version
		FROM codes c JOIN batches b ON b.gtin = c.gtin AND b.lot = c.lot`
	ssccCustodySQL = `SELECT '', sscc, owner_id, state, possessor, pending_to, container, last_event_at, version FROM ssccs`
)

func scanCustody(row sqlitedb.Scanner) (trace.Custody, error) {
	var c trace.Custody
	var gtin, id string
	var last int64
	if err := row.Scan(&gtin, &id, &c.Owner, &c.State, &c.Possessor, &c.PendingTo, &c.Container, &last, &c.Version); err != nil {
		return trace.Custody{}, err
	}
	if gtin != "" {
		c.Key = "01/" + gtin + "/21/" + id
	} else {
		c.Key = "00/" + id
	}
	if last != 0 {
		c.LastEventAt = sqlitedb.FromMillis(last)
	}
	return c, nil
}

// Custody implements [trace.EventStore]. It reads on the writer, so that a
// capture sees the latest committed state.
func (s *Store) Custody(ctx context.Context, keys []string) (map[string]trace.Custody, error) {
	out := map[string]trace.Custody{}
	for _, k := range keys {
		table, args, ok := custodyOf(k)
		if !ok {
			continue
		}
		q := codeCustodySQL + ` WHERE c.gtin = ? AND c.serial = ?`
		if table == "ssccs" {
			q = ssccCustodySQL + ` WHERE sscc = ?`
		}
		c, err := scanCustody(s.db.W.QueryRowContext(ctx, q, args...))
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("custody of %s: %w", k, err)
		}
		out[c.Key] = c
	}
	return out, nil
}

// Contents implements [trace.EventStore].
func (s *Store) Contents(ctx context.Context, container string) ([]trace.Custody, error) {
	var out []trace.Custody
	for _, q := range []string{codeCustodySQL + ` WHERE c.container = ?`, ssccCustodySQL + ` WHERE container = ?`} {
		rows, err := s.db.W.QueryContext(ctx, q, container)
		if err != nil {
			return nil, err
		}
		list, err := sqlitedb.Collect(rows, scanCustody)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	return out, nil
}

// soleHolderSQL is trace.StoredEvent.SoleHolder over the events table
// (aliased e): the capturer, or NULL.
const soleHolderSQL = `CASE WHEN e.type NOT IN (` + linking + `) AND e.biz_step NOT IN ('shipping', 'receiving')
	AND e.parties IN ('null', '[]') THEN e.captured_by END`

// codeRefsUpgrade fills code_refs in a store from before it: a store
// without the holder column gets it, with the holders of the references
// it has; a store without code_refs gets the references of its moved
// codes, once (the gate keeps later starts from reading them again, see
// scan_counts).
func codeRefsUpgrade(ctx context.Context, w *sql.DB) error {
	var n int
	if err := w.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('code_refs') WHERE name = 'holder'`).Scan(&n); err != nil {
		return fmt.Errorf("tracesql: inspect code_refs: %w", err)
	}
	var stmts []string
	if n == 0 {
		stmts = append(stmts, `ALTER TABLE code_refs ADD COLUMN holder TEXT`,
			`UPDATE code_refs SET holder = `+soleHolderSQL+` FROM events e WHERE e.seq = code_refs.seq`)
	}
	stmts = append(stmts, `INSERT OR IGNORE INTO code_refs (code, role, seq, holder)
		SELECT c.id, r.role, r.seq, `+soleHolderSQL+` FROM (SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM code_refs)) AS gate
		CROSS JOIN codes c INDEXED BY codes_moved CROSS JOIN event_refs r CROSS JOIN events e
		WHERE c.version > 0 AND r.key = '01/' || c.gtin || '/21/' || c.serial AND e.seq = r.seq`)
	return sqlitedb.Migrate(ctx, w, stmts)
}

// RecoverCaptures implements [trace.EventStore]: a capture is one
// transaction here, which SQLite rolls back whole after a crash.
func (s *Store) RecoverCaptures(ctx context.Context, before time.Time, writer string) (int, error) {
	return 0, nil
}

// ApplyCapture implements [trace.EventStore] in one transaction. A
// reference to an issued code goes to code_refs too when the write holds
// that code's custody, as the chain's captures always do (every issued
// code an event names has its custody changed); a reference without it is
// found by key only, not by the code's Seq (see WalkEvents).
func (s *Store) ApplyCapture(ctx context.Context, w trace.CaptureWrite) error {
	tx, err := s.db.W.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	moved := make(map[string][]any, len(w.Custody)) // item key → its gtin and serial, for code_refs
	for _, c := range w.Custody {
		table, key, ok := custodyOf(c.Key)
		if !ok {
			return fmt.Errorf("custody of %s: not a code key: %w", c.Key, trace.ErrInvalid)
		}
		where := "gtin = ? AND serial = ?"
		if table == "ssccs" {
			where = "sscc = ?"
		}
		res, err := tx.ExecContext(ctx, `UPDATE `+table+` SET state = ?, possessor = ?, pending_to = ?, container = ?,
			last_event_at = ?, version = ?, updated_at = ? WHERE `+where+` AND version = ?`,
			append([]any{string(c.State), c.Possessor, c.PendingTo, c.Container, sqlitedb.Millis(c.LastEventAt), c.Version,
				sqlitedb.Millis(time.Now())}, append(key, c.Version-1)...)...)
		if err != nil {
			return fmt.Errorf("custody of %s: %w", c.Key, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("custody of %s changed meanwhile: %w", c.Key, trace.ErrConflict)
		}
		if table == "codes" {
			moved[c.Key] = key
		}
	}
	if err := s.fault("custody"); err != nil {
		return err
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO events (id, type, action, biz_step, disposition, read_point, biz_location,
		event_time, record_time, captured_by, refs, parties, visible, raw) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO NOTHING`)
	if err != nil {
		return err
	}
	defer ins.Close()
	refs := newGroupedInsert(tx, 3, `INSERT OR IGNORE INTO event_refs (key, role, seq) VALUES `, ``)
	// The rows of the codes whose custody changed above.
	codeRefs := newGroupedInsert(tx, 5, `INSERT OR IGNORE INTO code_refs (code, role, seq, holder)
		SELECT c.id, v.column1, v.column2, v.column3 FROM (VALUES `, `) AS v JOIN codes c ON c.gtin = v.column4 AND c.serial = v.column5`)
	readers := newGroupedInsert(tx, 2, `INSERT OR IGNORE INTO event_readers (entity, seq) VALUES `, ``)
	var recorded time.Time
	if w.RecordTime != nil {
		recorded = w.RecordTime() // under the write lock: record times rise as commits do
	}
	for _, e := range w.Events {
		if w.RecordTime != nil {
			e.RecordTime = recorded
		}
		res, err := ins.ExecContext(ctx, e.ID, e.Type, e.Action, e.BizStep, e.Disposition, e.ReadPoint, e.BizLocation,
			sqlitedb.Millis(e.EventTime), sqlitedb.Millis(e.RecordTime), e.CapturedBy, mustJSON(e.Refs), mustJSON(e.Parties), mustJSON(e.Visible), []byte(e.Raw))
		if err != nil {
			return fmt.Errorf("store event %s: %w", e.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // stored before: capture is idempotent
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return err
		}
		var holder any // NULL unless the event has a sole holder
		if h := e.SoleHolder(); h != "" {
			holder = h
		}
		for _, r := range e.Refs {
			if err := refs.add(ctx, r.Key, r.Role, seq); err != nil {
				return fmt.Errorf("store references of %s: %w", e.ID, err)
			}
			if key, ok := moved[r.Key]; ok {
				if err := codeRefs.add(ctx, r.Role, seq, holder, key[0], key[1]); err != nil {
					return fmt.Errorf("store references of %s: %w", e.ID, err)
				}
			}
		}
		for _, v := range e.Visible {
			if err := readers.add(ctx, v, seq); err != nil {
				return fmt.Errorf("store readers of %s: %w", e.ID, err)
			}
		}
	}
	for _, g := range []*groupedInsert{refs, codeRefs, readers} {
		if err := g.flush(ctx); err != nil {
			return fmt.Errorf("store references: %w", err)
		}
	}
	if err := s.fault("events"); err != nil {
		return err
	}
	err = tx.Commit()
	s.tellCaptured(w)
	return err
}

// NotifyCaptures implements [scan.Captures]: every change of custody or
// events is a capture (ApplyCapture), and f hears of this process's.
func (s *Store) NotifyCaptures(f func(keys []string)) { s.captured.Store(&f) }

// ShareCaptures has the store count its captures in c, the counter every
// process with the data folder open shares, so that [Store.Captured]
// counts theirs too. Call it before the store is used. Without it
// Captured stays 0, and a resolver takes each capture it is told of for
// one it missed: it forgets all it kept, correct but of no use.
func (s *Store) ShareCaptures(c *sqlitedb.Counter) { s.shared = c }

// Captured implements [scan.Captures].
func (s *Store) Captured() uint64 {
	if s.shared == nil {
		return 0
	}
	return s.shared.Load()
}

// tellCaptured counts a committed (or failed) capture, then tells the
// NotifyCaptures function what it touched: its custody keys and its
// events' keys. Counting first makes a reader that sees the telling see
// the count too (see [scan.Captures]).
func (s *Store) tellCaptured(w trace.CaptureWrite) {
	if s.shared != nil {
		s.shared.Add()
	}
	f := s.captured.Load()
	if f == nil {
		return
	}
	var keys []string
	for _, c := range w.Custody {
		keys = append(keys, c.Key)
	}
	for _, e := range w.Events {
		for _, r := range e.Refs {
			keys = append(keys, r.Key)
		}
	}
	(*f)(keys)
}

// fault is a test's hook into ApplyCapture's steps; nil in the service.
func (s *Store) fault(step string) error {
	if s.faults == nil {
		return nil
	}
	return s.faults(step)
}

const eventCols = `seq, id, type, action, biz_step, disposition, read_point, biz_location, event_time, record_time,
	captured_by, refs, parties, visible`

func scanEvent(withRaw bool) func(sqlitedb.Scanner) (trace.StoredEvent, error) {
	return func(row sqlitedb.Scanner) (trace.StoredEvent, error) {
		var e trace.StoredEvent
		var seq, et, rt int64
		var refs, parties, visible string
		dest := []any{&seq, &e.ID, &e.Type, &e.Action, &e.BizStep, &e.Disposition, &e.ReadPoint, &e.BizLocation, &et, &rt,
			&e.CapturedBy, &refs, &parties, &visible}
		var raw []byte
		if withRaw {
			dest = append(dest, &raw)
		}
		if err := row.Scan(dest...); err != nil {
			return trace.StoredEvent{}, err
		}
		e.EventTime, e.RecordTime, e.Raw = sqlitedb.FromMillis(et), sqlitedb.FromMillis(rt), raw
		for _, f := range []struct {
			s string
			v any
		}{{refs, &e.Refs}, {parties, &e.Parties}, {visible, &e.Visible}} {
			if err := json.Unmarshal([]byte(f.s), f.v); err != nil {
				return trace.StoredEvent{}, fmt.Errorf("event %s: %w", e.ID, err)
			}
		}
		return e, nil
	}
}

// QueryEvents implements [trace.EventStore].
func (s *Store) QueryEvents(ctx context.Context, f trace.EventFilter, order trace.EventOrder, after *trace.EventCursor, limit int) ([]trace.StoredEvent, error) {
	var where []string
	var args []any
	in := func(col string, vals []string) {
		if len(vals) > 0 {
			where = append(where, col+` IN (`+sqlitedb.Marks(len(vals))+`)`)
			args = append(args, sqlitedb.Args(vals)...)
		}
	}
	in("type", f.Types)
	in("action", f.Actions)
	in("biz_step", f.BizSteps)
	in("disposition", f.Dispositions)
	in("biz_location", f.BizLocations)
	in("read_point", f.ReadPoints)
	in("id", f.EventIDs)
	refs := func(keys []string, roles ...string) {
		if len(keys) == 0 {
			return
		}
		where = append(where, `seq IN (SELECT seq FROM event_refs WHERE key IN (`+sqlitedb.Marks(len(keys))+`) AND role IN (`+sqlitedb.Marks(len(roles))+`))`)
		args = append(args, sqlitedb.Args(keys)...)
		args = append(args, sqlitedb.Args(roles)...)
	}
	refs(f.EPCs, trace.RoleEPC)
	refs(f.AnyEPCs, trace.RoleEPC, trace.RoleParent, trace.RoleChild, trace.RoleInput, trace.RoleOutput)
	refs(f.Parents, trace.RoleParent)
	refs(f.Inputs, trace.RoleInput)
	refs(f.Outputs, trace.RoleOutput)
	refs(f.Classes, trace.RoleClass, trace.RoleChildClass, trace.RoleInputClass, trace.RoleOutputClass)
	span := func(col string, from, to time.Time) {
		if !from.IsZero() {
			where = append(where, col+` >= ?`)
			args = append(args, sqlitedb.Millis(from))
		}
		if !to.IsZero() {
			where = append(where, col+` < ?`)
			args = append(args, sqlitedb.Millis(to))
		}
	}
	span("event_time", f.EventTimeFrom, f.EventTimeTo)
	span("record_time", f.RecordTimeFrom, f.RecordTimeTo)
	if f.VisibleTo != "" {
		where = append(where, `seq IN (SELECT seq FROM event_readers WHERE entity = ?)`)
		args = append(args, f.VisibleTo)
	}
	col := "record_time"
	if order == trace.ByEventTime {
		col = "event_time"
	}
	if after != nil {
		where = append(where, `(`+col+` > ? OR (`+col+` = ? AND id > ?))`)
		args = append(args, sqlitedb.Millis(after.Time), sqlitedb.Millis(after.Time), after.ID)
	}
	q := `SELECT ` + eventCols + `, raw FROM events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	rows, err := s.db.R.QueryContext(ctx, q+` ORDER BY `+col+`, id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	return sqlitedb.Collect(rows, scanEvent(true))
}

// EventsByKeys implements [trace.EventStore].
func (s *Store) EventsByKeys(ctx context.Context, keys []string, limit int) ([]trace.StoredEvent, error) {
	return s.eventsByKeys(ctx, keys, limit, eventCols, scanEvent(false))
}

const headerCols = `seq, id, type, action, biz_step, disposition, read_point, biz_location, event_time, record_time, captured_by`

func scanHeader(row sqlitedb.Scanner) (trace.StoredEvent, error) {
	var e trace.StoredEvent
	var seq, et, rt int64
	err := row.Scan(&seq, &e.ID, &e.Type, &e.Action, &e.BizStep, &e.Disposition, &e.ReadPoint, &e.BizLocation, &et, &rt, &e.CapturedBy)
	e.EventTime, e.RecordTime = sqlitedb.FromMillis(et), sqlitedb.FromMillis(rt)
	return e, err
}

// EventHeaders implements [trace.EventStore].
func (s *Store) EventHeaders(ctx context.Context, keys []string, limit int) ([]trace.StoredEvent, error) {
	return s.eventsByKeys(ctx, keys, limit, headerCols, scanHeader)
}

// eventsByKeys reads the columns cols of the events naming any of keys,
// in chunks of keys, without repeats, at most limit.
func (s *Store) eventsByKeys(ctx context.Context, keys []string, limit int, cols string,
	scan func(sqlitedb.Scanner) (trace.StoredEvent, error)) ([]trace.StoredEvent, error) {
	var out []trace.StoredEvent
	seen := map[string]bool{}
	for start := 0; start < len(keys) && len(out) < limit; start += 500 {
		part := keys[start:min(start+500, len(keys))]
		rows, err := s.db.R.QueryContext(ctx, `SELECT `+cols+` FROM events WHERE seq IN
			(SELECT seq FROM event_refs WHERE key IN (`+sqlitedb.Marks(len(part))+`)) ORDER BY seq LIMIT ?`,
			append(sqlitedb.Args(part), limit-len(out))...)
		if err != nil {
			return nil, err
		}
		list, err := sqlitedb.Collect(rows, scan)
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			if !seen[e.ID] {
				seen[e.ID] = true
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// SaveCaptureJob implements [trace.EventStore].
func (s *Store) SaveCaptureJob(ctx context.Context, j trace.CaptureJob) error {
	_, err := s.db.W.ExecContext(ctx, `INSERT INTO capture_jobs (id, owner_id, job) VALUES (?,?,?)
		ON CONFLICT(id) DO UPDATE SET job = excluded.job`, j.ID, j.OwnerID, mustJSON(jobDoc(j)))
	return err
}

// jobDoc is a capture job as stored: its JSON form plus the owner.
func jobDoc(j trace.CaptureJob) any {
	return struct {
		trace.CaptureJob
		Owner string `json:"owner"`
	}{j, j.OwnerID}
}

// CaptureJob implements [trace.EventStore].
func (s *Store) CaptureJob(ctx context.Context, id string) (trace.CaptureJob, error) {
	var doc string
	if err := s.db.R.QueryRowContext(ctx, `SELECT job FROM capture_jobs WHERE id = ?`, id).Scan(&doc); err != nil {
		return trace.CaptureJob{}, translate(err, nil)
	}
	var j struct {
		trace.CaptureJob
		Owner string `json:"owner"`
	}
	if err := json.Unmarshal([]byte(doc), &j); err != nil {
		return trace.CaptureJob{}, fmt.Errorf("capture job %s: %w", id, err)
	}
	j.CaptureJob.OwnerID = j.Owner
	return j.CaptureJob, nil
}

// linking are the event types whose references a walk follows from one to
// another, so WalkEvents reads all their references.
const linking = `'AggregationEvent', 'TransformationEvent'`

// walkRoles numbers the roles in the walk query, in the order of
// trace.Roles (NULL for any other).
var walkRoles = func() string {
	q := "CASE r.role"
	for i, role := range trace.Roles {
		q += fmt.Sprintf(" WHEN '%s' THEN %d", role, i)
	}
	return q + " END"
}()

// walkPart is how many keys one walk query reads the events of.
const walkPart = 2048

// walkQuery reads the events naming the entries asked for, given as two
// JSON lists of one length: the first has the keys to find in event_refs,
// the second the codes.id of the codes to find in code_refs, each null
// where the other has the entry. Each event comes once, with the entries
// it names as numbers: 16 times the entry's index plus its role's (see
// walkRoles; 5 and above are class-level roles, whose quantities are in
// the refs column). When the third argument is true, the references in
// code_refs that have a holder do not come with their events: they come
// last, one row per holder, with a negative seq and no event read.
var walkQuery = `WITH r(seq, code, holder) AS MATERIALIZED (
			SELECT r.seq, k.key * 16 + ` + walkRoles + `, NULL
			FROM json_each(?1) k JOIN event_refs r ON r.key = k.value
			UNION ALL
			SELECT r.seq, k.key * 16 + ` + walkRoles + `, CASE WHEN ?3 THEN r.holder END
			FROM json_each(?2) k JOIN code_refs r ON r.code = k.value),
		t(seq, touched, class) AS (
			SELECT seq, group_concat(code, ' '), max(code % 16 >= 5) FROM r
			WHERE code IS NOT NULL AND holder IS NULL GROUP BY seq)
	SELECT t.seq, t.touched, e.id, e.type, e.biz_step, e.biz_location, e.event_time, e.captured_by, e.parties,
		CASE WHEN e.type IN (` + linking + `) OR t.class THEN e.refs END
	FROM t JOIN events e ON e.seq = t.seq
	UNION ALL
	SELECT -min(seq), group_concat(code, ' '), '', 'ObjectEvent', '', '', 0, holder, '[]', NULL
	FROM r WHERE code IS NOT NULL AND holder IS NOT NULL GROUP BY holder`

// WalkEvents implements [trace.EventStore] with one query (walkQuery) per
// walkPart keys: the (key, role, seq) rows of event_refs for the keys, or
// of code_refs for the codes whose Seq is given (codes.id), which their
// primary keys serve without reading events, grouped by event
// inside SQLite (keys and roles as numbers); then each such event's header
// once, with its references only when a walk needs them (linking events,
// and class-level references, whose quantity is in the refs column). Only
// these header fields are read: ID, Type, BizStep, BizLocation, EventTime,
// CapturedBy and Parties. With merge, a code's references that name their
// event's sole holder come merged by holder, read from code_refs alone: a
// wide walk's sold units need no event read and no row each. When more
// than half of the read pool is idle, two parts are read at once, on two
// connections.
func (s *Store) WalkEvents(ctx context.Context, keys, seqs []string, merge bool, limit int) ([]trace.WalkEvent, error) {
	if seqs != nil && len(seqs) != len(keys) {
		return nil, fmt.Errorf("walk events: %d keys and %d seqs: %w", len(keys), len(seqs), trace.ErrInvalid)
	}
	var parts [][2]int
	for start := 0; start < len(keys); start += walkPart {
		parts = append(parts, [2]int{start, min(start+walkPart, len(keys))})
	}
	found := make([][]walkRow, len(parts))
	workers := 1
	if st := s.db.R.Stats(); len(parts) > 1 && st.InUse <= st.MaxOpenConnections/2 {
		workers = 2
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for p := w; p < len(parts); p += workers {
				if found[p], errs[w] = s.walkRead(ctx, keys, seqs, merge, parts[p][0], parts[p][1]); errs[w] != nil {
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	total := 0
	for _, rows := range found {
		total += len(rows)
	}
	out := make([]trace.WalkEvent, 0, min(total, limit))
	index := make(map[int64]int, min(total, limit)) // seq → in out
	for _, rows := range found {
		for _, r := range rows {
			if r.Merged {
				if len(out) < limit {
					out = append(out, r.WalkEvent)
				}
				continue
			}
			if i, ok := index[r.seq]; ok {
				// Named by keys of an earlier part too.
				out[i].Touched = append(out[i].Touched, r.Touched...)
				continue
			}
			if len(out) < limit {
				index[r.seq] = len(out)
				out = append(out, r.WalkEvent)
			}
		}
	}
	return out, nil
}

// walkRow is one event walkRead found, with its seq.
type walkRow struct {
	trace.WalkEvent
	seq int64
}

// walkRead reads the events naming keys[from:to], by their codes' rows
// where seqs has them, merged by holder as WalkEvents says.
func (s *Store) walkRead(ctx context.Context, keys, seqs []string, merge bool, from, to int) ([]walkRow, error) {
	type asked struct{ key, role string }
	rowOf := func(i int) int64 { // codes.id of keys[i], 0 when not given
		if seqs == nil || seqs[i] == "" {
			return 0
		}
		id, err := strconv.ParseInt(seqs[i], 10, 64)
		if err != nil || id <= 0 {
			return 0
		}
		return id
	}
	// Codes by row, then other keys in key order, so that the lookups in
	// code_refs and event_refs each move through their index in one
	// direction and find their pages in the cache.
	order := make([]int, to-from)
	codeRows := make([]int64, to-from)
	for i := range order {
		order[i], codeRows[i] = from+i, rowOf(from+i)
	}
	slices.SortFunc(order, func(a, b int) int {
		ra, rb := codeRows[a-from], codeRows[b-from]
		switch {
		case ra != 0 && rb != 0:
			return cmp.Compare(ra, rb)
		case ra != 0 || rb != 0:
			return cmp.Compare(rb, ra) // codes by row first
		}
		return strings.Compare(keys[a], keys[b])
	})
	// A list with no entry to find is sent empty rather than all nulls.
	byKey, byRow := make([]any, len(order)), make([]any, len(order)) // nil is JSON null
	byCode := 0
	for i, k := range order {
		if r := codeRows[k-from]; r != 0 {
			byRow[i] = r
			byCode++
		} else {
			byKey[i] = keys[k]
		}
	}
	switch byCode {
	case 0:
		byRow = []any{}
	case len(order):
		byKey = []any{}
	}
	keyList, err := json.Marshal(byKey)
	if err != nil {
		return nil, err
	}
	rowList, err := json.Marshal(byRow)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.R.QueryContext(ctx, walkQuery, string(keyList), string(rowList), merge)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]walkRow, 0, to-from+64) // most keys have an event or two
	for rows.Next() {
		var e walkRow
		var et int64
		var touched string
		var parties []byte
		var refs sql.RawBytes
		if err := rows.Scan(&e.seq, &touched, &e.ID, &e.Type, &e.BizStep, &e.BizLocation, &et, &e.CapturedBy, &parties, &refs); err != nil {
			return nil, err
		}
		if e.Merged = e.seq < 0; !e.Merged { // else a holder's references, of no one event
			e.EventTime = sqlitedb.FromMillis(et)
		}
		if err := jsonList(parties, &e.Parties); err != nil {
			return nil, fmt.Errorf("event %s: %w", e.ID, err)
		}
		e.Touched = make([]trace.EventRef, 0, strings.Count(touched, " ")+1)
		for f := range strings.FieldsSeq(touched) {
			code, err := strconv.Atoi(f)
			ki, role := code/16, code%16
			if err == nil && ki < len(order) && role < len(trace.Roles) {
				e.Touched = append(e.Touched, trace.EventRef{Key: keys[order[ki]], Role: trace.Roles[role]})
			}
		}
		if refs != nil {
			var all []trace.EventRef
			if all, err = decodeRefs(refs); err != nil {
				return nil, fmt.Errorf("event %s: %w", e.ID, err)
			}
			want := make(map[asked]bool, len(e.Touched))
			for _, t := range e.Touched {
				want[asked{t.Key, t.Role}] = true
			}
			e.Touched = e.Touched[:0]
			for _, r := range all {
				if want[asked{r.Key, r.Role}] {
					e.Touched = append(e.Touched, r) // with its quantity
				}
			}
			if e.Type == "AggregationEvent" || e.Type == "TransformationEvent" {
				e.Refs = all
			}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// jsonList decodes a JSON list of strings as stored, with no work for the
// empty list most events have.
func jsonList(b []byte, v *[]string) error {
	if string(b) == "null" || string(b) == "[]" {
		*v = nil
		return nil
	}
	return json.Unmarshal(b, v)
}

// EventRaws implements [trace.EventStore], on the readers.
func (s *Store) EventRaws(ctx context.Context, ids []string) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(ids))
	for start := 0; start < len(ids); start += 500 {
		part := ids[start:min(start+500, len(ids))]
		rows, err := s.db.R.QueryContext(ctx, `SELECT id, raw FROM events WHERE id IN (`+sqlitedb.Marks(len(part))+`)`, sqlitedb.Args(part)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var raw []byte
			if err := rows.Scan(&id, &raw); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = raw
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Possessors implements [trace.EventStore], on the readers: item codes by
// GTIN with serial IN lists on codes_key, SSCCs by their unique index.
func (s *Store) Possessors(ctx context.Context, keys []string) (map[string]string, error) {
	serials := map[string][]string{} // GTIN → serials
	var ssccs []string
	for _, k := range keys {
		table, args, ok := custodyOf(k)
		switch {
		case !ok:
		case table == "ssccs":
			ssccs = append(ssccs, args[0].(string))
		default:
			g := args[0].(string)
			serials[g] = append(serials[g], args[1].(string))
		}
	}
	out := map[string]string{}
	read := func(q string, prefix string, args []any) error {
		rows, err := s.db.R.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, who string
			if err := rows.Scan(&id, &who); err != nil {
				return err
			}
			out[prefix+id] = who
		}
		return rows.Err()
	}
	for g, list := range serials {
		for start := 0; start < len(list); start += 500 {
			part := list[start:min(start+500, len(list))]
			if err := read(`SELECT serial, possessor FROM codes WHERE gtin = ? AND serial IN (`+sqlitedb.Marks(len(part))+`) AND possessor != ''`,
				"01/"+g+"/21/", append([]any{g}, sqlitedb.Args(part)...)); err != nil {
				return nil, err
			}
		}
	}
	for start := 0; start < len(ssccs); start += 500 {
		part := ssccs[start:min(start+500, len(ssccs))]
		if err := read(`SELECT sscc, possessor FROM ssccs WHERE sscc IN (`+sqlitedb.Marks(len(part))+`) AND possessor != ''`,
			"00/", sqlitedb.Args(part)); err != nil {
			return nil, err
		}
	}
	return out, nil
}
