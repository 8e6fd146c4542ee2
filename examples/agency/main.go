// Command agency is an agency's service that applies the once-only
// principle (agency A of the once-only journey): a municipality's
// child-benefit application that needs the citizen's family status
// certificate and does not ask for it. The citizen signs in through the
// portal's provider (auth/rp.WebLogin, LoA substantial), starts an
// application, and is sent to the portal to consent; with the consent the
// agency fetches the certificate from the civil registry through the
// interop gateway (interop/consumer), and the application goes on with no
// upload. If the citizen refuses, or the fetch fails, the application
// offers an upload form instead.
//
//	go run ./examples/portal -demo &                  # the portal, at http://127.0.0.1:8080
//	go run ./examples/registry -portal http://127.0.0.1:8080 &
//	go run ./examples/agency -portal http://127.0.0.1:8080 -client-secret-file secret.txt
//
// It serves:
//
//	/                                 what the benefit is and what the citizen need not bring
//	/apply                            start an application (signed in); POST sends the citizen to consent
//	/consent-return                   where the portal sends the citizen back, with consent_id or error
//	/applications/{id}                the application: the certificate fetched, or the upload form
//	/applications/{id}/upload         POST: the certificate uploaded instead
//	/signin, /signin/callback         sign-in through the portal's provider; /signout (POST)
//	/.well-known/jwks.json            the public key of the agency's interop client, to register it
//	/static/                          the shared stylesheet
//
// # Registration at the portal
//
// Two clients, both in the realm -issuer names:
//
//   - -client-id (default "agency"), confidential (client_secret_basic,
//     secret in -client-secret-file), with the authorization_code grant
//     for the citizens' sign-in (redirect URI <public URL>/signin/callback,
//     post-logout URI <public URL>/, scopes openid, profile and
//     gr_identity, which releases the tax number) and the
//     client_credentials grant for the consent API (scope consent:request,
//     audience <portal>/consent/api), with <public URL>/consent-return
//     among its redirect URIs: the consent pages send the citizen back
//     only there.
//   - -interop-client-id (default "agency-interop"), private_key_jwt with
//     the key set at <public URL>/.well-known/jwks.json, the
//     client_credentials grant and the gateway's audience, mapped at the
//     gateway to the X-Road client -xroad-client, with a right to GET
//     /family-status of -service.
//
// # Data
//
// On first run it creates the data directory with the interop client's
// ECDSA P-256 key (interop-key.pem) and the key that seals the session
// cookies (cookie-key), both mode 0600. Applications are kept in memory
// and are lost when it stops: it is an example of the flow, not a case
// management system. Of an uploaded file it keeps the name, type, size
// and SHA-256 only; the content is read once to hash it and discarded.
// It stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/consumer"
	"github.com/egovkit/egovkit/page"
)

//go:embed templates messages
var assets embed.FS

type config struct {
	Addr, Data, PublicURL, Portal     string
	Issuer, ClientID, SecretFile      string
	ACR, ConsentAPI                   string
	Gateway, GatewayAudience          string
	InteropIssuer, InteropClientID    string
	XRoadClient, Service, PurposeCode string
}

func main() {
	var c config
	flag.StringVar(&c.Addr, "addr", "127.0.0.1:8092", "address to listen on")
	flag.StringVar(&c.Data, "data", "agency-data", "data directory, created on first run")
	flag.StringVar(&c.PublicURL, "public-url", "", "the URL people reach this service at; empty means http://<listening address>")
	flag.StringVar(&c.Portal, "portal", "http://127.0.0.1:8080", "the portal's URL: its provider, consent API and gateway")
	flag.StringVar(&c.Issuer, "issuer", "", "issuer URL of the citizens' provider; empty means <portal>/auth/citizen")
	flag.StringVar(&c.ClientID, "client-id", "agency", "this service's client at the provider (sign-in and consent requests)")
	flag.StringVar(&c.SecretFile, "client-secret-file", "", "file holding the client's secret; empty means <data>/client-secret")
	flag.StringVar(&c.ACR, "acr", rp.LoASubstantial, "lowest level of assurance accepted at sign-in")
	flag.StringVar(&c.ConsentAPI, "consent-api", "", "the portal's consent API; empty means <portal>/consent/api")
	flag.StringVar(&c.Gateway, "gateway", "", "the interop gateway's base URL (calls go to <gateway>/r1/…); empty means <portal>/interop")
	flag.StringVar(&c.GatewayAudience, "gateway-audience", "", "the audience of the gateway's access tokens; empty means the client's registered one")
	flag.StringVar(&c.InteropIssuer, "interop-issuer", "", "issuer of the gateway's access tokens; empty means -issuer")
	flag.StringVar(&c.InteropClientID, "interop-client-id", "agency-interop", "the interop client at that issuer (private_key_jwt)")
	flag.StringVar(&c.XRoadClient, "xroad-client", "GR/GOV/DIMOS-ATHINAION/BENEFITS", "this system's X-Road client identifier")
	flag.StringVar(&c.Service, "service", "GR/GOV/EL-YPES/CIVREG/family-status", "the registry's family-status service")
	flag.StringVar(&c.PurposeCode, "purpose", "child-benefit", "the purpose code of the consent, sent as X-Road-Issue")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log, _ := zap.NewProduction()
	if err := run(ctx, log, c); err != nil {
		log.Error("agency", zap.Error(err))
		os.Exit(1)
	}
}

func run(ctx context.Context, log *zap.Logger, c config) error {
	portal := strings.TrimSuffix(c.Portal, "/")
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&c.Issuer, portal+"/auth/citizen")
	def(&c.ConsentAPI, portal+"/consent/api")
	def(&c.Gateway, portal+"/interop")
	def(&c.InteropIssuer, c.Issuer)
	def(&c.SecretFile, filepath.Join(c.Data, "client-secret"))
	xroad, err := interop.ParseClientID(c.XRoadClient)
	if err != nil {
		return fmt.Errorf("-xroad-client: %w", err)
	}
	service, err := interop.ParseServiceID(c.Service)
	if err != nil {
		return fmt.Errorf("-service: %w", err)
	}
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return err
	}
	key, err := loadOrCreateKey(filepath.Join(c.Data, "interop-key.pem"), log)
	if err != nil {
		return err
	}
	cookieKey, err := loadOrCreateSecret(filepath.Join(c.Data, "cookie-key"), log)
	if err != nil {
		return err
	}
	secret, err := os.ReadFile(c.SecretFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(secret) == 0 {
		log.Warn("no client secret: nobody can sign in until the file holds the secret the provider gave", zap.String("file", c.SecretFile))
	}

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(c.PublicURL, "/")
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	pages, err := page.NewRenderer(assets, "templates/*.html",
		page.WithMessages(assets, "messages/*.json"), page.WithServiceName("agency.service"), page.WithLogger(log))
	if err != nil {
		return err
	}
	login, err := rp.NewWebLogin(rp.LoginConfig{
		Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: strings.TrimSpace(string(secret)),
		RedirectURL: base + "/signin/callback", PostLogoutURL: base + "/",
		Scopes: []string{"openid", "profile", "gr_identity"}, ACR: c.ACR, CookieKey: cookieKey,
		CookieName: "agency", SessionLifetime: time.Hour, Logger: log,
		OnError: func(w http.ResponseWriter, r *http.Request, err *rp.LoginError) {
			pages.RenderError(w, r, err.Status, pages.Text(page.Lang(r), "agency.signin_failed"))
		},
	})
	if err != nil {
		return err
	}
	gw, err := consumer.New(consumer.Config{Gateway: c.Gateway, Consumer: xroad, Issuer: c.InteropIssuer,
		ClientID: c.InteropClientID, Key: key, KeyID: keyID(&key.PublicKey), Resource: c.GatewayAudience, Logger: log})
	if err != nil {
		return err
	}
	web := &http.Client{Timeout: 15 * time.Second}
	a := &agency{
		cfg: c, base: base, pages: pages, login: login, gateway: gw, service: service, log: log,
		provider:     &oidcProvider{issuer: c.Issuer, http: web},
		consentToken: &clientToken{issuer: c.Issuer, clientID: c.ClientID, secret: strings.TrimSpace(string(secret)), resource: c.ConsentAPI, scope: "consent:request", http: web},
		http:         web,
		apps:         map[string]*application{},
	}
	jwks, err := publicJWKS(&key.PublicKey)
	if err != nil {
		return err
	}
	log.Info("register the interop client with this key set", zap.String("client_id", c.InteropClientID),
		zap.String("jwks_url", base+"/.well-known/jwks.json"), zap.String("xroad_client", xroad.String()))
	log.Info("signing citizens in", zap.String("issuer", c.Issuer), zap.String("client_id", c.ClientID),
		zap.String("redirect_uri", base+"/signin/callback"), zap.String("consent_return", base+"/consent-return"))
	return serve(ctx, log, ln, a.routes(jwks))
}

func (a *agency) routes(jwks []byte) http.Handler {
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
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.pages.RenderError(w, r, http.StatusNotFound, "")
	})
	// Forms posted from other sites are refused (Sec-Fetch-Site, Origin).
	return http.NewCrossOriginProtection().Handler(mux)
}

type agency struct {
	cfg          config
	base         string
	pages        *page.Renderer
	login        *rp.WebLogin
	gateway      *consumer.Client
	service      interop.ServiceID
	provider     *oidcProvider
	consentToken *clientToken
	http         *http.Client
	log          *zap.Logger

	mu   sync.Mutex
	apps map[string]*application
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
}

type certificate struct {
	Person        map[string]string `json:"person"`
	MaritalStatus string            `json:"marital_status"`
	Spouse        string            `json:"spouse"`
	Children      []struct {
		Name      string `json:"name"`
		BirthDate string `json:"birth_date"`
	} `json:"children"`
	Reference string `json:"reference"`
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
	a.mu.Lock()
	a.apps[app.ID] = app
	a.mu.Unlock()
	target, err := a.requestConsent(r.Context(), app)
	if err != nil {
		a.log.Warn("consent request failed", zap.String("application", app.ID), zap.Error(err))
		a.update(app, func(app *application) { app.State, app.Why = stateNeedsUpload, "agency.why.unavailable" })
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
		"source":     map[string]string{"registry": a.service.Provider().String(), "service": a.service.Service},
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
	app, ok := a.owned(r, q.Get("state"))
	if !ok || app.State != stateAwaitingConsent {
		a.pages.RenderError(w, r, http.StatusNotFound, "")
		return
	}
	consentID := q.Get("consent_id")
	if consentID == "" {
		a.update(app, func(app *application) { app.State, app.Why = stateNeedsUpload, "agency.why.refused" })
		http.Redirect(w, r, "/applications/"+app.ID, http.StatusSeeOther)
		return
	}
	cert, exchange, err := a.fetch(r.Context(), app.TaxNumber, consentID)
	a.update(app, func(app *application) {
		app.ConsentID, app.Exchange = consentID, exchange
		if err != nil {
			app.State, app.Why = stateNeedsUpload, "agency.why.failed"
			return
		}
		app.State, app.Certificate = stateComplete, cert
	})
	if err != nil {
		a.log.Warn("certificate fetch failed", zap.String("application", app.ID), zap.Error(err))
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
	app, ok := a.owned(r, r.PathValue("id"))
	if !ok || app.State != stateNeedsUpload {
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
	a.update(app, func(app *application) {
		app.State = stateUploaded
		app.Upload = &upload{Name: name, Type: http.DetectContentType(head[:n]), Size: size, SHA256: hex.EncodeToString(sum.Sum(nil))}
	})
	http.Redirect(w, r, "/applications/"+app.ID, http.StatusSeeOther)
}

func (a *agency) show(w http.ResponseWriter, r *http.Request) {
	app, ok := a.owned(r, r.PathValue("id"))
	if !ok {
		a.pages.RenderError(w, r, http.StatusNotFound, "")
		return
	}
	a.renderApp(w, r, app, http.StatusOK, "")
}

func (a *agency) renderApp(w http.ResponseWriter, r *http.Request, app *application, status int, problemKey string) {
	a.mu.Lock()
	view := *app
	a.mu.Unlock()
	a.pages.Render(w, r, status, "application.html", map[string]any{"App": view, "Error": problemKey, "MaxMiB": maxUpload >> 20})
}

// owned returns the signed-in citizen's application id.
func (a *agency) owned(r *http.Request, id string) (*application, bool) {
	s, ok := rp.SessionFromContext(r.Context())
	if !ok {
		return nil, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	app, ok := a.apps[id]
	if !ok || app.Owner != s.Subject {
		return nil, false
	}
	return app, true
}

func (a *agency) update(app *application, f func(*application)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(app)
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
	_, ui, err := p.endpoints(ctx)
	if err != nil {
		return "", err
	}
	var claims struct {
		AFM string `json:"afm"`
	}
	if err := getJSON(ctx, p.http, ui, accessToken, &claims); err != nil {
		return "", err
	}
	if claims.AFM == "" {
		return "", errors.New("the provider did not release the tax number (scope gr_identity)")
	}
	return claims.AFM, nil
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

// loadOrCreateKey reads the ECDSA P-256 key at path (PKCS #8 PEM), or
// creates it on first run.
func loadOrCreateKey(path string, log *zap.Logger) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("%s: not PEM", path)
		}
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		ec, ok := k.(*ecdsa.PrivateKey)
		if !ok || ec.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%s: not an ECDSA P-256 key", path)
		}
		return ec, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	if err := writeNew(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return nil, err
	}
	log.Info("generated the interop client's key", zap.String("file", path))
	return k, nil
}

// loadOrCreateSecret reads the 32 bytes at path, or creates them.
func loadOrCreateSecret(path string, log *zap.Logger) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != 32 {
			return nil, fmt.Errorf("%s: want 32 bytes, have %d", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, 32)
	rand.Read(b)
	if err := writeNew(path, b); err != nil {
		return nil, err
	}
	log.Info("generated the cookie key", zap.String("file", path))
	return b, nil
}

// writeNew writes a file that must not exist yet, readable by its owner
// only.
func writeNew(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// keyID names the public key: its RFC 7638 thumbprint.
func keyID(pub *ecdsa.PublicKey) string {
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

// publicJWKS is the JWK set of the interop client's public key.
func publicJWKS(pub *ecdsa.PublicKey) ([]byte, error) {
	x, y := coordinates(pub)
	return json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": keyID(pub), "use": "sig", "alg": "ES256"}}})
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
