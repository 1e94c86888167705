package webhook

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"tracesvc/trace/keyfile"
)

// KeyFile is the name of the generated key file in the data folder.
const KeyFile = "secret.key"

// sealedPrefix marks the version of sealed text.
const sealedPrefix = "v1:"

// keySize is the AES-256 key size in bytes.
const keySize = keyfile.Size

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
// be 32 bytes in base64 or hex, and is used as is. Otherwise the key is read
// from [KeyFile] in dir, created at random when missing (see
// [keyfile.LoadOrCreate]). Losing the key loses the sealed secrets.
func LoadOrCreateKey(value string, dir string) ([]byte, error) {
	if strings.TrimSpace(value) == "" && dir == "" {
		return nil, errors.New("webhook key: TRACESVC_SECRET_KEY is not set and there is no data folder")
	}
	key, err := keyfile.LoadOrCreate(value, filepath.Join(dir, KeyFile))
	if err != nil {
		return nil, fmt.Errorf("webhook key (TRACESVC_SECRET_KEY or %s): %w", KeyFile, err)
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
