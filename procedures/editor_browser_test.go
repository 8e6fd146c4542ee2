package procedures_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/browsertest"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// TestEditorInBrowser walks the workspace in chromium, clicking as people
// do (testdata/editor_flow.js): without the form's script, a new procedure
// saved with two errors, fixed, previewed, submitted, approved and
// published; revised from its public page, with a group item added, moved
// and removed by the server; and approved again with what changed beside
// it. With the script, under the pages' own Content-Security-Policy,
// items are added, moved and removed without leaving the page, with the
// focus kept, each change said and the summary's links following their
// fields, and the draft created holds what the form showed; with JavaScript off, an add still works. Every state is
// checked with axe-core, must not scroll sideways at 390 pixels, and is
// kept as a screenshot 1280 and 390 pixels wide (in
// $EGOVKIT_SCREENSHOT_DIR when set).
func TestEditorInBrowser(t *testing.T) {
	bin := browsertest.Binary(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("browser flow skipped: node is not installed")
	}
	modules := os.Getenv(browsertest.EnvNodeModules)
	for _, m := range []string{"axe-core", "playwright-core"} {
		if _, err := os.Stat(filepath.Join(modules, m)); modules == "" || err != nil {
			t.Skipf("browser flow skipped: set %s to a node_modules with axe-core and playwright-core", browsertest.EnvNodeModules)
		}
	}
	dir := os.Getenv(browsertest.EnvScreenshotDir)
	if dir == "" {
		dir = t.TempDir()
	}
	dir = filepath.Join(dir, "procedures-editor")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	script, err := filepath.Abs("testdata/editor_flow.js")
	require.NoError(t, err)

	s := newEditorSite(t, sqltest.SQLite(t), true)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, bin, s.srv.URL+"/procedures", dir)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), errb.String())
	var rep struct {
		States []struct {
			Name, URL   string
			Screenshots []string
			Missing     []string
			Overflow    bool
			Passes      int
			Violations  []browsertest.AxeViolation
		}
		Enhanced struct {
			Stayed                               string
			Navigations                          int
			CSP, Errors                          []string
			Saved                                string
			ServerAdded, ServerKept, ServerSteps string
		}
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), out.String())

	var names []string
	for _, st := range rep.States {
		names = append(names, st.Name)
		if st.Name == "revision" {
			assert.Regexp(t, `/edit/pet-passport/2#f-steps-0$`, st.URL, "a moved item is brought into view")
		}
		assert.Empty(t, st.Missing, "%s (%s) does not say", st.Name, st.URL)
		assert.False(t, st.Overflow, "%s scrolls sideways at 390 px", st.Name)
		assert.Positive(t, st.Passes, "axe checked nothing on %s", st.Name)
		for _, v := range st.Violations {
			t.Errorf("%s (%s): %s (%s) at %v", st.Name, st.URL, v.Help, v.ID, v.Nodes)
		}
		for _, shot := range st.Screenshots {
			b, err := os.ReadFile(shot)
			if assert.NoError(t, err) {
				assert.True(t, bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")), shot)
			}
		}
	}
	assert.Equal(t, []string{"workspace", "new", "new-el", "error", "preview", "submitted", "review-first", "published",
		"public-editor", "revision", "diff", "diff-el", "public-revised",
		"enhanced-added", "enhanced-moved", "enhanced-removed"}, names)

	pub, err := s.reg.Published(t.Context(), "pet-passport")
	require.NoError(t, err)
	assert.Equal(t, 2, pub.Version)
	assert.Equal(t, "Apply online", pub.Procedure.Steps[0].Title.EN)
	assert.Len(t, pub.Procedure.Steps, 1, "the step added and moved was removed again")
	require.Len(t, pub.Procedure.FAQ, 1)
	assert.Equal(t, 12.0, pub.Procedure.Costs[0].Min)

	// With the script: no round trip, nothing the policy refused, and the
	// draft is what the page showed.
	e := rep.Enhanced
	assert.Equal(t, "this page", e.Stayed, "adding, moving and removing stay on the page")
	assert.Equal(t, 1, e.Navigations)
	assert.Empty(t, e.CSP, "the pages' policy lets the script run and refuses it nothing")
	assert.Empty(t, e.Errors)
	assert.Regexp(t, `/edit/pet-licence/1\?saved=1$`, e.Saved)
	draft, err := s.reg.Get(t.Context(), "pet-licence", 1)
	require.NoError(t, err)
	require.Len(t, draft.Procedure.Steps, 1, "two steps added and moved, one removed")
	assert.Equal(t, "Book", draft.Procedure.Steps[0].Title.EN, "the step moved up is the one kept")
	assert.Equal(t, "Ραντεβού", draft.Procedure.Steps[0].Title.EL)
	require.Len(t, draft.Procedure.FAQ, 1, "a question added to an empty group")
	assert.Equal(t, "What does it cost?", draft.Procedure.FAQ[0].Question.EN)

	// Without JavaScript, the server adds the step and keeps what was typed.
	assert.Regexp(t, `/edit/new#f-steps-1$`, e.ServerAdded)
	assert.Equal(t, "Apply", e.ServerKept)
	assert.Equal(t, "2", e.ServerSteps)
}
