package consumer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"go.uber.org/zap"

	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/httpsig"
)

// Config configures a [Client]. Gateway, Consumer, ClientID, Key and one
// of TokenURL and Issuer are required.
type Config struct {
	// Gateway is the base URL of the gateway: calls go to
	// Gateway + "/r1/" + the service's identifier + the call's path.
	Gateway string
	// Consumer is the calling system's X-Road identifier, sent as
	// X-Road-Client.
	Consumer interop.ClientID

	// TokenURL is the token endpoint of the OpenID provider that issues
	// the gateway's access tokens. When empty, it is read from Issuer's
	// discovery document (Issuer + "/.well-known/openid-configuration")
	// before the first call.
	TokenURL string
	Issuer   string
	// ClientID is the OAuth client the system is registered as with the
	// provider, for the client_credentials grant and private_key_jwt
	// authentication.
	ClientID string
	// Key signs the client assertions: an ECDSA P-256 key (ES256) or an
	// Ed25519 key (EdDSA), in memory or in an HSM. KeyID is the "kid" of
	// its public key in the JWK set registered with the provider; it may
	// be empty when that set has one key.
	Key   crypto.Signer
	KeyID string
	// AssertionAudience is the "aud" of the client assertions; the token
	// endpoint's URL when empty (the provider may accept its issuer
	// instead).
	AssertionAudience string
	// Scopes asked for; the client's registered scopes when empty.
	Scopes []string
	// Resource is the RFC 8707 resource indicator asked for, the audience
	// the gateway checks; the client's registered audience when empty.
	Resource string

	// HTTPClient makes the calls and the token requests; when nil, a
	// client whose requests time out after 60 seconds. Each call is also
	// bounded by its context.
	HTTPClient *http.Client
	// MaxAttempts bounds the attempts of one call, the first included (4
	// when zero); 1 turns retries off. The retry after a refused token
	// does not count.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait between attempts: it
	// doubles from MinBackoff (100 ms when zero) up to MaxBackoff (5 s
	// when zero), with random jitter of up to half of it, and is at least
	// the answer's Retry-After.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxRetryWait is the longest Retry-After waited for (30 s when zero):
	// a refusal that asks for a longer wait is returned at once, with its
	// RetryAfter, as is one whose wait would outlast the call's context.
	MaxRetryWait time.Duration
	// MaxBufferedBody bounds a body given as a plain io.Reader, which is
	// read into memory to compute its digest (1 MiB when zero). Larger
	// bodies are given as an io.ReadSeeker (a file) or with Call.GetBody.
	MaxBufferedBody int64

	// Now is the clock of token expiry and of the client assertions;
	// time.Now when nil.
	Now func() time.Time
	// Logger logs retries and token refusals: never a token, a user id or
	// a citizen's pseudonym. Nothing is logged when nil.
	Logger *zap.Logger
}

// Client calls services through the gateway on behalf of one consumer
// system. It is safe for concurrent use and starts no goroutine.
type Client struct {
	cfg    Config
	alg    jwa.SignatureAlgorithm
	http   *http.Client
	log    *zap.Logger
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
	tokens *tokens
}

// Defaults of the Config fields left zero.
const (
	defaultMaxAttempts  = 4
	defaultMinBackoff   = 100 * time.Millisecond
	defaultMaxBackoff   = 5 * time.Second
	defaultMaxRetryWait = 30 * time.Second
	defaultMaxBuffered  = 1 << 20
	defaultHTTPTimeout  = 60 * time.Second
)

// New checks cfg and returns a client. It reads nothing over the network:
// the token (and the discovery document) are fetched by the first call.
func New(cfg Config) (*Client, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	cfg.Gateway = strings.TrimSuffix(cfg.Gateway, "/")
	if err := checkURL(cfg.Gateway); err != nil {
		return nil, bad("Gateway %q: %v", cfg.Gateway, err)
	}
	if err := interop.ValidateClientID(cfg.Consumer); err != nil || cfg.Consumer.IsZero() {
		return nil, bad("Consumer is not a valid X-Road client identifier")
	}
	switch {
	case cfg.TokenURL != "":
		if err := checkURL(cfg.TokenURL); err != nil {
			return nil, bad("TokenURL %q: %v", cfg.TokenURL, err)
		}
	case cfg.Issuer != "":
		if err := checkURL(cfg.Issuer); err != nil || strings.HasSuffix(cfg.Issuer, "/") {
			return nil, bad("Issuer %q is not an http(s) URL without a final /", cfg.Issuer)
		}
	default:
		return nil, bad("TokenURL or Issuer is required")
	}
	if cfg.ClientID == "" {
		return nil, bad("ClientID is required")
	}
	if cfg.Key == nil {
		return nil, bad("Key is required")
	}
	alg, err := signingAlg(cfg.Key)
	if err != nil {
		return nil, bad("%v", err)
	}
	for _, s := range cfg.Scopes {
		if s == "" || strings.ContainsAny(s, " \"\\") {
			return nil, bad("%q is not a scope", s)
		}
	}
	if cfg.MaxAttempts < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.MaxRetryWait < 0 || cfg.MaxBufferedBody < 0 {
		return nil, bad("negative limits")
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = defaultMaxAttempts
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = defaultMinBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = defaultMaxBackoff
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	if cfg.MaxRetryWait == 0 {
		cfg.MaxRetryWait = defaultMaxRetryWait
	}
	if cfg.MaxBufferedBody == 0 {
		cfg.MaxBufferedBody = defaultMaxBuffered
	}
	c := &Client{cfg: cfg, alg: alg, http: cfg.HTTPClient, log: cfg.Logger, now: cfg.Now, sleep: sleepCtx}
	if c.http == nil {
		c.http = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.tokens = &tokens{c: c}
	return c, nil
}

// signingAlg is the JWS algorithm of a signer's key.
func signingAlg(k crypto.Signer) (jwa.SignatureAlgorithm, error) {
	switch pub := k.Public().(type) {
	case *ecdsa.PublicKey:
		if pub.Curve == elliptic.P256() {
			return jwa.ES256, nil
		}
	case ed25519.PublicKey:
		return jwa.EdDSA, nil
	}
	return "", errors.New("Key must be an ECDSA P-256 or an Ed25519 key")
}

// Call is one call of a service through the gateway.
type Call struct {
	// Service is the service called.
	Service interop.ServiceID
	// Method is the HTTP method; GET when empty.
	Method string
	// Path is the path below the service (empty, or starting with /),
	// escaped as it is sent, with an optional ?query.
	Path string
	// Body is the request body, nil for none. An io.ReadSeeker (a file,
	// a bytes.Reader) is read from where it stands, once for its digest
	// and again for each attempt; another io.Reader is first read into
	// memory, up to Config.MaxBufferedBody. Do never closes it.
	Body io.Reader
	// GetBody, when set, returns a fresh copy of the body for the digest
	// and for each attempt, and Body is not read: for a stream that can
	// be produced again but not held in memory.
	GetBody func() (io.ReadCloser, error)
	// Header holds further request headers (Content-Type, Accept, ...).
	// Those the client sets itself (the X-Road ones, Authorization,
	// Content-Digest, Idempotency-Key) are replaced.
	Header http.Header
	// UserID (X-Road-UserId) is the end user on whose behalf the system
	// calls, Issue (X-Road-Issue) the case the call is part of, ConsentID
	// the consent it is made under and Citizen the pseudonym of the
	// citizen the data is about; each is sent when not empty.
	UserID    string
	Issue     string
	ConsentID string
	Citizen   string
	// IdempotencyKey makes a call with a method that is not idempotent
	// (POST, PATCH) safe to retry: it is sent as Idempotency-Key, and
	// every attempt carries the same X-Road-Id, so that the provider can
	// recognise a repeated request (the gateway signs each attempt
	// afresh, so the provider's replay guard lets it through). Without it
	// such a call is made once.
	IdempotencyKey string
	// MessageID is the X-Road-Id of the call; a fresh random one when
	// empty. Give the same one to a call made again after a restart for
	// the provider to recognise it.
	MessageID string
}

// HeaderIdempotencyKey carries Call.IdempotencyKey.
const HeaderIdempotencyKey = "Idempotency-Key"

// idempotent are the methods whose repetition has the effect of one
// request (RFC 9110 section 9.2.2).
var idempotent = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPut: true,
	http.MethodDelete: true, http.MethodOptions: true,
}

// Do makes the call through the gateway and returns the provider's
// response, whose body the caller reads and closes.
//
// A refusal (problem+json or X-Road-Error with a status of 400 or more,
// or 429, 502, 503, 504 whatever the body) is returned as an [*Error]
// instead, its body read and closed; other responses, 4xx included, are
// the provider's own answers and are returned as they are.
//
// Do retries only where it is safe: for idempotent methods (GET, HEAD,
// PUT, DELETE, OPTIONS) and calls with an IdempotencyKey, when no answer
// came (the connection failed) or the answer was 429, 502, 503 or 504,
// with the same X-Road-Id, after a capped exponential backoff with jitter
// or the Retry-After asked for, within MaxAttempts and the context. A 401
// of the gateway itself (with X-Road-Error) whose WWW-Authenticate does
// not name another error than invalid_token drops the token, fetches a
// new one and tries once more, for any method: the refused request was
// not served. A 401 of the provider, relayed by the gateway without
// X-Road-Error, is returned as it is.
func (c *Client) Do(ctx context.Context, call Call) (*http.Response, error) {
	method := call.Method
	if method == "" {
		method = http.MethodGet
	}
	target, err := c.target(call)
	if err != nil {
		return nil, err
	}
	if err := checkHeaders(call); err != nil {
		return nil, err
	}
	body, err := c.prepareBody(call)
	if err != nil {
		return nil, err
	}
	msgID := call.MessageID
	if msgID == "" {
		msgID = newMessageID()
	}
	retryable := idempotent[method] || call.IdempotencyKey != ""
	refreshed := false
	var last error // the previous attempt's failure
	for attempt := 1; ; {
		tok, err := c.tokens.get(ctx)
		if err != nil {
			return nil, err
		}
		req, sent, err := c.request(ctx, method, target, call, body, msgID, tok)
		if err != nil {
			if last != nil {
				// The body cannot be had again: no more attempts.
				err = fmt.Errorf("%w (after: %v)", err, last)
			}
			return nil, err
		}
		resp, err := c.http.Do(req)
		sent.Close() // the transport may still hold it; it reads no more
		var wait time.Duration
		switch {
		case err != nil:
			// The URL is left out: its query may name a person.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w: %s %s: %w", ErrUnavailable, method, call.Service, ctx.Err())
			}
			last = fmt.Errorf("%w: %s %s: %w", ErrUnavailable, method, call.Service, err)
			if !retryable {
				return nil, last
			}
		case resp.StatusCode == http.StatusUnauthorized && !refreshed && tokenRefused(resp.Header):
			last = readRefusal(resp, msgID, c.now())
			refreshed = true
			c.tokens.invalidate(tok)
			c.log.Info("token refused by the gateway; fetching a new one", c.callFields(method, call, msgID)...)
			continue
		case !isRefusal(resp):
			return resp, nil
		default:
			e := readRefusal(resp, msgID, c.now())
			if !retryable || !retryStatus(e.Status) {
				return nil, e
			}
			last, wait = e, e.RetryAfter
		}
		if attempt >= c.cfg.MaxAttempts || wait > c.cfg.MaxRetryWait {
			return nil, last
		}
		d := max(c.backoff(attempt), wait)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
			return nil, last
		}
		c.log.Info("call retried", append(c.callFields(method, call, msgID),
			zap.Int("attempt", attempt), zap.Duration("wait", d), zap.Int("status", statusOf(last)))...)
		if err := c.sleep(ctx, d); err != nil {
			return nil, last
		}
		attempt++
	}
}

func (c *Client) callFields(method string, call Call, msgID string) []zap.Field {
	return []zap.Field{zap.String("method", method), zap.String("service", call.Service.String()), zap.String("message_id", msgID)}
}

// statusOf is the status of a refusal, 0 when no answer came: what is
// logged of a failed attempt (a refusal's detail could name a person).
func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// retryStatus reports whether an answer with status may be retried.
func retryStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// tokenRefused reports whether a 401 is the gateway's refusal of the
// access token: it carries X-Road-Error, which the gateway sets on its
// own refusals only (it drops the header from the provider's answers),
// and its Bearer challenge (RFC 6750 section 3), if any, names no error
// other than invalid_token. A 401 the gateway relays from the provider
// (a signature the provider refused, the provider's own authentication)
// says nothing about the token, and a new token would not change it.
func tokenRefused(h http.Header) bool {
	if h.Get(HeaderXRoadError) == "" {
		return false
	}
	ch := h.Values("WWW-Authenticate")
	if len(ch) == 0 {
		return true
	}
	for _, v := range ch {
		if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "bearer") {
			continue
		}
		i := strings.Index(v, "error=")
		if i < 0 {
			return true
		}
		code := strings.Trim(strings.SplitN(v[i+len("error="):], ",", 2)[0], "\" ")
		return code == "invalid_token"
	}
	return false
}

// backoff is the wait before the attempt after attempt (1 for the first):
// MinBackoff doubled per attempt, capped at MaxBackoff, of which a random
// part up to half is taken off so that clients refused together do not
// come back together.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.MaxBackoff
	if attempt < 32 {
		d = min(c.cfg.MinBackoff<<(attempt-1), c.cfg.MaxBackoff)
	}
	if half := int64(d / 2); half > 0 {
		d -= time.Duration(mathrand.Int64N(half + 1))
	}
	return d
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// target is the call's URL, checked as the gateway will read it.
func (c *Client) target(call Call) (string, error) {
	if call.Service.IsZero() {
		return "", fmt.Errorf("%w: no service", ErrCall)
	}
	path, query, _ := strings.Cut(call.Path, "?")
	if path != "" && !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("%w: the path %q does not start with /", ErrCall, call.Path)
	}
	rel := "/" + interop.ProtocolVersion + "/" + call.Service.String() + path
	id, _, err := interop.ParsePath(rel)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrCall, err)
	}
	if id != call.Service {
		return "", fmt.Errorf("%w: the service identifier does not survive its own encoding", ErrCall)
	}
	if strings.ContainsAny(query, "# \t\r\n") {
		return "", fmt.Errorf("%w: the query %q is not escaped", ErrCall, query)
	}
	u := c.cfg.Gateway + rel
	if query != "" {
		u += "?" + query
	}
	return u, nil
}

// request builds one attempt of a call, and the body it sends.
func (c *Client) request(ctx context.Context, method, target string, call Call, b *callBody, msgID, tok string) (*http.Request, io.Closer, error) {
	rc, err := b.open()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: the body: %w", ErrCall, err)
	}
	var reqBody io.Reader
	if rc != nil {
		reqBody = rc
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reqBody)
	if err != nil {
		if rc != nil {
			rc.Close()
		}
		return nil, nil, fmt.Errorf("%w: %w", ErrCall, err)
	}
	var sent io.Closer = nopCloser{}
	if rc != nil {
		sent = rc
		req.ContentLength = b.length
		if b.length == 0 {
			req.Body = http.NoBody
		}
	}
	for k, vs := range call.Header {
		for _, v := range vs {
			req.Header.Add(k, v) // in canonical form, so that Set and Del below replace it
		}
	}
	h := req.Header
	h.Set(httpsig.HeaderClient, c.cfg.Consumer.String())
	h.Set(httpsig.HeaderMessageID, msgID)
	h.Set("Authorization", "Bearer "+tok)
	if b.digest != "" {
		h.Set(httpsig.HeaderContentDigest, b.digest)
	} else {
		h.Del(httpsig.HeaderContentDigest)
	}
	for _, f := range []struct{ name, v string }{
		{httpsig.HeaderUserID, call.UserID}, {httpsig.HeaderIssue, call.Issue},
		{httpsig.HeaderConsentID, call.ConsentID}, {httpsig.HeaderCitizen, call.Citizen},
		{HeaderIdempotencyKey, call.IdempotencyKey},
	} {
		if f.v != "" {
			h.Set(f.name, f.v)
		} else {
			h.Del(f.name)
		}
	}
	return req, sent, nil
}

// checkHeaders refuses header names and values that the transport would
// refuse only when sending, which would look like a failed connection.
func checkHeaders(call Call) error {
	for _, v := range []string{call.UserID, call.Issue, call.ConsentID, call.Citizen, call.IdempotencyKey, call.MessageID} {
		if !validValue(v) {
			return fmt.Errorf("%w: a header value holds a control character", ErrCall)
		}
	}
	for k, vs := range call.Header {
		if k == "" || strings.IndexFunc(k, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
			return fmt.Errorf("%w: %q is not a header name", ErrCall, k)
		}
		for _, v := range vs {
			if !validValue(v) {
				return fmt.Errorf("%w: the value of %s holds a control character", ErrCall, k)
			}
		}
	}
	return nil
}

func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < 0x20 && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// isTokenChar reports whether r may appear in a header name (RFC 9110
// section 5.6.2).
func isTokenChar(r rune) bool {
	return r < 0x7f && r > 0x20 && !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// callBody is a call's body as it is sent: its digest, its length and a
// way to read it again for each attempt.
type callBody struct {
	digest string
	length int64
	// open returns the body of one attempt; nil, nil when there is none.
	open func() (io.ReadCloser, error)
}

func (c *Client) prepareBody(call Call) (*callBody, error) {
	switch {
	case call.GetBody != nil:
		rc, err := call.GetBody()
		if err != nil {
			return nil, fmt.Errorf("%w: GetBody: %w", ErrCall, err)
		}
		digest, n, err := digestOf(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		b := &callBody{digest: digest, length: n}
		b.open = func() (io.ReadCloser, error) {
			rc, err := call.GetBody()
			if err != nil {
				return nil, err
			}
			return &guardedBody{r: io.LimitReader(rc, n), c: rc}, nil
		}
		return b, nil
	case call.Body == nil:
		return &callBody{open: func() (io.ReadCloser, error) { return nil, nil }}, nil
	}
	if rs, ok := call.Body.(io.ReadSeeker); ok {
		start, err := rs.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, fmt.Errorf("%w: the body: %w", ErrCall, err)
		}
		digest, n, err := digestOf(rs)
		if err != nil {
			return nil, err
		}
		b := &callBody{digest: digest, length: n}
		var prev *guardedBody
		b.open = func() (io.ReadCloser, error) {
			if prev != nil {
				prev.Close() // the previous attempt's transport reads no more
			}
			if _, err := rs.Seek(start, io.SeekStart); err != nil {
				return nil, err
			}
			prev = &guardedBody{r: io.LimitReader(rs, n)}
			return prev, nil
		}
		return b, nil
	}
	data, err := io.ReadAll(io.LimitReader(call.Body, c.cfg.MaxBufferedBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: the body: %w", ErrCall, err)
	}
	if int64(len(data)) > c.cfg.MaxBufferedBody {
		return nil, fmt.Errorf("%w: a body over %d bytes must be an io.ReadSeeker or come with GetBody", ErrCall, c.cfg.MaxBufferedBody)
	}
	digest, err := httpsig.ContentDigest(httpsig.DigestSHA256, data)
	if err != nil {
		return nil, err
	}
	return &callBody{digest: digest, length: int64(len(data)), open: func() (io.ReadCloser, error) {
		return &guardedBody{r: bytes.NewReader(data)}, nil
	}}, nil
}

// digestOf reads r to its end and returns its Content-Digest and length.
func digestOf(r io.Reader) (string, int64, error) {
	dr, err := httpsig.NewDigestReader(r, httpsig.DigestSHA256)
	if err != nil {
		return "", 0, err
	}
	n, err := io.Copy(io.Discard, dr)
	if err != nil {
		return "", 0, fmt.Errorf("%w: the body: %w", ErrCall, err)
	}
	v, _ := dr.Value()
	return v, n, nil
}

// guardedBody is the body of one attempt. Once closed it reads no more,
// so a transport still sending an abandoned attempt cannot read what the
// next attempt reads from the same seeker.
type guardedBody struct {
	mu     sync.Mutex
	r      io.Reader
	c      io.Closer
	closed bool
}

var errBodyClosed = errors.New("consumer: body of an abandoned attempt")

func (g *guardedBody) Read(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, errBodyClosed
	}
	return g.r.Read(p)
}

func (g *guardedBody) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	if g.c != nil {
		return g.c.Close()
	}
	return nil
}

// newMessageID returns a random X-Road-Id: 128 bits in hexadecimal.
func newMessageID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
