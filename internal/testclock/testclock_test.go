package testclock

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestClock(t *testing.T) {
	c := New()
	assert.Equal(t, Start, c.Now())
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); c.Advance(time.Second); _ = c.Now() }()
	}
	wg.Wait()
	assert.Equal(t, Start.Add(10*time.Second), c.Now())
	c.Set(Start)
	assert.Equal(t, Start, c.Now())
}
