package trace

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// NewID returns a 32-character identifier: a 48-bit millisecond timestamp
// followed by 80 random bits, hex encoded. IDs sort by creation time, which
// keeps index inserts local and gives lists a stable, meaningful order.
func NewID(now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
