// Command agency is an agency's service that applies the once-only
// principle (agency A of the once-only journey): a municipality's
// child-benefit application that needs the citizen's family status
// certificate and does not ask for it. The citizen signs in through the
// portal's provider (auth/rp.WebLogin, LoA substantial), starts an
// application, and is sent to the portal to consent; with the consent the
// agency fetches the certificate from the civil registry through the
// interop gateway (interop/consumer), and the application goes on with no
// upload. If the citizen refuses, or the fetch fails, the application
// offers an upload form instead. Last, the citizen signs a solemn
// declaration that the application is true: the agency issues it itself
// with package declaration, confirmed with a one-time code sent by SMS to
// the mobile number the provider releases (scope phone), numbered in the
// agency's own protocol, downloadable as a PDF with a QR code and
// verifiable by anyone at /verify.
//
//	go run ./examples/portal -demo &                  # the portal, at http://127.0.0.1:8080
//	go run ./examples/registry -portal http://127.0.0.1:8080 &
//	go run ./examples/agency -portal http://127.0.0.1:8080 -client-secret-file secret.txt
//
// The portal's demo mode already runs this agency in its own process
// (package examples/agency/agency), registered and on a port it prints;
// run it alone against a portal where you register it as described
// below.
//
// It serves:
//
//	/                                 what the benefit is and what the citizen need not bring
//	/apply                            start an application (signed in); POST sends the citizen to consent
//	/consent-return                   where the portal sends the citizen back, with consent_id or error
//	/applications/{id}                the application: the certificate fetched, or the upload form
//	/applications/{id}/upload         POST: the certificate uploaded instead
//	/applications/{id}/declaration    POST: write the solemn declaration and send its code
//	/applications/{id}/declaration/confirm  POST: issue it with the code
//	/applications/{id}/declaration.pdf      the issued declaration, with its QR code
//	/verify                           the public verification page, where the QR codes lead
//	/dev/outbox                       without -sms-webhook: the codes that would go by SMS
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
//     post-logout URI <public URL>/, scopes openid, profile,
//     gr_identity, which releases the tax number, and phone, which
//     releases the verified mobile the declaration's code goes to) and the
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
// ECDSA P-256 key (interop-key.pem), the key that seals the session
// cookies (cookie-key) and a key-encryption key (kek), which protects
// the declarations' signing keys in the database and from which their
// codes' secret is derived, all mode 0600, and a SQLite database
// (agency.db, unless -db names another) that keeps the applications and
// the declarations across restarts. It is an example of the flow, not a
// case management system: of an uploaded file it keeps the name, type,
// size and SHA-256 only; the content is read once to hash it and
// discarded. Without -sms-webhook the codes go to an outbox in memory
// shown at /dev/outbox, which is refused at a public URL other than a
// loopback address. It stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
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

	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/examples/agency/agency"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/sms"
	"github.com/egovkit/egovkit/sqldb"
)

type config struct {
	Addr, Data, DB, PublicURL, Portal string
	SMSWebhook, SMSSecretFile         string
	Authority                         string
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
	flag.StringVar(&c.DB, "db", "", "database URL (sqlite:PATH or postgres://…); empty means sqlite:<data>/agency.db")
	flag.StringVar(&c.Authority, "authority", "", "the issuer named on the declarations and in their protocol numbers; empty means the member code of -xroad-client")
	flag.StringVar(&c.SMSWebhook, "sms-webhook", "", "URL of the SMS gateway the declarations' codes are posted to; empty keeps them in /dev/outbox")
	flag.StringVar(&c.SMSSecretFile, "sms-webhook-secret-file", "", "file holding the key that signs the posts to the SMS gateway")
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
	def(&c.DB, "sqlite:"+filepath.Join(c.Data, "agency.db"))
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
	keyFile := filepath.Join(c.Data, "interop-key.pem")
	key, created, err := agency.LoadOrCreateKey(keyFile)
	if err != nil {
		return err
	}
	if created {
		log.Info("generated the interop client's key", zap.String("file", keyFile))
	}
	cookieKey, err := loadOrCreateSecret(filepath.Join(c.Data, "cookie-key"), log)
	if err != nil {
		return err
	}
	kek, err := loadOrCreateSecret(filepath.Join(c.Data, "kek"), log)
	if err != nil {
		return err
	}
	db, err := sqldb.Open(ctx, c.DB, nil)
	if err != nil {
		return err
	}
	defer db.Close()
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
	mux := http.NewServeMux()
	sender, err := smsSender(c, base, mux)
	if err != nil {
		return err
	}
	h, err := agency.New(ctx, agency.Config{PublicURL: base, Issuer: c.Issuer, ClientID: c.ClientID,
		ClientSecret: strings.TrimSpace(string(secret)), ACR: c.ACR, ConsentAPI: c.ConsentAPI,
		Gateway: c.Gateway, GatewayAudience: c.GatewayAudience, InteropIssuer: c.InteropIssuer,
		InteropClientID: c.InteropClientID, Key: key, XRoadClient: xroad, Service: service,
		PurposeCode: c.PurposeCode, CookieKey: cookieKey, DB: db, KEK: kek, SMS: sender, Authority: c.Authority, Logger: log})
	if err != nil {
		return err
	}
	mux.Handle("/", h)
	go maintain(ctx, h, log)
	log.Info("register the interop client with this key set", zap.String("client_id", c.InteropClientID),
		zap.String("jwks_url", base+"/.well-known/jwks.json"), zap.String("xroad_client", xroad.String()))
	log.Info("signing citizens in", zap.String("issuer", c.Issuer), zap.String("client_id", c.ClientID),
		zap.String("redirect_uri", base+"/signin/callback"), zap.String("consent_return", base+"/consent-return"))
	return serve(ctx, log, ln, mux)
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

// maintain deletes the declarations' drafts left unconfirmed and their
// spent codes, every ten minutes.
func maintain(ctx context.Context, a *agency.Agency, log *zap.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if err := a.Maintain(ctx); err != nil && ctx.Err() == nil {
			log.Warn("maintenance failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
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
	log.Info("generated a key; keep it with the data", zap.String("file", path))
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
