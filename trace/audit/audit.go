// Package audit keeps the append-only audit log of officials' actions and
// key issuance. Each record carries the HMAC-SHA256, under a key kept
// outside the database, of its content and the hash of the record before
// it: whoever can edit the database but not read the key cannot alter,
// insert or rewrite records without breaking the chain, which
// [Log.Verify] walks. Deleting the newest records leaves a valid chain,
// so [Log.Checkpoint] hands officials a signed head (sequence and hash)
// to keep; [Log.VerifyCheckpoint] later shows a log that no longer
// reaches it.
//
// Records written before the chain was keyed carry a plain SHA-256
// ("legacy"); they are accepted only before the first keyed record.
package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	key   []byte             // HMAC key of the chain
	sign  ed25519.PrivateKey // signs checkpoints; derived from key
	mu    sync.Mutex         // serialises appends in this process; the store's unique Seq guards across processes
}

// KeySize is the size of the chain key, in bytes.
const KeySize = 32

// NewLog returns a Log over store whose chain is keyed with key (KeySize
// random bytes, kept outside the database: see keyfile). Every process
// appending to one store must use the same key.
func NewLog(store Store, now trace.Clock, key []byte) (*Log, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("audit: the chain key is %d bytes, want %d", len(key), KeySize)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("tracesvc audit checkpoint signing key v1"))
	return &Log{store: store, now: now, key: key, sign: ed25519.NewKeyFromSeed(m.Sum(nil))}, nil
}

// keyedPrefix marks a keyed chain hash; a bare hex hash is legacy.
const keyedPrefix = "hmac-sha256:"

// Request describes a request for the audit policy.
type Request struct {
	Write     bool // it changes something (not a read)
	IssuesKey bool // it issues an API key (creating a key or an entity with its first key)
	Succeeded bool // it was answered with a success status
	// Compliance marks a change of a compliance record (a standards
	// declaration, an incident report), audited whoever makes it.
	Compliance bool
}

// Records says whether the audit log records a request by p: every write
// by an official, whatever its outcome, and every key issued and every
// compliance record changed, by anyone.
func Records(p trace.Principal, r Request) bool {
	if !r.Write {
		return false
	}
	return p.IsOfficial() || ((r.IssuesKey || r.Compliance) && r.Succeeded)
}

// Hash returns the chain hash of r under the log's key: "hmac-sha256:"
// and the hex HMAC-SHA256 of a canonical JSON encoding of every field but
// Hash itself, PrevHash included.
func (l *Log) Hash(r Record) string {
	m := hmac.New(sha256.New, l.key)
	m.Write(canonical(r))
	return keyedPrefix + hex.EncodeToString(m.Sum(nil))
}

// LegacyHash is the unkeyed hash of records written before the chain was
// keyed: the hex SHA-256 of the same canonical encoding.
func LegacyHash(r Record) string {
	sum := sha256.Sum256(canonical(r))
	return hex.EncodeToString(sum[:])
}

// canonical is the encoding a record's hash covers.
func canonical(r Record) []byte {
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
	return b
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
		r.Hash = l.Hash(r)
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

// ErrWrongKey is [Log.CheckKey]'s answer for a log keyed with another key.
var ErrWrongKey = errors.New("audit: the newest record was not written with this chain key")

// CheckKey tells whether the log's newest keyed record was written with
// this log's key. A process started with another key (a sibling on the
// same database without the shared TRACESVC_AUDIT_KEY, or a key file that
// was replaced) would append records that break the chain; it should not
// start. An empty or legacy log passes.
func (l *Log) CheckKey(ctx context.Context) error {
	last, err := l.store.LastRecord(ctx)
	switch {
	case errors.Is(err, trace.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("audit: read chain head: %w", err)
	case !strings.HasPrefix(last.Hash, keyedPrefix) || hmac.Equal([]byte(l.Hash(last)), []byte(last.Hash)):
		return nil
	}
	return fmt.Errorf("%w (record %d)", ErrWrongKey, last.Seq)
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

// Verification is the result of [Log.Verify] and [Log.VerifyCheckpoint].
type Verification struct {
	OK      bool   `json:"ok"`
	Records int64  `json:"records"`          // records checked
	Legacy  int64  `json:"legacy,omitempty"` // of which written before the chain was keyed
	Head    string `json:"head,omitempty"`   // hash of the last record checked
	Broken  int64  `json:"broken,omitempty"` // Seq of the first broken record
	Reason  string `json:"reason,omitempty"`
	// Checkpoint is the Seq of the checkpoint the log was verified
	// against, when it was.
	Checkpoint int64 `json:"checkpoint,omitempty"`
}

// Verify walks the whole chain from the first record, recomputing each
// keyed hash and link, and reports the first record that does not hold.
func (l *Log) Verify(ctx context.Context) (Verification, error) {
	v, _, err := l.verify(ctx, 0)
	return v, err
}

// verify is Verify that also returns the hash of record seq, when the
// chain reaches it.
func (l *Log) verify(ctx context.Context, seq int64) (Verification, string, error) {
	const batch = 1000
	var v Verification
	prev := Record{}
	keyed := false
	hashAt := ""
	for {
		recs, err := l.store.ListRecords(ctx, prev.Seq, batch)
		if err != nil {
			return Verification{}, "", fmt.Errorf("audit: verify: %w", err)
		}
		for _, r := range recs {
			reason := ""
			legacy := !strings.HasPrefix(r.Hash, keyedPrefix)
			switch {
			case r.Seq != prev.Seq+1:
				reason = fmt.Sprintf("sequence jumps from %d to %d: records are missing", prev.Seq, r.Seq)
			case r.PrevHash != prev.Hash:
				reason = "prevHash does not match the hash of the record before"
			case legacy && keyed:
				reason = "an unkeyed record after keyed ones: the chain was rewritten"
			case legacy && LegacyHash(r) != r.Hash, !legacy && !hmac.Equal([]byte(l.Hash(r)), []byte(r.Hash)):
				reason = "record content does not match its hash: it was altered, or hashed without the chain key"
			}
			if reason != "" {
				v.Broken, v.Reason = r.Seq, reason
				return v, hashAt, nil
			}
			keyed = keyed || !legacy
			if legacy {
				v.Legacy++
			}
			v.Records++
			v.Head = r.Hash
			if r.Seq == seq {
				hashAt = r.Hash
			}
			prev = r
		}
		if len(recs) < batch {
			v.OK = true
			return v, hashAt, nil
		}
	}
}

// Checkpoint is a signed statement of the chain's head: the log held
// record Seq with hash Hash at time At. An official keeps it and later
// hands it back to [Log.VerifyCheckpoint]; anyone can check Signature
// (Ed25519 over [Checkpoint.Message]) with PublicKey.
type Checkpoint struct {
	Seq       int64     `json:"seq"`
	Hash      string    `json:"hash"`
	At        time.Time `json:"at"`
	Signature string    `json:"signature"` // base64
	PublicKey string    `json:"publicKey"` // base64 Ed25519 public key of this log
}

// Message is the text a checkpoint's signature covers.
func (c Checkpoint) Message() []byte {
	return []byte(fmt.Sprintf("tracesvc audit checkpoint v1\n%d\n%s\n%s\n", c.Seq, c.Hash, c.At.UTC().Format(time.RFC3339Nano)))
}

// PublicKey returns the base64 Ed25519 key that verifies this log's
// checkpoints.
func (l *Log) PublicKey() string {
	return base64.StdEncoding.EncodeToString(l.sign.Public().(ed25519.PublicKey))
}

// Checkpoint verifies the chain and signs its head. A broken chain gets
// no checkpoint: [trace.ErrConflict] says where it breaks.
func (l *Log) Checkpoint(ctx context.Context) (Checkpoint, error) {
	v, err := l.Verify(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	if !v.OK {
		return Checkpoint{}, fmt.Errorf("audit: the chain breaks at record %d (%s); no checkpoint is signed: %w", v.Broken, v.Reason, trace.ErrConflict)
	}
	c := Checkpoint{Seq: v.Records, Hash: v.Head, At: l.now.Now(), PublicKey: l.PublicKey()}
	c.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(l.sign, c.Message()))
	return c, nil
}

// VerifyCheckpoint verifies the chain and that it still holds the record
// a checkpoint signed by this log saw, with the same hash: a log cut back
// before the checkpoint, or rewritten up to it, fails. A checkpoint whose
// signature is not this log's is [trace.ErrInvalid].
func (l *Log) VerifyCheckpoint(ctx context.Context, c Checkpoint) (Verification, error) {
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil || !ed25519.Verify(l.sign.Public().(ed25519.PublicKey), c.Message(), sig) {
		return Verification{}, trace.Invalid("signature", "the checkpoint was not signed by this audit log, or was changed after signing")
	}
	v, hashAt, err := l.verify(ctx, c.Seq)
	if err != nil || !v.OK {
		return v, err
	}
	v.Checkpoint = c.Seq
	switch {
	case v.Records < c.Seq:
		v.OK, v.Broken = false, v.Records+1
		v.Reason = fmt.Sprintf("the log ends at record %d but the checkpoint of %s saw record %d: records were deleted",
			v.Records, c.At.UTC().Format(time.RFC3339), c.Seq)
	case hashAt != c.Hash:
		v.OK, v.Broken = false, c.Seq
		v.Reason = fmt.Sprintf("record %d is not the one the checkpoint saw: the log was rewritten", c.Seq)
	}
	return v, nil
}
