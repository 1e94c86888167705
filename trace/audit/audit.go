// Package audit keeps the append-only audit log of officials' actions and
// key issuance. Each record carries the SHA-256 of the record before it, so
// editing or deleting a stored record breaks the chain and [Log.Verify]
// finds the first broken link.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"tracesvc/trace"
)

// Record is one entry of the audit log.
type Record struct {
	Seq      int64     `json:"seq"` // 1, 2, 3, … with no gaps
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"` // principal, e.g. "regulator/key:…"
	Role     string    `json:"role"`
	Action   string    `json:"action"` // e.g. "POST /api/v1/entities"
	Target   string    `json:"target"` // what was acted on, e.g. "entity:…"
	Status   int       `json:"status,omitempty"`
	PrevHash string    `json:"prevHash"`
	Hash     string    `json:"hash"`
}

// Entry is what a caller appends; [Log] fills in the rest.
type Entry struct {
	Actor  string
	Role   string
	Action string
	Target string
	Status int
}

// Store is the storage [Log] needs, implemented by trace/tracesql and
// trace/tracemongo. Records are never updated or deleted through it.
type Store interface {
	// AppendRecord stores r; [trace.ErrConflict] when r.Seq is taken.
	AppendRecord(ctx context.Context, r Record) error
	// LastRecord returns the record with the highest Seq, or [trace.ErrNotFound].
	LastRecord(ctx context.Context) (Record, error)
	// ListRecords returns up to limit records with Seq > after, ascending.
	ListRecords(ctx context.Context, after int64, limit int) ([]Record, error)
}

// appendTimeout bounds one append, which outlives the request that asked for it.
const appendTimeout = 15 * time.Second

// Log appends to and verifies the audit chain.
type Log struct {
	store Store
	now   trace.Clock
	mu    sync.Mutex // serialises appends in this process; the store's unique Seq guards across processes
}

// NewLog returns a Log over store.
func NewLog(store Store, now trace.Clock) *Log {
	return &Log{store: store, now: now}
}

// Request describes a request for the audit policy.
type Request struct {
	Write     bool // it changes something (not a read)
	IssuesKey bool // it issues an API key (creating a key or an entity with its first key)
	Succeeded bool // it was answered with a success status
}

// Records says whether the audit log records a request by p: every write
// by an official, whatever its outcome, and every key issued to anyone.
func Records(p trace.Principal, r Request) bool {
	if !r.Write {
		return false
	}
	return p.IsOfficial() || (r.IssuesKey && r.Succeeded)
}

// Hash returns the chain hash of r: SHA-256 over a canonical JSON encoding
// of every field but Hash itself, PrevHash included.
func Hash(r Record) string {
	canon := struct {
		Seq      int64  `json:"seq"`
		At       string `json:"at"`
		Actor    string `json:"actor"`
		Role     string `json:"role"`
		Action   string `json:"action"`
		Target   string `json:"target"`
		Status   int    `json:"status"`
		PrevHash string `json:"prevHash"`
	}{r.Seq, r.At.UTC().Format(time.RFC3339Nano), r.Actor, r.Role, r.Action, r.Target, r.Status, r.PrevHash}
	b, _ := json.Marshal(canon) // a struct of strings and ints always marshals
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Append adds e to the end of the chain and returns the stored record. The
// append goes on when ctx is cancelled (a client that hangs up after an
// official's write must not keep that write out of the log), bounded by
// appendTimeout instead.
func (l *Log) Append(ctx context.Context, e Entry) (Record, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), appendTimeout)
	defer cancel()
	l.mu.Lock()
	defer l.mu.Unlock()
	for attempt := 0; ; attempt++ {
		last, err := l.store.LastRecord(ctx)
		switch {
		case errors.Is(err, trace.ErrNotFound):
			last = Record{}
		case err != nil:
			return Record{}, fmt.Errorf("audit: read chain head: %w", err)
		}
		r := Record{Seq: last.Seq + 1, At: l.now.Now(),
			Actor: e.Actor, Role: e.Role, Action: e.Action, Target: e.Target, Status: e.Status,
			PrevHash: last.Hash}
		r.Hash = Hash(r)
		err = l.store.AppendRecord(ctx, r)
		if err == nil {
			return r, nil
		}
		// Another instance appended the same Seq first: read the new head and retry.
		if !errors.Is(err, trace.ErrConflict) || attempt == 20 {
			return Record{}, fmt.Errorf("audit: append record %d: %w", r.Seq, err)
		}
	}
}

// List returns one page of records in chain order and the next cursor.
func (l *Log) List(ctx context.Context, p trace.Page) ([]Record, string, error) {
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	var after int64
	if p.After != "" {
		if after, err = strconv.ParseInt(p.After, 10, 64); err != nil || after < 0 {
			return nil, "", trace.Invalid("cursor", "is not a cursor this list returned")
		}
	}
	recs, err := l.store.ListRecords(ctx, after, p.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("audit: list: %w", err)
	}
	return trace.PageOf(recs, p.Limit, func(r Record) string { return strconv.FormatInt(r.Seq, 10) })
}

// Verification is the result of [Log.Verify].
type Verification struct {
	OK      bool   `json:"ok"`
	Records int64  `json:"records"`          // records checked
	Head    string `json:"head,omitempty"`   // hash of the last record checked
	Broken  int64  `json:"broken,omitempty"` // Seq of the first broken record
	Reason  string `json:"reason,omitempty"`
}

// Verify walks the whole chain from the first record, recomputing each
// hash and link, and reports the first record that does not hold.
func (l *Log) Verify(ctx context.Context) (Verification, error) {
	const batch = 1000
	var v Verification
	prev := Record{}
	for {
		recs, err := l.store.ListRecords(ctx, prev.Seq, batch)
		if err != nil {
			return Verification{}, fmt.Errorf("audit: verify: %w", err)
		}
		for _, r := range recs {
			reason := ""
			switch {
			case r.Seq != prev.Seq+1:
				reason = fmt.Sprintf("sequence jumps from %d to %d: records are missing", prev.Seq, r.Seq)
			case r.PrevHash != prev.Hash:
				reason = "prevHash does not match the hash of the record before"
			case Hash(r) != r.Hash:
				reason = "record content does not match its hash: it was altered"
			}
			if reason != "" {
				v.Broken, v.Reason = r.Seq, reason
				return v, nil
			}
			v.Records++
			v.Head = r.Hash
			prev = r
		}
		if len(recs) < batch {
			v.OK = true
			return v, nil
		}
	}
}
