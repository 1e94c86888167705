package webhook

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// stubResolver answers lookups from a map; missing names are not found.
type stubResolver map[string][]string

func (s stubResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ips, ok := s[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, ip := range ips {
		out = append(out, netip.MustParseAddr(ip))
	}
	return out, nil
}

func TestCheckURL(t *testing.T) {
	dns := stubResolver{
		"hooks.example.com": {"93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"},
		"mixed.example.com": {"93.184.216.34", "10.0.0.7"},
		"meta.example.com":  {"169.254.169.254"},
		"local.example.com": {"::ffff:127.0.0.1"},
		"empty.example.com": {},
	}
	public := Policy{Resolver: dns}
	private := Policy{Resolver: dns, AllowPrivate: true}
	plain := Policy{Resolver: dns, AllowHTTPHosts: []string{"HOOKS.example.com"}}

	tests := []struct {
		name    string
		url     string
		policy  Policy
		wantErr string // "" for none; otherwise a part of the error, which wraps ErrRefused
	}{
		{"https public name", "https://hooks.example.com/recall?x=1", public, ""},
		{"https public IP", "https://93.184.216.34:8443/recall", public, ""},
		{"https loopback allowed", "https://127.0.0.1:8443/hook", private, ""},
		{"private name allowed", "https://mixed.example.com/", private, ""},
		{"http allowed host", "http://hooks.example.com/recall", plain, ""},
		{"loopback", "https://127.0.0.1:8443/hook", public, "127.0.0.1, a loopback address"},
		{"10/8", "https://10.1.2.3/", public, "10.1.2.3, a private address (RFC 1918)"},
		{"172.16/12", "https://172.20.0.1/", public, "a private address (RFC 1918)"},
		{"192.168/16", "https://192.168.1.1/", public, "192.168.1.1, a private address (RFC 1918)"},
		{"metadata", "https://169.254.169.254/latest/meta-data/", public, "the cloud metadata address"},
		{"link-local", "https://169.254.10.1/", public, "169.254.10.1, a link-local address"},
		{"IPv6 loopback", "https://[::1]/", public, "::1, a loopback address"},
		{"IPv6 metadata", "https://[fd00:ec2::254]/", public, "the cloud metadata address (IPv6)"},
		{"IPv6 unique local", "https://[fd12::1]/", public, "a unique local address"},
		{"IPv6 link-local with zone", "https://[fe80::1%25eth0]/", public, "a link-local address"},
		{"IPv4-mapped loopback", "https://[::ffff:127.0.0.1]/", public, "the IPv4 form of 127.0.0.1, a loopback address"},
		{"IPv4-mapped metadata", "https://[::ffff:169.254.169.254]/", public, "the cloud metadata address"},
		{"NAT64 private", "https://[64:ff9b::a00:1]/", public, "the IPv4 form of 10.0.0.1"},
		{"CGNAT", "https://100.64.1.1/", public, "100.64.1.1, a carrier-grade NAT address"},
		{"unspecified", "https://0.0.0.0/", public, "0.0.0.0"},
		{"IPv6 unspecified", "https://[::]/", public, "the unspecified address"},
		{"multicast", "https://224.0.0.1/", public, "a multicast address"},
		{"broadcast", "https://255.255.255.255/", public, "reserved or broadcast"},
		{"name to metadata", "https://meta.example.com/", public, `"meta.example.com" resolves to 169.254.169.254, the cloud metadata address`},
		{"name to mapped loopback", "https://local.example.com/", public, "a loopback address"},
		{"any address private", "https://mixed.example.com/", public, "10.0.0.7, a private address"},
		{"resolves to nothing", "https://empty.example.com/", public, "resolves to no address"},
		{"http not allowed", "http://hooks.example.com/", public, "plain http is not allowed"},
		{"http other host", "http://93.184.216.34/", plain, "plain http is not allowed"},
		{"userinfo", "https://user:pw@hooks.example.com/", public, "user name or password"},
		{"user only", "https://user@hooks.example.com/", public, "user name or password"},
		{"fragment", "https://hooks.example.com/#top", public, "fragment"},
		{"empty fragment", "https://hooks.example.com/#", public, "fragment"},
		{"ftp", "ftp://hooks.example.com/", public, `scheme "ftp"`},
		{"relative", "/recall", public, "not an absolute URL"},
		{"opaque", "https:hooks.example.com", public, "not an absolute URL"},
		{"no host", "https:///recall", public, "not an absolute URL"},
		{"too long", "https://hooks.example.com/" + strings.Repeat("a", MaxURLLength), public, "more than 2000"},
		{"unparsable", "https://hooks.example.com/%zz", public, "invalid URL escape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckURL(tt.url, tt.policy)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckURL(%q) = %v, want nil", tt.url, err)
				}
				return
			}
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckURL(%q) = %v, want ErrRefused mentioning %q", tt.url, err, tt.wantErr)
			}
		})
	}
}

func TestCheckURLLookupFailureIsNotARefusal(t *testing.T) {
	err := CheckURL("https://gone.example.com/", Policy{Resolver: stubResolver{}})
	var dnsErr *net.DNSError
	if err == nil || errors.Is(err, ErrRefused) || !errors.As(err, &dnsErr) {
		t.Fatalf("CheckURL = %v, want the wrapped lookup error, not a refusal", err)
	}
}

func TestDialControl(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:443", "[::1]:443", "10.0.0.1:80", "169.254.169.254:80", "[::ffff:192.168.0.1]:443", "[fe80::1%eth0]:443", "not-an-address"} {
		if err := dialControl("tcp", addr, nil); !errors.Is(err, ErrRefused) {
			t.Errorf("dialControl(%s) = %v, want ErrRefused", addr, err)
		}
	}
	for _, addr := range []string{"93.184.216.34:443", "[2606:2800:220:1:248:1893:25c8:1946]:443"} {
		if err := dialControl("tcp", addr, nil); err != nil {
			t.Errorf("dialControl(%s) = %v, want nil", addr, err)
		}
	}
}

func TestCheckSyntax(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://hooks.example.cn/recall": true, // not looked up
		"https://8.8.8.8/x":               true,
		"https://127.0.0.1/x":             false,
		"https://[::1]/x":                 false,
		"https://169.254.169.254/latest":  false,
		"http://hooks.example.cn/x":       false,
		"ftp://x":                         false,
		"https://u:p@hooks.example.cn/":   false,
	} {
		err := CheckSyntax(raw, Policy{})
		if (err == nil) != ok {
			t.Errorf("CheckSyntax(%q) = %v, want ok=%v", raw, err, ok)
		}
	}
	if err := CheckSyntax("https://127.0.0.1/x", Policy{AllowPrivate: true}); err != nil {
		t.Errorf("AllowPrivate: %v", err)
	}
}
