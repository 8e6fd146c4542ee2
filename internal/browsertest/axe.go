package browsertest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// EnvNodeModules names a node_modules directory holding axe-core and
// playwright-core, which Axe needs; .ci/run installs them.
const EnvNodeModules = "EGOVKIT_NODE_MODULES"

//go:embed axe.js
var axeScript []byte

// AxeViolation is one accessibility rule a page breaks, as axe-core
// reports it.
type AxeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// AxeReport is what axe-core found on a page.
type AxeReport struct {
	URL        string         `json:"url"` // after redirects
	Passes     int            `json:"passes"`
	Violations []AxeViolation `json:"violations"`
	// ScrollWidth is the document's width and InnerWidth the window's, in
	// CSS pixels: a page wider than its window scrolls sideways.
	ScrollWidth int `json:"scrollWidth"`
	InnerWidth  int `json:"innerWidth"`
	// Overflowing names the first elements (tag#id.class) that pass the
	// window's right edge outside any box that scrolls on its own.
	Overflowing []string `json:"overflowing"`
	// Screenshot is the path of the full-page PNG AxeAt saved, if asked.
	Screenshot string `json:"-"`
}

// Axe loads url in headless chromium and checks it with axe-core against
// the WCAG 2.1 A and AA rules. It skips the test when chromium, node or
// the modules in $EGOVKIT_NODE_MODULES are missing.
func Axe(t testing.TB, url string) AxeReport {
	t.Helper()
	return axe(t, url)
}

// AxeAt is Axe in a window width by height CSS pixels wide and high, such
// as 390 by 844 for a phone. When shot is not empty it also saves a
// screenshot of the whole page, named as Screenshot names its files, and
// returns its path in the report.
func AxeAt(t testing.TB, url string, width, height int, shot string) AxeReport {
	t.Helper()
	args := []string{strconv.Itoa(width), strconv.Itoa(height)}
	var path string
	if shot != "" {
		path = screenshotPath(t, shot)
		args = append(args, path)
	}
	rep := axe(t, url, args...)
	rep.Screenshot = path
	return rep
}

func axe(t testing.TB, url string, args ...string) AxeReport {
	t.Helper()
	out := Script(t, axeScript, append([]string{url}, args...)...)
	var rep AxeReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("browsertest: axe %s: %v: %s", url, err, tail(out))
	}
	if rep.Passes == 0 {
		t.Fatalf("browsertest: axe checked nothing on %s", url)
	}
	return rep
}

// Script runs a playwright script with node and returns what it printed
// on stdout. The script gets chromium's path as its first argument and
// args after it, finds playwright-core and axe-core with require, and
// finds the directory to keep screenshots in in $EGOVKIT_SCREENSHOT_DIR
// (the test's temporary directory unless set). It skips the test when
// chromium, node or the modules in $EGOVKIT_NODE_MODULES are missing, and
// fails it when the script fails.
func Script(t testing.TB, script []byte, args ...string) []byte {
	t.Helper()
	bin := Binary(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("browser scripts skipped: node is not installed")
	}
	modules := os.Getenv(EnvNodeModules)
	for _, m := range []string{"axe-core", "playwright-core"} {
		if modules == "" {
			t.Skipf("browser scripts skipped: set %s to a node_modules with axe-core and playwright-core", EnvNodeModules)
		}
		if _, err := os.Stat(filepath.Join(modules, m)); err != nil {
			t.Skipf("browser scripts skipped: %s has no %s", modules, m)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "script.js")
	if err := os.WriteFile(path, script, 0o600); err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv(EnvScreenshotDir)
	if shots == "" {
		shots = dir
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{path, bin}, args...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, EnvScreenshotDir+"="+shots)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("browsertest: script %v: %v\n%s%s", args, err, tail(out.Bytes()), tail(errb.Bytes()))
	}
	return out.Bytes()
}

// AssertAccessible fails the test for every WCAG 2.1 AA violation axe-core
// finds on url, and returns the report.
func AssertAccessible(t testing.TB, url string) AxeReport {
	t.Helper()
	rep := Axe(t, url)
	for _, v := range rep.Violations {
		t.Errorf("%s: %s (%s) at %s", rep.URL, v.Help, v.ID, strings.Join(v.Nodes, ", "))
	}
	return rep
}
