package webhook

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestSignKnownVector(t *testing.T) {
	// Computed independently: HMAC-SHA256("whsec_test", `1700000000.{"recall":"R-1"}`).
	got := Sign([]byte("whsec_test"), time.Unix(1700000000, 0), []byte(`{"recall":"R-1"}`))
	want := "v1=e1a9275958c564068b00d966640b0681e668bf0fe4342ca45600a5778d402f30"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

// signed returns headers as Deliver sets them, one signature per secret.
func signed(ts time.Time, body []byte, secrets ...string) http.Header {
	h := http.Header{}
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	for i, s := range secrets {
		sig := Sign([]byte(s), ts, body)
		if i == 0 {
			h.Set(HeaderSignature, sig)
		} else {
			h.Set(HeaderSignature, h.Get(HeaderSignature)+", "+sig)
		}
	}
	return h
}

func TestVerify(t *testing.T) {
	now := time.Unix(1700000000, 0)
	body := []byte(`{"recall":"R-1"}`)
	keys := func(s ...string) [][]byte {
		var out [][]byte
		for _, k := range s {
			out = append(out, []byte(k))
		}
		return out
	}
	tests := []struct {
		name      string
		header    http.Header
		body      []byte
		secrets   [][]byte
		now       time.Time
		tolerance time.Duration
		want      error
	}{
		{"valid", signed(now, body, "new"), body, keys("new"), now, 0, nil},
		{"rotation, receiver knows new", signed(now, body, "old", "new"), body, keys("new"), now, 0, nil},
		{"rotation, receiver knows old", signed(now, body, "old", "new"), body, keys("old"), now, 0, nil},
		{"receiver holds both", signed(now, body, "new"), body, keys("old", "new"), now, 0, nil},
		{"4 minutes old, default tolerance", signed(now, body, "k"), body, keys("k"), now.Add(4 * time.Minute), 0, nil},
		{"6 minutes old, default tolerance", signed(now, body, "k"), body, keys("k"), now.Add(6 * time.Minute), 0, ErrStale},
		{"6 minutes ahead", signed(now, body, "k"), body, keys("k"), now.Add(-6 * time.Minute), 0, ErrStale},
		{"old but within given tolerance", signed(now, body, "k"), body, keys("k"), now.Add(time.Hour), 2 * time.Hour, nil},
		{"stale under short tolerance", signed(now, body, "k"), body, keys("k"), now.Add(2 * time.Second), time.Second, ErrStale},
		{"wrong secret", signed(now, body, "k"), body, keys("other"), now, 0, ErrBadSignature},
		{"tampered body", signed(now, body, "k"), []byte(`{"recall":"R-2"}`), keys("k"), now, 0, ErrBadSignature},
		{"no secrets", signed(now, body, "k"), body, nil, now, 0, ErrBadSignature},
		{"no signature", http.Header{HeaderTimestamp: {"1700000000"}}, body, keys("k"), now, 0, ErrNoSignature},
		{"only unknown scheme", http.Header{HeaderTimestamp: {"1700000000"}, HeaderSignature: {"v0=abcd"}}, body, keys("k"), now, 0, ErrNoSignature},
		{"signature not hex", http.Header{HeaderTimestamp: {"1700000000"}, HeaderSignature: {"v1=zz"}}, body, keys("k"), now, 0, ErrNoSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.body, tt.header, tt.secrets, tt.now, tt.tolerance)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyTimestampTampering(t *testing.T) {
	now := time.Unix(1700000000, 0)
	body := []byte(`{}`)
	h := signed(now, body, "k")

	h.Set(HeaderTimestamp, "1700000001") // replaying the signature with a fresher time
	if err := Verify(body, h, [][]byte{[]byte("k")}, now, 0); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("changed timestamp: %v, want ErrBadSignature", err)
	}
	for _, ts := range []string{"", "soon", "1.7e9"} {
		h.Set(HeaderTimestamp, ts)
		if err := Verify(body, h, [][]byte{[]byte("k")}, now, 0); !errors.Is(err, ErrBadTimestamp) {
			t.Fatalf("timestamp %q: %v, want ErrBadTimestamp", ts, err)
		}
	}
}

func TestVerifySeveralHeaderLines(t *testing.T) {
	now := time.Unix(1700000000, 0)
	body := []byte(`{}`)
	h := http.Header{}
	h.Set(HeaderTimestamp, "1700000000")
	h.Add(HeaderSignature, Sign([]byte("old"), now, body))
	h.Add(HeaderSignature, Sign([]byte("new"), now, body))
	if err := Verify(body, h, [][]byte{[]byte("new")}, now, 0); err != nil {
		t.Fatal(err)
	}
}
