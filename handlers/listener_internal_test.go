package handlers

import (
	"bytes"
	"strings"
	"testing"
)

// frame runs data through a framer in pieces of the given sizes.
func frame(data []byte, sizes []byte) []byte {
	var f framer
	var out []byte
	for len(data) > 0 {
		n := len(data)
		if len(sizes) > 0 {
			n = min(n, int(sizes[0])+1)
			sizes = sizes[1:]
		}
		out = append(out, f.feed(data[:n], false)...)
		data = data[n:]
	}
	return append(out, f.feed(nil, true)...)
}

func TestFramer(t *testing.T) {
	stream := "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /b HTTP/1.1\r\nContent-Length: 30\r\n\r\nGET /%zz HTTP/1.1\r\nHost: y\r\n\r\n" +
		"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nGET /\r\n10;x=1\r\n%zz HTTP/1.1\r\nHo\r\n0\r\nT: 1\r\n\r\n" +
		"\r\nGET /01/1/10/%zz?q=%zz HTTP/1.1\r\nHost: z\r\n\r\n" +
		"GET /ok%20%41 HTTP/1.0\r\n\r\n"
	want := strings.Replace(stream, "GET /01/1/10/%zz?q=%zz HTTP/1.1", "GET "+malformedURIPath+" HTTP/1.1", 1)
	for _, sizes := range [][]byte{nil, {0}, {1, 2, 3}, bytes.Repeat([]byte{0}, len(stream))} {
		if got := string(frame([]byte(stream), sizes)); got != want {
			t.Fatalf("pieces %v:\n got %q\nwant %q", sizes, got, want)
		}
	}
	// What the framer does not understand it leaves alone from there on.
	for _, s := range []string{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nGET /%zz HTTP/1.1\r\n",
		"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET /%zz HTTP/1.1\r\n",
		"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\nGET /%zz HTTP/1.1\r\n"} {
		if got := string(frame([]byte(s), nil)); got != s {
			t.Errorf("%q came out as %q", s, got)
		}
	}
}

// FuzzFramer: a stream without a malformed escape comes through byte for
// byte, however it is cut; any stream comes through without a panic, with
// at most its request lines' targets changed.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("GET /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /%zz HTTP/1.1\r\n\r\n"), []byte{1, 5})
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), []byte{})
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		got := frame(data, sizes)
		if !bytes.Contains(data, []byte("%")) && !bytes.Equal(got, data) {
			t.Fatalf("%q came out as %q", data, got)
		}
		if bytes.Count(got, []byte("\n")) != bytes.Count(data, []byte("\n")) {
			t.Fatalf("lines changed: %q → %q", data, got)
		}
	})
}
