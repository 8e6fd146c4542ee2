package examples_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/internal/browsertest"
	"github.com/egovkit/egovkit/internal/modtest"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/consumer"
	"github.com/egovkit/egovkit/interop/exchangelog"
	"github.com/egovkit/egovkit/sqldb"
)

// The journey's identifiers: the agency's X-Road client and OAuth
// clients, the registry's services, the purpose of the consent.
var (
	agencyXRoad   = interop.ClientID{Instance: "GR", Class: "GOV", Member: "DIMOS-ATHINAION", Subsystem: "BENEFITS"}
	previewXRoad  = interop.ClientID{Instance: "GR", Class: "GOV", Member: "PORTAL", Subsystem: "CONSENT"}
	familyStatus  = interop.ServiceID{Instance: "GR", Class: "GOV", Member: "EL-YPES", Subsystem: "CIVREG", Service: "family-status"}
	statusPreview = interop.ServiceID{Instance: "GR", Class: "GOV", Member: "EL-YPES", Subsystem: "CIVREG", Service: "family-status-preview"}
)

const (
	agencyClient   = "agency"
	interopClient  = "agency-interop"
	previewClient  = "portal-preview"
	consentClient  = "consent"
	citizenAFM     = "123456783" // the provider's test citizen, a sample of the registry
	granteeAFM     = "987654324" // whom she authorizes
	journeyPurpose = "child-benefit"
)

// journeyStack is what the portal will wire, assembled here from public
// packages in one server: the citizens' provider, the consent service
// with its pages and API, and the interop gateway with the registry's
// services, the agency's right and consent as its checker.
type journeyStack struct {
	base    string
	mux     *http.ServeMux
	op      *provider
	consent *consent.Service
	store   *interop.MemoryStore
	authz   *interop.Authorizer
	// preview is the portal's own client of the gateway.
	preview *consumer.Client
	// oauth is the OAuth client of each X-Road client, for the consent
	// API's requesters.
	oauth map[string]string
}

func newJourneyStack(t *testing.T) *journeyStack {
	t.Helper()
	s := &journeyStack{mux: http.NewServeMux(), oauth: map[string]string{agencyXRoad.String(): agencyClient}}
	srv := httptest.NewServer(s.mux)
	t.Cleanup(srv.Close)
	s.base = srv.URL
	s.op = mountProvider(t, s.mux, s.base)
	var err error
	s.consent, err = consent.New(t.Context(), consent.Config{Store: consent.NewMemoryStore(), SubjectKey: bytes.Repeat([]byte{3}, consent.SubjectKeySize)})
	require.NoError(t, err)
	s.store, err = interop.NewMemoryStore()
	require.NoError(t, err)
	return s
}

// mountGateway mounts the gateway at /interop, its registry empty until
// registerServices.
func (s *journeyStack) mountGateway(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	var err error
	s.authz, err = interop.New(ctx, interop.Config{Store: s.store, PollInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { s.authz.Close() })
	tokens, err := interop.NewJWTVerifier(interop.JWTConfig{Issuer: s.op.issuer, Audience: s.base + "/interop",
		JWKSURL: s.op.issuer + auth.PathJWKS, MapClient: func(id string) (interop.ClientID, error) {
			switch id {
			case interopClient:
				return agencyXRoad, nil
			case previewClient:
				return previewXRoad, nil
			}
			return interop.ClientID{}, fmt.Errorf("client %q is no X-Road client", id)
		}})
	require.NoError(t, err)
	t.Cleanup(func() { tokens.Close() })
	db, err := sqldb.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "exchanges.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	signer, err := exchangelog.NewSigningKey(ctx, db, bytes.Repeat([]byte{5}, 32), "portal.example.gov/exchange-log")
	require.NoError(t, err)
	xlog, err := exchangelog.New(ctx, exchangelog.Config{DB: db, Signer: signer})
	require.NoError(t, err)
	t.Cleanup(func() { xlog.Close() })
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	gw, err := interop.NewGateway(interop.GatewayConfig{Authorizer: s.authz, Tokens: tokens, Consent: consentChecker{s.consent},
		Log: xlog, WaitForLog: true, Key: key, KeyID: "gateway-1", Name: "portal", Pseudonym: pseudonymOf})
	require.NoError(t, err)
	t.Cleanup(func() { gw.Close() })
	s.mux.Handle("/interop/r1/", http.StripPrefix("/interop", gw))
	s.mux.Handle("GET /interop/keys", gw.KeysHandler())
}

// registerServices registers the registry's services (at upstream) with
// the agency's and the preview's rights, and waits for the gateway to
// know them.
func (s *journeyStack) registerServices(t *testing.T, upstream string) {
	t.Helper()
	ctx := t.Context()
	items := []interop.DataItem{
		{Code: "marital_status", Type: interop.ItemCode, Label: interop.Text{El: "Οικογενειακή κατάσταση", En: "Marital status"}},
		{Code: "spouse", Type: interop.ItemText, Label: interop.Text{El: "Σύζυγος", En: "Spouse"}},
		{Code: "children", Type: interop.ItemText, Label: interop.Text{El: "Τέκνα", En: "Children"}},
	}
	before := s.authz.Generation()
	for _, r := range []struct {
		id      interop.ServiceID
		consent bool
		right   interop.Right
	}{
		{familyStatus, true, interop.Right{Consumer: agencyXRoad, Method: "GET", Path: "/family-status"}},
		{statusPreview, false, interop.Right{Consumer: previewXRoad, Method: "GET", Path: "/family-status/preview"}},
	} {
		svc := interop.Service{ID: r.id, Title: interop.Text{El: "Πιστοποιητικό οικογενειακής κατάστασης", En: "Family status certificate"},
			Upstream: upstream, ConsentRequired: r.consent, Items: items}
		if !r.consent {
			svc.LegalBasis = "the citizen's preview of their own data before consenting"
		}
		created, err := s.store.CreateService(ctx, svc)
		require.NoError(t, err)
		r.right.Service = created.ID
		_, err = s.store.GrantRight(ctx, r.right)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return s.authz.Generation() >= before+4 }, 5*time.Second, 10*time.Millisecond)
}

func pseudonymOf(userID string) string {
	m := hmac.New(sha256.New, []byte("the portal's pseudonym key"))
	m.Write([]byte(userID))
	return "psn-" + hex.EncodeToString(m.Sum(nil)[:12])
}

// consentChecker lets package consent answer the gateway, as the portal
// joins the two blocks: the requester is the X-Road client, the source
// the service's provider and name, the purpose the call's X-Road-Issue.
type consentChecker struct{ svc *consent.Service }

func (c consentChecker) CheckConsent(ctx context.Context, q interop.ConsentQuery) (interop.ConsentDecision, error) {
	d, err := c.svc.Check(ctx, consent.CheckRequest{
		Requester:  consent.Requester{Organisation: q.Consumer.MemberID().String(), Client: q.Consumer.String()},
		TaxNumber:  strings.TrimPrefix(q.Subject, "GR"),
		Source:     consent.Source{Registry: q.Service.Provider().String(), Service: q.Service.Service},
		Items:      q.Items,
		Purpose:    q.Purpose,
		ExchangeID: q.ExchangeID,
	})
	if err != nil {
		return interop.ConsentDecision{}, err
	}
	return interop.ConsentDecision{Allowed: d.Allowed, ConsentID: d.ConsentID, Reason: interop.ConsentReason(d.Reason)}, nil
}

// previewer fetches the preview the consent pages show from the
// registry, through the gateway, as the portal's own consumer.
type previewer struct{ c *consumer.Client }

func (p previewer) Preview(ctx context.Context, q consent.PreviewQuery) ([]consent.PreviewValue, error) {
	if q.Source.Registry != familyStatus.Provider().String() || q.Source.Service != familyStatus.Service {
		return nil, nil
	}
	resp, err := p.c.Do(ctx, consumer.Call{Service: statusPreview, Path: "/family-status/preview", UserID: "GR" + q.TaxNumber})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("preview: %s", resp.Status)
	}
	var v struct {
		Values []consent.PreviewValue `json:"values"`
	}
	return v.Values, json.NewDecoder(resp.Body).Decode(&v)
}

// mountConsent mounts the consent pages (citizens sign in through the
// provider at LoA substantial) and the consent API (requesters with a
// client-credentials token).
func (s *journeyStack) mountConsent(t *testing.T) {
	t.Helper()
	s.op.register(t, auth.Client{ID: consentClient, GrantTypes: []string{auth.GrantAuthorizationCode},
		RedirectURIs: []string{s.base + "/consent/signin/callback"}, Scopes: []string{"openid", "profile", auth.ScopeGreekIdentity}})
	login, err := rp.NewWebLogin(rp.LoginConfig{Issuer: s.op.issuer, ClientID: consentClient, ClientSecret: clientSecret,
		RedirectURL: s.base + "/consent/signin/callback", Scopes: []string{"openid", "profile", auth.ScopeGreekIdentity},
		ACR: rp.LoASubstantial, CookieKey: bytes.Repeat([]byte{9}, 32), CookieName: "consent", CookiePath: "/consent/"})
	require.NoError(t, err)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	s.registerKeyClient(t, previewClient, jwksOf(t, &key.PublicKey))
	s.preview, err = consumer.New(consumer.Config{Gateway: s.base + "/interop", Consumer: previewXRoad, Issuer: s.op.issuer,
		ClientID: previewClient, Key: key, Resource: s.base + "/interop", MaxAttempts: 1})
	require.NoError(t, err)

	citizen := func(r *http.Request) (consent.Citizen, error) {
		sess, ok := rp.SessionFromContext(r.Context())
		if !ok {
			return consent.Citizen{}, errors.New("not signed in")
		}
		var claims struct {
			AFM string `json:"afm"`
		}
		if err := fetchJSON(r.Context(), s.op.issuer+auth.PathUserInfo, sess.AccessToken, &claims); err != nil {
			return consent.Citizen{}, err
		}
		return consent.Citizen{TaxNumber: claims.AFM, Session: "web:" + sess.Subject, LoA: sess.ACR, ClientAddress: "127.0.0.1"}, nil
	}
	pages, err := consent.PagesHandler(consent.PagesConfig{Service: s.consent, Prefix: "/consent", Citizen: citizen,
		Preview: previewer{s.preview}, ItemNames: map[string]consent.Text{
			"marital_status": {EL: "Οικογενειακή κατάσταση", EN: "Marital status"},
			"spouse":         {EL: "Σύζυγος", EN: "Spouse"},
			"children":       {EL: "Τέκνα", EN: "Children"}}})
	require.NoError(t, err)
	requesters, err := rp.NewVerifier(rp.Config{Issuer: s.op.issuer, Audience: s.base + "/consent/api"})
	require.NoError(t, err)
	api, err := consent.APIHandler(consent.APIConfig{Service: s.consent, PagesURL: s.base + "/consent",
		Requester: func(r *http.Request) (consent.Requester, error) {
			id, ok := rp.FromContext(r.Context())
			if !ok {
				return consent.Requester{}, errors.New("no token")
			}
			for xroad, client := range s.oauth {
				if client == id.ClientID {
					x, err := interop.ParseClientID(xroad)
					if err != nil {
						return consent.Requester{}, err
					}
					return consent.Requester{Organisation: x.MemberID().String(), Client: x.String()}, nil
				}
			}
			return consent.Requester{}, errors.New("not a requester")
		},
		ReturnURLAllowed: func(ctx context.Context, req consent.Requester, u string) (bool, error) {
			c, err := s.op.clients.Get(ctx, s.oauth[req.Client])
			if err != nil {
				return false, nil
			}
			for _, r := range c.RedirectURIs {
				if r == u {
					return true, nil
				}
			}
			return false, nil
		}})
	require.NoError(t, err)
	s.mux.Handle("GET /consent/signin/callback", login.CallbackHandler())
	s.mux.Handle("/consent/", login.Require(http.StripPrefix("/consent", pages)))
	s.mux.Handle("/consent/api/", requesters.Middleware(rp.RequireScopes("consent:request"))(http.StripPrefix("/consent/api", api)))
}

// registerKeyClient registers a private_key_jwt client for the gateway.
func (s *journeyStack) registerKeyClient(t *testing.T, id string, jwks []byte) {
	t.Helper()
	_, _, err := s.op.clients.Create(t.Context(), auth.Client{ID: id, Name: id, AuthMethod: auth.AuthPrivateKeyJWT,
		GrantTypes: []string{auth.GrantClientCredentials}, Scopes: []string{"interop:call"},
		Audience: []string{s.base + "/interop"}, JWKS: jwks})
	require.NoError(t, err)
}

func jwksOf(t *testing.T, pub *ecdsa.PublicKey) []byte {
	e, err := pub.ECDH()
	require.NoError(t, err)
	raw := e.Bytes()
	b, err := json.Marshal(map[string]any{"keys": []map[string]string{{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig",
		"x": base64.RawURLEncoding.EncodeToString(raw[1:33]), "y": base64.RawURLEncoding.EncodeToString(raw[33:])}}})
	require.NoError(t, err)
	return b
}

func fetchJSON(ctx context.Context, u, token string, v any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// TestOnceOnlyJourney builds the registry and the agency as an agency's
// own module would, runs them against the stack, and walks the journey
// over HTTP: the citizen signs in at the agency, consents at the
// portal's pages (with a preview from the registry through the gateway),
// and the application goes on with the certificate fetched through the
// gateway; the single-use consent is spent, and the citizen's access log
// names the exchange. Refusing instead leads to the upload form.
func TestOnceOnlyJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the examples")
	}
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	files := map[string][]byte{}
	for _, name := range []string{"registry", "agency"} {
		require.NoError(t, filepath.WalkDir(name, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			assert.NotContains(t, string(b), `"github.com/egovkit/egovkit/internal/`, "%s imports only public packages", p)
			files[filepath.ToSlash(p)] = b
			return nil
		}))
	}
	bin := modtest.Build(t, root, files)

	s := newJourneyStack(t)
	s.mountGateway(t)
	registryData := t.TempDir()
	registry := start(t, filepath.Join(bin, "registry"), "-addr", "127.0.0.1:0", "-data", registryData,
		"-portal", s.base)
	_, err = os.Stat(filepath.Join(registryData, "citizens.json"))
	require.NoError(t, err, "the sample citizens are written on first run")
	s.registerServices(t, registry+"/api")
	s.mountConsent(t)

	agencyData := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(agencyData, "client-secret"), []byte(clientSecret+"\n"), 0o600))
	agencyArgs := []string{"-addr", "127.0.0.1:0", "-data", agencyData, "-portal", s.base, "-gateway-audience", s.base + "/interop"}
	agency, stopAgency := startStoppable(t, filepath.Join(bin, "agency"), agencyArgs...)
	for _, f := range []string{"interop-key.pem", "cookie-key", "kek", "agency.db"} {
		fi, err := os.Stat(filepath.Join(agencyData, f))
		require.NoError(t, err, "%s is generated on first run", f)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
	}
	// The portal registers the agency: its site and requester client, and
	// its interop client with the key set it publishes.
	s.op.register(t, auth.Client{ID: agencyClient, GrantTypes: []string{auth.GrantAuthorizationCode, auth.GrantClientCredentials},
		RedirectURIs:           []string{agency + "/signin/callback", agency + "/consent-return"},
		PostLogoutRedirectURIs: []string{agency + "/"},
		Scopes:                 []string{"openid", "profile", auth.ScopeGreekIdentity, auth.ScopePhone, "consent:request"},
		Audience:               []string{s.base + "/consent/api"}})
	var jwks json.RawMessage
	getJSON(t, agency+"/.well-known/jwks.json", &jwks)
	s.registerKeyClient(t, interopClient, jwks)

	// The public pages, in the shared layout.
	home := browsertest.AssertStyled(t, nil, agency, "/", "/static/")
	assert.Contains(t, home, "href=\"/apply\"")
	browsertest.AssertStyled(t, nil, registry, "/", "/static/")
	// The registry answers nobody but the gateway.
	assertProblem(t, "GET", registry+"/api/family-status", "", http.StatusUnauthorized, "https://egovkit.dev/problems/httpsig/unsigned")

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	maria := &http.Client{Jar: jar}
	// The approved application, its declaration's number and its
	// authorization's.
	var application, declared, authorized string

	t.Run("approve", func(t *testing.T) {
		signInAt(t, s, maria, agency+"/apply")
		status, body, at := postForm(t, maria, agency, "/apply", url.Values{})
		body = passSignIn(t, s, maria, status, body, at)
		// The consent request, with the registry's preview.
		require.Contains(t, body, "/approve", "the consent page: %s", body)
		assert.Contains(t, body, "married", "the preview fetched from the registry through the gateway")
		approve := regexp.MustCompile(`action="([^"]*/approve)"`).FindStringSubmatch(body)
		require.NotNil(t, approve)
		status, body, at = postForm(t, maria, s.base, approve[1], url.Values{"lang": {"en"}})
		require.Equal(t, http.StatusOK, status, body)
		require.Equal(t, strings.TrimPrefix(agency, "http://"), at.Host, "back at the agency")
		assert.Contains(t, body, "was fetched with your consent", body)
		assert.Contains(t, body, "Νίκος Παπαδόπουλος", "the certificate's data")
		consentID := regexp.MustCompile(`id="consent">([^<]+)<`).FindStringSubmatch(body)
		exchange := regexp.MustCompile(`id="exchange">([^<]+)<`).FindStringSubmatch(body)
		require.NotNil(t, consentID)
		require.NotNil(t, exchange)

		// The exchange is in the citizen's access log, with its id.
		page, err := s.consent.AccessLog(t.Context(), consent.Citizen{TaxNumber: citizenAFM}, consent.LogQuery{})
		require.NoError(t, err)
		require.Len(t, page.Entries, 1)
		got := page.Entries[0]
		assert.Equal(t, exchange[1], got.ExchangeID)
		assert.Equal(t, consentID[1], got.ConsentID)
		assert.Equal(t, agencyXRoad.String(), got.Requester.Client)
		assert.Equal(t, journeyPurpose, got.Purpose)

		// The consent was for one use: the agency's client, with its own
		// key, is refused a second fetch under it.
		again := agencyConsumer(t, s, agencyData)
		_, err = again.Do(t.Context(), consumer.Call{Service: familyStatus, Path: "/family-status", UserID: "GR" + citizenAFM,
			ConsentID: consentID[1], Issue: journeyPurpose})
		var refusal *consumer.Error
		require.ErrorAs(t, err, &refusal)
		assert.Equal(t, http.StatusForbidden, refusal.Status)
		assert.Equal(t, interop.TypeConsentRefused, refusal.Type)
		page, err = s.consent.AccessLog(t.Context(), consent.Citizen{TaxNumber: citizenAFM}, consent.LogQuery{})
		require.NoError(t, err)
		assert.Len(t, page.Entries, 1, "a refused exchange is not a use")

		// Last, the solemn declaration that the application is true,
		// issued by the agency and signed with a code sent to her mobile.
		app := regexp.MustCompile(`action="(/applications/[^"/]+)/declaration"`).FindStringSubmatch(body)
		require.NotNil(t, app, "the application asks for the declaration: %s", body)
		application = app[1]
		assert.Contains(t, body, "The particulars of my child benefit application no.")
		status, body, _ = postForm(t, maria, agency, application+"/declaration", url.Values{})
		require.Equal(t, http.StatusOK, status, body)
		require.Contains(t, body, `name="code"`, "the page asks for the code")
		to, code := lastSMS(t, agency+"/dev/outbox")
		assert.Equal(t, citizenMobile, to, "the code goes to the mobile the provider verified")
		// Another code so soon is refused, and the first still serves.
		status, body, _ = postForm(t, maria, agency, application+"/declaration", url.Values{})
		assert.Equal(t, http.StatusTooManyRequests, status)
		assert.Contains(t, body, "less than a minute ago")
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		status, body, _ = postForm(t, maria, agency, application+"/declaration/confirm", url.Values{"code": {wrong}})
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		assert.Contains(t, body, "The code was not accepted")
		status, body, _ = postForm(t, maria, agency, application+"/declaration/confirm", url.Values{"code": {code}})
		require.Equal(t, http.StatusOK, status, body)
		number := regexp.MustCompile(`id="declaration-number">([^<]+)<`).FindStringSubmatch(body)
		require.NotNil(t, number, "the declaration's protocol number: %s", body)
		declared = number[1]
		assert.Regexp(t, `^[0-9]{4}/[0-9]+$`, declared)
		verifyURL := regexp.MustCompile(`id="declaration-verify" href="([^"]+)"`).FindStringSubmatch(body)
		require.NotNil(t, verifyURL)
		assert.True(t, strings.HasPrefix(verifyURL[1], agency+"/verify?code="), verifyURL[1])

		// Its PDF, with the QR code, is hers to download.
		downloadPDF(t, maria, agency+application+"/declaration.pdf", "declaration-")
		stranger := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := stranger.Get(agency + application + "/declaration.pdf")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "without her session, to the sign-in")
		assert.NotEqual(t, "application/pdf", resp.Header.Get("Content-Type"))
		// Anyone may verify it, signed in or not.
		status, body = get(t, strings.ReplaceAll(verifyURL[1], "&amp;", "&")+"&lang=en")
		require.Equal(t, http.StatusOK, status, body)
		assert.Contains(t, body, declared, "the verification page shows the declaration")
		assert.Contains(t, body, "The particulars of my child benefit application")

		// Beside it, an authorization of another person to follow the
		// application: what she types wrong is refused beside its field
		// and kept, and nothing is drafted.
		status, body = visit(t, maria, "GET", agency+application+"?lang=en", nil)
		require.Equal(t, http.StatusOK, status, body)
		assert.Contains(t, body, `id="authorization-title"`, "the application offers an authorization")
		until := time.Now().UTC().AddDate(0, 2, 0).Format(time.DateOnly)
		for _, c := range []struct {
			form        url.Values
			field, says string
		}{
			{url.Values{"grantee_afm": {citizenAFM}, "grantee_name": {"Γιάννης Παράδειγμα"}, "valid_until": {until}}, "grantee_afm", "your own tax number"},
			{url.Values{"grantee_afm": {"987654321"}, "grantee_name": {"Γιάννης Παράδειγμα"}, "valid_until": {until}}, "grantee_afm", "not a valid tax number"},
			{url.Values{"grantee_afm": {granteeAFM}, "grantee_name": {" "}, "valid_until": {until}}, "grantee_name", "full name"},
			{url.Values{"grantee_afm": {granteeAFM}, "grantee_name": {"Γιάννης Παράδειγμα"}, "valid_until": {"2020-01-01"}}, "valid_until", "after today"},
			{url.Values{"grantee_afm": {granteeAFM}, "grantee_name": {"Γιάννης Παράδειγμα"}, "valid_until": {"tomorrow"}}, "valid_until", "day, month and year"},
		} {
			c.form.Set("lang", "en")
			status, body, _ = postForm(t, maria, agency, application+"/authorization?lang=en", c.form)
			assert.Equal(t, http.StatusUnprocessableEntity, status, c.says)
			assert.Contains(t, body, `id="`+c.field+`-error"`, c.says)
			assert.Contains(t, body, c.says)
			assert.Contains(t, body, `aria-invalid="true"`, c.says)
			assert.Contains(t, body, `value="`+c.form.Get("grantee_afm")+`"`, "%s: what was typed is kept", c.says)
			assert.NotContains(t, body, `id="authorization-pending"`, "%s: nothing drafted", c.says)
		}
		status, body, _ = postForm(t, maria, agency, application+"/authorization?lang=en",
			url.Values{"grantee_afm": {granteeAFM}, "grantee_name": {"Γιάννης Παράδειγμα"}, "valid_until": {until}})
		require.Equal(t, http.StatusOK, status, body)
		assert.Contains(t, body, `id="authorization-pending"`, "the authorization waits for its code")
		to, code = lastSMS(t, agency+"/dev/outbox")
		assert.Equal(t, citizenMobile, to)
		status, body, _ = postForm(t, maria, agency, application+"/authorization/confirm?lang=en", url.Values{"code": {wrong}})
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		assert.Contains(t, body, "The code was not accepted")
		status, body, _ = postForm(t, maria, agency, application+"/authorization/confirm?lang=en", url.Values{"code": {code}})
		require.Equal(t, http.StatusOK, status, body)
		authzNumber := regexp.MustCompile(`id="authorization-number">([^<]+)<`).FindStringSubmatch(body)
		require.NotNil(t, authzNumber, "the authorization's protocol number: %s", body)
		authorized = authzNumber[1]
		assert.NotEqual(t, declared, authorized, "a number of its own")
		assert.Contains(t, body, "Γιάννης Παράδειγμα ("+"tax number "+granteeAFM+")")
		assert.Contains(t, body, `id="declaration-number">`+declared+`<`, "the declaration stays")
		// Issued, it is not replaced.
		status, body, _ = postForm(t, maria, agency, application+"/authorization?lang=en",
			url.Values{"grantee_afm": {"094014201"}, "grantee_name": {"Άλλος"}, "valid_until": {until}})
		require.Equal(t, http.StatusOK, status, body)
		assert.Contains(t, body, `id="authorization-number">`+authzNumber[1]+`<`)
		downloadPDF(t, maria, agency+application+"/authorization.pdf", "authorization-")
		verifyURL = regexp.MustCompile(`id="authorization-verify" href="([^"]+)"`).FindStringSubmatch(body)
		require.NotNil(t, verifyURL)
		status, body = get(t, strings.ReplaceAll(verifyURL[1], "&amp;", "&")+"&lang=en")
		require.Equal(t, http.StatusOK, status, body)
		assert.Contains(t, body, authzNumber[1], "the verification page shows the authorization")
		assert.Contains(t, body, granteeAFM, "and whom it empowers")
	})

	t.Run("refuse then upload", func(t *testing.T) {
		status, body, at := postForm(t, maria, agency, "/apply", url.Values{})
		body = passSignIn(t, s, maria, status, body, at)
		refuse := regexp.MustCompile(`formaction="([^"]*/refuse)"`).FindStringSubmatch(body)
		require.NotNil(t, refuse, body)
		status, body, at = postForm(t, maria, s.base, refuse[1], url.Values{"lang": {"en"}})
		require.Equal(t, http.StatusOK, status, body)
		require.Equal(t, strings.TrimPrefix(agency, "http://"), at.Host)
		assert.Contains(t, body, "You did not consent")
		require.Contains(t, body, `type="file"`)
		app := regexp.MustCompile(`action="(/applications/[^"/]+/upload)"`).FindStringSubmatch(body)
		require.NotNil(t, app)

		// A post without a file is refused with the form again.
		status, body = uploadFile(t, maria, agency, app[1], "", nil)
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		assert.Contains(t, body, "Choose the certificate")

		pdf := []byte("%PDF-1.4\n% a family status certificate\n")
		status, body = uploadFile(t, maria, agency, app[1], "certificate.pdf", pdf)
		require.Equal(t, http.StatusOK, status, body)
		assert.Contains(t, body, "The certificate was received")
		sum := sha256.Sum256(pdf)
		assert.Contains(t, body, hex.EncodeToString(sum[:]), "the file's hash is kept, not its content")
		assert.Contains(t, body, "application/pdf")

		page, err := s.consent.AccessLog(t.Context(), consent.Citizen{TaxNumber: citizenAFM}, consent.LogQuery{})
		require.NoError(t, err)
		assert.Len(t, page.Entries, 1, "nothing was fetched after the refusal")
	})

	t.Run("registry refusals", func(t *testing.T) {
		for _, tc := range []struct {
			user   string
			status int
			typ    string
		}{
			{"GR999999999", http.StatusNotFound, "https://egovkit.dev/problems/registry/unknown-citizen"},
			{"123456783", http.StatusBadRequest, ""},
			{"", http.StatusBadRequest, ""},
		} {
			_, err := s.preview.Do(t.Context(), consumer.Call{Service: statusPreview, Path: "/family-status/preview", UserID: tc.user})
			var refusal *consumer.Error
			require.ErrorAs(t, err, &refusal, tc.user)
			assert.Equal(t, tc.status, refusal.Status, tc.user)
			assert.Empty(t, refusal.XRoadError, "the registry's own answer, relayed")
			if tc.typ != "" {
				assert.Equal(t, tc.typ, refusal.Type)
			}
		}
		// The certificate needs a consent: the preview's client has no
		// right to it, and the agency none without a consent.
		_, err := s.preview.Do(t.Context(), consumer.Call{Service: familyStatus, Path: "/family-status", UserID: "GR" + citizenAFM})
		var refusal *consumer.Error
		require.ErrorAs(t, err, &refusal)
		assert.Equal(t, http.StatusForbidden, refusal.Status)
		_, err = agencyConsumer(t, s, agencyData).Do(t.Context(), consumer.Call{Service: familyStatus, Path: "/family-status",
			UserID: "GR" + citizenAFM, Issue: journeyPurpose})
		require.ErrorAs(t, err, &refusal)
		assert.Equal(t, interop.TypeConsentRefused, refusal.Type)
	})

	t.Run("another's application", func(t *testing.T) {
		status, _ := visit(t, &http.Client{Jar: jar}, "GET", agency+"/applications/0123456789abcdef01234567", nil)
		assert.Equal(t, http.StatusNotFound, status)
		// A form posted from another site is refused.
		req, err := http.NewRequest("POST", agency+"/apply", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", "https://elsewhere.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := maria.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	})

	t.Run("accessible", func(t *testing.T) {
		browsertest.AssertAccessible(t, agency+"/")
		browsertest.AssertAccessible(t, agency+"/?lang=en")
		browsertest.AssertAccessible(t, registry+"/")
	})

	// The agency keeps its applications and declarations in its data
	// directory: after a restart the application is there, with its
	// declaration, and the keys are the ones it made on first run.
	require.NotEmpty(t, application, "the approved application")
	keyBefore, err := os.ReadFile(filepath.Join(agencyData, "interop-key.pem"))
	require.NoError(t, err)
	stopAgency()
	agency = start(t, filepath.Join(bin, "agency"), agencyArgs...)
	keyAfter, err := os.ReadFile(filepath.Join(agencyData, "interop-key.pem"))
	require.NoError(t, err)
	assert.Equal(t, keyBefore, keyAfter, "the interop key is kept")
	status, body := visit(t, maria, "GET", agency+application, nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `id="declaration-number">`+declared+`<`, "the application and its declaration outlive a restart")
	assert.Contains(t, body, `id="authorization-number">`+authorized+`<`, "and its authorization")
	assert.Contains(t, body, "Νίκος Παπαδόπουλος", "with the certificate fetched")
}

// downloadPDF gets u with c and checks the answer is a PDF to save under
// a name starting with name.
func downloadPDF(t *testing.T, c *http.Client, u, name string) {
	t.Helper()
	resp, err := c.Get(u)
	require.NoError(t, err)
	pdf, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/pdf", resp.Header.Get("Content-Type"))
	assert.True(t, bytes.HasPrefix(pdf, []byte("%PDF-")))
	assert.Contains(t, resp.Header.Get("Content-Disposition"), `filename="`+name)
}

// signInAt visits u, which needs a sign-in, and signs the citizen in at
// the provider (password, then the code sent to her mobile).
func signInAt(t *testing.T, s *journeyStack, c *http.Client, u string) string {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	require.NoError(t, err)
	req.Header.Set("Accept-Language", "en")
	resp, err := c.Do(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	return passSignIn(t, s, c, resp.StatusCode, string(b), resp.Request.URL)
}

var txField = regexp.MustCompile(`name="tx" value="([^"]+)"`)

// passSignIn answers the provider's sign-in pages, if the visit ended on
// one, and returns the page reached after them.
func passSignIn(t *testing.T, s *journeyStack, c *http.Client, status int, body string, at *url.URL) string {
	t.Helper()
	for range 3 {
		if !strings.HasPrefix(at.String(), s.op.issuer) {
			require.Equal(t, http.StatusOK, status, "%s: %s", at, body)
			return body
		}
		tx := txField.FindStringSubmatch(body)
		require.NotNil(t, tx, "a sign-in page at %s: %s", at, body)
		var path string
		form := url.Values{"tx": {tx[1]}}
		switch {
		case strings.Contains(body, `name="password"`):
			path = auth.PathLogin
			form.Set("username", "maria.p")
			form.Set("password", citizenPassword)
		case strings.Contains(body, `name="code"`):
			path = auth.PathLogin + "/code"
			m, ok := s.op.outbox.Last(citizenMobile)
			require.True(t, ok, "a code was sent")
			form.Set("code", regexp.MustCompile(`\b[0-9]{6}\b`).FindString(m.Text))
		default:
			t.Fatalf("an unknown sign-in page at %s: %s", at, body)
		}
		status, body, at = postForm(t, c, s.base, strings.TrimPrefix(s.op.issuer, s.base)+path, form)
	}
	t.Fatalf("still signing in at %s", at)
	return ""
}

// uploadFile posts a multipart form with the file (none when name is
// empty) from the agency's page.
func uploadFile(t *testing.T, c *http.Client, base, path, name string, content []byte) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if name != "" {
		w, err := mw.CreateFormFile("certificate", name)
		require.NoError(t, err)
		w.Write(content)
	}
	require.NoError(t, mw.Close())
	req, err := http.NewRequest("POST", base+path, &buf)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", base)
	req.Header.Set("Accept-Language", "en")
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// agencyConsumer is a client of the gateway with the agency's own key,
// read from its data directory.
func agencyConsumer(t *testing.T, s *journeyStack, data string) *consumer.Client {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "interop-key.pem"))
	require.NoError(t, err)
	blk, _ := pem.Decode(b)
	require.NotNil(t, blk)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	require.NoError(t, err)
	c, err := consumer.New(consumer.Config{Gateway: s.base + "/interop", Consumer: agencyXRoad, Issuer: s.op.issuer,
		ClientID: interopClient, Key: k.(*ecdsa.PrivateKey), Resource: s.base + "/interop", MaxAttempts: 1})
	require.NoError(t, err)
	return c
}
