package tracesql

import (
	"context"

	"tracesvc/trace/audit"
	"tracesvc/trace/sqlitedb"
)

const auditCols = `seq, at, actor, role, action, target, status, prev_hash, hash`

func scanRecord(row sqlitedb.Scanner) (audit.Record, error) {
	var r audit.Record
	var at int64
	err := row.Scan(&r.Seq, &at, &r.Actor, &r.Role, &r.Action, &r.Target, &r.Status, &r.PrevHash, &r.Hash)
	r.At = sqlitedb.FromMillis(at)
	return r, err
}

// AppendRecord implements [audit.Store].
func (s *Store) AppendRecord(ctx context.Context, r audit.Record) error {
	_, err := s.db.W.ExecContext(ctx, `INSERT INTO audit_log (`+auditCols+`) VALUES (?,?,?,?,?,?,?,?,?)`,
		r.Seq, sqlitedb.Millis(r.At), r.Actor, r.Role, r.Action, r.Target, r.Status, r.PrevHash, r.Hash)
	return translate(err, map[string]string{"audit_log.seq": "seq"})
}

// LastRecord implements [audit.Store].
func (s *Store) LastRecord(ctx context.Context) (audit.Record, error) {
	// Read on the writer: the next append must chain onto the latest commit.
	r, err := scanRecord(s.db.W.QueryRowContext(ctx, `SELECT `+auditCols+` FROM audit_log ORDER BY seq DESC LIMIT 1`))
	return r, translate(err, nil)
}

// ListRecords implements [audit.Store].
func (s *Store) ListRecords(ctx context.Context, after int64, limit int) ([]audit.Record, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+auditCols+` FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	return sqlitedb.Collect(rows, scanRecord)
}
