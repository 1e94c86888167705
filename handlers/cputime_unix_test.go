//go:build unix

package handlers_test

import (
	"syscall"
	"time"
)

// processCPU is the user and system CPU time this process has used: a
// benchmark's cost that the machine's other work inflates far less than
// its wall-clock time.
func processCPU() time.Duration {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
