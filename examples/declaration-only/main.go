// Command declaration-only is an agency's service that issues and verifies
// solemn declarations and authorizations with package declaration, and
// signs citizens in with auth/rp against an OpenID provider it does not
// run (-issuer): the portal's citizen realm, or the national one.
//
//	go run ./examples/portal -demo &                  # a provider, at http://127.0.0.1:8080
//	go run ./examples/declaration-only -issuer http://127.0.0.1:8080/auth/citizen \
//	    -client-secret-file secret.txt
//
// It serves:
//
//	/verify                the public verification page, where the QR codes lead (no sign-in)
//	/declarations/         the citizen's pages: write, confirm with a code, download, revoke
//	/declarations/signin   sign-in through the provider (code flow with PKCE, sealed cookie)
//	/declarations/api/     the JSON API: verify, jwks.json, templates and statuslist for
//	                       anyone; documents and granted for an access token issued for
//	                       <public URL>/declarations/api with declarations:read (to read)
//	                       or declarations:write at LoA substantial (to write)
//	/dev/outbox            without -sms-webhook: the codes that would go by SMS
//
// The citizen's pages and the private API need the provider: register this
// service there as a confidential client (client_secret_basic) named by
// -client-id, with redirect URI <public URL>/declarations/signin/callback,
// post-logout URI <public URL>/declarations/ and the scopes openid,
// profile, gr_identity (which releases the tax number) and phone (which
// releases the verified mobile number), and put its secret in the file
// -client-secret-file names. The person's names and tax number come from
// the provider's UserInfo; the one-time code that confirms a document goes
// to the mobile number in its phone_number claim, released only when the
// provider has verified it (phone_number_verified): a person without one
// can write drafts but not issue them. The verification page and the
// public API run without any provider.
//
// On first run it creates the data directory with a SQLite database
// (unless -db names another) and a random key-encryption key (the file
// kek, mode 0600), which protects the documents' signing keys in the
// database and from which the one-time codes' secret and the cookie key are
// derived; keep it with the database. Without -sms-webhook the codes go to
// an outbox in memory shown at /dev/outbox, which is refused at a public URL
// other than a loopback address. It stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
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
	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/sms"
	"github.com/egovkit/egovkit/sqldb"
)

type config struct {
	Addr, Data, DB, PublicURL string
	Issuer, ClientID          string
	ClientSecretFile          string
	Scopes, ACR, Authority    string
	SMSWebhook, SMSSecretFile string
}

func main() {
	var c config
	flag.StringVar(&c.Addr, "addr", "127.0.0.1:8084", "address to listen on")
	flag.StringVar(&c.Data, "data", "declaration-data", "data directory, created on first run")
	flag.StringVar(&c.DB, "db", "", "database URL (sqlite:PATH or postgres://…); empty means sqlite:<data>/declarations.db")
	flag.StringVar(&c.PublicURL, "public-url", "", "the URL people reach this service at; empty means http://<listening address>")
	flag.StringVar(&c.Issuer, "issuer", "", "issuer URL of the citizens' OpenID provider, such as http://127.0.0.1:8080/auth/citizen")
	flag.StringVar(&c.ClientID, "client-id", "declarations", "this service's client at the provider")
	flag.StringVar(&c.ClientSecretFile, "client-secret-file", "", "file holding the client's secret; empty means <data>/client-secret")
	flag.StringVar(&c.Scopes, "scopes", "openid profile gr_identity phone", "scopes asked for at sign-in (phone releases the mobile the codes go to)")
	flag.StringVar(&c.ACR, "acr", rp.LoASubstantial, "lowest level of assurance accepted at sign-in")
	flag.StringVar(&c.Authority, "authority", "egovkit-example", "the issuing authority named on documents and in protocol numbers")
	flag.StringVar(&c.SMSWebhook, "sms-webhook", "", "URL of the SMS gateway the codes are posted to; empty keeps them in /dev/outbox")
	flag.StringVar(&c.SMSSecretFile, "sms-webhook-secret-file", "", "file holding the key that signs the posts to the SMS gateway")
	flag.Parse()
	if c.Issuer == "" {
		fmt.Fprintln(os.Stderr, "declaration-only: -issuer is required")
		flag.Usage()
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log, _ := zap.NewProduction()
	if err := run(ctx, log, c); err != nil {
		log.Error("declaration-only", zap.Error(err))
		os.Exit(1)
	}
}

func run(ctx context.Context, log *zap.Logger, c config) error {
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return err
	}
	if c.DB == "" {
		c.DB = "sqlite:" + filepath.Join(c.Data, "declarations.db")
	}
	if c.ClientSecretFile == "" {
		c.ClientSecretFile = filepath.Join(c.Data, "client-secret")
	}
	kek, err := loadOrCreateKey(filepath.Join(c.Data, "kek"), log)
	if err != nil {
		return err
	}
	db, err := sqldb.Open(ctx, c.DB, nil)
	if err != nil {
		return err
	}
	defer db.Close()

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(c.PublicURL, "/")
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	mux := http.NewServeMux()
	sender, err := smsSender(c, base, mux)
	if err != nil {
		return err
	}

	signing, err := declaration.NewSigningKeys(ctx, db, kek, declaration.ES256, declaration.WithLogger(log))
	if err != nil {
		return err
	}
	codeSecret, err := hkdf.Key(sha256.New, kek, nil, "declaration-only codes v1", 32)
	if err != nil {
		return err
	}
	svc, err := declaration.New(ctx, declaration.Config{DB: db, Issuer: c.Authority, BaseURL: base,
		StatusListURL: base + "/declarations/api/statuslist",
		Keys:          signing, CodeSecret: codeSecret, SMS: sender, Logger: log})
	if err != nil {
		return err
	}

	// The verification page needs nobody signed in; mount it at /verify
	// and below (its stylesheet).
	people := &userInfo{issuer: c.Issuer, client: &http.Client{Timeout: 10 * time.Second}}
	pcfg := declaration.PagesConfig{Service: svc, Prefix: "/declarations", SignInURL: "/declarations/signin",
		SignOutURL: "/declarations/signout", Declarant: people.fromSession, Logger: log}
	verify, err := declaration.VerifyHandler(pcfg)
	if err != nil {
		return err
	}
	mux.Handle("/verify", verify)
	mux.Handle("/verify/", verify)

	// The citizen's pages, behind sign-in through the provider.
	login, err := newLogin(c, base, kek, log)
	if err != nil {
		return err
	}
	pages, err := declaration.PagesHandler(pcfg)
	if err != nil {
		return err
	}
	pages = http.StripPrefix("/declarations", pages)
	mux.Handle("GET /declarations/signin", login.LoginHandler())
	mux.Handle("GET /declarations/signin/callback", login.CallbackHandler())
	mux.Handle("POST /declarations/signout", login.LogoutHandler())
	mux.Handle("/declarations/static/", pages) // the stylesheet, for the sign-in pages too
	mux.Handle("/declarations/", login.Require(pages))

	// The JSON API: a person's documents take their access token, issued
	// for this API; verification, keys, templates and the status list are
	// public.
	api, err := declaration.APIHandler(declaration.APIConfig{Service: svc, Declarant: people.fromBearer, Logger: log})
	if err != nil {
		return err
	}
	v, err := rp.NewVerifier(rp.Config{Issuer: c.Issuer, Audience: base + "/declarations/api", Logger: log})
	if err != nil {
		return err
	}
	api = http.StripPrefix("/declarations/api", api)
	read := v.Middleware(rp.RequireScopes("declarations:read"))(api)
	write := v.Middleware(rp.RequireScopes("declarations:write"), rp.RequireACR(rp.LoASubstantial))(api)
	private := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			read.ServeHTTP(w, r)
			return
		}
		write.ServeHTTP(w, r)
	})
	for _, p := range []string{"/documents", "/documents/", "/granted", "/granted/"} {
		mux.Handle("/declarations/api"+p, private)
	}
	mux.Handle("/declarations/api/", api)
	mux.Handle("GET /{$}", http.RedirectHandler("/verify", http.StatusSeeOther))

	go purgeDrafts(ctx, svc, log)
	log.Info("signing citizens in", zap.String("issuer", c.Issuer), zap.String("client_id", c.ClientID),
		zap.String("redirect_uri", base+"/declarations/signin/callback"))
	return serve(ctx, log, ln, mux)
}

// newLogin signs citizens in through the provider, with the session in a
// cookie sealed with a key derived from the key-encryption key.
func newLogin(c config, base string, kek []byte, log *zap.Logger) (*rp.WebLogin, error) {
	secret, err := os.ReadFile(c.ClientSecretFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if len(secret) == 0 {
		log.Warn("no client secret: the citizen's pages cannot sign anyone in until the file holds the secret the provider gave",
			zap.String("file", c.ClientSecretFile))
	}
	cookieKey, err := hkdf.Key(sha256.New, kek, nil, "declaration-only cookies v1", 32)
	if err != nil {
		return nil, err
	}
	return rp.NewWebLogin(rp.LoginConfig{
		Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: strings.TrimSpace(string(secret)),
		RedirectURL: base + "/declarations/signin/callback", PostLogoutURL: base + "/declarations/",
		Scopes: strings.Fields(c.Scopes), ACR: c.ACR, CookieKey: cookieKey,
		CookieName: "declarations", CookiePath: "/declarations/", SessionLifetime: time.Hour, Logger: log,
	})
}

// smsSender posts the codes to the SMS gateway, or, without one, keeps
// them in an outbox shown at /dev/outbox, on this machine only.
func smsSender(c config, base string, mux *http.ServeMux) (sms.Sender, error) {
	if c.SMSWebhook != "" {
		var secret []byte
		if c.SMSSecretFile != "" {
			b, err := os.ReadFile(c.SMSSecretFile)
			if err != nil {
				return nil, err
			}
			secret = []byte(strings.TrimSpace(string(b)))
		}
		return &sms.Webhook{URL: c.SMSWebhook, Secret: secret}, nil
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("without -sms-webhook the codes are shown at /dev/outbox, which only a loopback address may serve, not %s", base)
	}
	outbox := sms.NewOutbox(100)
	mux.HandleFunc("GET /dev/outbox", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		msgs := outbox.All()
		for i := len(msgs) - 1; i >= 0; i-- {
			fmt.Fprintf(w, "%s\t%s\n", msgs[i].To, msgs[i].Text)
		}
	})
	return outbox, nil
}

// userInfo asks the provider's UserInfo endpoint who an access token
// speaks for.
type userInfo struct {
	issuer   string
	client   *http.Client
	mu       sync.Mutex
	endpoint string // found in the discovery document, once
}

func (u *userInfo) fromSession(r *http.Request) (declaration.Person, error) {
	s, ok := rp.SessionFromContext(r.Context())
	if !ok {
		return declaration.Person{}, errors.New("not signed in")
	}
	return u.person(r.Context(), s.AccessToken)
}

// fromBearer serves the private API routes, where the verifier has
// accepted the request's token for this API.
func (u *userInfo) fromBearer(r *http.Request) (declaration.Person, error) {
	if _, ok := rp.FromContext(r.Context()); !ok {
		return declaration.Person{}, errors.New("the access token was not checked for this API")
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return declaration.Person{}, errors.New("no bearer token")
	}
	return u.person(r.Context(), strings.TrimSpace(token))
}

func (u *userInfo) person(ctx context.Context, token string) (declaration.Person, error) {
	endpoint, err := u.userinfoEndpoint(ctx)
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
	if err := u.getJSON(ctx, endpoint, token, &claims); err != nil {
		return declaration.Person{}, fmt.Errorf("userinfo: %w", err)
	}
	if claims.AFM == "" {
		return declaration.Person{}, errors.New("the provider did not release the tax number (scope gr_identity)")
	}
	p := declaration.Person{AFM: claims.AFM, GivenName: claims.GivenName, FamilyName: claims.FamilyName,
		FatherName: claims.FatherName, MotherName: claims.MotherName, BirthDate: claims.BirthDate}
	if claims.PhoneVerified {
		p.Mobile = claims.Phone
	}
	return p, nil
}

func (u *userInfo) userinfoEndpoint(ctx context.Context) (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.endpoint != "" {
		return u.endpoint, nil
	}
	var doc struct {
		UserInfo string `json:"userinfo_endpoint"`
	}
	if err := u.getJSON(ctx, u.issuer+"/.well-known/openid-configuration", "", &doc); err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	if doc.UserInfo == "" {
		return "", errors.New("discovery: the provider has no userinfo_endpoint")
	}
	u.endpoint = doc.UserInfo
	return u.endpoint, nil
}

func (u *userInfo) getJSON(ctx context.Context, target, token string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", target, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

// purgeDrafts deletes drafts left unconfirmed, every ten minutes.
func purgeDrafts(ctx context.Context, svc *declaration.Service, log *zap.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if _, err := svc.Purge(ctx, time.Now()); err != nil && ctx.Err() == nil {
			log.Warn("purge failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// loadOrCreateKey reads the 32-byte key at path, or creates it (mode
// 0600) on first run.
func loadOrCreateKey(path string, log *zap.Logger) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != 32 {
			return nil, fmt.Errorf("%s: want 32 bytes, have %d", path, len(key))
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key = make([]byte, 32)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	log.Info("generated a key-encryption key; keep it with the database", zap.String("file", path))
	return key, nil
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
