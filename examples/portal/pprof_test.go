package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// TestPprofOnLoopbackOnly: -pprof serves Go's profiles on a loopback
// address and refuses any other.
func TestPprofOnLoopbackOnly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:6060", "example.org:6060", "6060"} {
		assert.Error(t, servePprof(ctx, addr, zap.NewNop()), addr)
	}
	core, logs := observer.New(zap.WarnLevel)
	require.NoError(t, servePprof(ctx, "127.0.0.1:0", zap.New(core)))
	require.Equal(t, 1, logs.Len())
	u := logs.All()[0].ContextMap()["url"].(string)
	require.Regexp(t, regexp.MustCompile(`^http://127\.0\.0\.1:[0-9]+/debug/pprof/$`), u)
	resp, err := http.Get(u + "goroutine?debug=1")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(b), "goroutine profile")
}
