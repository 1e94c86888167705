package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/cmd/wire"
	"tracesvc/handlers"
	"tracesvc/recall"
	"tracesvc/trace"
	"tracesvc/trace/access"
	"tracesvc/trace/gs1"
	"tracesvc/trace/mongotest"
	"tracesvc/trace/scan"
	"tracesvc/trace/schemamongo"
	"tracesvc/trace/sqlitedb"
	"tracesvc/trace/uscc"
)

var mongoSrv *mongotest.Server

// TestMain starts one embedded MongoDB-wire server (FerretDB) for the
// tests that run on both backends.
func TestMain(m *testing.M) { os.Exit(mongotest.Run(m, &mongoSrv)) }

// env is a service over a fresh store, with a regulator key.
type env struct {
	t        testing.TB
	h        http.Handler
	db       *sqlitedb.DB    // the embedded database; nil on MongoDB
	mdb      *mongo.Database // the MongoDB database; nil on SQLite
	resolver *scan.Resolver
	reg      string // regulator key
	keys     *access.Service
	serial   *atomic.Int64
	st       wire.Stores  // the stores under the service, to set up what requests cannot
	codes    *trace.Codes // its process is named testInstance
	outbox   *recall.Outbox
}

// testInstance names the process of every test service to its issuances.
const testInstance = "handlers-test"

// backends are the stores the tests that run on both backends use.
var backends = []string{"sqlite", "mongo"}

// eachBackend runs test on the embedded store and on MongoDB (FerretDB).
func eachBackend(t *testing.T, test func(t *testing.T, backend string)) {
	for _, b := range backends {
		t.Run(b, func(t *testing.T) { test(t, b) })
	}
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvOn(t, "sqlite", 0, 0)
}

// newLimitedEnv is newEnv with rate limits for anonymous callers: rps
// requests per second with burst (0 turns them off), and tip-offs at 5
// per minute.
func newLimitedEnv(t testing.TB, rps float64, burst int) *env {
	t.Helper()
	return newEnvOn(t, "sqlite", rps, burst)
}

// newEnvOn builds the service with cmd/wire, the wiring cmd/tracesvc
// uses, on a fresh database of backend ("sqlite" or "mongo").
func newEnvOn(t testing.TB, backend string, rps float64, burst int) *env {
	t.Helper()
	return newEnvWith(t, backend, func(o *wire.Options) {
		o.PublicLimit, o.TipoffLimit = handlers.RateLimit{PerSecond: rps, Burst: burst}, tipoffLimit(rps)
	})
}

// newEnvWith is newEnvOn with the options adjust sets. The test service
// lets entities without a company prefix register GTINs, and batches
// without a published declaration, unless adjust says otherwise: most
// tests are about something else. When adjust sets Metrics, the store's
// operations are timed into it, as cmd/tracesvc does.
func newEnvWith(t testing.TB, backend string, adjust func(*wire.Options)) *env {
	t.Helper()
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	o := wire.Options{BaseURL: "https://id.example.cn", MaxScans: 5, SecretKey: bytes.Repeat([]byte{7}, 32),
		FingerprintKey: []byte("test-key"), GTINsWithoutPrefix: true, AuditKey: bytes.Repeat([]byte{9}, 32),
		Instance: testInstance, DeclarationGated: []trace.Category{}}
	adjust(&o)
	var st wire.Stores
	var db *sqlitedb.DB
	var mdb *mongo.Database
	var err error
	switch backend {
	case "sqlite":
		cfg := sqlitedb.Config{}
		if o.Metrics != nil {
			cfg.Observe = wire.StoreTimer(o.Metrics, "sqlite", sqlitedb.Ops)
		}
		if db, err = sqlitedb.OpenConfig(ctx, t.TempDir(), cfg); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		st, err = wire.SQLite(ctx, db)
	case "mongo":
		mdb = mongoSrv.Database(t)
		if o.Metrics != nil {
			mdb = timedMongo(t, mdb, wire.StoreTimer(o.Metrics, "mongodb", schemamongo.Commands))
		}
		st, err = wire.Mongo(ctx, mdb)
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	if err != nil {
		t.Fatal(err)
	}
	svc, err := wire.Build(st, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Resolver.Close(context.Background()) })
	_, secret, _, err := svc.Access.Bootstrap(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, h: svc.Handler, db: db, mdb: mdb, resolver: svc.Resolver, reg: secret, keys: svc.Access,
		serial: new(atomic.Int64), st: st, codes: svc.Codes, outbox: svc.Outbox}
}

// timedMongo opens db again on a client of its own whose commands are
// timed by observe (the test binary's shared client has no monitor).
func timedMongo(t testing.TB, db *mongo.Database, observe func(string, time.Duration)) *mongo.Database {
	t.Helper()
	client, err := mongo.Connect(options.Client().ApplyURI(mongoSrv.URI).SetMonitor(schemamongo.CommandMonitor(observe)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Disconnect(context.Background()) })
	return client.Database(db.Name())
}

// replica builds a second service on e's stores, as another process
// sharing the database would be; it has its own caches.
func (e *env) replica(t testing.TB) *env {
	t.Helper()
	o := wire.Options{BaseURL: "https://id.example.cn", MaxScans: 5, SecretKey: bytes.Repeat([]byte{7}, 32),
		FingerprintKey: []byte("test-key"), GTINsWithoutPrefix: true, AuditKey: bytes.Repeat([]byte{9}, 32),
		Instance: testInstance + "-replica", DeclarationGated: []trace.Category{}}
	svc, err := wire.Build(e.st, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Resolver.Close(context.Background()) })
	r := *e
	r.t, r.h, r.resolver, r.keys, r.codes, r.outbox = t, svc.Handler, svc.Resolver, svc.Access, svc.Codes, svc.Outbox
	return &r
}

// response is a recorded reply.
type response struct {
	Code int
	Body []byte
	Hdr  http.Header
}

// JSON decodes the body into a map.
func (r response) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// apiErr returns the error member of an error body.
func (r response) apiErr() struct{ Code, Message, Field string } {
	var b struct {
		Error struct{ Code, Message, Field string }
	}
	_ = json.Unmarshal(r.Body, &b)
	return b.Error
}

// errCode returns the error code of an error body.
func (r response) errCode() string { return r.apiErr().Code }

// errField returns the field an error body names.
func (r response) errField() string { return r.apiErr().Field }

// errMessage returns the message of an error body.
func (r response) errMessage() string { return r.apiErr().Message }

func (e *env) do(method, path, key string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req := httptest.NewRequest(method, path, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return response{Code: rec.Code, Body: rec.Body.Bytes(), Hdr: rec.Header()}
}

// must asserts the status and returns the response.
func (e *env) must(status int, method, path, key string, body any) response {
	e.t.Helper()
	r := e.do(method, path, key, body)
	if r.Code != status {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Code, status, r.Body)
	}
	return r
}

// validUSCC returns the n-th valid test USCC.
func validUSCC(t testing.TB, n int64) string {
	t.Helper()
	first := fmt.Sprintf("91120116MA%07d", n)
	c, err := uscc.CheckChar(first)
	if err != nil {
		t.Fatal(err)
	}
	return first + string(c)
}

// gtin returns the n-th valid GTIN-14 under the test company prefix.
func gtin(t testing.TB, n int) string {
	t.Helper()
	first := fmt.Sprintf("0690123%06d", n)
	c, err := gs1.CheckDigit(first)
	if err != nil {
		t.Fatal(err)
	}
	return first + string(c)
}

// newEntity registers an entity and returns its id and key.
func (e *env) newEntity(kinds ...string) (id, key string) {
	e.t.Helper()
	if len(kinds) == 0 {
		kinds = []string{"manufacturer"}
	}
	n := e.serial.Add(1)
	r := e.must(http.StatusCreated, "POST", "/api/v1/entities", e.reg, map[string]any{
		"name": fmt.Sprintf("Entity %d", n), "uscc": validUSCC(e.t, n), "kinds": kinds,
		"region": "Tianjin", "address": "No. 1 Test Road",
	})
	m := r.JSON()
	return m["entity"].(map[string]any)["id"].(string), m["key"].(string)
}

// newProduct registers product n for the entity with key.
func (e *env) newProduct(key string, n int) string {
	e.t.Helper()
	g := gtin(e.t, n)
	e.must(http.StatusCreated, "POST", "/api/v1/products", key, map[string]any{
		"gtin": g, "name": fmt.Sprintf("Product %d", n), "category": "food"})
	return g
}

// with returns a copy of e that reports failures to t.
func (e *env) with(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

func tipoffLimit(rps float64) handlers.RateLimit {
	if rps == 0 {
		return handlers.RateLimit{}
	}
	return handlers.RateLimit{PerSecond: 5.0 / 60, Burst: 5}
}
