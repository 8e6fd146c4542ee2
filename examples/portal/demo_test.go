package main

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logBuffer collects what the portal logs, for several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runLogged starts the portal with args, waits until it listens, stops it
// and returns what it logged.
func runLogged(t *testing.T, args ...string) string {
	t.Helper()
	var logs logBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), env(nil), &logs, func(string) { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("portal did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("portal did not start in time")
	}
	cancel()
	require.NoError(t, <-done)
	return logs.String()
}

// TestDemoDataWarnedOnEveryStart: a database that holds demonstration
// accounts is named as such at every start, in demo mode or not, and a
// database without them is not.
func TestDemoDataWarnedOnEveryStart(t *testing.T) {
	const warning = "demonstration accounts with published passwords"
	clean := runLogged(t, "-data", filepath.Join(t.TempDir(), "clean"))
	assert.NotContains(t, clean, warning)

	dataDir := filepath.Join(t.TempDir(), "data")
	first := runLogged(t, "-data", dataDir, "-demo")
	assert.Contains(t, first, warning)
	for _, published := range []string{demoCitizen + " / " + demoCitizenPassword, demoCitizen2 + " / " + demoCitizen2Password, demoServant + " / " + demoServantPassword,
		demoApprover + " / " + demoApproverPass, demoClientID + " / " + demoClientSecret} {
		assert.Contains(t, first, published)
	}
	later := runLogged(t, "-data", dataDir)
	assert.Contains(t, later, warning, "without -demo, the accounts are still there")
	assert.Contains(t, later, demoCitizen+" / "+demoCitizenPassword)
	assert.Contains(t, later, demoClientID+" / "+demoClientSecret)
}

// TestDemoRefusalIsPrinted: a start refused because demo mode would run
// next to real use says why on stderr, and exits with status 2.
func TestDemoRefusalIsPrinted(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-data", t.TempDir(), "-demo", "-public-url", "https://gov.example.gr"},
		env(nil), &out, nil)
	assert.Equal(t, 2, exitCode(err, &out))
	assert.Contains(t, out.String(), "portal: ")
	assert.Contains(t, out.String(), "loopback")
	assert.Contains(t, out.String(), "https://gov.example.gr")
	out.Reset()
	assert.Equal(t, 0, exitCode(nil, &out))
	assert.Empty(t, out.String())
}
