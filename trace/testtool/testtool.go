// Package testtool lets tests use programs and files from Debian packages
// (barcode decoders, pdftoppm, Chromium, fonts). Where one is missing the
// test is skipped on a developer's machine and fails when the CI
// environment variable is set: .ci/run sets it and installs every package
// the tests name, so there a missing tool is a broken setup, not a reason
// to skip.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// Program returns the path of program name from Debian package pkg.
func Program(t testing.TB, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		missing(t, name, pkg)
	}
	return path
}

// File returns the first of paths that exists; they come from Debian
// package pkg.
func File(t testing.TB, pkg string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	missing(t, paths[0], pkg)
	return ""
}

func missing(t testing.TB, what, pkg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found, and CI is set: install the Debian package %s (apt-get install -y %s)", what, pkg, pkg)
	}
	t.Skipf("%s not found: install the Debian package %s to run this test (it fails instead when CI is set)", what, pkg)
}
