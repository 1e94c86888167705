package handlers_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/cmd/wire"
)

// stallProxy forwards TCP connections to target until stall is set; then
// it stops passing bytes, as a partitioned network or a hung server would.
type stallProxy struct {
	ln    net.Listener
	stall atomic.Bool
	wg    sync.WaitGroup
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			pipe := func(dst, src net.Conn) {
				defer dst.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					for p.stall.Load() {
						time.Sleep(10 * time.Millisecond) // hold the bytes: nothing gets through
					}
					if n > 0 {
						if _, err := dst.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
	return p
}

// TestStoreOutageIs503 (issue 10, item 5): when MongoDB stops answering,
// requests fail within the client's timeout with 503 and Retry-After, on
// paths whose adapter names the outage and on those that pass the
// driver's error on, and the service answers again when it is back.
func TestStoreOutageIs503(t *testing.T) {
	u, err := url.Parse(mongoSrv.URI)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newStallProxy(t, u.Host)
	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + proxy.ln.Addr().String() + "/").
		SetTimeout(700 * time.Millisecond).SetServerSelectionTimeout(700 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Disconnect(context.Background()) })
	name := strings.NewReplacer("/", "_", " ", "_").Replace("outage_" + t.Name())
	db := client.Database(name)
	t.Cleanup(func() { mongoSrv.Client().Database(name).Drop(context.Background()) })
	st, err := wire.Mongo(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := wire.Build(st, wire.Options{BaseURL: "https://id.example.cn", SecretKey: bytes.Repeat([]byte{7}, 32),
		FingerprintKey: []byte("k"), AuditKey: bytes.Repeat([]byte{9}, 32), Instance: "outage", GTINsWithoutPrefix: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Resolver.Close(context.Background()) })
	_, admin, _, err := svc.Access.Bootstrap(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, h: svc.Handler, reg: admin, keys: svc.Access, serial: new(atomic.Int64), st: st}
	_, key := e.newEntity()
	e.newProduct(key, 1)

	proxy.stall.Store(true)
	for _, p := range []string{"/api/v1/products/" + gtin(t, 1), "/epcis/events", "/api/v1/alerts", "/api/v1/keys", "/api/v1/entities", "/api/v1/audit", "/api/v1/audit/verify", "/api/v1/trace/forward?gtin=" + gtin(t, 1) + "&lot=L1", "/api/v1/products/" + gtin(t, 1) + "/batches", "/01/" + gtin(t, 1), "/api/v1/tipoffs", "/api/v1/sscc"} {
		start := time.Now()
		k := key
		if strings.Contains(p, "audit") || strings.Contains(p, "tipoffs") {
			k = admin
		}
		r := e.do("GET", p, k, nil)
		if r.Code != 503 || r.errCode() != "unavailable" || r.Hdr.Get("Retry-After") == "" {
			t.Errorf("%s during the outage: %d %s", p, r.Code, r.Body)
			continue
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%s took %s to fail", p, d)
		}
		io.Discard.Write(r.Body)
	}
	proxy.stall.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if r := e.do("GET", "/api/v1/products/"+gtin(t, 1), key, nil); r.Code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the service did not recover after the outage")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
