package keyfile_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"tracesvc/trace/keyfile"
)

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "audit.key")
	// Concurrent first starts agree on one key.
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := keyfile.LoadOrCreate("", path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if len(k) != keyfile.Size || !bytes.Equal(k, keys[0]) {
			t.Fatal("concurrent creators got different keys")
		}
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	again, err := keyfile.LoadOrCreate("", path)
	if err != nil || !bytes.Equal(again, keys[0]) {
		t.Fatal("the key changed on a second load")
	}
	// A set value wins and is never written.
	v := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32))
	if k, err := keyfile.LoadOrCreate(v, filepath.Join(t.TempDir(), "none.key")); err != nil || k[0] != 3 {
		t.Fatalf("value: %v %v", k, err)
	}
	for _, bad := range []string{"short", strings.Repeat("z", 64), base64.StdEncoding.EncodeToString(make([]byte, 16))} {
		if _, err := keyfile.LoadOrCreate(bad, path); err == nil || strings.Contains(err.Error(), bad) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	os.WriteFile(path, []byte("garbage\n"), 0o600)
	if _, err := keyfile.LoadOrCreate("", path); err == nil {
		t.Error("a corrupt key file was accepted")
	}
}
