package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestSecondProcessRefused: a second process on the same data folder (and
// instance) is refused, saying which process holds it; one of another
// -instance may share it.
func TestSecondProcessRefused(t *testing.T) {
	dir := t.TempDir()
	const admin = "lock-4f0c9a1be27d4c35a8e6b71d90f2c3e5"
	first := start(t, map[string]string{"TRACESVC_ADMIN_KEY": admin}, "-data", dir)
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-data", dir}, func(string) string { return "" }, &bytes.Buffer{}, &stderr)
	if !errors.Is(err, errLocked) {
		t.Fatalf("second process on %s: %v", dir, err)
	}
	for _, want := range []string{"another tracesvc process", "pid ", "-instance"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q does not say %q", err, want)
		}
	}
	if strings.Contains(stderr.String(), "tsk_") {
		t.Error("the refused process printed a key")
	}
	other := start(t, nil, "-data", dir, "-instance", "second")
	if code, _ := other.call(t, "GET", "/api/v1/me", admin, ""); code != 200 {
		t.Fatalf("a process of another -instance on the same folder: %d", code)
	}
	other.stop()
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	// Once the first has stopped, the folder is free again.
	again := start(t, nil, "-data", dir)
	if code, _ := again.call(t, "GET", "/api/v1/me", admin, ""); code != 200 {
		t.Fatalf("restart after the lock was released: %d", code)
	}
}

// TestPortInUseKeepsFirstKey: a start that fails because the port is taken
// makes no first key, so the next start still takes TRACESVC_ADMIN_KEY.
func TestPortInUseKeepsFirstKey(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"-addr", taken.Addr().String(), "-data", dir}, func(string) string { return "" }, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("start on a taken port: %v", err)
	}
	if strings.Contains(stderr.String(), "tsk_") {
		t.Fatalf("the failed start printed a key: %s", stderr.String())
	}
	const admin = "port-9d2e7c41a03b4f86b5c2e19f7a0d6b38"
	in := start(t, map[string]string{"TRACESVC_ADMIN_KEY": admin}, "-data", dir)
	if code, _ := in.call(t, "GET", "/api/v1/me", admin, ""); code != 200 {
		t.Fatalf("TRACESVC_ADMIN_KEY after a failed start: %d", code)
	}
	if strings.Contains(in.stderr.String(), "tsk_") {
		t.Fatal("a key was printed although TRACESVC_ADMIN_KEY was set")
	}
}

// TestEveryInterfaceNeedsBaseURL: listening on every interface without
// -base-url is refused at start, before anything is opened.
func TestEveryInterfaceNeedsBaseURL(t *testing.T) {
	env := func(string) string { return "" }
	for _, addr := range []string{"0.0.0.0:8080", "[::]:8080", ":8080"} {
		_, err := parseConfig([]string{"-addr", addr}, env, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "-base-url") {
			t.Errorf("-addr %s without -base-url: %v", addr, err)
		}
		if _, err := parseConfig([]string{"-addr", addr, "-base-url", "https://id.example.cn"}, env, &bytes.Buffer{}); err != nil {
			t.Errorf("-addr %s with -base-url: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:8080", "[::1]:8080", "localhost:8080", "192.0.2.10:8080"} {
		if _, err := parseConfig([]string{"-addr", addr}, env, &bytes.Buffer{}); err != nil {
			t.Errorf("-addr %s: %v", addr, err)
		}
	}
	dir := t.TempDir() + "/data"
	err := run(context.Background(), []string{"-addr", "0.0.0.0:0", "-data", dir}, env, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "-base-url") {
		t.Fatalf("run on 0.0.0.0 without -base-url: %v", err)
	}
}

// TestVersion: -version prints the build and starts nothing.
func TestVersion(t *testing.T) {
	var stdout bytes.Buffer
	dir := t.TempDir() + "/never"
	if err := run(context.Background(), []string{"-version", "-data", dir}, func(string) string { return "" }, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	out := stdout.String()
	if !strings.HasPrefix(out, "tracesvc ") || !strings.Contains(out, runtime.Version()) || strings.Count(out, "\n") != 1 {
		t.Fatalf("-version printed %q", out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("-version created the data folder: %v", err)
	}
}

// TestKeysNewRegulator: a regulator key made on the host's command line,
// while the service runs on the same store, works at once and is in the
// audit log, whose chain still verifies.
func TestKeysNewRegulator(t *testing.T) {
	dir := t.TempDir()
	in := start(t, nil, "-data", dir) // the first key is printed, and "lost"
	env := func(k string) string { return map[string]string{"SUDO_USER": "ops-wang"}[k] }
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"keys", "new-regulator", "-data", dir, "-label", "after the laptop was lost"}, env, &stdout, &stderr); err != nil {
		t.Fatalf("keys new-regulator: %v\n%s", err, stderr.String())
	}
	key := strings.TrimSpace(stdout.String())
	if !strings.HasPrefix(key, "tsk_") || strings.Contains(key, "\n") {
		t.Fatalf("stdout %q is not one key", stdout.String())
	}
	if !strings.Contains(stderr.String(), "shown once") {
		t.Errorf("stderr: %q", stderr.String())
	}
	code, me := in.call(t, "GET", "/api/v1/me", key, "")
	if code != 200 || me["role"] != "regulator" {
		t.Fatalf("the new key: %d %v", code, me)
	}
	code, body := in.call(t, "GET", "/api/v1/audit?limit=100", key, "")
	if code != 200 {
		t.Fatalf("audit: %d %v", code, body)
	}
	recs, _ := body["records"].([]any)
	found := false
	for _, r := range recs {
		r := r.(map[string]any)
		if r["action"] == "tracesvc keys new-regulator" {
			found = true
			if !strings.HasPrefix(r["actor"].(string), "host:ops-wang@") || r["target"] != "key:"+me["keyId"].(string) {
				t.Errorf("audit record %v", r)
			}
		}
	}
	if !found {
		t.Fatalf("no audit record of the key: %v", body)
	}
	if code, body = in.call(t, "GET", "/api/v1/audit/verify", key, ""); code != 200 || body["ok"] != true {
		t.Fatalf("audit verify: %d %v", code, body)
	}
	// The command needs no key, but it does need the store: a folder with
	// none is refused rather than made into an empty store.
	empty := t.TempDir() + "/typo"
	err := run(context.Background(), []string{"keys", "new-regulator", "-data", empty}, env, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "no store") {
		t.Fatalf("keys new-regulator on a folder with no store: %v", err)
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Fatal("the command created a folder")
	}
	if err := run(context.Background(), []string{"keys", "rotate"}, env, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Fatal("an unknown keys subcommand was accepted")
	}
}
