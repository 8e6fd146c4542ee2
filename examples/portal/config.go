package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/egovkit/egovkit/kek"
)

// config is what the portal is started with. Flags win over environment
// variables (EGOVKIT_ADDR, EGOVKIT_DATA, EGOVKIT_DB, EGOVKIT_KEK), which win
// over the defaults.
type config struct {
	Addr    string // listen address
	DataDir string // database file and generated secrets
	DB      string // database URL; empty means SQLite in DataDir
	KEK     string // key-encryption key (base64); empty means DataDir/kek
	LogJSON bool   // JSON logs for log collectors instead of console lines
	// PublicURL is where people and clients reach the portal; issuer URLs
	// are made from it. Empty means http://<listening address>.
	PublicURL string
	// Demo creates demonstration data (accounts and a client with
	// published passwords and secret) on first run. Off unless asked for
	// (-demo, EGOVKIT_DEMO=true), and refused next to an SMS gateway or a
	// public URL that is not a loopback address: never on a server that
	// real people use.
	Demo bool
	// DemoAgencyAddr and DemoRegistryAddr are where, in demo mode, the
	// journey's agency and registry listen (loopback, a free port by
	// default).
	DemoAgencyAddr, DemoRegistryAddr string
	// DemoCitizens is how many generated citizens demo mode creates beside
	// the two demo citizens (-demo-citizens, EGOVKIT_DEMO_CITIZENS), up to
	// maxDemoCitizens; 0 creates none.
	DemoCitizens int
	// SMSWebhook is the SMS gateway's URL; codes are posted to it as
	// signed JSON (SMSWebhookSecret keys the signature).
	SMSWebhook       string
	SMSWebhookSecret string
	// AdminToken opens the client administration API (EGOVKIT_ADMIN_TOKEN,
	// at least 32 characters); empty leaves the API unmounted.
	AdminToken string
	// PDFCert and PDFKey are PEM files of the certificate and key that
	// sign PDFs (EGOVKIT_PDF_CERT, EGOVKIT_PDF_KEY).
	PDFCert, PDFKey string
	// Grace bounds the whole shutdown after a signal: requests under way,
	// then closing the packages and the database pool.
	Grace time.Duration
	// Pprof is a loopback address to serve Go's profiles on (-pprof);
	// empty serves none.
	Pprof string
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	def := func(env, fallback string) string {
		if v := getenv(env); v != "" {
			return v
		}
		return fallback
	}
	var c config
	demo := false
	if v := getenv("EGOVKIT_DEMO"); v != "" {
		var err error
		if demo, err = strconv.ParseBool(v); err != nil {
			return c, fmt.Errorf("EGOVKIT_DEMO must be true or false, not %q", v)
		}
	}
	demoCitizens := 0
	if v := getenv("EGOVKIT_DEMO_CITIZENS"); v != "" {
		var err error
		if demoCitizens, err = strconv.Atoi(v); err != nil {
			return c, fmt.Errorf("EGOVKIT_DEMO_CITIZENS must be a whole number, not %q", v)
		}
	}
	fl := flag.NewFlagSet("portal", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&c.Addr, "addr", def("EGOVKIT_ADDR", "127.0.0.1:8080"), "listen address (env EGOVKIT_ADDR)")
	fl.StringVar(&c.DataDir, "data", def("EGOVKIT_DATA", "egovkit-data"), "data directory for the SQLite database and generated keys (env EGOVKIT_DATA)")
	fl.StringVar(&c.DB, "db", getenv("EGOVKIT_DB"), "database URL: sqlite:PATH or postgres://… (env EGOVKIT_DB; default sqlite:DATA/egovkit.db)")
	fl.BoolVar(&c.LogJSON, "log-json", getenv("EGOVKIT_LOG_JSON") != "", "write logs as JSON (env EGOVKIT_LOG_JSON)")
	fl.StringVar(&c.PublicURL, "public-url", getenv("EGOVKIT_PUBLIC_URL"), "URL the portal is reached at, for issuer URLs (env EGOVKIT_PUBLIC_URL; default http://ADDR)")
	fl.StringVar(&c.SMSWebhook, "sms-webhook", getenv("EGOVKIT_SMS_WEBHOOK"), "SMS gateway URL for one-time codes (env EGOVKIT_SMS_WEBHOOK; secret in EGOVKIT_SMS_WEBHOOK_SECRET); without it, and outside demo mode, sign-ins reach only LoA low")
	fl.DurationVar(&c.Grace, "shutdown-grace", shutdownGrace, "how long stopping may take after SIGINT or SIGTERM, even when the database hangs")
	fl.StringVar(&c.Pprof, "pprof", "", "serve Go's profiles (/debug/pprof/) on this loopback address, for measuring; off by default")
	fl.BoolVar(&c.Demo, "demo", demo, "create demonstration accounts and a client with published passwords, on a loopback address only, never with -sms-webhook (env EGOVKIT_DEMO=true)")
	fl.IntVar(&c.DemoCitizens, "demo-citizens", demoCitizens, fmt.Sprintf("with -demo, also create this many generated citizens (citizen00001 … / %s, at most %d), for loads that spread over a population (env EGOVKIT_DEMO_CITIZENS)", populationPassword, maxDemoCitizens))
	fl.StringVar(&c.DemoAgencyAddr, "demo-agency-addr", "127.0.0.1:0", "in demo mode, where the journey's agency (examples/agency) listens")
	fl.StringVar(&c.DemoRegistryAddr, "demo-registry-addr", "127.0.0.1:0", "in demo mode, where the journey's registry (examples/registry) listens")
	fl.Usage = func() {
		fmt.Fprintf(fl.Output(), "Usage: portal [flags]\n\nRuns every egovkit package on one port.\n\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, errFlagHelp
		}
		return c, err
	}
	if fl.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fl.Args(), " "))
	}
	c.KEK = getenv("EGOVKIT_KEK")
	c.SMSWebhookSecret = getenv("EGOVKIT_SMS_WEBHOOK_SECRET")
	c.AdminToken = getenv("EGOVKIT_ADMIN_TOKEN")
	c.PDFCert, c.PDFKey = getenv("EGOVKIT_PDF_CERT"), getenv("EGOVKIT_PDF_KEY")
	if c.AdminToken != "" && len(c.AdminToken) < 32 {
		return c, errors.New("EGOVKIT_ADMIN_TOKEN must have at least 32 characters")
	}
	if c.SMSWebhook != "" && !strings.HasPrefix(c.SMSWebhook, "https://") && !strings.HasPrefix(c.SMSWebhook, "http://") {
		return c, errors.New("-sms-webhook must be an http(s) URL")
	}
	if c.DataDir == "" {
		return c, errors.New("-data must not be empty")
	}
	if c.Grace <= 0 {
		return c, errors.New("-shutdown-grace must be positive")
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		return c, errors.New("-public-url must start with http:// or https://")
	}
	if c.DB == "" {
		c.DB = "sqlite:" + filepath.Join(c.DataDir, "egovkit.db")
	}
	if c.Demo {
		if err := demoAllowed(c); err != nil {
			return c, err
		}
	}
	switch {
	case c.DemoCitizens < 0 || c.DemoCitizens > maxDemoCitizens:
		return c, fmt.Errorf("-demo-citizens must be between 0 and %d, not %d", maxDemoCitizens, c.DemoCitizens)
	case c.DemoCitizens > 0 && !c.Demo:
		return c, errors.New("-demo-citizens creates demonstration accounts: it needs -demo")
	}
	return c, nil
}

// demoAllowed refuses demo mode next to what real people would use: an SMS
// gateway, or a portal reached anywhere but on this machine (its public
// URL, or without one the listening address).
func demoAllowed(c config) error {
	const why = "-demo creates accounts and a client whose passwords are published"
	if c.SMSWebhook != "" {
		return errors.New(why + ": it cannot run with an SMS gateway (-sms-webhook, EGOVKIT_SMS_WEBHOOK)")
	}
	host, what := "", ""
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil {
			return fmt.Errorf("-public-url: %w", err)
		}
		host, what = u.Hostname(), "public URL "+c.PublicURL+" (-public-url, EGOVKIT_PUBLIC_URL)"
	} else {
		h, _, err := net.SplitHostPort(c.Addr)
		if err != nil {
			return fmt.Errorf("-addr: %w", err)
		}
		host, what = h, "listening address "+c.Addr+" (-addr, EGOVKIT_ADDR)"
	}
	if !isLoopback(host) {
		return fmt.Errorf("%s: it runs only on a loopback address (127.0.0.1, [::1], localhost), not at the %s", why, what)
	}
	return nil
}

// isLoopback reports whether host names this machine only.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// errFlagHelp means -h was asked for and the usage was printed.
var errFlagHelp = flag.ErrHelp

// loadOrCreateKEK returns the key-encryption key: from EGOVKIT_KEK when set,
// else from the file DataDir/kek, which is created with fresh random bytes on
// first run and readable by the owner only. A file with other permissions is
// refused rather than silently used.
func loadOrCreateKEK(c config) (key []byte, created bool, err error) {
	if c.KEK != "" {
		key, err = kek.Parse(c.KEK)
		if err != nil {
			return nil, false, fmt.Errorf("EGOVKIT_KEK: %w", err)
		}
		return key, false, nil
	}
	path := filepath.Join(c.DataDir, "kek")
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		fi, serr := os.Stat(path)
		if serr != nil {
			return nil, false, serr
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, false, fmt.Errorf("%s is readable by others (mode %v); run chmod 600 on it", path, fi.Mode().Perm())
		}
		key, err = kek.Parse(string(b))
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return key, false, nil
	case errors.Is(err, fs.ErrNotExist):
		key, err = kek.Generate()
		if err != nil {
			return nil, false, err
		}
		// O_EXCL: never overwrite a key written by a concurrent start.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("create %s: %w", path, err)
		}
		_, werr := f.WriteString(kek.Encode(key) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(path)
			return nil, false, fmt.Errorf("write %s: %w", path, werr)
		}
		return key, true, nil
	default:
		return nil, false, err
	}
}
