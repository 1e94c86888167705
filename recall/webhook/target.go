package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// MaxURLLength is the longest webhook URL [CheckURL] accepts, in bytes.
const MaxURLLength = 2000

// ErrRefused is wrapped by every error that refuses a webhook target:
// a bad URL or a forbidden address. Such a target fails permanently.
var ErrRefused = errors.New("webhook target refused")

// Resolver looks up the addresses of a host name. *net.Resolver implements
// it; tests inject stubs.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy says which webhook targets are allowed. The zero value allows only
// https URLs that resolve to public addresses, looked up with
// net.DefaultResolver.
type Policy struct {
	// AllowPrivate allows loopback, private, link-local and other
	// non-public addresses (the -webhook-allow-private flag, for tests and
	// on-premise installs).
	AllowPrivate bool
	// AllowHTTPHosts lists host names or IP literals (without port,
	// compared case-insensitively) that may be reached over plain http.
	AllowHTTPHosts []string
	// Resolver looks up host names for CheckURL; nil means
	// net.DefaultResolver. At delivery time a *net.Resolver here is also
	// used by the dialer; any other resolver is used by CheckURL only.
	Resolver Resolver
}

// resolver returns the policy's resolver or net.DefaultResolver.
func (p Policy) resolver() Resolver {
	if p.Resolver == nil {
		return net.DefaultResolver
	}
	return p.Resolver
}

// CheckURL reports whether raw is an acceptable webhook target under policy,
// resolving its host with context.Background. See [CheckURLContext].
func CheckURL(raw string, policy Policy) error {
	return CheckURLContext(context.Background(), raw, policy)
}

// CheckURLContext checks raw like [CheckURL], resolving under ctx.
// The URL must be absolute https (or http for a host in
// Policy.AllowHTTPHosts), without userinfo or fragment, at most
// [MaxURLLength] bytes. Unless Policy.AllowPrivate, the host must resolve
// to at least one address, and every one must be public. Forbidden are
// loopback, private (RFC 1918, fc00::/7), link-local (169.254.0.0/16,
// fe80::/10), unspecified, multicast, carrier-grade NAT (100.64.0.0/10),
// the cloud metadata addresses (169.254.169.254, fd00:ec2::254),
// 0.0.0.0/8, 192.0.0.0/24, 198.18.0.0/15, 240.0.0.0/4, and the IPv4-mapped
// (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) forms of the IPv4 ones. Refusals wrap [ErrRefused] and
// name the address in words; a failed lookup is returned wrapped as it is,
// since it may be temporary.
func CheckURLContext(ctx context.Context, raw string, policy Policy) error {
	u, err := parseTarget(raw, policy)
	if err != nil {
		return err
	}
	if policy.AllowPrivate {
		return nil
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		addrs, err = policy.resolver().LookupNetIP(ctx, "ip", host)
		if err != nil {
			return fmt.Errorf("webhook target: looking up %q: %w", host, err)
		}
	}
	if len(addrs) == 0 {
		return fmt.Errorf("%w: %q resolves to no address", ErrRefused, host)
	}
	for _, ip := range addrs {
		if err := checkAddr(ip); err != nil {
			return fmt.Errorf("%w: %q resolves to %v", ErrRefused, host, err)
		}
	}
	return nil
}

// CheckSyntax checks raw as [CheckURLContext] does without looking the
// host up: the URL's form, and the address when the host is an IP
// literal. It suits registration, when the receiver's name may not resolve
// yet; delivery checks every address again as it dials.
func CheckSyntax(raw string, policy Policy) error {
	u, err := parseTarget(raw, policy)
	if err != nil || policy.AllowPrivate {
		return err
	}
	if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil {
		if err := checkAddr(ip); err != nil {
			return fmt.Errorf("%w: %v", ErrRefused, err)
		}
	}
	return nil
}

// parseTarget checks the syntax of a webhook URL (everything but the
// addresses) and returns it parsed.
func parseTarget(raw string, policy Policy) (*url.URL, error) {
	if len(raw) > MaxURLLength {
		return nil, fmt.Errorf("%w: URL is %d bytes long, more than %d", ErrRefused, len(raw), MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	if !u.IsAbs() || u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%w: %q is not an absolute URL with a host", ErrRefused, raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: URL must not contain a user name or password", ErrRefused)
	}
	if strings.Contains(raw, "#") {
		return nil, fmt.Errorf("%w: URL must not contain a fragment (#)", ErrRefused)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !hostIn(u.Hostname(), policy.AllowHTTPHosts) {
			return nil, fmt.Errorf("%w: plain http is not allowed for host %q; use https", ErrRefused, u.Hostname())
		}
	default:
		return nil, fmt.Errorf("%w: scheme %q is not https", ErrRefused, u.Scheme)
	}
	return u, nil
}

// hostIn reports whether host is one of hosts, ignoring case.
func hostIn(host string, hosts []string) bool {
	for _, h := range hosts {
		if strings.EqualFold(strings.Trim(h, "[]"), host) {
			return true
		}
	}
	return false
}

// blockedRange is a forbidden address range and the words used in errors.
type blockedRange struct {
	prefix netip.Prefix
	what   string
}

// blockedRanges lists the forbidden address ranges, most specific first.
func blockedRanges() []blockedRange {
	return []blockedRange{
		{netip.MustParsePrefix("169.254.169.254/32"), "the cloud metadata address"},
		{netip.MustParsePrefix("fd00:ec2::254/128"), "the cloud metadata address (IPv6)"},
		{netip.MustParsePrefix("0.0.0.0/8"), "a \"this network\" address (0.0.0.0/8)"},
		{netip.MustParsePrefix("10.0.0.0/8"), "a private address (RFC 1918)"},
		{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT address (100.64.0.0/10)"},
		{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
		{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address"},
		{netip.MustParsePrefix("172.16.0.0/12"), "a private address (RFC 1918)"},
		{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment address (192.0.0.0/24)"},
		{netip.MustParsePrefix("192.168.0.0/16"), "a private address (RFC 1918)"},
		{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address (198.18.0.0/15)"},
		{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
		{netip.MustParsePrefix("240.0.0.0/4"), "a reserved or broadcast address (240.0.0.0/4)"},
		{netip.MustParsePrefix("::/128"), "the unspecified address"},
		{netip.MustParsePrefix("::1/128"), "a loopback address"},
		{netip.MustParsePrefix("fc00::/7"), "a unique local address (fc00::/7)"},
		{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
		{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
	}
}

// nat64 is the well-known NAT64 prefix; its addresses embed an IPv4 address.
const nat64 = "64:ff9b::/96"

// checkAddr returns an error naming ip and its kind in words when ip is not
// a public unicast address (see [CheckURLContext]). The error does not wrap
// [ErrRefused]; callers do.
func checkAddr(ip netip.Addr) error {
	if !ip.IsValid() {
		return errors.New("an invalid address")
	}
	ip = ip.WithZone("")
	plain := ip.Unmap()
	if ip.Is6() && netip.MustParsePrefix(nat64).Contains(ip) {
		b := ip.As16()
		plain = netip.AddrFrom4([4]byte(b[12:]))
	}
	for _, b := range blockedRanges() {
		if b.prefix.Contains(plain) {
			if plain != ip {
				return fmt.Errorf("%s, the IPv4 form of %s, %s", ip, plain, b.what)
			}
			return fmt.Errorf("%s, %s", ip, b.what)
		}
	}
	return nil
}

// dialControl is the net.Dialer Control func that refuses to connect to a
// forbidden address, whatever name it came from (DNS rebinding).
func dialControl(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot check dial address %q: %v", ErrRefused, address, err)
	}
	if err := checkAddr(ap.Addr()); err != nil {
		return fmt.Errorf("%w: connecting to %v", ErrRefused, err)
	}
	return nil
}
