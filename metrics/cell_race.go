//go:build race

package metrics

import "sync/atomic"

// addOwn is an atomic add under the race detector, which cannot know that
// the processor owns the cell.
func addOwn(c *atomic.Uint64, n uint64) { c.Add(n) }
