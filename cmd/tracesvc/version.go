package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
)

// versionLine describes the running build from what the Go toolchain
// stamped into it: the module's version, the commit and its time (with
// "+dirty" when the tree had changes), and the Go version.
func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "tracesvc (no build information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	parts := []string{"tracesvc", v}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		if settings["vcs.modified"] == "true" {
			rev += "+dirty"
		}
		parts = append(parts, "commit "+rev)
	}
	if t := settings["vcs.time"]; t != "" {
		parts = append(parts, "built from "+t)
	}
	return strings.Join(append(parts, bi.GoVersion), " ")
}

// needBaseURL refuses to start without -base-url on an address of every
// interface (":8080", "0.0.0.0:8080", "[::]:8080"): the default base URL is
// http://<addr>, and codes issued under http://[::]:8080/… reach nobody.
func needBaseURL(addr, baseURL string) error {
	if baseURL != "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if host != "" {
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.IsUnspecified() {
			return nil // a host name or one interface's address: codes can name it
		}
	}
	return errors.New("-addr " + addr + " listens on every interface, so it cannot be the address printed into codes: " +
		"give -base-url (TRACESVC_BASE_URL) with the public origin that labels carry, e.g. -base-url https://id.example.cn " +
		"(or http://192.0.2.10:8080 on a LAN)")
}
