//go:build unix

package sqlitedb

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// counterSize is the mapped file's size: one page.
const counterSize = 4096

// openCounter maps the counter in path, creating the file when needed.
// The mapping lasts as long as the process (one page), so that no late
// reader can touch memory given back; the file is closed at once.
func openCounter(path string) (*Counter, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: counter: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("sqlite: counter: %w", err)
	}
	if st.Size() < counterSize {
		// Growing to the same size keeps what another process already
		// counted: the bytes past the old end read as zeros.
		if err := f.Truncate(counterSize); err != nil {
			return nil, fmt.Errorf("sqlite: counter: %w", err)
		}
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, counterSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("sqlite: map counter %s: %w", path, err)
	}
	// The mapping is page-aligned, so its first 8 bytes are aligned for atomics.
	return &Counter{n: (*atomic.Uint64)(unsafe.Pointer(&mem[0]))}, nil
}
