// Package testclock is a settable clock for tests of anything with expiry:
// components take a func() time.Time, and tests pass Clock.Now and move
// time with Advance instead of sleeping.
package testclock

import (
	"sync"
	"time"
)

// Start is the instant a new Clock shows: a fixed, ordinary working day, so
// that tests are repeatable.
var Start = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// Clock is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock showing Start.
func New() *Clock { return &Clock{t: Start} }

// Now returns the clock's time; pass it where a func() time.Time is wanted.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
