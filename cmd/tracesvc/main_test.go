package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tracesvc/trace/mongotest"
)

// syncBuffer is a bytes.Buffer safe for the service and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// instance is the service started by run in this process.
type instance struct {
	base           string
	stdout, stderr *syncBuffer
	stop           func() error
}

func start(t testing.TB, env map[string]string, args ...string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), func(k string) string { return env[k] }, in.stdout, in.stderr)
	}()
	var once sync.Once
	var stopErr error
	in.stop = func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}
	t.Cleanup(func() { in.stop() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(in.stdout.String()))
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				in.base = "http://" + line.Addr
				return in
			}
		}
		select {
		case err := <-done:
			done <- err // for the cleanup's stop, which would wait for it forever
			t.Fatalf("run ended before listening: %v\nstdout: %s\nstderr: %s", err, in.stdout, in.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("service did not start: %s", in.stdout)
	return nil
}

func (in *instance) call(t testing.TB, method, path, key, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, in.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// declare declares and publishes the standards of the food product with
// gtin, which registering its batches needs.
func declare(t *testing.T, call func(t testing.TB, method, path, key, body string) (int, map[string]any), key, gtin string) {
	t.Helper()
	code, body := call(t, "POST", "/api/v1/declarations", key, `{"gtins":["`+gtin+`"],"standards":[
		{"type":"GB","number":"GB 25190-2010","name":"食品安全国家标准 灭菌乳"}]}`)
	if code != 201 {
		t.Fatalf("declare: %d %v", code, body)
	}
	if code, body = call(t, "POST", "/api/v1/declarations/"+body["id"].(string)+"/publish", key, ""); code != 200 {
		t.Fatalf("publish: %d %v", code, body)
	}
}

func TestRunEndToEnd(t *testing.T) {
	dir := t.TempDir()
	const admin = "e2e-27e33f9448c6b380a74f9729d4430efd"
	in := start(t, map[string]string{"TRACESVC_ADMIN_KEY": admin}, "-data", dir)
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, _ := in.call(t, "GET", p, "", ""); code != 200 {
			t.Fatalf("%s: %d", p, code)
		}
	}
	code, body := in.call(t, "POST", "/api/v1/entities", admin, `{"name":"Tianjin Dairy Co.","uscc":"91120116MA0000001X",
		"kinds":["farm","manufacturer"],"region":"Tianjin","address":"1 Milk Road"}`)
	if code != 400 {
		t.Fatalf("entity with bad USCC: %d %v", code, body)
	}
	code, body = in.call(t, "POST", "/api/v1/entities", admin, `{"name":"Tianjin Dairy Co.","uscc":"91350100M000100Y43",
		"kinds":["farm","manufacturer"],"region":"Tianjin","address":"1 Milk Road","companyPrefix":"9506000"}`)
	if code != 201 {
		t.Fatalf("create entity: %d %v", code, body)
	}
	key := body["key"].(string)
	if code, body = in.call(t, "POST", "/api/v1/products", key, `{"gtin":"09506000134352","name":"Whole milk 1L","brand":"Haihe","category":"food"}`); code != 201 {
		t.Fatalf("create product: %d %v", code, body)
	}
	const batch = `{"lot":"L2026-11","productionDate":"2026-11-20","expiryDate":"2026-12-05","quantity":5000,"unit":"EA"}`
	if code, body = in.call(t, "POST", "/api/v1/products/09506000134352/batches", key, batch); code != 409 ||
		!strings.Contains(fmt.Sprint(body["error"]), "published declaration") {
		t.Fatalf("a food batch without a declaration: %d %v", code, body)
	}
	declare(t, in.call, key, "09506000134352")
	if code, body = in.call(t, "POST", "/api/v1/products/09506000134352/batches", key, batch); code != 201 {
		t.Fatalf("create batch: %d %v", code, body)
	}
	if code, body = in.call(t, "GET", "/api/v1/audit/verify", admin, ""); code != 200 || body["ok"] != true {
		t.Fatalf("audit verify: %d %v", code, body)
	}
	code, checkpoint := in.call(t, "GET", "/api/v1/audit/checkpoint", admin, "")
	if code != 200 || checkpoint["seq"].(float64) < 1 {
		t.Fatalf("audit checkpoint: %d %v", code, checkpoint)
	}
	if strings.Contains(in.stderr.String(), "tsk_") {
		t.Fatal("a key was printed although TRACESVC_ADMIN_KEY was set")
	}
	if err := in.stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}

	// A restart keeps the data and the admin key, and prints no key.
	in = start(t, nil, "-data", dir)
	if code, body = in.call(t, "GET", "/api/v1/products/09506000134352", "", ""); code != 200 || body["name"] != "Whole milk 1L" {
		t.Fatalf("product after restart: %d %v", code, body)
	}
	if code, _ = in.call(t, "GET", "/api/v1/audit", admin, ""); code != 200 {
		t.Fatalf("admin key after restart: %d", code)
	}
	// The audit chain key lives beside the data folder and survives the
	// restart: the log still verifies against the checkpoint saved before.
	if _, err := os.Stat(dir + ".audit.key"); err != nil {
		t.Fatalf("audit key file: %v", err)
	}
	cp, _ := json.Marshal(checkpoint)
	if code, body = in.call(t, "POST", "/api/v1/audit/verify", admin, string(cp)); code != 200 || body["ok"] != true {
		t.Fatalf("verify against the checkpoint after restart: %d %v", code, body)
	}
	if strings.Contains(in.stderr.String(), "tsk_") {
		t.Fatal("restart printed a key")
	}
}

func TestBootstrapPrintsKeyOnce(t *testing.T) {
	dir := t.TempDir()
	in := start(t, nil, "-data", dir)
	out := in.stderr.String()
	i := strings.Index(out, "tsk_")
	if i < 0 {
		t.Fatalf("no key printed on first start: %q", out)
	}
	key := strings.Fields(out[i:])[0]
	if code, _ := in.call(t, "GET", "/api/v1/audit", key, ""); code != 200 {
		t.Fatalf("printed key does not work: %d", code)
	}
	in.stop()
	in = start(t, map[string]string{"TRACESVC_ADMIN_KEY": "another-8316fe8509bea4a88f37086f08f38c24"}, "-data", dir)
	if strings.Contains(in.stderr.String(), "tsk_") {
		t.Fatal("second start printed a key")
	}
	if code, _ := in.call(t, "GET", "/api/v1/audit", "another-8316fe8509bea4a88f37086f08f38c24", ""); code != 401 {
		t.Fatalf("a later TRACESVC_ADMIN_KEY was accepted: %d", code)
	}
	if code, _ := in.call(t, "GET", "/api/v1/audit", key, ""); code != 200 {
		t.Fatalf("first key stopped working: %d", code)
	}
}

func TestGracefulShutdownFinishesRequests(t *testing.T) {
	in := start(t, map[string]string{"TRACESVC_ADMIN_KEY": "graceful-73250ce4790d344eb0df8f8c3d43c8c9"}, "-data", t.TempDir())
	// Hold a request open: its headers are sent with Expect: 100-continue,
	// and the server's "100 Continue" says the handler is reading the body.
	conn, err := net.Dial("tcp", strings.TrimPrefix(in.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"role":"inspector"}`
	fmt.Fprintf(conn, "POST /api/v1/keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer graceful-73250ce4790d344eb0df8f8c3d43c8c9\r\n"+
		"Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", len(body))
	rd := bufio.NewReader(conn)
	if cont, err := http.ReadResponse(rd, nil); err != nil || cont.StatusCode != http.StatusContinue {
		t.Fatalf("want 100 Continue, got %v, %v", cont, err)
	}
	// Stop the service, and send the body once it has begun shutting down.
	stopped := make(chan error, 1)
	go func() { stopped <- in.stop() }()
	in.waitLog(t, "shutting down")
	fmt.Fprint(conn, body)
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatalf("in-flight request during shutdown: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("in-flight request got %d during shutdown, want 201", resp.StatusCode)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

// waitLog waits until the service has logged a line with message msg.
func (in *instance) waitLog(t *testing.T, msg string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(in.stdout.String()))
		for sc.Scan() {
			var line struct{ Msg string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == msg {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %q in the log: %s", msg, in.stdout)
}

// TestWeakAdminKeyRefused (issue 9, item 12): a short, placeholder or
// low-entropy TRACESVC_ADMIN_KEY stops the service at start with a clear
// message, the placeholder that deploy/kubernetes.yaml used to carry
// included; the manifests carry no key value at all now.
func TestWeakAdminKeyRefused(t *testing.T) {
	for _, weak := range []string{"change-me-to-128-random-bits", "admin", strings.Repeat("x", 40), "my-admin-secret-0123456789abcdefghij"} {
		var stderr bytes.Buffer
		err := run(context.Background(), []string{"-data", t.TempDir()}, func(k string) string {
			return map[string]string{"TRACESVC_ADMIN_KEY": weak}[k]
		}, io.Discard, &stderr)
		if err == nil || !strings.Contains(err.Error(), "TRACESVC_ADMIN_KEY") || !strings.Contains(err.Error(), "openssl rand") {
			t.Errorf("%q: %v", weak, err)
		}
	}
	for _, f := range []string{"../../deploy/kubernetes.yaml", "../../deploy/compose.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
			if ok && k == "TRACESVC_ADMIN_KEY" && !strings.HasPrefix(strings.TrimSpace(v), "${") {
				t.Errorf("%s carries an admin key value: %s", f, line)
			}
		}
	}
}

func TestFlags(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-log-level", "loud"}, func(string) string { return "" }, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "log-level") {
		t.Fatalf("bad log level: %v", err)
	}
	cfg, err := parseConfig([]string{"-data", "/tmp/x"}, func(k string) string {
		return map[string]string{"TRACESVC_ADDR": "0.0.0.0:9", "TRACESVC_BASE_URL": "https://id.example.cn/", "MONGODB_URI": "mongodb://h"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != "0.0.0.0:9" || cfg.dataDir != "/tmp/x" || cfg.baseURL != "https://id.example.cn" || cfg.mongoURI != "mongodb://h" || cfg.mongoDB != "tracesvc" {
		t.Fatalf("config: %+v", cfg)
	}
	if host, _ := os.Hostname(); cfg.grace != 30*time.Second || cfg.instance != host+":"+strconv.Itoa(os.Getpid()) {
		t.Fatalf("defaults on MongoDB: grace %s, instance %q", cfg.grace, cfg.instance)
	}

	// The shutdown grace period and the instance name.
	env := map[string]string{"TRACESVC_SHUTDOWN_GRACE": "5s"}
	cfg, err = parseConfig([]string{"-data", "/tmp/x"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil || cfg.grace != 5*time.Second || cfg.instance != "sqlite:/tmp/x" {
		t.Fatalf("TRACESVC_SHUTDOWN_GRACE and the instance on SQLite: %+v, %v", cfg, err)
	}
	cfg, err = parseConfig([]string{"-shutdown-grace", "2s", "-instance", "pod-7"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil || cfg.grace != 2*time.Second || cfg.instance != "pod-7" {
		t.Fatalf("-shutdown-grace and -instance: %+v, %v", cfg, err)
	}
	if cfg, err := parseConfig(nil, func(k string) string { return map[string]string{"TRACESVC_MONGO_TIMEOUT": "3s"}[k] }, io.Discard); err != nil || cfg.mongoTimeout != 3*time.Second {
		t.Fatalf("TRACESVC_MONGO_TIMEOUT: %v %v", cfg.mongoTimeout, err)
	}
	for _, bad := range [][]string{{"-shutdown-grace", "0s"}, {"-shutdown-grace", "soon"}, {"-mongo-timeout", "0s"}, {"-timezone", "Mars/Olympus"}} {
		if _, err := parseConfig(bad, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, err := parseConfig(nil, func(k string) string { return map[string]string{"TRACESVC_SHUTDOWN_GRACE": "x"}[k] }, io.Discard); err == nil {
		t.Error("a bad TRACESVC_SHUTDOWN_GRACE was accepted")
	}
}

// TestNoFerretDBInBinary checks that the embedded test server is not linked
// into the service binary.
func TestNoFerretDBInBinary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(strings.ToLower(dep), "ferretdb") || strings.HasSuffix(dep, "/mongotest") || strings.HasSuffix(dep, "/storetest") {
			t.Errorf("tracesvc links %s", dep)
		}
	}
}

// TestRunOnMongo runs the service on the MongoDB backend: an embedded
// FerretDB, or MONGODB_URI when that is set.
func TestRunOnMongo(t *testing.T) {
	srv, err := mongotest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close) // runs after the database drop registered below
	db := srv.Database(t)
	const admin = "mongo-3318791d90650acc19c45b45f3bebe32"
	dataDir := t.TempDir()
	in := start(t, map[string]string{"TRACESVC_ADMIN_KEY": admin, "MONGODB_URI": srv.URI}, "-mongo-db", db.Name(), "-data", dataDir) // the key files go beside it
	if !strings.Contains(in.stdout.String(), `"store":"mongodb:`) {
		t.Fatalf("not on mongodb: %s", in.stdout)
	}
	code, body := in.call(t, "POST", "/api/v1/entities", admin, `{"name":"Mongo Farm","uscc":"91350100M000100Y43",
		"kinds":["farm"],"region":"Tianjin","address":"2 Field Road","gln":"6901234000009","companyPrefix":"9506000"}`)
	if code != 201 {
		t.Fatalf("create entity: %d %v", code, body)
	}
	key := body["key"].(string)
	if code, body = in.call(t, "POST", "/api/v1/products", key, `{"gtin":"09506000134352","name":"Eggs","category":"food"}`); code != 201 {
		t.Fatalf("create product: %d %v", code, body)
	}
	declare(t, in.call, key, "09506000134352")
	if code, body = in.call(t, "POST", "/api/v1/products/09506000134352/batches", key,
		`{"lot":"E1","productionDate":"2026-11-20","quantity":360,"unit":"EA"}`); code != 201 {
		t.Fatalf("create batch: %d %v", code, body)
	}
	if code, body = in.call(t, "GET", "/api/v1/products/09506000134352/batches/E1", "", ""); code != 200 || body["quantity"] != 360.0 {
		t.Fatalf("read batch: %d %v", code, body)
	}
	if code, body = in.call(t, "GET", "/api/v1/audit/verify", admin, ""); code != 200 || body["ok"] != true || body["records"] != 4.0 { // the entity and its key, the declaration and its publication
		t.Fatalf("audit verify: %d %v", code, body)
	}
	// Codes, custody and query on MongoDB too.
	if code, body = in.call(t, "POST", "/api/v1/products/09506000134352/batches/E1/codes", key, `{"count":2}`); code != 201 {
		t.Fatalf("issue codes: %d %v", code, body)
	}
	uri := body["codes"].([]any)[0].(map[string]any)["uri"].(string)
	doc := `{"@context":"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld","type":"EPCISDocument","schemaVersion":"2.0",
		"creationDate":"2026-11-26T08:00:00Z","epcisBody":{"eventList":[{"type":"ObjectEvent","action":"ADD","bizStep":"commissioning",
		"eventTime":"2026-11-26T08:00:00Z","eventTimeZoneOffset":"+00:00","epcList":["` + uri + `"]}]}}`
	if code, body = in.call(t, "POST", "/epcis/capture", key, doc); code != 202 || body["success"] != true {
		t.Fatalf("capture: %d %v", code, body)
	}
	events := func(query string) int {
		t.Helper()
		code, body := in.call(t, "GET", "/epcis/events?"+query, admin, "")
		if code != 200 {
			t.Fatalf("query: %d %v", code, body)
		}
		return len(body["epcisBody"].(map[string]any)["queryResults"].(map[string]any)["resultsBody"].(map[string]any)["eventList"].([]any))
	}
	// On MongoDB the newest 2 s are held back from recordTime order (the
	// default), not from eventTime order.
	if n := events("EQ_bizStep=commissioning&orderBy=eventTime"); n != 1 {
		t.Fatalf("query in eventTime order found %d events", n)
	}
	if n := events("EQ_bizStep=commissioning"); n != 0 {
		t.Fatalf("query in recordTime order found %d events recorded just now", n)
	}
	if code, body = in.call(t, "GET", "/api/v1/trace/backward?epc="+url.QueryEscape(uri), admin, ""); code != 200 || len(body["custodians"].([]any)) != 1 {
		t.Fatalf("trace: %d %v", code, body)
	}
	// A consumer scan, a tip-off and an alert, on MongoDB.
	u, _ := url.Parse(uri)
	req, _ := http.NewRequest("GET", in.base+u.RequestURI(), nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if resp.StatusCode != 200 || res["verdict"] != "genuine" {
		t.Fatalf("resolve: %d %v", resp.StatusCode, res)
	}
	if code, body = in.call(t, "GET", "/01/09506000134352/21/NEVERISSUED2", "", ""); code != 200 || body["verdict"] != "unknown_code" {
		t.Fatalf("unknown serial: %d %v", code, body)
	}
	if code, body = in.call(t, "POST", "/api/v1/tipoffs", "", `{"subject":"product","gtin":"09506000134352","description":"Tastes wrong"}`); code != 201 {
		t.Fatalf("tip-off: %d %v", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body = in.call(t, "GET", "/api/v1/alerts", admin, "")
		if code == 200 && len(body["alerts"].([]any)) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert on MongoDB: %d %v", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A restart on the same database (issue 10, item 8): the indexes are
	// there, the data is kept, and the service starts again.
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
	in = start(t, map[string]string{"MONGODB_URI": srv.URI}, "-mongo-db", db.Name(), "-data", dataDir)
	if code, body = in.call(t, "GET", "/api/v1/products/09506000134352", "", ""); code != 200 {
		t.Fatalf("product after a restart on MongoDB: %d %v", code, body)
	}
}

// TestAuditKeyMismatchRefused: a process whose audit key is not the one
// the store's audit chain was written with does not start (it would
// append records that break the chain): a sibling without the shared
// TRACESVC_AUDIT_KEY, or a key file that was replaced.
func TestAuditKeyMismatchRefused(t *testing.T) {
	dir := t.TempDir()
	admin := "audit-5c0e9b2a7d14f8e36a1b9c0d2e7f4a85"
	in := start(t, map[string]string{"TRACESVC_ADMIN_KEY": admin}, "-data", dir)
	if code, _ := in.call(t, "POST", "/api/v1/keys", admin, `{"role":"inspector"}`); code != 201 {
		t.Fatalf("create key: %d", code)
	}
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
	other := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	err := run(context.Background(), []string{"-data", dir, "-addr", "127.0.0.1:0"}, func(k string) string {
		return map[string]string{"TRACESVC_AUDIT_KEY": other}[k]
	}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "TRACESVC_AUDIT_KEY") {
		t.Fatalf("started with another audit key: %v", err)
	}
	// With its own key file it starts again.
	in = start(t, nil, "-data", dir)
	in.stop()
}

// TestHolidayFile: -holidays loads a schedule, and a broken one stops the
// service at start naming the line.
func TestHolidayFile(t *testing.T) {
	dir := t.TempDir()
	good := dir + "/holidays.txt"
	os.WriteFile(good, []byte("year 2027\n2027-01-01 holiday New Year\n"), 0o644)
	if days, err := workingDays(config{holidays: good, timezone: "Asia/Shanghai"}); err != nil || !days.Covers(2027) {
		t.Fatalf("a good file: %v", err)
	}
	bad := dir + "/bad.txt"
	os.WriteFile(bad, []byte("year 2027\n2027-01-04 workday Monday\n"), 0o644)
	err := run(context.Background(), []string{"-data", dir + "/data", "-holidays", bad}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("a broken file: %v", err)
	}
}

// TestIncidentFlags reads the incident deadlines over the defaults and the
// cluster size, and refuses bad ones.
func TestIncidentFlags(t *testing.T) {
	none := func(string) string { return "" }
	cfg, err := parseConfig([]string{"-incident-deadlines", "*=3, toy/death=1", "-incident-cluster", "4"}, none, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.incidentDays.String(); got != "*=3,medical_device/death=7,medical_device/serious_injury=20,toy/death=1" || cfg.clusterReports != 4 {
		t.Fatalf("rules %s, cluster %d", got, cfg.clusterReports)
	}
	cfg, err = parseConfig(nil, func(k string) string { return map[string]string{"TRACESVC_INCIDENT_DEADLINES": "food=5"}[k] }, io.Discard)
	if err != nil || cfg.incidentDays["food"] != 5 || cfg.incidentDays["*"] != 2 || cfg.clusterReports != 3 {
		t.Fatalf("from the environment: %v, %v", cfg.incidentDays, err)
	}
	for _, bad := range []string{"toy", "toy=x", "toy=61", "toy=-1", "fruit=2", "toy/bruise=2"} {
		if _, err := parseConfig([]string{"-incident-deadlines", bad}, none, io.Discard); err == nil {
			t.Errorf("-incident-deadlines %q accepted", bad)
		}
	}
	if _, err := parseConfig([]string{"-incident-cluster", "1"}, none, io.Discard); err == nil {
		t.Error("-incident-cluster 1 accepted")
	}
}

// logLine returns the first JSON log line of out whose msg is msg.
func logLine(out, msg string) map[string]any {
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == msg {
			return line
		}
	}
	return nil
}

// TestPprofMetricsAndAccessLog: -pprof serves Go's profiles on a loopback
// listener of its own (and nowhere else); /metrics has the store's
// operations timed; each request is logged once at info with its id,
// which the response echoes.
func TestPprofMetricsAndAccessLog(t *testing.T) {
	const admin = "e2e-5c1d0a7e9b3f4e21a8d6c0b9f7e3a512"
	in := start(t, map[string]string{"TRACESVC_ADMIN_KEY": admin}, "-data", t.TempDir(), "-pprof", "127.0.0.1:0")
	line := logLine(in.stdout.String(), "pprof listening")
	if line == nil {
		t.Fatalf("no pprof listener in the log: %s", in.stdout)
	}
	pprofBase := "http://" + line["addr"].(string)
	get := func(url, key, requestID string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if requestID != "" {
			req.Header.Set("X-Request-Id", requestID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := get(pprofBase+"/debug/pprof/", "", ""); resp.StatusCode != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("pprof index: %d %.200s", resp.StatusCode, body)
	}
	if resp, body := get(pprofBase+"/debug/pprof/goroutine?debug=1", "", ""); resp.StatusCode != 200 || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("goroutine profile: %d %.200s", resp.StatusCode, body)
	}
	if resp, _ := get(in.base+"/debug/pprof/", "", ""); resp.StatusCode != 404 {
		t.Fatalf("the API listener serves pprof: %d", resp.StatusCode)
	}

	resp, _ := get(in.base+"/healthz", "", "e2e-request-1")
	if got := resp.Header.Get("X-Request-Id"); got != "e2e-request-1" {
		t.Fatalf("X-Request-Id echoed %q", got)
	}
	resp, body := get(in.base+"/metrics", admin, "")
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, body)
	}
	for _, want := range []string{`tracesvc_store_operation_duration_seconds_bucket{backend="sqlite",operation="select",le="0.001"}`,
		`tracesvc_http_requests_total{code="200",method="GET",route="/healthz"} 1`, "process_resident_memory_bytes", "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	// The access line of /healthz, with the id it was sent.
	var access map[string]any
	sc := bufio.NewScanner(strings.NewReader(in.stdout.String()))
	for sc.Scan() {
		var l map[string]any
		if json.Unmarshal(sc.Bytes(), &l) == nil && l["msg"] == "request" && l["request_id"] == "e2e-request-1" {
			access = l
		}
	}
	if access == nil || access["level"] != "INFO" || access["method"] != "GET" || access["route"] != "/healthz" ||
		access["status"] != 200.0 || access["duration_ms"] == nil {
		t.Fatalf("access line %v in %s", access, in.stdout)
	}
}

// TestPprofLoopbackOnly: a -pprof address off the loopback interface, or
// one that cannot be listened on, stops the start with a clear error.
func TestPprofLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "192.0.2.1:6060", "example.com:6060", "[::]:6060", "6060"} {
		err := run(context.Background(), []string{"-pprof", addr, "-data", t.TempDir()}, func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "-pprof") {
			t.Errorf("-pprof %s: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:6060", "localhost:0", "[::1]:6060", "127.9.9.9:1"} {
		if _, err := parseConfig([]string{"-pprof", addr}, func(string) string { return "" }, io.Discard); err != nil {
			t.Errorf("-pprof %s refused: %v", addr, err)
		}
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	err = run(context.Background(), []string{"-pprof", taken.Addr().String(), "-data", t.TempDir()}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-pprof: listen") {
		t.Fatalf("-pprof on a taken port: %v", err)
	}
}
