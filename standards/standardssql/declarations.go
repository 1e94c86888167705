package standardssql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"tracesvc/standards"
	"tracesvc/trace"
	"tracesvc/trace/sqlitedb"
)

var _ standards.DeclarationStore = (*Store)(nil)

// declarationSchema keeps each declaration version as its JSON body, with
// the columns its searches filter on beside it: the entity, the status,
// the free-text search text, and in declaration_keys its GTINs and
// standard numbers. Standard texts are kept once per content.
var declarationSchema = []string{
	`CREATE TABLE IF NOT EXISTS declarations (
		id TEXT PRIMARY KEY,
		series TEXT NOT NULL,
		entity_id TEXT NOT NULL,
		status TEXT NOT NULL,
		search TEXT NOT NULL,
		body TEXT NOT NULL
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS declarations_series ON declarations(series, id)`,
	`CREATE INDEX IF NOT EXISTS declarations_entity ON declarations(entity_id, status, id)`,
	`CREATE INDEX IF NOT EXISTS declarations_status ON declarations(status, id)`,
	// kind is 'gtin' or 'number'.
	`CREATE TABLE IF NOT EXISTS declaration_keys (
		kind TEXT NOT NULL,
		value TEXT NOT NULL,
		declaration_id TEXT NOT NULL,
		PRIMARY KEY (kind, value, declaration_id)
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS declaration_keys_declaration ON declaration_keys(declaration_id)`,
	`CREATE TABLE IF NOT EXISTS standard_texts (
		sha256 TEXT PRIMARY KEY,
		pdf BLOB NOT NULL
	) WITHOUT ROWID`,
}

// writeKeys replaces the search keys of d.
func writeKeys(ctx context.Context, tx *sql.Tx, d standards.Declaration) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM declaration_keys WHERE declaration_id = ?`, d.ID); err != nil {
		return err
	}
	for kind, values := range map[string][]string{"gtin": d.GTINs(), "number": d.Numbers()} {
		for _, v := range values {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO declaration_keys (kind, value, declaration_id) VALUES (?, ?, ?)`,
				kind, v, d.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// CreateDeclaration implements [standards.DeclarationStore].
func (s *Store) CreateDeclaration(ctx context.Context, d standards.Declaration) error {
	body, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("standardssql: declaration %s: %w", d.ID, err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return translate(err, nil)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO declarations (id, series, entity_id, status, search, body) VALUES (?, ?, ?, ?, ?, ?)`,
		d.ID, d.Series, d.EntityID, string(d.Status), d.SearchText(), body); err != nil {
		return translate(err, map[string]string{"declarations.id": "id"})
	}
	if err := writeKeys(ctx, tx, d); err != nil {
		return translate(err, nil)
	}
	return translate(tx.Commit(), nil)
}

func scanDeclaration(row sqlitedb.Scanner) (standards.Declaration, error) {
	var body []byte
	if err := row.Scan(&body); err != nil {
		return standards.Declaration{}, err
	}
	var d standards.Declaration
	if err := json.Unmarshal(body, &d); err != nil {
		return standards.Declaration{}, fmt.Errorf("standardssql: a stored declaration does not read: %w", err)
	}
	return d, nil
}

// Declaration implements [standards.DeclarationStore].
func (s *Store) Declaration(ctx context.Context, id string) (standards.Declaration, error) {
	d, err := scanDeclaration(s.r.QueryRowContext(ctx, `SELECT body FROM declarations WHERE id = ?`, id))
	return d, translate(err, nil)
}

// ListDeclarations implements [standards.DeclarationStore].
func (s *Store) ListDeclarations(ctx context.Context, f standards.DeclarationFilter, p trace.Page) ([]standards.Declaration, error) {
	q := `SELECT body FROM declarations WHERE id > ?`
	args := []any{p.After}
	for _, c := range []struct{ col, v string }{{"entity_id", f.EntityID}, {"series", f.Series}} {
		if c.v != "" {
			q += ` AND ` + c.col + ` = ?`
			args = append(args, c.v)
		}
	}
	for _, k := range []struct{ kind, v string }{{"gtin", f.GTIN}, {"number", f.Number}} {
		if k.v != "" {
			q += ` AND id IN (SELECT declaration_id FROM declaration_keys WHERE kind = ? AND value = ?)`
			args = append(args, k.kind, k.v)
		}
	}
	if f.Query != "" {
		q += ` AND instr(search, ?) > 0`
		args = append(args, f.Query)
	}
	if len(f.Statuses) > 0 {
		q += ` AND status IN (` + sqlitedb.Marks(len(f.Statuses)) + `)`
		for _, st := range f.Statuses {
			args = append(args, string(st))
		}
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, p.Limit)...)
	if err != nil {
		return nil, translate(err, nil)
	}
	list, err := sqlitedb.Collect(rows, scanDeclaration)
	return list, translate(err, nil)
}

// UpdateDeclaration implements [standards.DeclarationStore].
func (s *Store) UpdateDeclaration(ctx context.Context, from standards.DeclarationStatus, d standards.Declaration) error {
	body, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("standardssql: declaration %s: %w", d.ID, err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return translate(err, nil)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE declarations SET status = ?, search = ?, body = ? WHERE id = ? AND status = ?`,
		string(d.Status), d.SearchText(), body, d.ID, string(from))
	if err != nil {
		return translate(err, nil)
	}
	if n, err := res.RowsAffected(); err != nil {
		return translate(err, nil)
	} else if n == 0 {
		var now string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM declarations WHERE id = ?`, d.ID).Scan(&now); err != nil {
			return translate(err, nil)
		}
		return fmt.Errorf("declaration %s is %s now, not %s: %w", d.ID, now, from, standards.ErrConflict)
	}
	if err := writeKeys(ctx, tx, d); err != nil {
		return translate(err, nil)
	}
	return translate(tx.Commit(), nil)
}

// PutText implements [standards.DeclarationStore].
func (s *Store) PutText(ctx context.Context, sha256 string, pdf []byte) error {
	_, err := s.w.ExecContext(ctx, `INSERT OR IGNORE INTO standard_texts (sha256, pdf) VALUES (?, ?)`, sha256, pdf)
	return translate(err, nil)
}

// Text implements [standards.DeclarationStore].
func (s *Store) Text(ctx context.Context, sha256 string) ([]byte, error) {
	var pdf []byte
	err := s.r.QueryRowContext(ctx, `SELECT pdf FROM standard_texts WHERE sha256 = ?`, sha256).Scan(&pdf)
	return pdf, translate(err, nil)
}
