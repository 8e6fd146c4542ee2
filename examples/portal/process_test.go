package main

import (
	"bufio"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBinaryStopsOnSIGTERM builds the portal, runs it as an operator would,
// serves a request, and sends SIGTERM: the process must stop by itself,
// cleanly, within the grace period.
func TestBinaryStopsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the portal with")
	}
	bin := filepath.Join(t.TempDir(), "portal")
	build := exec.Command(gobin, "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "data"))
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()

	// The listening address is in the start-up log line.
	urlRE := regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/`)
	lines := bufio.NewScanner(stderr)
	var base string
	var logged []string
	for lines.Scan() {
		logged = append(logged, lines.Text())
		if u := urlRE.FindString(lines.Text()); u != "" {
			base = u
			break
		}
	}
	require.NotEmpty(t, base, "no listening line in %q", logged)
	rest := make(chan []string, 1)
	go func() {
		var more []string
		for lines.Scan() {
			more = append(more, lines.Text())
		}
		rest <- more
	}()

	resp, err := http.Get(base + "readyz")
	require.NoError(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		assert.NoError(t, err, "exit status after SIGTERM")
	case <-time.After(shutdownGrace + 5*time.Second):
		t.Fatal("the portal did not stop after SIGTERM")
	}
	more := <-rest
	assert.Contains(t, strings.Join(more, "\n"), "stopped")
}
