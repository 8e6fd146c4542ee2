// Command auth-provider is the OpenID provider of package auth alone, for
// an agency that runs its own sign-in: one realm (citizens, or with
// -realm servant civil servants), its sign-in pages in Greek and English,
// tokens, UserInfo, introspection, revocation and logout, in a service of
// its own.
//
//	go run ./examples/auth-provider                  # issuer http://127.0.0.1:8085/auth/citizen
//	go run ./examples/auth-provider -clients clients.json -accounts people.json
//	go run ./examples/auth-provider -db postgres://egovkit@127.0.0.1/auth \
//	    -public-url https://id.agency.example -sms-webhook https://sms.agency.example/send
//
// It serves:
//
//	/auth/<realm>/…        the provider: discovery at /.well-known/openid-configuration,
//	                       the JWKS, authorize and the sign-in pages, token, userinfo,
//	                       introspect, revoke, par and logout
//	/healthz               the process is up
//	/readyz                the database answers and takes a write
//	/dev/outbox            without -sms-webhook, on a loopback address: the codes that
//	                       would go by SMS, newest first
//
// On first run it creates the data directory with a SQLite database
// (unless -db names another) and a key-encryption key from package kek
// (the file kek, mode 0600), under which the realm's signing keys are
// kept in the database and from which the one-time codes' secret and the
// pairwise identifiers' secret are derived. Keep the file with the
// database, and give every instance that shares the database the same
// one: a start with another key is refused.
//
// # Clients
//
// Clients are registered at every start, from flags (one client) and from
// a JSON file (-clients, any number), and their registration is updated
// to what is given. The file holds an array of registrations in the shape
// of the client administration API (client_id, client_name,
// token_endpoint_auth_method, grant_types, redirect_uris, scope, audience,
// min_acr, subject_type, …), each client_secret_basic one (the method
// when none is named) with its client_secret:
//
//	[{"client_id": "permits", "client_name": "Permits", "token_endpoint_auth_method": "client_secret_basic",
//	  "grant_types": ["authorization_code", "refresh_token"], "redirect_uris": ["https://permits.agency.example/callback"],
//	  "scope": ["openid", "profile", "phone"], "client_secret": "at least sixteen characters"},
//	 {"client_id": "registry-sync", "client_name": "Registry sync", "token_endpoint_auth_method": "client_secret_basic",
//	  "grant_types": ["client_credentials"], "scope": ["registry:read"], "audience": ["https://registry.agency.example"],
//	  "client_secret": "…"}]
//
// A secret is taken when its client is first registered; a different
// secret given later is reported at start and not used (the registry
// keeps only a hash). Files that hold secrets must be readable by their
// owner alone.
//
// # People
//
// -accounts names a JSON file of people to create at start (those who
// exist are left as they are), with their password and a mobile number
// recorded as verified from the agency's own records:
//
//	[{"username": "maria.p", "password": "…", "afm": "123456783", "amka": "15038501233",
//	  "given_name": "Μαρία", "family_name": "Παπαδοπούλου", "father_name": "Γεώργιος",
//	  "mother_name": "Ελένη", "birthdate": "1985-03-15", "mobile": "+306912345678"}]
//
// In the servants' realm only username, password, names and mobile count.
//
// # Codes by SMS
//
// With -sms-webhook the one-time codes that reach LoA substantial are
// posted to the SMS gateway as signed JSON (package sms; the key in the
// file -sms-webhook-secret-file names). Without it, on a loopback address,
// they are kept in memory and shown at /dev/outbox; at any other address
// there are no codes: sign-ins reach LoA low only and the phone scope is
// not offered.
//
// Every request gets a request id and a line in the access log (personal
// data masked), a panic is answered as a logged 500, unrouted requests
// get problem+json. It stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/kek"
	"github.com/egovkit/egovkit/middleware"
	"github.com/egovkit/egovkit/problem"
	"github.com/egovkit/egovkit/sms"
	"github.com/egovkit/egovkit/sqldb"
)

type config struct {
	Addr, Data, DB, PublicURL, Realm string
	ClientsFile, AccountsFile        string
	SMSWebhook, SMSSecretFile        string
	Grace                            time.Duration
	// The client given by flags, if any.
	ClientID, ClientSecretFile                  string
	RedirectURIs, Scopes, Grants, Audience, ACR string
}

func main() {
	var c config
	flag.StringVar(&c.Addr, "addr", "127.0.0.1:8085", "address to listen on")
	flag.StringVar(&c.Data, "data", "auth-data", "data directory, created on first run")
	flag.StringVar(&c.DB, "db", "", "database URL (sqlite:PATH or postgres://…); empty means sqlite:<data>/auth.db")
	flag.StringVar(&c.PublicURL, "public-url", "", "the URL people and clients reach this service at; empty means http://<listening address>")
	flag.StringVar(&c.Realm, "realm", "citizen", "the realm: citizen, or servant for civil servants (their agencies' authorizations in tokens)")
	flag.StringVar(&c.ClientsFile, "clients", "", "JSON file of clients to register at start (see the documentation)")
	flag.StringVar(&c.AccountsFile, "accounts", "", "JSON file of people to create at start (see the documentation)")
	flag.StringVar(&c.SMSWebhook, "sms-webhook", "", "URL of the SMS gateway the codes are posted to; empty keeps them in /dev/outbox on a loopback address")
	flag.StringVar(&c.SMSSecretFile, "sms-webhook-secret-file", "", "file holding the key that signs the posts to the SMS gateway")
	flag.DurationVar(&c.Grace, "shutdown-grace", 10*time.Second, "how long requests under way may take to finish after SIGINT or SIGTERM")
	flag.StringVar(&c.ClientID, "client-id", "", "register one client with this id (besides those of -clients)")
	flag.StringVar(&c.ClientSecretFile, "client-secret-file", "", "file holding that client's secret (client_secret_basic), 16 characters or more")
	flag.StringVar(&c.RedirectURIs, "client-redirect-uris", "", "its redirect URIs, separated by spaces")
	flag.StringVar(&c.Scopes, "client-scopes", "openid profile", "the scopes it may ask for, separated by spaces")
	flag.StringVar(&c.Grants, "client-grants", "authorization_code refresh_token", "its grant types, separated by spaces")
	flag.StringVar(&c.Audience, "client-audience", "", "for client_credentials: the services its tokens are for, separated by spaces")
	flag.StringVar(&c.ACR, "client-min-acr", "", "the lowest level of assurance a sign-in for it may have (empty: any)")
	flag.Parse()
	if c.Realm != "citizen" && c.Realm != "servant" {
		fmt.Fprintln(os.Stderr, "auth-provider: -realm is citizen or servant")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log, _ := zap.NewProduction()
	if err := run(ctx, log, c); err != nil {
		log.Error("auth-provider", zap.Error(err))
		os.Exit(1)
	}
}

func run(ctx context.Context, log *zap.Logger, c config) error {
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return err
	}
	if c.DB == "" {
		c.DB = "sqlite:" + filepath.Join(c.Data, "auth.db")
	}
	key, err := loadOrCreateKEK(filepath.Join(c.Data, "kek"), log)
	if err != nil {
		return err
	}
	db, err := sqldb.Open(ctx, c.DB, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := kek.Check(ctx, db, key); err != nil {
		return fmt.Errorf("%w: the key-encryption key must be the one the database was created with", err)
	}
	ready, err := sqldb.NewProbe(ctx, db)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(c.PublicURL, "/")
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	mux := http.NewServeMux()
	sender, err := smsSender(c, base, mux, log)
	if err != nil {
		return err
	}

	// The realm: its clients, signing keys, accounts, codes and, with an
	// SMS sender, the one-time codes and the contact registry that reach
	// LoA substantial and release the phone scope.
	common := []auth.Option{auth.WithLogger(log)}
	clients, err := auth.NewClientRegistry(ctx, db, c.Realm, common...)
	if err != nil {
		return err
	}
	signing, err := auth.NewSigningKeys(ctx, db, "auth/"+c.Realm, key, common...)
	if err != nil {
		return err
	}
	accounts, err := auth.NewAccounts(ctx, db, common...)
	if err != nil {
		return err
	}
	codes, err := auth.NewCodeStore(ctx, db, c.Realm, common...)
	if err != nil {
		return err
	}
	issuer := base + "/auth/" + c.Realm
	pcfg := auth.ProviderConfig{Issuer: issuer, Realm: c.Realm, Servants: c.Realm == "servant",
		Keys: signing, Clients: clients, Codes: codes, Accounts: accounts, Logger: log}
	if pcfg.PairwiseSecret, err = derive(key, "auth-provider pairwise v1"); err != nil {
		return err
	}
	if sender != nil {
		secret, err := derive(key, "auth-provider one-time codes v1")
		if err != nil {
			return err
		}
		if pcfg.OneTimeCodes, err = auth.NewOneTimeCodes(ctx, db, secret, sender, common...); err != nil {
			return err
		}
		if pcfg.Contacts, err = auth.NewContactRegistry(ctx, db, pcfg.OneTimeCodes, sender, common...); err != nil {
			return err
		}
		if _, dev := sender.(*sms.Outbox); dev {
			pcfg.DemoOutboxURL = "/dev/outbox" // the sign-in pages say where the codes are
		}
	}
	p, err := auth.NewProvider(ctx, pcfg)
	if err != nil {
		return err
	}
	if err := registerClients(ctx, clients, c, log); err != nil {
		return err
	}
	if c.AccountsFile != "" {
		if err := createAccounts(ctx, accounts, pcfg.Contacts, c, log); err != nil {
			return err
		}
	}

	prefix := "/auth/" + c.Realm
	mux.Handle(prefix+"/", http.StripPrefix(prefix, p.Handler()))
	mux.Handle("GET /{$}", http.RedirectHandler(prefix+auth.PathDiscovery, http.StatusSeeOther))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := ready.Check(r.Context()); err != nil {
			log.Warn("not ready", zap.Error(err))
			problem.Write(w, r, problem.Unavailable("the database does not take writes now", 5))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ready")
	})
	logged := middleware.WithLogger(log)
	handler := middleware.Chain(
		middleware.RequestID,
		middleware.AccessLog(logged),
		middleware.Recover(logged),
	)(middleware.Fallbacks(mux, nil))

	go maintain(ctx, p, log)
	log.Info("provider ready", zap.String("issuer", issuer), zap.String("realm", c.Realm),
		zap.Bool("sms", sender != nil), zap.String("db", sqldb.Redact(c.DB)))
	return serve(ctx, log, ln, handler, c.Grace)
}

// derive makes a 32-byte secret for one purpose from the key-encryption
// key, so that the data directory holds one secret, not several.
func derive(key []byte, purpose string) ([]byte, error) {
	return hkdf.Key(sha256.New, key, nil, purpose, 32)
}

// smsSender posts the codes to the SMS gateway; without one, on a
// loopback address, it keeps them in an outbox shown at /dev/outbox;
// elsewhere there is none (nil): sign-ins reach LoA low only.
func smsSender(c config, base string, mux *http.ServeMux, log *zap.Logger) (sms.Sender, error) {
	if c.SMSWebhook != "" {
		if !strings.HasPrefix(c.SMSWebhook, "https://") && !strings.HasPrefix(c.SMSWebhook, "http://") {
			return nil, errors.New("-sms-webhook must be an http(s) URL")
		}
		var secret []byte
		if c.SMSSecretFile != "" {
			b, err := readPrivate(c.SMSSecretFile)
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
		log.Warn("no SMS gateway (-sms-webhook): sign-ins reach LoA low only, and the phone scope is not offered")
		return nil, nil
	}
	outbox := sms.NewOutbox(100)
	mux.HandleFunc("GET /dev/outbox", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		msgs := outbox.All()
		for i := len(msgs) - 1; i >= 0; i-- {
			fmt.Fprintf(w, "%s\t%s\n", msgs[i].To, msgs[i].Text)
		}
	})
	log.Warn("no SMS gateway: the codes are shown at /dev/outbox, for development on this machine only")
	return outbox, nil
}

// registration is one client of the -clients file: its registration and
// its secret.
type registration struct {
	auth.Client
	Secret string `json:"client_secret"`
}

// registerClients registers the client given by flags and those of the
// -clients file, or updates their registration when they exist.
func registerClients(ctx context.Context, clients *auth.ClientRegistry, c config, log *zap.Logger) error {
	var regs []registration
	if c.ClientsFile != "" {
		b, err := readPrivate(c.ClientsFile)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&regs); err != nil {
			return fmt.Errorf("%s: %w", c.ClientsFile, err)
		}
	}
	if c.ClientID != "" {
		if c.ClientSecretFile == "" {
			return errors.New("-client-id needs -client-secret-file")
		}
		secret, err := readPrivate(c.ClientSecretFile)
		if err != nil {
			return err
		}
		regs = append(regs, registration{Secret: strings.TrimSpace(string(secret)), Client: auth.Client{
			ID: c.ClientID, Name: c.ClientID, AuthMethod: auth.AuthSecretBasic,
			GrantTypes: strings.Fields(c.Grants), RedirectURIs: strings.Fields(c.RedirectURIs),
			Scopes: strings.Fields(c.Scopes), Audience: strings.Fields(c.Audience), MinACR: c.ACR,
		}})
	}
	for _, r := range regs {
		if r.AuthMethod == "" {
			r.AuthMethod = auth.AuthSecretBasic
		}
		if r.Name == "" {
			r.Name = r.ID
		}
		if err := ensureClient(ctx, clients, r, log); err != nil {
			return fmt.Errorf("client %q: %w", r.ID, err)
		}
	}
	return nil
}

// ensureClient registers r with its secret or, when the client exists,
// replaces its registration with r, and reports a secret that differs
// from the registered one.
func ensureClient(ctx context.Context, clients *auth.ClientRegistry, r registration, log *zap.Logger) error {
	var err error
	if r.AuthMethod == auth.AuthSecretBasic {
		_, err = clients.Import(ctx, r.Client, r.Secret)
	} else {
		_, _, err = clients.Create(ctx, r.Client)
	}
	if !errors.Is(err, auth.ErrClientExists) {
		return err
	}
	if _, err := clients.Update(ctx, r.Client); err != nil {
		return err
	}
	if r.AuthMethod != auth.AuthSecretBasic {
		return nil
	}
	// Check the secret as the token endpoint would.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/token", strings.NewReader(""))
	if err != nil {
		return err
	}
	req.SetBasicAuth(url.QueryEscape(r.ID), url.QueryEscape(r.Secret))
	if err := req.ParseForm(); err != nil {
		return err
	}
	var oe *auth.OAuthError
	switch _, err := clients.Authenticate(ctx, req, nil); {
	case errors.As(err, &oe):
		log.Warn("the secret given is not the client's registered one, which stays in force; a secret is taken only when a client is first registered",
			zap.String("client_id", r.ID))
	case err != nil:
		return err
	}
	return nil
}

// person is one entry of the -accounts file.
type person struct {
	Username   string `json:"username"`
	Password   string `json:"password"`
	AFM        string `json:"afm"`
	AMKA       string `json:"amka"`
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
	FatherName string `json:"father_name"`
	MotherName string `json:"mother_name"`
	BirthDate  string `json:"birthdate"`
	Mobile     string `json:"mobile"`
}

// createAccounts creates the people of the -accounts file who have no
// account yet, with their mobile number in the contact registry.
func createAccounts(ctx context.Context, accounts *auth.Accounts, contacts *auth.ContactRegistry, c config, log *zap.Logger) error {
	b, err := readPrivate(c.AccountsFile)
	if err != nil {
		return err
	}
	var people []person
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&people); err != nil {
		return fmt.Errorf("%s: %w", c.AccountsFile, err)
	}
	created := 0
	for i, p := range people {
		id, err := createAccount(ctx, accounts, c.Realm, p)
		if errors.Is(err, auth.ErrAccountExists) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: person %d: %w", c.AccountsFile, i+1, err)
		}
		created++
		if p.Mobile == "" {
			continue
		}
		if contacts == nil {
			log.Warn("no SMS gateway: the mobile number of a new account is not recorded", zap.String("account", id))
			continue
		}
		if _, err := contacts.ImportMobile(ctx, id, p.Mobile, "the agency's records"); err != nil {
			return fmt.Errorf("%s: person %d: %w", c.AccountsFile, i+1, err)
		}
	}
	log.Info("accounts created", zap.Int("created", created), zap.Int("listed", len(people)))
	return nil
}

// createAccount creates p's account in the realm and returns its id.
func createAccount(ctx context.Context, accounts *auth.Accounts, realm string, p person) (string, error) {
	if realm == "servant" {
		s, err := accounts.CreateServant(ctx, auth.Servant{Username: p.Username, GivenName: p.GivenName, FamilyName: p.FamilyName}, p.Password)
		return s.ID, err
	}
	c, err := accounts.CreateCitizen(ctx, auth.Citizen{Username: p.Username, AFM: p.AFM, AMKA: p.AMKA,
		GivenName: p.GivenName, FamilyName: p.FamilyName, FatherName: p.FatherName, MotherName: p.MotherName,
		BirthDate: p.BirthDate}, p.Password)
	return c.ID, err
}

// readPrivate reads a file that holds secrets, refusing one that others
// may read.
func readPrivate(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s holds secrets but others may read it (mode %v); run chmod 600 on it", path, fi.Mode().Perm())
	}
	return os.ReadFile(path)
}

// loadOrCreateKEK reads the key-encryption key at path, or generates it
// there (mode 0600) on first run.
func loadOrCreateKEK(path string, log *zap.Logger) ([]byte, error) {
	b, err := readPrivate(path)
	switch {
	case err == nil:
		key, err := kek.Parse(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return key, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	key, err := kek.Generate()
	if err != nil {
		return nil, err
	}
	// O_EXCL: never overwrite a key written by a concurrent start.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	_, werr := f.WriteString(kek.Encode(key) + "\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return nil, werr
	}
	log.Info("generated a key-encryption key; keep it with the database", zap.String("file", path))
	return key, nil
}

// maintain rotates the signing keys when due and purges what expired,
// now and every five minutes.
func maintain(ctx context.Context, p *auth.Provider, log *zap.Logger) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		if err := p.Maintain(ctx); err != nil && ctx.Err() == nil {
			log.Warn("maintenance failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// serve answers on ln until ctx ends, then lets requests under way finish
// within grace.
func serve(ctx context.Context, log *zap.Logger, ln net.Listener, h http.Handler, grace time.Duration) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, ErrorLog: zap.NewStdLog(log.Named("http"))}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", zap.String("url", fmt.Sprintf("http://%s/", ln.Addr())))
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	stopCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(stopCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
