package interop

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.uber.org/zap"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/interop/exchangelog/verify"
	"github.com/egovkit/egovkit/interop/httpsig"
	"github.com/egovkit/egovkit/problem"
)

// ExchangeLog is where the gateway records each exchange: metadata and
// digests, never a payload. *exchangelog.Log satisfies it.
type ExchangeLog interface {
	Append(ctx context.Context, e verify.Entry) (int64, error)
}

// Observer receives the duration of each call, for a latency histogram:
// kind [KindCallSeconds], the value in seconds and the labels of
// [KindCall] (consumer, service, outcome). A Prometheus HistogramVec is
// one small adapter away.
type Observer interface {
	Observe(kind string, value float64, labels ...string)
}

// KindCallSeconds is the kind of the observed duration of a call.
const KindCallSeconds = "interop_call_seconds"

// Default limits of the gateway, for the zero fields of a service's
// [Limits] and of GatewayConfig.Defaults.
const (
	DefaultMaxRequestBytes  = 10 << 20
	DefaultMaxResponseBytes = 50 << 20
	DefaultTimeout          = 30 * time.Second
)

// Response headers of X-Road's message protocol for REST that the gateway
// sets.
const (
	HeaderService     = "X-Road-Service"
	HeaderRequestID   = "X-Road-Request-Id"
	HeaderRequestHash = "X-Road-Request-Hash"
	HeaderError       = "X-Road-Error"
)

// GatewayConfig configures a [Gateway]. Authorizer, Tokens, Log, Key and
// KeyID are required.
type GatewayConfig struct {
	// Authorizer decides each call from the registry.
	Authorizer *Authorizer
	// Tokens authenticates consumers by their access token.
	Tokens TokenVerifier
	// Consent is asked for every call of a service that requires consent;
	// when nil, such calls are refused (503).
	Consent ConsentChecker
	// Log records every exchange, refusals included.
	Log ExchangeLog
	// WaitForLog makes each call end (its connection free for the next
	// call) only once its entry is committed to the log. By default the
	// entry is appended in the background once the answer is sent: at
	// most MaxPendingLog entries at once (10,000 when zero), past which
	// calls wait for the log; Close waits for those pending. Either way
	// the consumer has its answer before the commit (unless
	// LogBeforeRelease holds it).
	WaitForLog    bool
	MaxPendingLog int
	// LogBeforeRelease holds each provider's answer until its entry is
	// committed to the log: the gateway reads the answer whole (within
	// the service's response limit, in memory), appends the entry with
	// the answer's SHA-256 and size, and only then sends it to the
	// consumer. An answer the log cannot take is not released: the
	// consumer gets 503 (X-Road-Error Server.ClientProxy.LogUnavailable)
	// instead, so no data leaves without its record, even when the
	// process dies at that moment. The call waits for the commit (an
	// ExchangeLog that gathers appends into shared commits should then
	// not wait long for others), and a provider's streamed answer reaches
	// the consumer only once it is complete. Refusals, which release
	// nothing, are logged as WaitForLog says.
	LogBeforeRelease bool
	// Key signs the requests forwarded to providers (Ed25519 or ECDSA
	// P-256; any crypto.Signer, so an HSM can hold it), and KeyID names
	// it in the signatures and in the JWK set [Gateway.KeysHandler]
	// publishes.
	Key   crypto.Signer
	KeyID string
	// Name identifies this gateway instance in the exchange log; may be
	// empty.
	Name string
	// Defaults are the limits of services whose registration leaves one
	// at zero; zero fields here mean DefaultMaxRequestBytes,
	// DefaultMaxResponseBytes and DefaultTimeout (and no rate limit).
	Defaults Limits
	// Pseudonym turns the X-Road-UserId of a call into the citizen's
	// pseudonym, which the exchange log records and the provider
	// receives in the Egovkit-Citizen-Pseudonym header. When nil, the
	// consumer's own Egovkit-Citizen-Pseudonym header is passed on and
	// recorded. The user id itself is never logged.
	Pseudonym func(userID string) string
	// Transport reaches the providers; a clone of http.DefaultTransport
	// with more idle connections per host when nil.
	Transport http.RoundTripper
	// Counter counts each call (kind KindCall); Observer sees its
	// duration. Both optional.
	Counter  Counter
	Observer Observer
	// Logger logs failures (never the user id or a payload); none when
	// nil.
	Logger *zap.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Gateway is the http.Handler consumers call with X-Road's message
// protocol for REST. See the package documentation for what it checks,
// in which order, and how it answers. It is safe for concurrent use and
// starts no goroutine.
type Gateway struct {
	cfg      GatewayConfig
	log      *zap.Logger
	signer   *httpsig.Signer
	proxy    *httputil.ReverseProxy
	limiters limiters
	jwks     []byte
	ids      idSource
	logging  chan struct{}
	pending  sync.WaitGroup
}

// NewGateway checks cfg and returns the gateway.
func NewGateway(cfg GatewayConfig) (*Gateway, error) {
	if cfg.Authorizer == nil || cfg.Tokens == nil || cfg.Log == nil || cfg.Key == nil || cfg.KeyID == "" {
		return nil, errors.New("interop: the gateway needs an Authorizer, a TokenVerifier, an ExchangeLog, a Key and a KeyID")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Defaults.MaxRequestBytes <= 0 {
		cfg.Defaults.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.Defaults.MaxResponseBytes <= 0 {
		cfg.Defaults.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.Defaults.Timeout <= 0 {
		cfg.Defaults.Timeout = DefaultTimeout
	}
	if cfg.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = 1024
		t.MaxIdleConnsPerHost = 256
		cfg.Transport = t
	}
	signer, err := httpsig.NewSigner(httpsig.SignerConfig{
		Key: cfg.Key, KeyID: cfg.KeyID, IfPresent: httpsig.GatewayOptionalComponents(), Now: cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	jwks, err := publicJWKS(cfg.Key.Public(), cfg.KeyID)
	if err != nil {
		return nil, err
	}
	if cfg.MaxPendingLog <= 0 {
		cfg.MaxPendingLog = 10000
	}
	g := &Gateway{cfg: cfg, log: cfg.Logger, signer: signer, jwks: jwks, logging: make(chan struct{}, cfg.MaxPendingLog)}
	g.proxy = &httputil.ReverseProxy{
		Rewrite:        g.rewrite,
		Transport:      &signingTransport{g: g, base: cfg.Transport},
		ModifyResponse: g.modifyResponse,
		ErrorHandler:   g.proxyError,
		BufferPool:     bufferPool{},
		ErrorLog:       log.New(io.Discard, "", 0),
	}
	return g, nil
}

// KeysHandler serves the gateway's public key as a JWK set
// (application/jwk-set+json), where providers fetch it
// (provider.Config.JWKSURL).
func (g *Gateway) KeysHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			problem.Write(w, r, problem.New(problem.TypeMethodNotAllowed, http.StatusMethodNotAllowed, "GET the key set"))
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(g.jwks)
	})
}

func publicJWKS(pub crypto.PublicKey, kid string) ([]byte, error) {
	k, err := jwk.FromRaw(pub)
	if err != nil {
		return nil, fmt.Errorf("interop: gateway key: %w", err)
	}
	alg := jwa.ES256
	if k.KeyType() == "OKP" {
		alg = jwa.EdDSA
	}
	for _, kv := range [][2]any{{jwk.KeyIDKey, kid}, {jwk.AlgorithmKey, alg}, {jwk.KeyUsageKey, "sig"}} {
		if err := k.Set(kv[0].(string), kv[1]); err != nil {
			return nil, err
		}
	}
	set := jwk.NewSet()
	if err := set.AddKey(k); err != nil {
		return nil, err
	}
	return json.Marshal(set)
}

// exchange is what the gateway knows of one call as it goes.
type exchange struct {
	id        string
	start     time.Time
	method    string
	messageID string
	consumer  ClientID
	service   ServiceID
	// consumerS and serviceS are the identifiers as strings, "-" when
	// not known (yet).
	consumerS string
	serviceS  string
	rest      string
	decision  Decision
	consentID string
	subject   string
	digest    string
	headSum   [sha512.Size]byte // of the request's head, for X-Road-Request-Hash

	body        io.ReadCloser // what is forwarded
	bodyLen     int64         // -1 when unknown
	reqMeter    *meter
	respMeter   *meter
	maxResponse int64

	timeout   context.Context
	forwarded time.Time
	answered  time.Time
	status    int
	code      string // the X-Road-Error of a refusal or failure
	outcome   string
	// logged is set once the entry has been appended (or its append
	// tried) before the answer was released.
	logged bool
}

type exchangeKey struct{}

// ServeHTTP handles one call.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := g.cfg.Now()
	x := &exchange{id: g.ids.next(now), start: now, method: r.Method, bodyLen: -1, consumerS: "-", serviceS: "-"}
	defer func() {
		if v := recover(); v != nil {
			// The response was cut off (its body was larger than allowed,
			// or the provider failed while it streamed): record it, then
			// let the server abort the connection.
			if x.status == 0 || x.code == "" {
				x.status, x.code, x.outcome = http.StatusBadGateway, xrServiceFailed, OutcomeUpstream
			}
			if x.respMeter != nil && x.respMeter.cut() {
				x.code, x.outcome = xrResponseTooLarge, OutcomeTooLarge
			}
			g.finish(r.Context(), x)
			panic(v)
		}
	}()
	g.serve(w, r, x)
	if x.logged {
		// In the log before its answer went out: counted and observed
		// only.
		g.finish(r.Context(), x)
		return
	}
	if g.cfg.WaitForLog {
		// The answer goes out before the commit is waited for. In the
		// background case the server sends it as the handler returns: a
		// flush here would cost a write of its own.
		http.NewResponseController(w).Flush()
		g.finish(r.Context(), x)
		return
	}
	g.logging <- struct{}{}
	g.pending.Add(1)
	go func() {
		defer func() {
			<-g.logging
			g.pending.Done()
		}()
		g.finish(r.Context(), x)
	}()
}

// Close waits for the exchanges still being logged. The gateway keeps
// answering; call it once the server has shut down.
func (g *Gateway) Close() error {
	g.pending.Wait()
	return nil
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, x *exchange) {
	service, rest, err := ParsePath(r.URL.EscapedPath())
	if err != nil {
		g.refuse(w, r, x, errBadRequest(detailOf(err)))
		return
	}
	x.service, x.rest, x.serviceS = service, rest, service.String()
	if r.Header.Get("Upgrade") != "" {
		// A switched protocol would carry bytes the gateway can neither
		// limit nor log.
		g.refuse(w, r, x, errBadRequest("X-Road's REST protocol has no protocol upgrade"))
		return
	}
	x.messageID = r.Header.Get(httpsig.HeaderMessageID)
	if x.messageID == "" {
		x.messageID = g.ids.next(x.start)
	} else if len(x.messageID) > 200 || !printable(x.messageID) {
		g.refuse(w, r, x, errBadRequest("X-Road-Id must be at most 200 printable characters"))
		return
	}

	// Who calls: the token says, and the X-Road-Client header must agree.
	token, ok := bearer(r)
	if !ok {
		g.refuse(w, r, x, errUnauthenticated("send the access token as Authorization: Bearer"))
		return
	}
	client, err := g.cfg.Tokens.VerifyToken(r.Context(), token)
	if err != nil {
		if errors.Is(err, errkind.Unavailable) {
			g.log.Warn("gateway: access token could not be judged", zap.Error(err))
			g.refuse(w, r, x, errTokensUnavailable())
			return
		}
		g.refuse(w, r, x, errUnauthenticated("the access token is invalid or expired"))
		return
	}
	x.consumer, x.consumerS = client, client.String()
	claimed, err := ParseClientID(r.Header.Get(httpsig.HeaderClient))
	if err != nil {
		g.refuse(w, r, x, errBadRequest("X-Road-Client: "+detailOf(err)))
		return
	}
	if claimed != client {
		g.refuse(w, r, x, errImpersonation(claimed))
		return
	}

	// May it: the right, then the rate.
	d, err := g.cfg.Authorizer.Authorize(r.Context(), client, service, r.Method, rest)
	if err != nil {
		g.refuse(w, r, x, refusalOf(err))
		return
	}
	x.decision = d
	lim := g.limits(d.Limits)
	if wait := g.limiters.wait(grantKey{service, client}, lim, g.cfg.Now()); wait > 0 {
		g.refuse(w, r, x, errRateLimited(wait))
		return
	}

	// The body: its size, and its digest before anything is asked of the
	// consent checker.
	if r.ContentLength > lim.MaxRequestBytes {
		g.refuse(w, r, x, errRequestTooLarge(lim.MaxRequestBytes))
		return
	}
	if f := g.prepareBody(r, x, lim.MaxRequestBytes); f != nil {
		g.refuse(w, r, x, f)
		return
	}

	// The citizen and the consent.
	userID := r.Header.Get(keyUserID)
	if g.cfg.Pseudonym != nil {
		if userID != "" {
			x.subject = g.cfg.Pseudonym(userID)
		}
	} else {
		x.subject = r.Header.Get(keyCitizen)
	}
	if x.subject != "" && (len(x.subject) > 200 || !printable(x.subject) || strings.Contains(x.subject, " ")) {
		g.refuse(w, r, x, errBadRequest("the citizen's pseudonym must be at most 200 printable characters without spaces"))
		return
	}
	if d.ConsentRequired {
		if f := g.checkConsent(r, x, userID); f != nil {
			g.refuse(w, r, x, f)
			return
		}
	}

	// Forward, within the service's time.
	x.maxResponse = lim.MaxResponseBytes
	ctx, cancel := context.WithTimeout(r.Context(), lim.Timeout)
	defer cancel()
	x.timeout = ctx
	g.proxy.ServeHTTP(w, r.WithContext(context.WithValue(ctx, exchangeKey{}, x)))
}

// limits fills the zero fields of a service's limits from the defaults.
func (g *Gateway) limits(l Limits) Limits {
	def := g.cfg.Defaults
	if l.MaxRequestBytes <= 0 {
		l.MaxRequestBytes = def.MaxRequestBytes
	}
	if l.MaxResponseBytes <= 0 {
		l.MaxResponseBytes = def.MaxResponseBytes
	}
	if l.Timeout <= 0 {
		l.Timeout = def.Timeout
	}
	if l.RatePerSecond <= 0 {
		l.RatePerSecond, l.Burst = def.RatePerSecond, def.Burst
	}
	return l
}

func (g *Gateway) checkConsent(r *http.Request, x *exchange, userID string) *failure {
	if g.cfg.Consent == nil {
		return errConsentUnavailable()
	}
	presented := r.Header.Get(httpsig.HeaderConsentID)
	if len(presented) > 200 || !printable(presented) || strings.Contains(presented, " ") {
		return errBadRequest("the consent id must be at most 200 printable characters without spaces")
	}
	cd, err := g.cfg.Consent.CheckConsent(r.Context(), ConsentQuery{
		Consumer: x.consumer, Service: x.service, Items: x.decision.Items, Subject: userID,
		Purpose: r.Header.Get(httpsig.HeaderIssue), ConsentID: presented, At: x.start, ExchangeID: x.id,
	})
	if err != nil {
		if errors.Is(err, errkind.Invalid) {
			return errBadRequest("the consent checker refused the query: " + err.Error())
		}
		g.log.Warn("gateway: consent could not be checked", zap.String("exchange", x.id), zap.Error(err))
		return errConsentUnavailable()
	}
	if !cd.Allowed {
		return errConsentRefused(cd.Reason)
	}
	x.consentID = cd.ConsentID
	if x.consentID == "" {
		x.consentID = presented
	}
	if len(x.consentID) > 200 || !printable(x.consentID) || strings.Contains(x.consentID, " ") {
		g.log.Error("gateway: the consent checker answered an unusable consent id", zap.String("exchange", x.id))
		return errConsentUnavailable()
	}
	return nil
}

// prepareBody sets what is forwarded and how its digest is known. A
// request with a Content-Digest streams: the body is checked against it
// while it is forwarded, and a mismatch breaks the forwarded request (the
// provider, which checks the digest too, never acts on it). A request
// without one is read into memory, within the service's request limit, to
// compute its digest before it is signed; it never touches the disk.
func (g *Gateway) prepareBody(r *http.Request, x *exchange, max int64) *failure {
	empty := r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0
	cd := r.Header.Get(httpsig.HeaderContentDigest)
	switch {
	case empty && cd == "":
		// No meter: an empty body's digests are known.
		x.digest = emptyDigest
		x.bodyLen = 0
	case cd != "":
		vb, err := httpsig.NewVerifyingBody(r.Body, cd)
		if err != nil {
			return errDigest("Content-Digest: " + err.Error())
		}
		x.reqMeter = newMeter(vb, max, true)
		x.body, x.digest, x.bodyLen = x.reqMeter, cd, r.ContentLength
	default:
		m := newMeter(r.Body, max, true)
		buf, err := io.ReadAll(m)
		switch {
		case m.cut():
			return errRequestTooLarge(max)
		case err != nil:
			return errBadRequest("the request body could not be read")
		}
		x.reqMeter = m
		x.digest = digestOf(m.sum256())
		x.body, x.bodyLen = io.NopCloser(bytesReader(buf)), int64(len(buf))
	}
	return nil
}

// rewrite makes the request the provider receives: its URL, and the
// X-Road headers the gateway vouches for; the consumer's credentials and
// signatures stay behind. The signature is added by signingTransport.
func (g *Gateway) rewrite(pr *httputil.ProxyRequest) {
	x := pr.In.Context().Value(exchangeKey{}).(*exchange)
	up := x.decision.Upstream
	out := pr.Out
	u := *up
	base := strings.TrimSuffix(up.EscapedPath(), "/")
	u.RawPath = base + x.rest
	u.Path, _ = unescapePath(u.RawPath)
	u.RawQuery = pr.In.URL.RawQuery
	out.URL = &u
	out.Host = ""
	h := out.Header
	for _, name := range dropRequestHeaders {
		h.Del(name)
	}
	hv := headerValues{h: h, vals: make([]string, 0, 6)}
	set := hv.set
	set("User-Agent", "")
	set(httpsig.HeaderClient, x.consumerS)
	set(httpsig.HeaderMessageID, x.messageID)
	set(httpsig.HeaderContentDigest, x.digest)
	if x.consentID != "" {
		set(httpsig.HeaderConsentID, x.consentID)
	}
	if x.subject != "" {
		set(keyCitizen, x.subject)
	}
	if x.body != nil {
		out.Body, out.ContentLength = x.body, x.bodyLen
	} else {
		out.Body, out.ContentLength = nil, 0
	}
	x.headSum = requestHeadSum(out.Method, pr.In.URL.EscapedPath(), pr.In.URL.RawQuery, h)
}

// dropRequestHeaders never reach the provider: the consumer's
// credentials, its own signatures, the headers only the gateway sets,
// and those that could name the consumer's host.
var dropRequestHeaders = []string{
	"Authorization", "Cookie", "Proxy-Authorization", httpsig.HeaderSignature, httpsig.HeaderSignatureInput,
	httpsig.HeaderConsentID, httpsig.HeaderCitizen, HeaderRequestHash, HeaderRequestID, HeaderError,
	HeaderService, "Forwarded", "Via",
}

// signingTransport signs each forwarded request as it leaves.
type signingTransport struct {
	g    *Gateway
	base http.RoundTripper
}

func (t *signingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.g.signer.Sign(r); err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("interop: signing the forwarded request: %w", err)
	}
	if x, ok := r.Context().Value(exchangeKey{}).(*exchange); ok {
		x.forwarded = t.g.cfg.Now()
	}
	return t.base.RoundTrip(r)
}

// modifyResponse sets X-Road's response headers, refuses a response
// announced larger than allowed, and meters the body as it streams.
func (g *Gateway) modifyResponse(res *http.Response) error {
	x := res.Request.Context().Value(exchangeKey{}).(*exchange)
	x.answered = g.cfg.Now()
	if res.ContentLength > x.maxResponse {
		return errResponseBody
	}
	h := res.Header
	for _, name := range dropResponseHeaders {
		h.Del(name)
	}
	hash := ""
	if x.reqMeter == nil || x.reqMeter.done() {
		hash = x.requestHash()
	}
	setXRoadHeaders(h, x, hash)
	x.status, x.outcome = res.StatusCode, OutcomeOK
	x.respMeter = newMeter(res.Body, x.maxResponse, false)
	res.Body = x.respMeter
	if g.cfg.LogBeforeRelease {
		return g.logBeforeRelease(res, x)
	}
	return nil
}

// errLogFailed is an answer held back because its entry could not be
// appended to the log.
var errLogFailed = errors.New("interop: the exchange could not be logged")

// logBeforeRelease reads the provider's answer whole and appends its
// entry to the log; the answer goes on to the consumer only when the
// append succeeded.
func (g *Gateway) logBeforeRelease(res *http.Response, x *exchange) error {
	var body bytes.Buffer
	if res.ContentLength > 0 {
		// Announced sizes past the limit were refused above.
		body.Grow(int(res.ContentLength))
	}
	_, err := body.ReadFrom(x.respMeter)
	x.respMeter.Close()
	if err != nil {
		if x.respMeter.cut() {
			return errResponseBody
		}
		return err
	}
	x.answered = g.cfg.Now()
	// The exchange is logged whatever becomes of the consumer's request
	// from here on; a failed append is not tried again, since it may
	// have been committed all the same.
	x.logged = true
	if _, err := g.cfg.Log.Append(context.WithoutCancel(res.Request.Context()), g.entry(x, x.answered)); err != nil {
		g.log.Error("gateway: exchange not logged, answer held back", zap.String("exchange", x.id), zap.Error(err))
		return errLogFailed
	}
	// Its length is known now; an answer with trailers stays chunked,
	// the only framing that carries them.
	if res.ContentLength < 0 && x.method != http.MethodHead && len(res.Trailer) == 0 {
		res.ContentLength = int64(body.Len())
		res.Header.Set("Content-Length", strconv.Itoa(body.Len()))
		res.TransferEncoding = nil
	}
	res.Body = io.NopCloser(&body)
	return nil
}

// dropResponseHeaders are replaced by the gateway's, or would name the
// provider's software.
var dropResponseHeaders = []string{
	httpsig.HeaderClient, httpsig.HeaderMessageID, HeaderService, HeaderRequestID, HeaderRequestHash,
	HeaderError, "Server",
}

// setXRoadHeaders sets X-Road's response headers, and the request hash
// when one is given.
func setXRoadHeaders(h http.Header, x *exchange, requestHash string) {
	hv := headerValues{h: h, vals: make([]string, 0, 5)}
	set := hv.set
	set(HeaderRequestID, x.id)
	if x.messageID != "" {
		set(httpsig.HeaderMessageID, x.messageID)
	}
	if !x.consumer.IsZero() {
		set(httpsig.HeaderClient, x.consumerS)
	}
	if !x.service.IsZero() {
		set(HeaderService, x.serviceS)
	}
	if requestHash != "" {
		set(HeaderRequestHash, requestHash)
	}
}

// headerValues sets headers whose values share one array, rather than
// one slice each; vals is made with room for all of them.
type headerValues struct {
	h    http.Header
	vals []string
}

func (hv *headerValues) set(key, v string) {
	hv.vals = append(hv.vals, v)
	n := len(hv.vals)
	hv.h[textproto.CanonicalMIMEHeaderKey(key)] = hv.vals[n-1 : n : n]
}

// The canonical keys of headers whose names are spelled otherwise, so
// that reading them does not canonicalize the name on every call.
var (
	keyUserID  = http.CanonicalHeaderKey(httpsig.HeaderUserID)
	keyCitizen = http.CanonicalHeaderKey(httpsig.HeaderCitizen)
)

// proxyError answers a call that could not be forwarded or answered.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	x := r.Context().Value(exchangeKey{}).(*exchange)
	var hs *httpsig.Error
	switch {
	case errors.Is(err, errLogFailed):
		g.refuse(w, r, x, errLogUnavailable())
	case x.reqMeter != nil && x.reqMeter.cut():
		g.refuse(w, r, x, errRequestTooLarge(x.reqMeter.limit))
	case x.reqMeter != nil && errors.As(x.reqMeter.failure(), &hs) && errors.Is(hs, httpsig.ErrDigest):
		g.refuse(w, r, x, errDigest("the request body does not match its Content-Digest"))
	case errors.Is(err, errResponseBody):
		g.refuse(w, r, x, errResponseTooLarge(x.maxResponse))
	case errors.Is(x.timeout.Err(), context.DeadlineExceeded):
		g.refuse(w, r, x, errUpstreamTimeout())
	case r.Context().Err() != nil && errors.Is(context.Cause(r.Context()), context.Canceled):
		// The consumer went away; nobody reads an answer.
		x.status, x.code, x.outcome = 499, xrClientGone, OutcomeError
	case errors.Is(err, httpsig.ErrConfig):
		g.log.Error("gateway: cannot sign", zap.String("exchange", x.id), zap.Error(err))
		g.refuse(w, r, x, errInternal())
	default:
		g.log.Info("gateway: provider unreachable", zap.String("exchange", x.id),
			zap.Stringer("service", x.service), zap.Error(err))
		g.refuse(w, r, x, errUpstream())
	}
}

// refuse answers f as problem+json with X-Road-Error.
func (g *Gateway) refuse(w http.ResponseWriter, r *http.Request, x *exchange, f *failure) {
	x.status, x.code, x.outcome = f.p.Status, f.xroad, f.outcome
	h := w.Header()
	setXRoadHeaders(h, x, "")
	h.Set(HeaderError, f.xroad)
	if f.p.Extensions == nil {
		f.p.Extensions = map[string]any{}
	}
	f.p.Extensions["xroad_error"] = f.xroad
	f.p.Instance = "urn:uuid:" + x.id
	if f.authenticate {
		h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	problem.Write(w, r, f.p)
}

// finish counts, observes and logs the exchange (unless it was logged
// before its answer was released).
func (g *Gateway) finish(ctx context.Context, x *exchange) {
	now := g.cfg.Now()
	if x.status == 0 {
		x.status, x.code, x.outcome = http.StatusBadGateway, xrServiceFailed, OutcomeUpstream
	}
	if g.cfg.Counter != nil {
		g.cfg.Counter.Count(KindCall, x.consumerS, x.serviceS, x.outcome)
	}
	if g.cfg.Observer != nil {
		g.cfg.Observer.Observe(KindCallSeconds, now.Sub(x.start).Seconds(), x.consumerS, x.serviceS, x.outcome)
	}
	if x.logged {
		return
	}
	// The answer has been flushed to the consumer; the log's commit does
	// not delay it. An exchange whose request context ended is still
	// logged.
	lctx := context.WithoutCancel(ctx)
	if _, err := g.cfg.Log.Append(lctx, g.entry(x, now)); err != nil {
		g.log.Error("gateway: exchange not logged", zap.String("exchange", x.id), zap.Error(err))
	}
}

// entry is the exchange's log entry as of now.
func (g *Gateway) entry(x *exchange, now time.Time) verify.Entry {
	e := verify.Entry{
		ExchangeID: x.id, Time: x.start, Gateway: g.cfg.Name, Consumer: x.consumerS, Service: x.serviceS,
		Method: logMethod(x.method), ConsentID: x.consentID, Subject: x.subject,
		Status: x.status, Error: x.code, Duration: now.Sub(x.start),
	}
	if m := x.reqMeter; m != nil {
		e.RequestSHA256, e.RequestSize = m.sized()
	} else {
		e.RequestSHA256 = emptySHA256
	}
	if m := x.respMeter; m != nil {
		e.ResponseSHA256, e.ResponseSize = m.sized()
	} else {
		e.ResponseSHA256 = emptySHA256
	}
	if !x.forwarded.IsZero() {
		end := x.answered
		if end.IsZero() {
			end = now
		}
		e.UpstreamDuration = max(end.Sub(x.forwarded), 0)
	}
	return e
}

var emptySHA256 = verify.Hash(sha256.Sum256(nil))

func logMethod(m string) string {
	if m == "" || len(m) > 32 || strings.IndexFunc(m, func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r == '-' || r == '_') }) >= 0 {
		return "-"
	}
	return m
}

// detailOf is what an error of this package says to the caller.
func detailOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Detail
	}
	return "malformed"
}

func bearer(r *http.Request) (string, bool) {
	a := r.Header.Get("Authorization")
	if len(a) < 7 || !strings.EqualFold(a[:7], "Bearer ") {
		return "", false
	}
	t := strings.TrimSpace(a[7:])
	return t, t != ""
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// bufferPool lends the proxy its copy buffers.
type bufferPool struct{}

// copyBuffers holds the arrays themselves, so that a buffer goes back
// to the pool without a new pointer to box.
var copyBuffers = sync.Pool{New: func() any { return new([copyBufferSize]byte) }}

const copyBufferSize = 32 << 10

func (bufferPool) Get() []byte { return copyBuffers.Get().(*[copyBufferSize]byte)[:] }

func (bufferPool) Put(b []byte) {
	if len(b) == copyBufferSize {
		copyBuffers.Put((*[copyBufferSize]byte)(b))
	}
}
