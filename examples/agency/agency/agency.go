// Package agency is the agency of the once-only journey (agency A): a
// municipality's child-benefit application that signs citizens in
// through the portal's provider (auth/rp.WebLogin), asks their consent
// through the portal's consent API, and fetches the civil registry's
// family-status certificate through the interop gateway
// (interop/consumer), offering an upload when the citizen refuses. The
// citizen then signs a solemn declaration that the application is true,
// issued by the agency itself with package declaration (confirmed with a
// one-time code, numbered, downloadable as a PDF with a QR code and
// verifiable at /verify). Applications and declarations are kept in the
// database the agency is given.
// Command agency (go run ./examples/agency) serves it on its own; the
// portal's demo mode (go run ./examples/portal -demo) starts it
// in-process. The registration it needs at the portal is described in
// the command's documentation.
package agency

import (
	"context"
	"crypto/ecdsa"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/consumer"
	"github.com/egovkit/egovkit/page"
	"github.com/egovkit/egovkit/sms"
)

//go:embed templates messages
var assets embed.FS

// Config is what the agency needs; every URL is absolute.
type Config struct {
	// PublicURL is where people reach the agency.
	PublicURL string
	// Issuer is the citizens' provider; ClientID and ClientSecret the
	// agency's client there (sign-in and consent requests); ACR the
	// lowest level of assurance accepted.
	Issuer, ClientID, ClientSecret, ACR string
	// ConsentAPI is the portal's consent API.
	ConsentAPI string
	// Gateway is the gateway's base URL (calls go to <Gateway>/r1/…);
	// GatewayAudience the audience of its tokens (empty: the client's
	// registered one).
	Gateway, GatewayAudience string
	// InteropIssuer issues the gateway's tokens to InteropClientID, which
	// authenticates with Key (private_key_jwt, ECDSA P-256).
	InteropIssuer, InteropClientID string
	Key                            *ecdsa.PrivateKey
	// XRoadClient is the agency's X-Road client, Service the registry's
	// family-status service, PurposeCode the consent's purpose.
	XRoadClient interop.ClientID
	Service     interop.ServiceID
	PurposeCode string
	// SourceRegistry and SourceService name the source of the data in
	// the consent request, as the citizen reads it and as the portal
	// matches the gateway's service to it; empty means the service's
	// provider (GR/GOV/…) and its code.
	SourceRegistry, SourceService string
	// CookieKey seals the session cookies (32 bytes).
	CookieKey []byte
	// DB keeps the applications and the declarations issued with them:
	// SQLite or PostgreSQL, opened with package sqldb. Required.
	DB *sql.DB
	// KEK (32 bytes) protects the declarations' signing keys in DB; the
	// secret of their one-time codes is derived from it. Keep it with the
	// database.
	KEK []byte
	// SMS sends the one-time codes that confirm the declarations, to the
	// mobile number the provider releases with the phone scope.
	SMS sms.Sender
	// Authority is the issuer named on the declarations and in their
	// protocol numbers; empty means the X-Road member code.
	Authority string
	// Counter is told of every application completed, and of every
	// declaration issued (as package declaration counts them), for
	// statistics; nil counts nothing.
	Counter Counter
	Logger  *zap.Logger
}

// Counter counts transactions: kind CountApplication with the label
// values in the order CountLabels names them. The portal's
// *metrics.Metrics fits as it is.
type Counter interface {
	Count(kind string, labels ...string)
}

const (
	// CountApplication is one application completed: its certificate
	// fetched from the registry or uploaded by the citizen.
	CountApplication = "application"
	// CountLabelAgency is the agency's X-Road member code.
	CountLabelAgency = "agency"
	// CountLabelOutcome is OutcomeFetched or OutcomeUploaded.
	CountLabelOutcome = "outcome"
	// OutcomeFetched: the certificate came from the registry through the
	// gateway, with the citizen's consent.
	OutcomeFetched = "fetched"
	// OutcomeUploaded: the citizen uploaded the certificate.
	OutcomeUploaded = "uploaded"
)

// CountLabels are the labels of CountApplication, in order.
func CountLabels() []string { return []string{CountLabelAgency, CountLabelOutcome} }

// count tells the Counter of an application completed with outcome.
func (a *agency) count(outcome string) {
	if a.cfg.Counter != nil {
		a.cfg.Counter.Count(CountApplication, a.cfg.XRoadClient.Member, outcome)
	}
}

// Agency is the agency's site, an http.Handler.
type Agency struct {
	h   http.Handler
	svc *declaration.Service
}

// ServeHTTP serves the agency's pages.
func (a *Agency) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.h.ServeHTTP(w, r) }

// Maintain deletes declarations' drafts left unconfirmed and spent
// codes; run it every few minutes.
func (a *Agency) Maintain(ctx context.Context) error { return a.svc.Maintain(ctx) }

// New returns the agency's site, its tables created in c.DB if missing.
func New(ctx context.Context, c Config) (*Agency, error) {
	log := c.Logger
	if log == nil {
		log = zap.NewNop()
	}
	if c.Key == nil {
		return nil, errors.New("agency: no interop key")
	}
	if c.DB == nil || len(c.KEK) != 32 || c.SMS == nil {
		return nil, errors.New("agency: a database, a 32-byte key-encryption key and an SMS sender are required")
	}
	if c.Authority == "" {
		c.Authority = c.XRoadClient.Member
	}
	base := strings.TrimSuffix(c.PublicURL, "/")
	if c.SourceRegistry == "" {
		c.SourceRegistry = c.Service.Provider().String()
	}
	if c.SourceService == "" {
		c.SourceService = c.Service.Service
	}
	pages, err := page.NewRenderer(assets, "templates/*.html",
		page.WithMessages(assets, "messages/*.json"), page.WithServiceName("agency.service"), page.WithLogger(log))
	if err != nil {
		return nil, err
	}
	login, err := rp.NewWebLogin(rp.LoginConfig{
		Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		RedirectURL: base + "/signin/callback", PostLogoutURL: base + "/",
		Scopes: []string{"openid", "profile", "gr_identity", "phone"}, ACR: c.ACR, CookieKey: c.CookieKey,
		CookieName: "agency", SessionLifetime: time.Hour, Logger: log,
		OnError: func(w http.ResponseWriter, r *http.Request, err *rp.LoginError) {
			pages.RenderError(w, r, err.Status, pages.Text(page.Lang(r), "agency.signin_failed"))
		},
	})
	if err != nil {
		return nil, err
	}
	gw, err := consumer.New(consumer.Config{Gateway: c.Gateway, Consumer: c.XRoadClient, Issuer: c.InteropIssuer,
		ClientID: c.InteropClientID, Key: c.Key, KeyID: KeyID(&c.Key.PublicKey), Resource: c.GatewayAudience, Logger: log})
	if err != nil {
		return nil, err
	}
	apps, err := newStore(ctx, c.DB)
	if err != nil {
		return nil, err
	}
	decl, err := newDeclarations(ctx, c, base, log)
	if err != nil {
		return nil, err
	}
	verify, err := declaration.VerifyHandler(declaration.PagesConfig{Service: decl, Logger: log})
	if err != nil {
		return nil, err
	}
	web := &http.Client{Timeout: 15 * time.Second}
	a := &agency{
		cfg: c, base: base, pages: pages, login: login, gateway: gw, service: c.Service, log: log,
		provider:     &oidcProvider{issuer: c.Issuer, http: web},
		consentToken: &clientToken{issuer: c.Issuer, clientID: c.ClientID, secret: c.ClientSecret, resource: c.ConsentAPI, scope: "consent:request", http: web},
		http:         web,
		apps:         apps,
		decl:         decl,
	}
	jwks, err := JWKS(&c.Key.PublicKey)
	if err != nil {
		return nil, err
	}
	return &Agency{h: a.routes(jwks, verify), svc: decl}, nil
}

// newDeclarations is the agency's own issuer of solemn declarations,
// over its database: signing keys kept there under the key-encryption
// key, codes keyed by a secret derived from it and sent by SMS.
func newDeclarations(ctx context.Context, c Config, base string, log *zap.Logger) (*declaration.Service, error) {
	keys, err := declaration.NewSigningKeys(ctx, c.DB, c.KEK, declaration.ES256, declaration.WithLogger(log))
	if err != nil {
		return nil, err
	}
	secret, err := hkdf.Key(sha256.New, c.KEK, nil, "agency declaration codes v1", 32)
	if err != nil {
		return nil, err
	}
	var counter declaration.Counter
	if c.Counter != nil {
		counter = c.Counter
	}
	return declaration.New(ctx, declaration.Config{DB: c.DB, Issuer: c.Authority, BaseURL: base,
		Keys: keys, CodeSecret: secret, SMS: c.SMS, Counter: counter, Logger: log.Named("declaration")})
}

func (a *agency) routes(jwks []byte, verify http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", page.Static())
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(jwks)
	})
	mux.Handle("GET /signin", a.login.LoginHandler())
	mux.Handle("GET /signin/callback", a.login.CallbackHandler())
	mux.Handle("POST /signout", a.login.LogoutHandler())
	mux.HandleFunc("GET /{$}", a.home)
	mux.Handle("GET /apply", a.login.Require(http.HandlerFunc(a.applyPage)))
	mux.Handle("POST /apply", a.login.Require(http.HandlerFunc(a.apply)))
	mux.Handle("GET /consent-return", a.login.Require(http.HandlerFunc(a.consentReturn)))
	mux.Handle("GET /applications/{id}", a.login.Require(http.HandlerFunc(a.show)))
	mux.Handle("POST /applications/{id}/upload", a.login.Require(http.HandlerFunc(a.upload)))
	mux.Handle("POST /applications/{id}/declaration", a.login.Require(http.HandlerFunc(a.declare)))
	mux.Handle("POST /applications/{id}/declaration/confirm", a.login.Require(http.HandlerFunc(a.confirmDeclaration)))
	mux.Handle("GET /applications/{id}/declaration.pdf", a.login.Require(http.HandlerFunc(a.declarationPDF)))
	mux.Handle("POST /applications/{id}/authorization", a.login.Require(http.HandlerFunc(a.authorize)))
	mux.Handle("POST /applications/{id}/authorization/code", a.login.Require(http.HandlerFunc(a.authorizationCode)))
	mux.Handle("POST /applications/{id}/authorization/confirm", a.login.Require(http.HandlerFunc(a.confirmAuthorization)))
	mux.Handle("GET /applications/{id}/authorization.pdf", a.login.Require(http.HandlerFunc(a.authorizationPDF)))
	// Where the declarations' QR codes lead: anyone may verify one.
	mux.Handle("/verify", verify)
	mux.Handle("/verify/", verify)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.pages.RenderError(w, r, http.StatusNotFound, "")
	})
	// Forms posted from other sites are refused (Sec-Fetch-Site, Origin).
	return http.NewCrossOriginProtection().Handler(mux)
}

type agency struct {
	cfg          Config
	base         string
	pages        *page.Renderer
	login        *rp.WebLogin
	gateway      *consumer.Client
	service      interop.ServiceID
	provider     *oidcProvider
	consentToken *clientToken
	http         *http.Client
	log          *zap.Logger
	apps         *store
	decl         *declaration.Service
}

// States of an application.
const (
	stateAwaitingConsent = "awaiting_consent"
	stateComplete        = "complete"     // the certificate was fetched
	stateNeedsUpload     = "needs_upload" // refused, or the fetch failed
	stateUploaded        = "uploaded"     // the citizen uploaded it
)

// application is one citizen's application for the benefit.
type application struct {
	ID        string
	Owner     string // the provider's subject of the citizen
	TaxNumber string
	Created   time.Time
	State     string
	// Why is the message key of why an upload is asked for.
	Why         string
	ConsentID   string
	Exchange    string // the gateway's X-Road-Request-Id of the fetch
	Certificate *certificate
	Upload      *upload
	// DeclarationID is the solemn declaration's document, once a code
	// was asked for; DeclarationNumber and DeclarationCode its protocol
	// number and verification code, once issued.
	DeclarationID, DeclarationNumber, DeclarationCode string
}

type certificate struct {
	Person        map[string]string `json:"person"`
	MaritalStatus string            `json:"marital_status"`
	Spouse        string            `json:"spouse"`
	Children      []child           `json:"children"`
	Reference     string            `json:"reference"`
}

type child struct {
	Name      string `json:"name"`
	BirthDate string `json:"birth_date"`
}

// Born is the child's date of birth as people read a day (31/01/2027);
// a date the registry wrote otherwise is shown as it came.
func (c child) Born() string {
	d, err := time.Parse(time.DateOnly, c.BirthDate)
	if err != nil {
		return c.BirthDate
	}
	return d.Format("02/01/2006")
}

type upload struct {
	Name, Type string
	Size       int64
	SHA256     string
}

func (a *agency) home(w http.ResponseWriter, r *http.Request) {
	_, signedIn := a.login.SessionFrom(r)
	a.pages.Render(w, r, http.StatusOK, "home.html", map[string]any{"SignedIn": signedIn})
}

func (a *agency) applyPage(w http.ResponseWriter, r *http.Request) {
	a.pages.Render(w, r, http.StatusOK, "apply.html", nil)
}

// apply opens an application and asks the citizen's consent through the
// portal's consent API, then sends the citizen to approve it.
func (a *agency) apply(w http.ResponseWriter, r *http.Request) {
	s, _ := rp.SessionFromContext(r.Context())
	afm, err := a.provider.taxNumber(r.Context(), s.AccessToken)
	if err != nil {
		a.log.Warn("userinfo failed", zap.Error(err))
		a.pages.RenderError(w, r, http.StatusBadGateway, a.pages.Text(page.Lang(r), "agency.no_tax_number"))
		return
	}
	app := &application{ID: randomID(), Owner: s.Subject, TaxNumber: afm, Created: time.Now(), State: stateAwaitingConsent}
	if err := a.apps.create(r.Context(), app); err != nil {
		a.unavailable(w, r, err)
		return
	}
	target, err := a.requestConsent(r.Context(), app)
	if err != nil {
		a.log.Warn("consent request failed", zap.String("application", app.ID), zap.Error(err))
		app.State, app.Why = stateNeedsUpload, "agency.why.unavailable"
		if _, err := a.apps.update(r.Context(), app, stateAwaitingConsent); err != nil {
			a.unavailable(w, r, err)
			return
		}
		http.Redirect(w, r, "/applications/"+app.ID, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// requestConsent creates the consent request and returns the URL the
// citizen approves it at.
func (a *agency) requestConsent(ctx context.Context, app *application) (string, error) {
	tok, err := a.consentToken.get(ctx)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(map[string]any{
		"tax_number": app.TaxNumber,
		"source":     map[string]string{"registry": a.cfg.SourceRegistry, "service": a.cfg.SourceService},
		"items":      []map[string]string{{"id": "marital_status", "type": "string"}, {"id": "spouse", "type": "string"}, {"id": "children", "type": "list"}},
		"purpose": map[string]any{"code": a.cfg.PurposeCode, "text": map[string]string{
			"el": "Αίτηση επιδόματος παιδιού: έλεγχος οικογενειακής κατάστασης", "en": "Child benefit application: checking family status"}},
		"legal_basis": "GDPR art. 6(1)(a)",
		"valid_until": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
		"max_uses":    1,
		"return_url":  a.base + "/consent-return",
		"state":       app.ID,
	})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.ConsentAPI+"/requests", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := a.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("consent API answered %s: %.300s", resp.Status, b)
	}
	var created struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	if err := json.Unmarshal(b, &created); err != nil || created.URL == "" {
		return "", fmt.Errorf("consent API: no request URL in %.300s", b)
	}
	return created.URL, nil
}

// consentReturn is where the citizen comes back from the consent pages:
// with consent_id, the certificate is fetched; with error, the upload
// form is offered.
func (a *agency) consentReturn(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	app, ok := a.owned(w, r, q.Get("state"))
	if !ok {
		return
	}
	if app.State != stateAwaitingConsent {
		a.pages.RenderError(w, r, http.StatusNotFound, "")
		return
	}
	consentID := q.Get("consent_id")
	if consentID == "" {
		app.State, app.Why = stateNeedsUpload, "agency.why.refused"
		if _, err := a.apps.update(r.Context(), app, stateAwaitingConsent); err != nil {
			a.unavailable(w, r, err)
			return
		}
		http.Redirect(w, r, "/applications/"+app.ID, http.StatusSeeOther)
		return
	}
	cert, exchange, err := a.fetch(r.Context(), app.TaxNumber, consentID)
	app.ConsentID, app.Exchange = consentID, exchange
	if err != nil {
		a.log.Warn("certificate fetch failed", zap.String("application", app.ID), zap.Error(err))
		app.State, app.Why = stateNeedsUpload, "agency.why.failed"
	} else {
		app.State, app.Certificate = stateComplete, cert
	}
	taken, uerr := a.apps.update(r.Context(), app, stateAwaitingConsent)
	if uerr != nil {
		a.unavailable(w, r, uerr)
		return
	}
	if taken && err == nil {
		a.count(OutcomeFetched)
	}
	http.Redirect(w, r, "/applications/"+app.ID, http.StatusSeeOther)
}

// fetch asks the registry for the certificate through the gateway, under
// the consent, and returns it with the gateway's exchange id.
func (a *agency) fetch(ctx context.Context, afm, consentID string) (*certificate, string, error) {
	resp, err := a.gateway.Do(ctx, consumer.Call{Service: a.service, Path: "/family-status", UserID: "GR" + afm,
		ConsentID: consentID, Issue: a.cfg.PurposeCode})
	if err != nil {
		var refusal *consumer.Error
		if errors.As(err, &refusal) {
			return nil, "", fmt.Errorf("refused: %d %s", refusal.Status, refusal.Type)
		}
		return nil, "", err
	}
	defer resp.Body.Close()
	exchange := resp.Header.Get(interop.HeaderRequestID)
	if resp.StatusCode != http.StatusOK {
		return nil, exchange, fmt.Errorf("the registry answered %s", resp.Status)
	}
	var c certificate
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&c); err != nil {
		return nil, exchange, fmt.Errorf("the certificate: %w", err)
	}
	return &c, exchange, nil
}

// maxUpload bounds an uploaded certificate.
const maxUpload = 5 << 20

// upload takes the certificate from the citizen: its name, type, size
// and hash are kept, not its content.
func (a *agency) upload(w http.ResponseWriter, r *http.Request) {
	app, ok := a.owned(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	if app.State != stateNeedsUpload {
		a.pages.RenderError(w, r, http.StatusNotFound, "")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload+64<<10)
	f, h, err := r.FormFile("certificate")
	if err != nil {
		a.renderApp(w, r, app, http.StatusUnprocessableEntity, "agency.upload.missing")
		return
	}
	defer f.Close()
	sum := sha256.New()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	sum.Write(head[:n])
	rest, err := io.Copy(sum, io.LimitReader(f, maxUpload))
	size := int64(n) + rest
	if err != nil || size == 0 || size > maxUpload {
		a.renderApp(w, r, app, http.StatusUnprocessableEntity, "agency.upload.bad")
		return
	}
	name := filepath.Base(strings.ReplaceAll(h.Filename, "\\", "/"))
	if len(name) > 200 {
		name = name[:200]
	}
	app.State = stateUploaded
	app.Upload = &upload{Name: name, Type: http.DetectContentType(head[:n]), Size: size, SHA256: hex.EncodeToString(sum.Sum(nil))}
	// Taken by this request, not by one at the same time.
	taken, err := a.apps.update(r.Context(), app, stateNeedsUpload)
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	if taken {
		a.count(OutcomeUploaded)
	}
	http.Redirect(w, r, "/applications/"+app.ID, http.StatusSeeOther)
}

func (a *agency) show(w http.ResponseWriter, r *http.Request) {
	app, ok := a.owned(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	a.renderApp(w, r, app, http.StatusOK, "")
}

func (a *agency) renderApp(w http.ResponseWriter, r *http.Request, app *application, status int, problemKey string) {
	a.renderAppWith(w, r, app, status, map[string]any{"Error": problemKey})
}

// renderAppWith shows the application with data besides it: the
// declaration's error ("Error"), or the authorization's form and error.
func (a *agency) renderAppWith(w http.ResponseWriter, r *http.Request, app *application, status int, data map[string]any) {
	data["App"], data["MaxMiB"] = app, maxUpload>>20
	if app.State == stateComplete || app.State == stateUploaded {
		data["Declaration"] = a.declarationText(page.Lang(r), app)
		if app.DeclarationCode != "" {
			data["VerifyURL"] = a.decl.VerifyURL(app.DeclarationCode)
		}
		z, err := a.apps.authorization(r.Context(), app.ID)
		if err != nil {
			a.unavailable(w, r, err)
			return
		}
		data["Authz"] = z
		if z != nil && z.Code != "" {
			data["AuthzVerifyURL"] = a.decl.VerifyURL(z.Code)
		}
		if _, typed := data["AuthzForm"]; !typed {
			data["AuthzForm"] = authzForm{Until: time.Now().UTC().AddDate(0, 3, 0).Format(time.DateOnly)}
		}
		data["AuthzMin"] = time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
		data["AuthzMax"] = time.Now().UTC().Add(maxAuthorization).Format(time.DateOnly)
	}
	// A page that answers with a problem says so in its title and, above
	// all, links to the section where the problem is told.
	f, _ := data["AuthzForm"].(authzForm)
	switch declErr, authzErr := data["Error"], data["AuthzError"]; {
	case authzErr != nil && authzErr != "" || len(f.Errors) > 0:
		data["Problem"] = "authorization"
	case declErr != nil && declErr != "" && app.State != stateNeedsUpload:
		data["Problem"] = "declaration"
	}
	a.pages.Render(w, r, status, "application.html", data)
}

// owned returns the signed-in citizen's application id; otherwise it
// answers the request, not found or unavailable, and returns false.
func (a *agency) owned(w http.ResponseWriter, r *http.Request, id string) (*application, bool) {
	s, ok := rp.SessionFromContext(r.Context())
	if !ok {
		a.pages.RenderError(w, r, http.StatusNotFound, "")
		return nil, false
	}
	app, err := a.apps.get(r.Context(), id)
	if errors.Is(err, errNoApplication) || (err == nil && app.Owner != s.Subject) {
		a.pages.RenderError(w, r, http.StatusNotFound, "")
		return nil, false
	}
	if err != nil {
		a.unavailable(w, r, err)
		return nil, false
	}
	return app, true
}

// unavailable answers a request whose database call failed: 503, with
// a page that asks to try again shortly.
func (a *agency) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	a.log.Error("database", zap.Error(err))
	w.Header().Set("Retry-After", "5")
	a.pages.RenderError(w, r, http.StatusServiceUnavailable, a.pages.Text(page.Lang(r), "agency.unavailable"))
}

func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// oidcProvider reads the citizen's tax number from the provider's
// UserInfo endpoint, found in its discovery document.
type oidcProvider struct {
	issuer string
	http   *http.Client

	mu   sync.Mutex
	meta struct {
		Token    string `json:"token_endpoint"`
		UserInfo string `json:"userinfo_endpoint"`
	}
}

func (p *oidcProvider) endpoints(ctx context.Context) (token, userinfo string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.meta.Token == "" {
		if err := getJSON(ctx, p.http, p.issuer+"/.well-known/openid-configuration", "", &p.meta); err != nil {
			return "", "", fmt.Errorf("discovery: %w", err)
		}
	}
	return p.meta.Token, p.meta.UserInfo, nil
}

func (p *oidcProvider) taxNumber(ctx context.Context, accessToken string) (string, error) {
	person, err := p.person(ctx, accessToken)
	return person.AFM, err
}

// person is who the access token speaks for, as the declarant of a
// solemn declaration: names and tax number (scopes profile and
// gr_identity), and the mobile number if the provider has verified it
// (scope phone), where the one-time code goes.
func (p *oidcProvider) person(ctx context.Context, accessToken string) (declaration.Person, error) {
	_, ui, err := p.endpoints(ctx)
	if err != nil {
		return declaration.Person{}, err
	}
	var claims struct {
		AFM           string `json:"afm"`
		GivenName     string `json:"given_name"`
		FamilyName    string `json:"family_name"`
		FatherName    string `json:"father_name"`
		MotherName    string `json:"mother_name"`
		BirthDate     string `json:"birthdate"`
		Phone         string `json:"phone_number"`
		PhoneVerified bool   `json:"phone_number_verified"`
	}
	if err := getJSON(ctx, p.http, ui, accessToken, &claims); err != nil {
		return declaration.Person{}, err
	}
	if claims.AFM == "" {
		return declaration.Person{}, errors.New("the provider did not release the tax number (scope gr_identity)")
	}
	person := declaration.Person{AFM: claims.AFM, GivenName: claims.GivenName, FamilyName: claims.FamilyName,
		FatherName: claims.FatherName, MotherName: claims.MotherName, BirthDate: claims.BirthDate}
	if claims.PhoneVerified {
		person.Mobile = claims.Phone
	}
	return person, nil
}

func getJSON(ctx context.Context, c *http.Client, target, token string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", target, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

// clientToken is an access token of the client credentials grant
// (client_secret_basic), kept until shortly before it expires.
type clientToken struct {
	issuer, clientID, secret, resource, scope string
	http                                      *http.Client

	mu      sync.Mutex
	token   string
	expires time.Time
	meta    *oidcProvider
}

func (t *clientToken) get(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && time.Now().Before(t.expires) {
		return t.token, nil
	}
	if t.meta == nil {
		t.meta = &oidcProvider{issuer: t.issuer, http: t.http}
	}
	endpoint, _, err := t.meta.endpoints(ctx)
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {t.scope}, "resource": {t.resource}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(t.clientID), url.QueryEscape(t.secret))
	resp, err := t.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&tok); err != nil {
		return "", fmt.Errorf("token endpoint answered %s", resp.Status)
	}
	if resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		return "", fmt.Errorf("token endpoint answered %s: %s", resp.Status, tok.Error)
	}
	t.token = tok.AccessToken
	t.expires = time.Now().Add(time.Duration(tok.ExpiresIn)*time.Second - 30*time.Second)
	return t.token, nil
}

// KeyID names the public key: its RFC 7638 thumbprint.
func KeyID(pub *ecdsa.PublicKey) string {
	x, y := coordinates(pub)
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func coordinates(pub *ecdsa.PublicKey) (x, y string) {
	e, err := pub.ECDH()
	if err != nil {
		return "", ""
	}
	raw := e.Bytes() // 0x04, X, Y
	return base64.RawURLEncoding.EncodeToString(raw[1:33]), base64.RawURLEncoding.EncodeToString(raw[33:])
}

// JWKS is the JWK set of the interop client's public key.
func JWKS(pub *ecdsa.PublicKey) ([]byte, error) {
	x, y := coordinates(pub)
	return json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": KeyID(pub), "use": "sig", "alg": "ES256"}}})
}
