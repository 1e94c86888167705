// Package keyfile loads the service's 32-byte secret keys: from an
// environment value when one is set, otherwise from a key file that is
// created at random on first use.
package keyfile

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Size is the size of every key, in bytes.
const Size = 32

// LoadOrCreate returns a key. value, when not empty, must be 32 bytes in
// base64 (standard or URL alphabet, padded or not) or hex, and is used as
// is. Otherwise the key is read from the file at path; when that file does
// not exist, a random key is written there in base64 (mode 0600,
// atomically, never replacing a file another process wrote meanwhile).
func LoadOrCreate(value, path string) ([]byte, error) {
	if value = strings.TrimSpace(value); value != "" {
		return Decode(value)
	}
	key, err := read(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	return create(path)
}

// Decode decodes 32 bytes from hex or base64 text; 64 hex digits are read
// as hex. The text itself never appears in errors.
func Decode(s string) ([]byte, error) {
	if len(s) == 2*Size {
		if key, err := hex.DecodeString(s); err == nil {
			return key, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil && len(key) == Size {
			return key, nil
		}
	}
	return nil, fmt.Errorf("want %d bytes as base64 (43 or 44 characters) or hex (64 characters), got %d characters that are neither; generate one with: openssl rand -base64 32", Size, len(s))
}

// read reads and decodes an existing key file.
func read(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := Decode(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}

// create generates a key and links it into place at path, or reads the
// key another process put there first.
func create(path string) ([]byte, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, Size)
	_, _ = rand.Read(key) // crypto/rand.Read never fails
	// CreateTemp makes the file with mode 0600; Chmod below insists.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	// A hard link fails when path exists, so a concurrent start cannot
	// replace a key that may already have been used.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return read(path)
		}
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the new name durable; best effort
		_ = d.Close()
	}
	return key, nil
}
