package handlers

import (
	"bytes"
	"net"

	"github.com/gin-gonic/gin"

	"tracesvc/trace"
)

// malformedURIPath is where Listener sends a request whose target has a
// malformed percent-escape, which net/http would otherwise refuse with a
// plain-text 400 before any handler runs.
const malformedURIPath = "/.well-known/tracesvc/malformed-uri"

// maxRequestLine bounds what Listener buffers to find a request line.
const maxRequestLine = 8 << 10

// Listener wraps ln so that the first request of each connection whose
// target has a malformed percent-escape ("/01/…/10/%zz") reaches the
// service, which answers it like any bad link: a JSON error, or a page
// for a browser. Later requests on a kept-alive connection are not
// inspected (their start cannot be found without parsing HTTP framing);
// net/http refuses those itself.
func Listener(ln net.Listener) net.Listener { return listener{ln} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &firstLineConn{Conn: c}, nil
}

// firstLineConn rewrites the target of the connection's first request
// line when it has a malformed percent-escape.
type firstLineConn struct {
	net.Conn
	done bool
	buf  []byte // bytes read ahead, still to be returned
}

func (c *firstLineConn) Read(p []byte) (int, error) {
	if !c.done {
		c.done = true
		c.buf = c.readLine()
	}
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// readLine reads up to the first newline (or maxRequestLine bytes, or an
// error, which the next Read reports again) and returns it, rewritten if
// need be.
func (c *firstLineConn) readLine() []byte {
	var line []byte
	chunk := make([]byte, 1024)
	for len(line) < maxRequestLine && bytes.IndexByte(line, '\n') < 0 {
		n, err := c.Conn.Read(chunk)
		line = append(line, chunk[:n]...)
		if err != nil {
			break
		}
	}
	end := bytes.IndexByte(line, '\n')
	if end < 0 {
		return line
	}
	method, rest, ok1 := bytes.Cut(line[:end], []byte(" "))
	target, proto, ok2 := bytes.Cut(rest, []byte(" "))
	if !ok1 || !ok2 || len(method) == 0 || !bytes.HasPrefix(proto, []byte("HTTP/")) || !malformedEscape(target) {
		return line
	}
	out := make([]byte, 0, len(line))
	out = append(out, method...)
	out = append(out, ' ')
	out = append(out, malformedURIPath...)
	out = append(out, ' ')
	out = append(out, proto...)
	return append(out, line[end:]...)
}

// malformedEscape reports whether the path of a request target has a %
// not followed by two hex digits. (The query is left to the handlers.)
func malformedEscape(target []byte) bool {
	if i := bytes.IndexByte(target, '?'); i >= 0 {
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
