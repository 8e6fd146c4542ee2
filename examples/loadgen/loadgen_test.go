package main

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/modtest"
)

var listening = regexp.MustCompile(`"msg":"portal listening","url":"(http://[^"]+)/"`)

// sources are the files of the programs in dirs, as a module of its own
// would hold them: no tests, no test data.
func sources(t *testing.T, dirs ...string) map[string][]byte {
	files := map[string][]byte{}
	for _, dir := range dirs {
		err := filepath.WalkDir(filepath.Join("..", dir), func(path string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case d.IsDir() && d.Name() == "testdata":
				return filepath.SkipDir
			case d.IsDir() || strings.HasSuffix(path, "_test.go"):
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if strings.HasSuffix(path, ".go") {
				assert.NotContains(t, string(b), `"github.com/egovkit/egovkit/internal/`, "%s imports only public packages", path)
			}
			rel, _ := filepath.Rel("..", path)
			files[filepath.ToSlash(rel)] = b
			return nil
		})
		require.NoError(t, err)
	}
	return files
}

// TestMixedLoad builds the portal and the load generator as an agency's
// module would, runs the portal in demo mode on SQLite as a process of its
// own with its logs written, and puts a few seconds of every kind of
// transaction on it at a low rate: each kind succeeds every time and the
// report has its percentiles.
func TestMixedLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the portal and the load generator")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	bin := modtest.Build(t, root, sources(t, "portal", "loadgen"))

	admin := strings.Repeat("k", 40)
	env := append(os.Environ(), "EGOVKIT_ADMIN_TOKEN="+admin)
	// startPortal starts the portal in demo mode with args and returns
	// its URL.
	startPortal := func(args ...string) string {
		t.Helper()
		portal := exec.Command(filepath.Join(bin, "portal"), append([]string{"-demo", "-log-json", "-addr", "127.0.0.1:0", "-data", t.TempDir()}, args...)...)
		portal.Env = env
		stderr, err := portal.StderrPipe()
		require.NoError(t, err)
		require.NoError(t, portal.Start())
		t.Cleanup(func() {
			_ = portal.Process.Signal(os.Interrupt)
			_ = portal.Wait()
		})
		found := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(stderr)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() { // read to the end: the portal logs every request
				if m := listening.FindSubmatch(sc.Bytes()); m != nil {
					found <- string(m[1])
				}
			}
			close(found)
		}()
		select {
		case base, ok := <-found:
			require.True(t, ok && base != "", "the portal exited before listening")
			return base
		case <-time.After(time.Minute):
			t.Fatal("the portal did not listen within a minute")
			return ""
		}
	}
	base := startPortal()

	// loadgen runs the load generator against the portal with args and
	// returns what it printed and its one report, read from its JSON.
	loadgen := func(base string, args ...string) (string, *Report, []byte) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "report.json")
		lg := exec.Command(filepath.Join(bin, "loadgen"), append([]string{"-portal", base, "-json", out}, args...)...)
		lg.Env = env
		text, err := lg.CombinedOutput()
		require.NoError(t, err, "%s", text)
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		var reps []Report
		require.NoError(t, json.Unmarshal(b, &reps))
		require.Len(t, reps, 1)
		return string(text), &reps[0], b
	}

	text, rep, b := loadgen(base, "-rate", "12", "-warmup", "1s", "-duration", "4s",
		"-mix", "signin=1,interop=1,declaration=1,authorization=1")
	assert.Regexp(t, `(?m)^ +[0-9]+s measuring +[0-9]+ tx/s`, text, "progress every second")
	for _, k := range kinds {
		f := rep.ByKind[k]
		require.NotNil(t, f, "%s in the report: %s", k, b)
		assert.Positive(t, f.OK, "%s succeeded", k)
		assert.Empty(t, f.Errors, "%s never failed: %s", k, f.LastError)
		assert.Positive(t, f.P50, k)
		assert.LessOrEqual(t, f.P50, f.P90, k)
		assert.LessOrEqual(t, f.P90, f.P99, k)
		assert.LessOrEqual(t, f.P99, f.Max, k)
	}
	assert.Positive(t, rep.Overall.P99)
	assert.InDelta(t, 12, rep.Overall.PerSecond, 6, "the rate held")
	assert.Contains(t, text, "overall")
	assert.Equal(t, 1, rep.Citizens, "the demo citizen alone by default")

	// The same mix over a population: the demo citizen and the portal's
	// three generated citizens, each set up with a session and a consent
	// of their own, every kind succeeding for whichever is drawn. A portal
	// of its own: the demo citizen's sign-in code of the run above would
	// make this one wait a minute for hers.
	popBase := startPortal("-demo-citizens", "3")
	text, rep, b = loadgen(popBase, "-citizens", "4", "-rate", "16", "-warmup", "1s", "-duration", "4s",
		"-mix", "signin=1,interop=1,declaration=1,authorization=1")
	assert.Contains(t, text, "setting up 4 citizens")
	assert.Regexp(t, `setup done in [0-9.]+ s: client loadgen-[A-Z0-9]+, 4 citizen\(s\) each with a single sign-on session and a standing consent`, text)
	for _, k := range kinds {
		f := rep.ByKind[k]
		require.NotNil(t, f, "%s in the report: %s", k, b)
		assert.Positive(t, f.OK, "%s succeeded", k)
		assert.Empty(t, f.Errors, "%s never failed: %s", k, f.LastError)
	}
	assert.Equal(t, 4, rep.Citizens)
	assert.Equal(t, 4, rep.CitizensDrawn, "transactions spread over every citizen (80 draws among 4)")
	assert.Contains(t, text, "4 citizen(s), 4 drawn")

	// More citizens than the portal generated: a clear refusal.
	lg := exec.Command(filepath.Join(bin, "loadgen"), "-portal", popBase, "-citizens", "5", "-rate", "10", "-duration", "1s")
	lg.Env = env
	out, err := lg.CombinedOutput()
	require.Error(t, err, "%s", out)
	assert.Contains(t, string(out), "citizen00004: the portal holds no such citizen: start it with -demo -demo-citizens 4 or more")
	lg = exec.Command(filepath.Join(bin, "loadgen"), "-portal", base, "-citizens", "0", "-rate", "10")
	lg.Env = env
	out, err = lg.CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "-citizens must be between 1 and 10001")

	// client_credentials tokens with private_key_jwt, from two workers:
	// every assertion is new, so none is refused as a replay.
	text, rep, b = loadgen(base, "-mode", "tokens", "-c", "2", "-warmup", "0s", "-duration", "2s")
	f := rep.ByKind[kindToken]
	require.NotNil(t, f, "tokens in the report: %s", b)
	assert.Positive(t, f.OK)
	assert.Empty(t, f.Errors, "no token refused: %s", f.LastError)
	assert.Contains(t, text, "token ")

	// A resource server introspecting tokens taken beforehand, each once:
	// every one is active.
	_, rep, b = loadgen(base, "-mode", "introspect", "-tokens", "400", "-rate", "100", "-warmup", "0s", "-duration", "2s")
	f = rep.ByKind[kindIntrospect]
	require.NotNil(t, f, "introspections in the report: %s", b)
	assert.InDelta(t, 200, f.OK, 20, "every introspection at the rate answered active")
	assert.Empty(t, f.Errors, "none failed: %s", f.LastError)
}
