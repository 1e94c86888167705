package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// errLocked is the error of a start refused because another process
// serves the same data folder as the same instance.
var errLocked = errors.New("the data folder is in use")

// lockPath is the lock file of instance in dataDir. Processes of different
// -instance names may share one SQLite folder (each owns what it streams);
// two of the same name may not, since each would take the other's running
// issuances for abandoned ones.
func lockPath(dataDir, instance string) string {
	sum := sha256.Sum256([]byte(instance))
	return filepath.Join(dataDir, "tracesvc-"+hex.EncodeToString(sum[:6])+".lock")
}

// lockDataDir creates dataDir when it is missing and takes the lock of
// instance in it for as long as the process lives (the kernel lets it go
// when the process ends, even by kill -9). release gives it back. Another
// live process holding it is errLocked, with what that process wrote in
// the file: its process ID, start time and instance.
func lockDataDir(dataDir, instance string) (release func(), err error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("-data: %w", err)
	}
	path := lockPath(dataDir, instance)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	switch ok, err := tryLock(f); {
	case err != nil:
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	case !ok:
		holder, _ := os.ReadFile(path)
		f.Close()
		return nil, fmt.Errorf("%w: another tracesvc process serves %s as instance %q (%s; lock file %s): "+
			"stop it first, or give this one another -data folder (or, to share the folder, another -instance)",
			errLocked, dataDir, instance, describeHolder(string(holder)), path)
	}
	info := "pid " + strconv.Itoa(os.Getpid()) + "\nsince " + time.Now().UTC().Format(time.RFC3339) + "\ninstance " + instance + "\n"
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(info), 0)
	}
	return func() {
		_ = f.Truncate(0)
		f.Close()
	}, nil
}

// describeHolder turns a lock file's lines into "pid 123, since …".
func describeHolder(s string) string {
	var parts []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if strings.HasPrefix(l, "pid ") || strings.HasPrefix(l, "since ") {
			parts = append(parts, l)
		}
	}
	if len(parts) == 0 {
		return "process unknown"
	}
	return strings.Join(parts, ", ")
}
