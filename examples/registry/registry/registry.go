// Package registry is the civil registry of the once-only journey
// (provider B): its family-status certificate and the preview of it,
// served to the interop gateway alone, each call checked with package
// interop/provider against the gateway's keys. Command registry
// (go run ./examples/registry) serves it on its own; the portal's demo
// mode (go run ./examples/portal -demo) starts it in-process.
package registry

import (
	"context"
	"crypto"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/interop/provider"
	"github.com/egovkit/egovkit/page"
	"github.com/egovkit/egovkit/problem"
)

//go:embed templates messages
var assets embed.FS

// Config is what the registry needs.
type Config struct {
	// JWKSURL is the gateway's published key set (<portal>/interop/keys);
	// Keys, when set, are the gateway's public keys by key id instead.
	JWKSURL string
	Keys    map[string]crypto.PublicKey
	// Citizens are the records the registry holds (LoadCitizens).
	Citizens []Citizen
	Logger   *zap.Logger
}

// New returns the registry's handler: its home page, the API under
// /api/ behind the gateway's signature check, and the stylesheet.
func New(ctx context.Context, c Config) (http.Handler, error) {
	log := c.Logger
	if log == nil {
		log = zap.NewNop()
	}
	gateway, err := provider.New(ctx, provider.Config{JWKSURL: c.JWKSURL, Keys: c.Keys, Logger: log.Named("provider")})
	if err != nil {
		return nil, err
	}
	pages, err := page.NewRenderer(assets, "templates/*.html",
		page.WithMessages(assets, "messages/*.json"), page.WithServiceName("registry.service"), page.WithLogger(log))
	if err != nil {
		return nil, err
	}
	people := make(map[string]Citizen, len(c.Citizens))
	for _, p := range c.Citizens {
		people[p.TaxNumber] = p
	}
	keys := c.JWKSURL
	if keys == "" {
		keys = "—"
	}
	reg := &registry{people: people, log: log}
	mux := http.NewServeMux()
	mux.Handle("GET /api/family-status", gateway.Middleware(http.HandlerFunc(reg.certificate)))
	mux.Handle("GET /api/family-status/preview", gateway.Middleware(http.HandlerFunc(reg.preview)))
	mux.Handle("GET /static/", page.Static())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		pages.Render(w, r, http.StatusOK, "home.html", map[string]any{"Items": Items, "Citizens": len(people), "JWKS": keys})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			problem.Write(w, r, problem.New(problem.TypeNotFound, http.StatusNotFound, "no such resource"))
			return
		}
		pages.RenderError(w, r, http.StatusNotFound, "")
	})
	return mux, nil
}

// Items are the data items the service releases, as registered at the
// gateway and named in consent requests.
var Items = []string{"marital_status", "spouse", "children"}

// Citizen is what the registry holds about a person.
type Citizen struct {
	TaxNumber     string  `json:"tax_number"`
	GivenName     string  `json:"given_name"`
	FamilyName    string  `json:"family_name"`
	MaritalStatus string  `json:"marital_status"` // single, married, divorced, widowed
	Spouse        string  `json:"spouse,omitempty"`
	Children      []Child `json:"children"`
	Municipality  string  `json:"municipality"`
}

// Child is a citizen's child.
type Child struct {
	Name      string `json:"name"`
	BirthDate string `json:"birth_date"`
}

// Samples are written on first run. The first is the demo citizen of the
// portal and of the examples' tests (tax number 123456783).
var Samples = []Citizen{
	{TaxNumber: "123456783", GivenName: "Μαρία", FamilyName: "Παπαδοπούλου", MaritalStatus: "married",
		Spouse: "Νίκος Παπαδόπουλος", Municipality: "Αθηναίων",
		Children: []Child{{Name: "Ελένη Παπαδοπούλου", BirthDate: "2016-05-02"}, {Name: "Γιώργος Παπαδόπουλος", BirthDate: "2019-11-20"}}},
	{TaxNumber: "090000045", GivenName: "Κώστας", FamilyName: "Γεωργίου", MaritalStatus: "single",
		Municipality: "Θεσσαλονίκης", Children: []Child{}},
	{TaxNumber: "111111111", GivenName: "Σοφία", FamilyName: "Ιωάννου", MaritalStatus: "divorced",
		Municipality: "Πατρέων", Children: []Child{{Name: "Άννα Ιωάννου", BirthDate: "2012-01-30"}}},
}

// LoadCitizens reads the records at path, writing the samples there on
// first run.
func LoadCitizens(path string, log *zap.Logger) ([]Citizen, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if b, err = json.MarshalIndent(Samples, "", "  "); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, err
		}
		log.Info("wrote the sample citizens; edit the file to change them", zap.String("file", path))
	} else if err != nil {
		return nil, err
	}
	var list []Citizen
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return list, nil
}

type registry struct {
	people map[string]Citizen
	log    *zap.Logger
}

// TypeUnknownCitizen is the problem type of a call about a person the
// registry holds no record of.
const TypeUnknownCitizen = "https://egovkit.dev/problems/registry/unknown-citizen"

// find returns the record of the citizen the call is about, or answers
// the refusal itself.
func (g *registry) find(w http.ResponseWriter, r *http.Request) (Citizen, provider.Caller, bool) {
	caller, ok := provider.FromContext(r.Context())
	if !ok {
		problem.Write(w, r, problem.New(problem.TypeUnauthorized, http.StatusUnauthorized, "the call did not come through the gateway"))
		return Citizen{}, caller, false
	}
	afm, ok := strings.CutPrefix(caller.UserID, "GR")
	if !ok || len(afm) != 9 || strings.Trim(afm, "0123456789") != "" {
		problem.Write(w, r, problem.New(problem.TypeBadRequest, http.StatusBadRequest,
			"X-Road-UserId must name the citizen as GR followed by the tax number"))
		return Citizen{}, caller, false
	}
	p, ok := g.people[afm]
	if !ok {
		problem.Write(w, r, problem.New(TypeUnknownCitizen, http.StatusNotFound, "the registry holds no record of this citizen"))
		return Citizen{}, caller, false
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
