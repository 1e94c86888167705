package handlers

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"tracesvc/trace"
)

// malformedURIPath is where Listener sends a request whose target has a
// malformed percent-escape, which net/http would otherwise refuse with a
// plain-text 400 before any handler runs.
const malformedURIPath = "/.well-known/tracesvc/malformed-uri"

// Bounds of what the framer holds back while it waits for a whole line.
const (
	maxRequestLine = 8 << 10
	maxHeaderLine  = 64 << 10
)

// Listener wraps ln so that every request whose target has a malformed
// percent-escape ("/01/…/10/%zz") reaches the service, which answers it
// like any bad link: a JSON error, or a page for a browser. It follows
// HTTP/1.1 framing (Content-Length and chunked bodies) to find each
// request line on a kept-alive connection, and leaves the connection
// alone from the first thing it does not understand on (an upgrade, an
// HTTP/2 preface, a malformed header): net/http then answers as it would.
func Listener(ln net.Listener) net.Listener { return listener{ln} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framedConn{Conn: c}, nil
}

// framedConn passes a connection's bytes through a framer.
type framedConn struct {
	net.Conn
	f       framer
	out     []byte // framed bytes not yet returned
	readErr error  // an error that came with data, returned after it
	buf     [4096]byte
}

// Read returns framed bytes. An error the connection returns (a deadline
// net/http sets to stop its background read, or the end) is passed on
// once, after the bytes that came with it; it does not stick, since
// net/http goes on reading after a deadline it set itself.
func (c *framedConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if err := c.readErr; err != nil {
			c.readErr = nil
			return 0, err
		}
		if c.f.passthrough && len(c.f.in) == 0 {
			return c.Conn.Read(p)
		}
		n, err := c.Conn.Read(c.buf[:])
		c.out = c.f.feed(c.buf[:n], isEOF(err))
		if err != nil && len(c.out) == 0 {
			return 0, err
		}
		c.readErr = err
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// isEOF reports whether err ends the stream for good.
func isEOF(err error) bool { return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) }

// framer finds the request lines in an HTTP/1.x byte stream and rewrites
// those with a malformed escape in their target. Everything else passes
// through unchanged.
type framer struct {
	in          []byte // input not yet framed: part of a line
	state       int
	remaining   int64 // bytes left of a body or chunk
	length      int64 // Content-Length of the request being read
	chunked     bool
	upgrade     bool
	passthrough bool
}

// The framer's states.
const (
	inRequestLine = iota
	inHeaders
	inBody
	inChunkSize
	inChunkData
	inTrailers
)

// feed frames more input; final says the stream ends after it. It returns
// what may be passed on now.
func (f *framer) feed(data []byte, final bool) []byte {
	if f.passthrough {
		out := append(f.in, data...)
		f.in = nil
		return out
	}
	f.in = append(f.in, data...)
	var out []byte
	for len(f.in) > 0 && !f.passthrough {
		if f.state == inBody || f.state == inChunkData {
			n := min(f.remaining, int64(len(f.in)))
			out = append(out, f.in[:n]...)
			f.in, f.remaining = f.in[n:], f.remaining-n
			switch {
			case f.remaining > 0:
			case f.state == inChunkData:
				f.state = inChunkSize
			default:
				f.state = inRequestLine
			}
			continue
		}
		i := bytes.IndexByte(f.in, '\n')
		if i < 0 {
			limit := maxHeaderLine
			if f.state == inRequestLine {
				limit = maxRequestLine
			}
			if len(f.in) > limit {
				f.passthrough = true
			}
			break
		}
		line := f.in[:i+1]
		f.in = f.in[i+1:]
		out = append(out, f.line(line)...)
	}
	if f.passthrough || final {
		out = append(out, f.in...)
		f.in = nil
	}
	return out
}

// line frames one whole line (with its newline) and returns it, rewritten
// if it is a request line with a malformed escape.
func (f *framer) line(line []byte) []byte {
	text := strings.TrimRight(string(line), "\r\n")
	switch f.state {
	case inRequestLine:
		if text == "" {
			return line // net/http skips blank lines before a request
		}
		f.state, f.length, f.chunked, f.upgrade = inHeaders, 0, false, false
		method, rest, ok1 := strings.Cut(text, " ")
		target, proto, ok2 := strings.Cut(rest, " ")
		if !ok1 || !ok2 || method == "PRI" || !strings.HasPrefix(proto, "HTTP/1.") {
			f.passthrough = true
			return line
		}
		if malformedEscape(target) {
			return []byte(method + " " + malformedURIPath + " " + proto + string(line[len(text):]))
		}
	case inHeaders:
		if text == "" {
			switch {
			case f.upgrade:
				f.passthrough = true
			case f.chunked:
				f.state = inChunkSize
			case f.length > 0:
				f.state, f.remaining = inBody, f.length
			default:
				f.state = inRequestLine
			}
			return line
		}
		name, value, ok := strings.Cut(text, ":")
		if !ok || name != strings.TrimSpace(name) {
			f.passthrough = true // net/http refuses it; stay out of the way
			return line
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(name) {
		case "content-length":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 || (f.length != 0 && n != f.length) {
				f.passthrough = true
			}
			f.length = n
		case "transfer-encoding":
			f.chunked = true
			if !strings.EqualFold(value, "chunked") {
				f.passthrough = true
			}
		case "upgrade":
			f.upgrade = true
		}
	case inChunkSize:
		size, _, _ := strings.Cut(text, ";")
		n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
		switch {
		case err != nil || n < 0:
			f.passthrough = true
		case n == 0:
			f.state = inTrailers
		default:
			f.state, f.remaining = inChunkData, n+2 // the data and its CRLF
		}
	case inTrailers:
		if text == "" {
			f.state = inRequestLine
		}
	}
	return line
}

// malformedEscape reports whether the path of a request target has a %
// not followed by two hex digits. (The query is left to the handlers.)
func malformedEscape(target string) bool {
	if i := strings.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	for i := 0; i < len(target); i++ {
		if target[i] == '%' && (i+2 >= len(target) || !isHex(target[i+1]) || !isHex(target[i+2])) {
			return true
		}
	}
	return false
}

func isHex(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
}

// malformedURI answers the requests Listener redirected.
func (s *Server) malformedURI(c *gin.Context) {
	format := c.NegotiateFormat(mediaHTML, mediaJSON)
	s.badLink(c, format, trace.Invalid("uri", "the path has a malformed percent-escape: every %% must be followed by two hexadecimal digits"))
}
