package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tracesvc/trace/sqlitedb"
)

// The tests in this file run the real binary as an operator would, so that
// they can kill it with SIGKILL or send it SIGTERM.

// buildBinary builds cmd/tracesvc into a temp folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		if gobin, err = exec.LookPath("go"); err != nil {
			t.Fatal("the go command is needed to build the service")
		}
	}
	bin := filepath.Join(t.TempDir(), "tracesvc")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is the service binary running in a process of its own.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	api            *instance // base URL and calls
	exited         chan struct{}
	state          *os.ProcessState // once exited is closed
}

// startBinary starts bin with env (nothing else of the test's environment)
// and args, listening on a free loopback port, and waits until it listens.
func startBinary(t *testing.T, bin string, env map[string]string, args ...string) *process {
	t.Helper()
	p := &process{stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-public-rate", "0"}, args...)...)
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if addr := p.logged("listening", "addr"); addr != "" {
			p.api = &instance{base: "http://" + addr, stdout: p.stdout, stderr: p.stderr}
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("the service exited before listening: %v\nstdout: %s\nstderr: %s", p.state, p.stdout, p.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("the service did not start: %s", p.stdout)
	return nil
}

// logged returns the string attribute attr of the first log line with
// message msg ("" when there is none), or "-" when attr is "".
func (p *process) logged(msg, attr string) string {
	sc := bufio.NewScanner(strings.NewReader(p.stdout.String()))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil || line["msg"] != msg {
			continue
		}
		if attr == "" {
			return "-"
		}
		return fmt.Sprint(line[attr])
	}
	return ""
}

// waitExit waits up to max for the process to end and returns how long it took.
func (p *process) waitExit(t *testing.T, max time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-p.exited:
		return time.Since(start)
	case <-time.After(max):
		t.Fatalf("the service still runs %s later\nstdout: %s", max, p.stdout)
		return 0
	}
}

// batch registers an entity with a product and a batch and returns the
// entity's key and the batch's codes path.
func (p *process) batch(t *testing.T, admin string) (key, codesPath string) {
	t.Helper()
	code, body := p.api.call(t, "POST", "/api/v1/entities", admin, `{"name":"Tianjin Dairy Co.","uscc":"91350100M000100Y43",
		"kinds":["manufacturer"],"region":"Tianjin","address":"1 Milk Road","companyPrefix":"9506000"}`)
	if code != 201 {
		t.Fatalf("create entity: %d %v", code, body)
	}
	key = body["key"].(string)
	if code, body = p.api.call(t, "POST", "/api/v1/products", key, `{"gtin":"09506000134352","name":"Whole milk 1L","category":"food"}`); code != 201 {
		t.Fatalf("create product: %d %v", code, body)
	}
	declare(t, p.api.call, key, "09506000134352")
	if code, body = p.api.call(t, "POST", "/api/v1/products/09506000134352/batches", key,
		`{"lot":"L1","productionDate":"2026-11-20","quantity":1000000,"unit":"EA"}`); code != 201 {
		t.Fatalf("create batch: %d %v", code, body)
	}
	return key, "/api/v1/products/09506000134352/batches/L1/codes"
}

// issue posts a streamed CSV issuance of count codes with an
// Idempotency-Key. The caller reads and closes the body.
func issue(t *testing.T, base, path, key, idem string, count int) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", base+path, strings.NewReader(fmt.Sprintf(`{"count":%d}`, count)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "text/csv")
	req.Header.Set("Idempotency-Key", idem)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// resume repeats an issuance until it completes, as a client would: it
// waits out a 409 while another request holds it, and tries again when a
// stream breaks off. It returns the serials of the stream that completed.
func resume(t *testing.T, base, path, key, idem string, count int) (id string, serials []string) {
	t.Helper()
	for attempt := 1; attempt <= 10; attempt++ {
		resp := issue(t, base, path, key, idem, count)
		if resp.StatusCode == http.StatusConflict {
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			resp.Body.Close()
			if wait < 1 {
				t.Fatalf("409 without Retry-After: %v", resp.Header)
			}
			time.Sleep(time.Duration(wait) * time.Second)
			continue
		}
		if resp.StatusCode != http.StatusCreated {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Fatalf("resume: %d %s", resp.StatusCode, b)
		}
		serials = serials[:0]
		rd := csv.NewReader(bufio.NewReaderSize(resp.Body, 1<<20))
		rd.ReuseRecord = true
		_, err := rd.Read() // header
		for err == nil {
			var rec []string
			if rec, err = rd.Read(); err == nil {
				serials = append(serials, rec[0])
			}
		}
		resp.Body.Close()
		id = resp.Header.Get("X-Issuance-Id")
		if err == io.EOF && resp.Trailer.Get("X-Issuance-State") == "complete" {
			return id, serials
		}
		t.Logf("attempt %d broke off after %d codes: %v, trailers %v", attempt, len(serials), err, resp.Trailer)
	}
	t.Fatal("the issuance did not complete in 10 attempts")
	return "", nil
}

// storedSerials exports the serials of a batch's codes (of one issuance
// when iss is set) as CSV and returns them.
func storedSerials(t *testing.T, base, path, key, iss string) []string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path+"?issuance="+iss, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("export: %d", resp.StatusCode)
	}
	rd := csv.NewReader(bufio.NewReaderSize(resp.Body, 1<<20))
	rd.ReuseRecord = true
	if _, err := rd.Read(); err != nil {
		t.Fatal(err)
	}
	var out []string
	for {
		rec, err := rd.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("export after %d codes: %v", len(out), err)
		}
		out = append(out, rec[0])
	}
}

// issuance reads an issuance's state and count.
func (p *process) issuance(t *testing.T, key, id string) (state string, issued int) {
	t.Helper()
	code, body := p.api.call(t, "GET", "/api/v1/issuances/"+id, key, "")
	if code != 200 {
		t.Fatalf("issuance %s: %d %v", id, code, body)
	}
	return body["state"].(string), int(body["issued"].(float64))
}

// TestKill9MidIssuance kills the service with SIGKILL at a random point of
// a streamed issuance of 1,000,000 codes, restarts it on the same data
// folder, and repeats the request with the same Idempotency-Key until it
// completes: exactly 1,000,000 distinct codes, and every code the first
// stream sent among them.
func TestKill9MidIssuance(t *testing.T) {
	if testing.Short() {
		t.Skip("issues 1,000,000 codes; runs without -short")
	}
	const count, chunk = 1_000_000, 100_000
	const admin, idem = "kill9-9c1e5f27b84d3a60e2f1c7d95b08a4e3", "print-run-kill-9"
	begin := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(begin).Seconds(), what) }
	bin, dir := buildBinary(t), t.TempDir()
	env := map[string]string{"TRACESVC_ADMIN_KEY": admin}
	p := startBinary(t, bin, env, "-data", dir)
	key, path := p.batch(t, admin)
	phase("built and started")

	killAt := 1 + rand.IntN(count-1) // codes the client reads before the kill
	t.Logf("killing the service after the client has read %d codes", killAt)
	resp := issue(t, p.api.base, path, key, idem, count)
	if resp.StatusCode != 201 {
		t.Fatalf("issue: %d", resp.StatusCode)
	}
	id := resp.Header.Get("X-Issuance-Id")
	rd := bufio.NewReaderSize(resp.Body, 1<<20)
	if _, err := rd.ReadString('\n'); err != nil { // the CSV header
		t.Fatal(err)
	}
	sent := make([]string, 0, killAt)
	for len(sent) < killAt {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("stream broke off after %d codes: %v", len(sent), err)
		}
		sent = append(sent, line[:strings.IndexByte(line, ',')])
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.waitExit(t, 10*time.Second)
	resp.Body.Close()
	phase("killed")
	if ws, ok := p.state.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the service ended with %v, not by SIGKILL", p.state)
	}

	// The restart marks the issuance interrupted (unless it had completed);
	// what it says it issued lags what is stored by a chunk at most, and
	// every code the client was sent is stored.
	p = startBinary(t, bin, env, "-data", dir)
	state, issued := p.issuance(t, key, id)
	stored := storedSerials(t, p.api.base, path, key, id)
	phase(fmt.Sprintf("restarted: %s, %d issued, %d stored", state, issued, len(stored)))
	switch {
	case state == "complete" && issued == count && len(stored) == count:
	case state != "interrupted":
		t.Fatalf("after the restart the issuance is %s", state)
	case p.logged("issuances left running by an earlier process are interrupted; "+
		"repeating their requests with the same Idempotency-Key resumes them", "count") != "1":
		t.Fatalf("the restart did not report the interrupted issuance: %s", p.stdout)
	case issued > len(stored) || len(stored) > issued+chunk:
		t.Fatalf("the issuance says %d issued, %d are stored", issued, len(stored))
	}
	storedSet := make(map[string]bool, count)
	for _, s := range stored {
		storedSet[s] = true
	}
	for i, s := range sent {
		if !storedSet[s] {
			t.Fatalf("code %d (%s) was sent before the kill but is not stored", i, s)
		}
	}
	clear(storedSet)

	// Repeating the request resumes it to exactly count distinct codes.
	gotID, serials := resume(t, p.api.base, path, key, idem, count)
	phase("resumed")
	if gotID != id {
		t.Fatalf("the repeat answered issuance %s, not %s", gotID, id)
	}
	got := make(map[string]bool, count)
	for _, s := range serials {
		if got[s] {
			t.Fatalf("serial %s sent twice", s)
		}
		got[s] = true
	}
	if len(got) != count {
		t.Fatalf("the resumed stream sent %d codes, want %d", len(got), count)
	}
	for i, s := range sent {
		if !got[s] {
			t.Fatalf("code %d (%s) of the first stream is missing from the resumed one", i, s)
		}
	}
	if state, issued := p.issuance(t, key, id); state != "complete" || issued != count {
		t.Fatalf("after the resume: %s with %d issued", state, issued)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitExit(t, 60*time.Second)
	if !p.state.Success() {
		t.Fatalf("exit after SIGTERM: %v\n%s", p.state, p.stderr)
	}

	// The store holds exactly the codes the resumed stream sent.
	db, err := sqlitedb.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.R.Query(`SELECT serial FROM codes WHERE gtin = '09506000134352' AND lot = 'L1'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		if !got[s] {
			t.Fatalf("stored serial %s was not sent, or is stored twice", s)
		}
		delete(got, s)
		n++
	}
	if err := rows.Err(); err != nil || n != count {
		t.Fatalf("the batch has %d codes (%v), want %d", n, err, count)
	}
	phase("checked the store")
}

// TestShutdownCancelsSlowStream sends SIGTERM while a client that stopped
// reading holds a streamed issuance open: the service cancels it at the end
// of its grace period and exits 0, and the issuance resumes after a restart.
func TestShutdownCancelsSlowStream(t *testing.T) {
	const count, grace = 300_000, 4 * time.Second
	const admin, idem = "slow-4f8a2d6e1b9c07f35a8e2d4c6b1f9e07", "print-run-slow"
	bin, dir := buildBinary(t), t.TempDir()
	env := map[string]string{"TRACESVC_ADMIN_KEY": admin}
	p := startBinary(t, bin, env, "-data", dir, "-shutdown-grace", grace.String())
	key, path := p.batch(t, admin)

	// The client reads the status and headers, then nothing more; its small
	// receive buffer soon stops the server's writes.
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.api.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	body := fmt.Sprintf(`{"count":%d}`, count)
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nAccept: text/csv\r\n"+
		"Idempotency-Key: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, key, idem, len(body), body)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("issue: %v, %v", resp, err)
	}
	id := resp.Header.Get("X-Issuance-Id")

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	took := p.waitExit(t, grace+30*time.Second)
	t.Logf("exited %s after SIGTERM (grace period %s)", took.Round(time.Millisecond), grace)
	if !p.state.Success() {
		t.Fatalf("exit after SIGTERM: %v\nstdout: %s\nstderr: %s", p.state, p.stdout, p.stderr)
	}
	if took > grace+5*time.Second {
		t.Errorf("exited %s after SIGTERM, past its grace period of %s", took, grace)
	}
	for _, msg := range []string{"grace period ending: cancelling requests still running", "issuance stopped", "stopped"} {
		if p.logged(msg, "") == "" {
			t.Errorf("no %q in the log: %s", msg, p.stdout)
		}
	}
	if p.logged("requests still running at exit", "") != "" {
		t.Errorf("a request outlived the shutdown: %s", p.stdout)
	}

	// The issuance stopped with what it had stored, and resumes.
	p = startBinary(t, bin, env, "-data", dir)
	if state, issued := p.issuance(t, key, id); state != "interrupted" || issued == 0 || issued >= count {
		t.Fatalf("after the shutdown the issuance is %s with %d issued", state, issued)
	}
	gotID, serials := resume(t, p.api.base, path, key, idem, count)
	distinct := map[string]bool{}
	for _, s := range serials {
		distinct[s] = true
	}
	if gotID != id || len(serials) != count || len(distinct) != count {
		t.Fatalf("resumed issuance %s: %d codes, %d distinct", gotID, len(serials), len(distinct))
	}
	if stored := storedSerials(t, p.api.base, path, key, ""); len(stored) != count {
		t.Fatalf("the batch has %d codes, want %d", len(stored), count)
	}
}
