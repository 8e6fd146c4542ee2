// Package browsertest drives Debian's headless chromium from Go tests: it
// loads a page served by the test and returns the DOM the browser built, or
// a screenshot. Tests that use it skip when chromium is not installed
// (apt-get install chromium); CI installs it. Axe checks a page against the
// WCAG 2.1 A and AA rules with axe-core.
//
// Screenshots go to the test's temporary directory, or to
// $EGOVKIT_SCREENSHOT_DIR when that is set, so a person can look at them.
package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// EnvScreenshotDir names a directory where screenshots are kept.
const EnvScreenshotDir = "EGOVKIT_SCREENSHOT_DIR"

// EnvSkip, set to any non-empty value, skips the browser checks even where
// chromium is installed: a second pass of the suite over another database
// engine has nothing to add to them, since the pages do not depend on it.
const EnvSkip = "EGOVKIT_TEST_SKIP_BROWSER"

// Binary returns the path of chromium, or skips the test when there is none
// or when EnvSkip is set.
func Binary(t testing.TB) string {
	t.Helper()
	if os.Getenv(EnvSkip) != "" {
		t.Skipf("browser checks skipped: %s is set", EnvSkip)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("browser checks skipped: chromium is not installed (apt-get install chromium)")
	return ""
}

// run starts a fresh headless browser with an empty profile that makes no
// connection of its own, loads url and returns what it printed.
func run(t testing.TB, url string, extra ...string) []byte {
	t.Helper()
	bin := Binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(),
	}
	args = append(append(args, extra...), url)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("browsertest: chromium %s: %v\n%s", url, err, tail(errb.Bytes()))
	}
	return out.Bytes()
}

// DOM returns the document as the browser serialises it after loading url.
func DOM(t testing.TB, url string) string {
	t.Helper()
	return string(run(t, url, "--dump-dom"))
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot saves a PNG of url as seen in a window of the given size and
// returns its path. name becomes part of the file name.
func Screenshot(t testing.TB, url, name string, width, height int) string {
	t.Helper()
	path := screenshotPath(t, name)
	run(t, url, "--screenshot="+path, fmt.Sprintf("--window-size=%d,%d", width, height))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("browsertest: no screenshot: %v", err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("browsertest: %s is not a PNG", path)
	}
	return path
}

// screenshotPath is where the screenshot called name goes.
func screenshotPath(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv(EnvScreenshotDir)
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	return filepath.Join(dir, unsafeName.ReplaceAllString(name, "_")+".png")
}

func tail(b []byte) []byte {
	if len(b) > 2000 {
		return b[len(b)-2000:]
	}
	return b
}

// Pixel returns the colour at x, y of the PNG at path (a [Screenshot]), so
// a test can check that a page's stylesheet was applied: an unstyled page
// is white where the styled one shows its header.
func Pixel(t testing.TB, path string, x, y int) color.RGBA {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("browsertest: %s: %v", path, err)
	}
	if !(image.Point{x, y}).In(img.Bounds()) {
		t.Fatalf("browsertest: %d,%d is outside %s (%v)", x, y, path, img.Bounds())
	}
	r, g, b, a := img.At(x, y).RGBA()
	return color.RGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: uint8(a >> 8)}
}
