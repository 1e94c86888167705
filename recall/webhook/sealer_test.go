package webhook

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestSealerRoundTrip(t *testing.T) {
	s, err := NewSealer(testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range [][]byte{[]byte("whsec_abc"), {}, bytes.Repeat([]byte("x"), 10000)} {
		sealed, err := s.Seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sealed, "v1:") || strings.Contains(sealed, string(plain)) && len(plain) > 0 {
			t.Fatalf("sealed text %q", sealed)
		}
		got, err := s.Open(sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, %v; want %q", got, err, plain)
		}
	}
	a, _ := s.Seal([]byte("same"))
	b, _ := s.Seal([]byte("same"))
	if a == b {
		t.Fatal("two seals of one text are equal: nonce reused")
	}
}

func TestSealerRefuses(t *testing.T) {
	s, _ := NewSealer(testKey(1))
	other, _ := NewSealer(testKey(2))
	sealed, _ := s.Seal([]byte("whsec_abc"))
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, "v1:"))

	flipped := bytes.Clone(raw)
	flipped[len(flipped)/2] ^= 1
	tests := map[string]string{
		"tampered":   "v1:" + base64.StdEncoding.EncodeToString(flipped),
		"truncated":  "v1:" + base64.StdEncoding.EncodeToString(raw[:len(raw)-1]),
		"too short":  "v1:" + base64.StdEncoding.EncodeToString(raw[:5]),
		"no version": strings.TrimPrefix(sealed, "v1:"),
		"v2":         "v2:" + strings.TrimPrefix(sealed, "v1:"),
		"not base64": "v1:***",
		"empty":      "",
	}
	for name, text := range tests {
		if _, err := s.Open(text); err == nil {
			t.Errorf("%s: Open succeeded", name)
		}
	}
	if _, err := other.Open(sealed); err == nil || !strings.Contains(err.Error(), "wrong key or altered") {
		t.Errorf("wrong key: %v", err)
	}
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer accepted a %d-byte key", n)
		}
	}
}

func TestLoadOrCreateKeyFromValue(t *testing.T) {
	key := testKey(7)
	dir := t.TempDir()
	for name, v := range map[string]string{
		"base64":        base64.StdEncoding.EncodeToString(key),
		"base64 raw":    base64.RawStdEncoding.EncodeToString(key),
		"base64url":     base64.RawURLEncoding.EncodeToString(key),
		"hex":           hex.EncodeToString(key),
		"hex uppercase": strings.ToUpper(hex.EncodeToString(key)),
		"with newline":  base64.StdEncoding.EncodeToString(key) + "\n",
	} {
		got, err := LoadOrCreateKey(v, dir)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("%s: %x, %v", name, got, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a key from the value wrote %d files", len(entries))
	}
	for name, v := range map[string]string{
		"16 bytes":    base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"48 bytes":    base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 48)),
		"short hex":   hex.EncodeToString(make([]byte, 16)),
		"passphrase":  "correct horse battery staple",
		"64 non-hex":  strings.Repeat("z", 64),
		"odd garbage": "%%%%",
	} {
		_, err := LoadOrCreateKey(v, dir)
		if err == nil || !strings.Contains(err.Error(), "TRACESVC_SECRET_KEY") || strings.Contains(err.Error(), v) {
			t.Errorf("%s: error %v should name the variable and not echo the value", name, err)
		}
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := LoadOrCreateKey("", dir)
	if err != nil || len(k1) != 32 {
		t.Fatalf("first call: %x, %v", k1, err)
	}
	info, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %o, want 600", perm)
	}
	k2, err := LoadOrCreateKey("", dir)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second call: %x, %v; want the first key %x", k2, err, k1)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("data folder holds %d entries, want only %s", len(entries), KeyFile)
	}
	env := testKey(9)
	k3, err := LoadOrCreateKey(hex.EncodeToString(env), dir)
	if err != nil || !bytes.Equal(k3, env) {
		t.Fatalf("the value should win over the file: %x, %v", k3, err)
	}

	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey("", dir); err == nil || !strings.Contains(err.Error(), KeyFile) {
		t.Fatalf("corrupt key file: %v, want an error naming it", err)
	}
	if _, err := LoadOrCreateKey("", ""); err == nil {
		t.Fatal("no value and no folder: want an error")
	}
}

func TestNewSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	raw, ok := strings.CutPrefix(a, "whsec_")
	if !ok {
		t.Fatalf("secret %q lacks the whsec_ prefix", a)
	}
	if b, err := base64.RawURLEncoding.DecodeString(raw); err != nil || len(b) != 32 {
		t.Fatalf("secret %q: %d bytes, %v", a, len(b), err)
	}
}
