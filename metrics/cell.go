//go:build !race

package metrics

import (
	"sync/atomic"
	"unsafe"
)

// addOwn adds n to a cell that only the calling processor writes. The
// caller has pinned its goroutine to the processor (procPin), so no other
// goroutine can write the cell until it unpins: a plain add suffices, and
// avoids the locked instruction that makes an atomic add several times
// dearer. Readers load the cell atomically; a word-sized load sees a value
// that was written (the Go memory model rules out torn or invented
// values), at worst one that a later flush brings up to date.
func addOwn(c *atomic.Uint64, n uint64) {
	p := (*uint64)(unsafe.Pointer(c))
	*p += n
}
