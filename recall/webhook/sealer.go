package webhook

import (
	"crypto/aes"
	"crypto/cipher"
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

// KeyFile is the name of the generated key file in the data folder.
const KeyFile = "secret.key"

// sealedPrefix marks the version of sealed text.
const sealedPrefix = "v1:"

// keySize is the AES-256 key size in bytes.
const keySize = 32

// Sealer encrypts webhook secrets at rest with AES-256-GCM and a random
// nonce per message. It is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("webhook sealer: key is %d bytes, want %d", len(key), keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("webhook sealer: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("webhook sealer: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext and returns "v1:" followed by the standard base64
// of nonce|ciphertext|tag. The error is nil with this version's key source;
// callers should still check it.
func (s *Sealer) Seal(plaintext []byte) (string, error) {
	ct := s.aead.Seal(nil, nil, plaintext, nil)
	return sealedPrefix + base64.StdEncoding.EncodeToString(ct), nil
}

// Open decrypts text made by Seal under the same key. It fails for another
// version, a bad encoding, a wrong key or any change to the text.
func (s *Sealer) Open(sealed string) ([]byte, error) {
	b64, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return nil, errors.New("webhook sealer: sealed text does not start with " + sealedPrefix)
	}
	ct, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("webhook sealer: sealed text is not base64: %w", err)
	}
	if len(ct) < s.aead.Overhead() {
		return nil, errors.New("webhook sealer: sealed text is too short")
	}
	pt, err := s.aead.Open(nil, nil, ct, nil)
	if err != nil {
		return nil, errors.New("webhook sealer: cannot open: wrong key or altered text")
	}
	return pt, nil
}

// LoadOrCreateKey returns the 32-byte key for sealing webhook secrets.
// value is the TRACESVC_SECRET_KEY environment value: when not empty it must
// be 32 bytes in base64 (standard or URL alphabet, padded or not) or hex,
// and is used as is. Otherwise the key is read from [KeyFile] in dir; when
// that file does not exist, a random key is generated and written there in
// base64 (mode 0600, atomically, never replacing a file another process
// wrote meanwhile). Losing the key loses the sealed secrets.
func LoadOrCreateKey(value string, dir string) ([]byte, error) {
	if value = strings.TrimSpace(value); value != "" {
		key, err := decodeKey(value)
		if err != nil {
			return nil, fmt.Errorf("TRACESVC_SECRET_KEY: %w", err)
		}
		return key, nil
	}
	if dir == "" {
		return nil, errors.New("webhook key: TRACESVC_SECRET_KEY is not set and there is no data folder")
	}
	path := filepath.Join(dir, KeyFile)
	key, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	return createKeyFile(dir, path)
}

// decodeKey decodes 32 bytes from hex or base64 text; 64 hex digits are
// read as hex. The text itself never appears in errors.
func decodeKey(s string) ([]byte, error) {
	if len(s) == 2*keySize {
		if key, err := hex.DecodeString(s); err == nil {
			return key, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil && len(key) == keySize {
			return key, nil
		}
	}
	return nil, fmt.Errorf("want %d bytes as base64 (43 or 44 characters) or hex (64 characters), got %d characters that are neither; generate one with: openssl rand -base64 32", keySize, len(s))
}

// readKeyFile reads and decodes an existing key file.
func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("webhook key: %w", err)
	}
	key, err := decodeKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("webhook key file %s: %w", path, err)
	}
	return key, nil
}

// createKeyFile generates a key and links it into place at path, or reads
// the key another process put there first.
func createKeyFile(dir, path string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("webhook key: %w", err)
	}
	key := make([]byte, keySize)
	_, _ = rand.Read(key) // crypto/rand.Read never fails
	// CreateTemp makes the file with mode 0600; Chmod below insists.
	tmp, err := os.CreateTemp(dir, "."+KeyFile+".*")
	if err != nil {
		return nil, fmt.Errorf("webhook key: %w", err)
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
		return nil, fmt.Errorf("webhook key: writing %s: %w", tmp.Name(), err)
	}
	// A hard link fails when path exists, so a concurrent start cannot
	// replace a key that may already have sealed something.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeyFile(path)
		}
		return nil, fmt.Errorf("webhook key: creating %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the new name durable; best effort
		_ = d.Close()
	}
	return key, nil
}

// NewSecret returns a new webhook secret: "whsec_" and the unpadded
// base64url of 32 random bytes. Both sides use the whole string's bytes as
// the HMAC key.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}
