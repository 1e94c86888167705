package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"time"
)

// client sends the soak's requests and counts every answer in stats.
type client struct {
	base  string       // the service's origin, where every request goes
	hc    *http.Client // API and scans: Bearer keys, no cookies
	dash  *http.Client // the dashboard: a cookie jar for its session
	stats *stats
}

// newClient is a client of the service at base; both of its HTTP clients
// share one pool of connections, large enough for every load at once.
func newClient(base string, st *stats) (*client, error) {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("cookie jar: %w", err)
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{base: strings.TrimRight(base, "/"), stats: st,
		hc:   &http.Client{Transport: tr, Timeout: 2 * time.Minute},
		dash: &http.Client{Transport: tr, Timeout: 2 * time.Minute, Jar: jar, CheckRedirect: noRedirect}}, nil
}

// call is one request of the soak.
type call struct {
	class        string // what it is counted under
	method, path string // path on the service, with its query
	key          string // Bearer key; "" for none
	accept       string // "" is application/json
	ctype        string // body's media type; "" is application/json
	body         []byte
	form         bool  // body is a form, sent through the dashboard's client
	cookies      bool  // sent through the dashboard's client (its session cookie)
	want         []int // statuses that are right; nil is 200
}

// answer is what the service answered.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends c and counts its answer (status and latency, the time until the
// whole body is read) under c.class. A transport failure or a status c does
// not want is counted and returned as an error.
func (cl *client) do(ctx context.Context, c call) (answer, error) {
	var rd io.Reader
	if c.body != nil {
		rd = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, cl.base+c.path, rd)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", c.method, c.path, err)
	}
	accept := c.accept
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	if c.body != nil {
		ctype := c.ctype
		switch {
		case c.form:
			ctype = "application/x-www-form-urlencoded"
		case ctype == "":
			ctype = "application/json"
		}
		req.Header.Set("Content-Type", ctype)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	hc := cl.hc
	if c.form || c.cookies {
		hc = cl.dash
	}
	start := time.Now()
	resp, err := hc.Do(req)
	if err == nil {
		var body []byte
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			a := answer{status: resp.StatusCode, header: resp.Header, body: body}
			// Trailers are in resp.Trailer once the body is read.
			for k, v := range resp.Trailer {
				a.header[k] = v
			}
			want := c.want
			if want == nil {
				want = []int{http.StatusOK}
			}
			ok := slices.Contains(want, a.status)
			cl.stats.answered(c.class, a.status, time.Since(start), ok)
			if !ok {
				return a, fmt.Errorf("%s %s: status %d, want %v: %.300s", c.method, c.path, a.status, want, strings.TrimSpace(string(body)))
			}
			return a, nil
		}
	}
	if ctx.Err() != nil { // the soak is over: not the service's failure
		return answer{}, ctx.Err()
	}
	cl.stats.failed(c.class, err)
	return answer{}, fmt.Errorf("%s %s: %w", c.method, c.path, err)
}
