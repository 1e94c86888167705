package trace

import (
	"crypto/rand"
	"fmt"
)

// SerialAlphabet is the alphabet of issued serials: digits and capitals
// without the look-alikes 0/O and 1/I/L, so that a serial read off a label
// by a person is typed back right. All its characters are in GS1 set 82.
const SerialAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// Serial lengths the service accepts. 12 characters over 31 symbols is 59
// bits: a counterfeiter guessing at random hits one of a million issued
// serials once in about 10^12 tries.
const (
	DefaultSerialLength = 12
	MinSerialLength     = 8
	MaxSerialLength     = 20 // the AI (21) maximum
)

// SerialSource draws random serials from crypto/rand. It buffers random
// bytes, so it is not safe for concurrent use; give each goroutine its own.
type SerialSource struct {
	length int
	buf    []byte
	pos    int
}

// NewSerialSource returns a source of serials of the given length.
func NewSerialSource(length int) (*SerialSource, error) {
	if length < MinSerialLength || length > MaxSerialLength {
		return nil, fmt.Errorf("serial length %d is outside %d..%d: %w", length, MinSerialLength, MaxSerialLength, ErrInvalid)
	}
	return &SerialSource{length: length, buf: make([]byte, 4096), pos: 4096}, nil
}

// Next returns a fresh serial.
func (s *SerialSource) Next() string {
	out := make([]byte, s.length)
	s.read(out)
	return string(out)
}

// Fill sets each of serials to a fresh serial, as Next would. They are
// cut from one string rather than allocated one by one.
func (s *SerialSource) Fill(serials []string) {
	buf := make([]byte, len(serials)*s.length)
	s.read(buf)
	all := string(buf)
	for i := range serials {
		serials[i] = all[i*s.length : (i+1)*s.length]
	}
}

// read fills out with random symbols of [SerialAlphabet]. Bytes of 248
// and above are rejected rather than reduced modulo 31, which would
// favour the first symbols.
func (s *SerialSource) read(out []byte) {
	const limit = 256 - 256%len(SerialAlphabet) // 248
	for i := 0; i < len(out); {
		if s.pos == len(s.buf) {
			_, _ = rand.Read(s.buf) // crypto/rand.Read never fails on supported platforms
			s.pos = 0
		}
		b := s.buf[s.pos]
		s.pos++
		if int(b) < limit {
			out[i] = SerialAlphabet[int(b)%len(SerialAlphabet)]
			i++
		}
	}
}
