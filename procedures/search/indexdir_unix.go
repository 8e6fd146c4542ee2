//go:build unix

package search

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on f without waiting; it fails when
// another open file holds one.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
