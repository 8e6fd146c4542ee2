// Command registry is a registry's system behind the interop gateway
// (provider B of the once-only journey): the civil registry's
// family-status certificate, served as a small REST API that only the
// gateway may call, each request checked with package interop/provider
// against the gateway's published keys.
//
//	go run ./examples/portal -demo &                  # the portal and its gateway, at http://127.0.0.1:8080
//	go run ./examples/registry -portal http://127.0.0.1:8080
//
// It serves:
//
//	/                                 a page saying what the registry offers (Greek and English)
//	/api/family-status                the certificate of the citizen the call is about (gateway only)
//	/api/family-status/preview        the same data as item and value pairs, the preview the
//	                                  citizen sees before consenting (gateway only)
//	/static/                          the shared stylesheet
//
// Register it at the gateway as two services with the upstream
// <public URL>/api and the items marital_status, spouse and children: the
// certificate, which requires consent, with a right to GET
// /family-status for the agencies that ask for it; and its preview,
// without consent (its legal basis: the citizen sees their own data
// before deciding), with a right to GET /family-status/preview for the
// portal's consent pages alone. The gateway forwards a call's path after
// the service identifier below the upstream, signed: GET
// /r1/GR/GOV/EL-YPES/CIVREG/family-status/family-status arrives here as
// GET /api/family-status.
//
// # Who the call is about
//
// The gateway passes the citizen two ways: X-Road-UserId, the identifier
// the consumer sent ("GR" and the tax number), and a keyed pseudonym of it
// (Egovkit-Citizen-Pseudonym) that only the gateway can compute. The
// registry finds its records by tax number, so it reads X-Road-UserId.
// It may trust it: the gateway's signature covers the header, and the
// gateway checked, before forwarding, that the citizen's consent covers
// this consumer, this service and this very identifier. The pseudonym and
// the consent id are logged with each answer; the tax number never is.
//
// # Data
//
// On first run it writes a few sample citizens to <data>/citizens.json,
// which it reads at every start: edit it to change what the registry
// holds. The registry keeps no secret: it verifies signatures with the
// gateway's public keys (-gateway-jwks, by default the portal's
// <portal>/interop/keys), fetched and cached by interop/provider. It stops
// gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/interop/provider"
	"github.com/egovkit/egovkit/page"
	"github.com/egovkit/egovkit/problem"
)

//go:embed templates messages
var assets embed.FS

type config struct {
	Addr, Data, Portal, JWKS string
}

func main() {
	var c config
	flag.StringVar(&c.Addr, "addr", "127.0.0.1:8091", "address to listen on")
	flag.StringVar(&c.Data, "data", "registry-data", "data directory, created on first run")
	flag.StringVar(&c.Portal, "portal", "http://127.0.0.1:8080", "the portal's URL, whose gateway calls this registry")
	flag.StringVar(&c.JWKS, "gateway-jwks", "", "the gateway's JWK set; empty means <portal>/interop/keys")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log, _ := zap.NewProduction()
	if err := run(ctx, log, c); err != nil {
		log.Error("registry", zap.Error(err))
		os.Exit(1)
	}
}

func run(ctx context.Context, log *zap.Logger, c config) error {
	if c.JWKS == "" {
		c.JWKS = strings.TrimSuffix(c.Portal, "/") + "/interop/keys"
	}
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return err
	}
	people, err := loadCitizens(filepath.Join(c.Data, "citizens.json"), log)
	if err != nil {
		return err
	}
	gateway, err := provider.New(ctx, provider.Config{JWKSURL: c.JWKS, Logger: log.Named("provider")})
	if err != nil {
		return err
	}
	pages, err := page.NewRenderer(assets, "templates/*.html",
		page.WithMessages(assets, "messages/*.json"), page.WithServiceName("registry.service"), page.WithLogger(log))
	if err != nil {
		return err
	}
	reg := &registry{people: people, log: log}
	mux := http.NewServeMux()
	mux.Handle("GET /api/family-status", gateway.Middleware(http.HandlerFunc(reg.certificate)))
	mux.Handle("GET /api/family-status/preview", gateway.Middleware(http.HandlerFunc(reg.preview)))
	mux.Handle("GET /static/", page.Static())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		pages.Render(w, r, http.StatusOK, "home.html", map[string]any{"Items": items, "Citizens": len(people), "JWKS": c.JWKS})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			problem.Write(w, r, problem.New(problem.TypeNotFound, http.StatusNotFound, "no such resource"))
			return
		}
		pages.RenderError(w, r, http.StatusNotFound, "")
	})
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	log.Info("verifying the gateway's signatures", zap.String("jwks", c.JWKS))
	return serve(ctx, log, ln, mux)
}

// items are the data items the service releases, as registered at the
// gateway and named in consent requests.
var items = []string{"marital_status", "spouse", "children"}

// citizen is what the registry holds about a person.
type citizen struct {
	TaxNumber     string  `json:"tax_number"`
	GivenName     string  `json:"given_name"`
	FamilyName    string  `json:"family_name"`
	MaritalStatus string  `json:"marital_status"` // single, married, divorced, widowed
	Spouse        string  `json:"spouse,omitempty"`
	Children      []child `json:"children"`
	Municipality  string  `json:"municipality"`
}

type child struct {
	Name      string `json:"name"`
	BirthDate string `json:"birth_date"`
}

// samples are written on first run. The first is the demo citizen of the
// portal and of the examples' tests (tax number 123456783).
var samples = []citizen{
	{TaxNumber: "123456783", GivenName: "Μαρία", FamilyName: "Παπαδοπούλου", MaritalStatus: "married",
		Spouse: "Νίκος Παπαδόπουλος", Municipality: "Αθηναίων",
		Children: []child{{Name: "Ελένη Παπαδοπούλου", BirthDate: "2016-05-02"}, {Name: "Γιώργος Παπαδόπουλος", BirthDate: "2019-11-20"}}},
	{TaxNumber: "090000045", GivenName: "Κώστας", FamilyName: "Γεωργίου", MaritalStatus: "single",
		Municipality: "Θεσσαλονίκης", Children: []child{}},
	{TaxNumber: "111111111", GivenName: "Σοφία", FamilyName: "Ιωάννου", MaritalStatus: "divorced",
		Municipality: "Πατρέων", Children: []child{{Name: "Άννα Ιωάννου", BirthDate: "2012-01-30"}}},
}

// loadCitizens reads the records at path, writing the samples there on
// first run.
func loadCitizens(path string, log *zap.Logger) (map[string]citizen, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if b, err = json.MarshalIndent(samples, "", "  "); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, err
		}
		log.Info("wrote the sample citizens; edit the file to change them", zap.String("file", path))
	} else if err != nil {
		return nil, err
	}
	var list []citizen
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	people := make(map[string]citizen, len(list))
	for _, p := range list {
		people[p.TaxNumber] = p
	}
	return people, nil
}

type registry struct {
	people map[string]citizen
	log    *zap.Logger
}

// TypeUnknownCitizen is the problem type of a call about a person the
// registry holds no record of.
const TypeUnknownCitizen = "https://egovkit.dev/problems/registry/unknown-citizen"

// find returns the record of the citizen the call is about, or answers
// the refusal itself.
func (g *registry) find(w http.ResponseWriter, r *http.Request) (citizen, provider.Caller, bool) {
	caller, ok := provider.FromContext(r.Context())
	if !ok {
		problem.Write(w, r, problem.New(problem.TypeUnauthorized, http.StatusUnauthorized, "the call did not come through the gateway"))
		return citizen{}, caller, false
	}
	afm, ok := strings.CutPrefix(caller.UserID, "GR")
	if !ok || len(afm) != 9 || strings.Trim(afm, "0123456789") != "" {
		problem.Write(w, r, problem.New(problem.TypeBadRequest, http.StatusBadRequest,
			"X-Road-UserId must name the citizen as GR followed by the tax number"))
		return citizen{}, caller, false
	}
	p, ok := g.people[afm]
	if !ok {
		problem.Write(w, r, problem.New(TypeUnknownCitizen, http.StatusNotFound, "the registry holds no record of this citizen"))
		return citizen{}, caller, false
	}
	return p, caller, true
}

// certificate answers the family-status certificate.
func (g *registry) certificate(w http.ResponseWriter, r *http.Request) {
	p, caller, ok := g.find(w, r)
	if !ok {
		return
	}
	g.log.Info("certificate released", zap.String("client", caller.Client), zap.String("message_id", caller.MessageID),
		zap.String("consent", caller.ConsentID), zap.String("citizen", caller.Citizen))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"certificate":    "family-status",
		"issued_at":      time.Now().UTC().Format(time.RFC3339),
		"issuer":         "Ληξιαρχείο / Civil registry",
		"reference":      caller.MessageID,
		"person":         map[string]string{"given_name": p.GivenName, "family_name": p.FamilyName, "municipality": p.Municipality},
		"marital_status": p.MaritalStatus,
		"spouse":         p.Spouse,
		"children":       p.Children,
	})
}

// previewValue has the shape of consent.PreviewValue: a portal's
// PreviewFetcher decodes it as it is.
type previewValue struct {
	Item  string `json:"item"`
	Value string `json:"value"`
}

// preview answers the items as the citizen reads them before deciding.
func (g *registry) preview(w http.ResponseWriter, r *http.Request) {
	p, _, ok := g.find(w, r)
	if !ok {
		return
	}
	kids := make([]string, len(p.Children))
	for i, c := range p.Children {
		kids[i] = c.Name + " (" + c.BirthDate + ")"
	}
	children := strings.Join(kids, ", ")
	if children == "" {
		children = "—"
	}
	spouse := p.Spouse
	if spouse == "" {
		spouse = "—"
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"values": []previewValue{
		{Item: "marital_status", Value: p.MaritalStatus}, {Item: "spouse", Value: spouse}, {Item: "children", Value: children},
	}})
}

// serve answers on ln until ctx ends, then lets requests under way finish
// for up to ten seconds.
func serve(ctx context.Context, log *zap.Logger, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", zap.String("url", fmt.Sprintf("http://%s/", ln.Addr())))
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(stopCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
