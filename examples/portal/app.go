package main

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/metrics"
	"github.com/egovkit/egovkit/middleware"
	"github.com/egovkit/egovkit/page"
	"github.com/egovkit/egovkit/problem"
	"github.com/egovkit/egovkit/sms"
	"github.com/egovkit/egovkit/sqldb"
)

//go:embed openapi.json
var openAPIDoc []byte

//go:embed templates messages
var assets embed.FS

// sharedStatic is where the portal serves the one stylesheet all its pages
// link, its own and the packages'.
const sharedStatic = "/static/"

// appConfig is what the portal's handler is built from.
type appConfig struct {
	DB      *sql.DB
	KEK     []byte // protects the signing keys stored in DB
	BaseURL string // http(s)://host[:port] the portal is reached at
	Demo    bool   // create demonstration data
	Log     *zap.Logger
	// SMS delivers one-time codes; nil in demo mode means the development
	// outbox, and otherwise no codes (sign-ins reach only LoA low).
	SMS sms.Sender
	// AdminToken opens the client administration API at
	// /auth/<realm>/admin/ to bearers of it; empty leaves it unmounted.
	AdminToken string
	// PDFSigner signs the PDFs of declarations; nil leaves them unsigned.
	PDFSigner *declaration.PDFSigner
	// Journey, in demo mode, is where the demonstration's agency and
	// registry answer; nil leaves them out.
	Journey *demoJourney
	// DemoCitizens is how many generated citizens demo mode creates and
	// the demo registries hold records of.
	DemoCitizens int
}

// app is the portal's whole HTTP surface: the packages mounted on one mux
// behind the shared middleware.
type app struct {
	http.Handler
	ready    *sqldb.Probe // whether the database writes, for /readyz
	log      *zap.Logger
	pages    *page.Renderer
	services []service
	issuers  []string // the identity realms' issuer URLs
	closers  []func() error
	// journeyURL is the demo journey's agency, linked from the home page.
	journeyURL string

	providers      []*auth.Provider
	servants       *auth.Provider       // the civil servants' realm
	servantClients *auth.ClientRegistry // its clients
	citizens       *auth.Provider       // the citizens' realm
	citizenClients *auth.ClientRegistry // its clients
	accounts       *auth.Accounts
	otps           *auth.OneTimeCodes // nil without an SMS sender
	totp           *auth.TOTPStore    // authenticator apps; nil without an SMS sender
	account        string             // where the citizen's account page is; empty when not mounted
	demo           bool
	contacts       *auth.ContactRegistry // nil without an SMS sender
	outbox         *sms.Outbox           // the development outbox, in demo mode
	metrics        *metrics.Metrics
	callSeconds    *prometheus.HistogramVec // the gateway's call durations

	consent       *consent.Service // nil without an SMS sender
	interop       *interopLayer
	interopTokens *rp.Verifier // servants' tokens for the operators' API

	// signingKeys are each realm's keys, to check its tokens in process.
	signingKeys map[string]auth.SigningKeys
}

// service is one entry of the home page: a capability the portal hosts.
type service struct {
	Key  string // catalogue prefix: home.<key>.title, home.<key>.text
	Href string // where it is mounted; empty while the package is not mounted
}

func newApp(ctx context.Context, cfg appConfig) (*app, error) {
	log := cfg.Log
	if log == nil {
		log = zap.NewNop()
	}
	ready, err := sqldb.NewProbe(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	pages, err := page.NewRenderer(assets, "templates/*.html",
		page.WithMessages(assets, "messages/*.json"),
		page.WithServiceName("home.service"),
		page.WithLogger(log),
	)
	if err != nil {
		return nil, err
	}
	a := &app{ready: ready, log: log, pages: pages, services: []service{
		{Key: "auth"}, {Key: "declaration"}, {Key: "procedures"},
		{Key: "consent"}, {Key: "interop"}, {Key: "metrics"},
	}}

	mux := http.NewServeMux()
	// One stylesheet for every page of the portal, cached once by the
	// browser; each package's handler could serve its own copy too.
	mux.Handle("GET "+sharedStatic, page.Static())
	// Pages link the SVG favicon; what browsers ask of the root for
	// anything else (a PDF, JSON) is sent to it.
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, sharedStatic+"favicon.svg", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPIDoc)
	})
	a.demo = cfg.Demo
	if cfg.Demo && cfg.SMS == nil {
		a.outbox = &sms.Outbox{}
		cfg.SMS = a.outbox
	}
	if err := a.mountStats(ctx, mux, cfg); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.mountAuth(ctx, mux, cfg); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.mountAccount(ctx, mux, cfg); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.mountProcedures(ctx, mux, cfg); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.mountDeclarations(ctx, mux, cfg); err != nil {
		a.Close()
		return nil, err
	}
	a.interop = &interopLayer{consumers: map[string]interop.ClientID{}, requesters: map[string]string{}, sources: map[string]consent.Source{}}
	if err := a.mountConsent(ctx, mux, cfg); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.mountInterop(ctx, mux, cfg); err != nil {
		a.Close()
		return nil, err
	}
	if cfg.Demo {
		if err := a.seedDemo(ctx, mux); err != nil {
			a.Close()
			return nil, err
		}
		if err := a.seedPopulation(ctx, cfg.DemoCitizens); err != nil {
			a.Close()
			return nil, err
		}
		if err := a.mountDemoSites(mux, cfg); err != nil {
			a.Close()
			return nil, err
		}
		a.services[0].Href = "/demo/citizen/"
		if cfg.Journey != nil && a.consent != nil {
			if err := a.startJourney(ctx, cfg); err != nil {
				a.Close()
				return nil, err
			}
		}
	}
	if err := a.warnDemoData(ctx, cfg.Demo); err != nil {
		a.Close()
		return nil, err
	}

	logged := middleware.WithLogger(log)
	a.Handler = middleware.Chain(
		middleware.RequestID,
		middleware.AccessLog(logged),
		middleware.Recover(logged),
	)(middleware.Fallbacks(mux, func(w http.ResponseWriter, r *http.Request, status int) {
		a.pages.RenderError(w, r, status, "")
	}))
	return a, nil
}

// Close releases what the packages hold. The database belongs to the caller.
func (a *app) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	return errors.Join(errs...)
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	data := map[string]any{"Services": a.services, "Issuers": a.issuers, "Account": a.account}
	if a.demo {
		data["Demo"], data["DemoPeople"] = true, demoPeople
		if a.outbox != nil {
			data["Outbox"] = "/dev/outbox"
		}
		if a.journeyURL != "" {
			data["Journey"] = a.journeyURL
		}
	}
	a.pages.Render(w, r, http.StatusOK, "home.html", data)
}

type health struct {
	Status   string `json:"status"`
	Database string `json:"database,omitempty"`
}

func (a *app) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, health{Status: "ok"})
}

// readyz reports whether the database can write, not only answer: a
// read-only database (a standby, a read-only file) or a full disk takes
// the instance out of rotation as surely as a database that is down.
func (a *app) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.ready.Check(ctx); err != nil {
		a.log.Warn("readiness check failed", zap.Error(err))
		problem.Write(w, r, problem.Unavailable("the database does not answer or cannot write", retryAfterUnready))
		return
	}
	writeJSON(w, health{Status: "ok", Database: a.ready.Engine()})
}

// retryAfterUnready is the Retry-After, in seconds, of a failed readiness
// check.
const retryAfterUnready = 5

// writeJSON answers 200 with v as JSON.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
