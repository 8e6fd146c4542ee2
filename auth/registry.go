package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ClientRegistry keeps the clients of one realm in the database and
// authenticates them at the token endpoint. Safe for concurrent use; several
// instances may share one database.
type ClientRegistry struct {
	db    *sqlstore.DB
	realm string
	now   func() time.Time
	log   *zap.Logger

	keyCache     sync.Map // JWKS text → jwk.Set
	keyCacheSize atomic.Int64
	// Registrations decoded, by the text of their stored document. The
	// row is read on every lookup, so a changed or disabled client is
	// seen at once; only decoding the same text again is saved.
	docCache     sync.Map // doc text → Client
	docCacheSize atomic.Int64

	// The statements every token request and introspection runs,
	// prepared once: on SQLite, parsing the SQL cost as much as running it.
	getStmt, revokedStmt, assertionStmt *sql.Stmt
	// assertions records the ids of client assertions in groups.
	assertions assertionLog
}

// MaxAssertionLifetime bounds how far in the future a client assertion may
// expire; assertion ids are remembered until then.
const MaxAssertionLifetime = 5 * time.Minute

// ClientAssertionType is the client_assertion_type of RFC 7523.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// NewClientRegistry opens the registry of realm (such as "citizen" or
// "servant") in db, creating its tables when needed. It takes WithLogger
// (registrations and refused authentications are logged), WithClock and
// WithDBTimeout.
func NewClientRegistry(ctx context.Context, db *sql.DB, realm string, opts ...Option) (*ClientRegistry, error) {
	if realm == "" {
		return nil, errors.New("auth: empty realm")
	}
	o, err := collect("NewClientRegistry", opts)
	if err != nil {
		return nil, err
	}
	sdb, err := sqlstore.New(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if err := sdb.Migrate(ctx, "auth", migrations); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	r := &ClientRegistry{db: sdb.WithTimeout(o.dbTimeout), realm: realm, now: o.now, log: o.log}
	if r.getStmt, err = r.db.PrepareContext(ctx,
		`SELECT doc, secret_hash, disabled FROM auth_clients WHERE realm = $1 AND client_id = $2`); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if r.revokedStmt, err = r.db.PrepareContext(ctx,
		`SELECT COUNT(*) FROM auth_revoked_tokens WHERE realm = $1 AND jti = $2`); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if r.assertionStmt, err = r.db.PrepareContext(ctx,
		`INSERT INTO auth_client_assertions (realm, client_id, jti, expires_at) VALUES ($1, $2, $3, $4)
		 ON CONFLICT (realm, client_id, jti) DO NOTHING`); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return r, nil
}

func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Create registers c. For client_secret_basic it returns the generated
// secret, the only time it is ever available: only its hash is stored.
func (r *ClientRegistry) Create(ctx context.Context, c Client) (Client, string, error) {
	secret := ""
	if c.AuthMethod == AuthSecretBasic {
		s, err := newSecret()
		if err != nil {
			return Client{}, "", err
		}
		secret = s
	}
	created, err := r.create(ctx, c, secret)
	return created, secret, err
}

// MinImportedSecretLength is the shortest secret Import accepts.
const MinImportedSecretLength = 16

// Import registers a client_secret_basic client whose secret was agreed
// elsewhere: moved from another system, or demo data. Generated secrets
// (Create) are stronger; use Import only when the secret cannot change.
func (r *ClientRegistry) Import(ctx context.Context, c Client, secret string) (Client, error) {
	if c.AuthMethod != AuthSecretBasic {
		return Client{}, &InvalidClientError{Field: "token_endpoint_auth_method", Reason: "only client_secret_basic clients have a secret"}
	}
	if len(secret) < MinImportedSecretLength {
		return Client{}, &InvalidClientError{Field: "client_secret", Reason: fmt.Sprintf("at least %d characters", MinImportedSecretLength)}
	}
	return r.create(ctx, c, secret)
}

func (r *ClientRegistry) create(ctx context.Context, c Client, secret string) (Client, error) {
	if err := c.Validate(); err != nil {
		return Client{}, err
	}
	hash := ""
	if secret != "" {
		hash = hashSecret(secret)
	}
	now := r.now().UTC().Truncate(time.Microsecond)
	c.CreatedAt, c.UpdatedAt = now, now
	doc, err := json.Marshal(c)
	if err != nil {
		return Client{}, err
	}
	_, err = r.db.ExecContext(ctx,
		`INSERT INTO auth_clients (realm, client_id, doc, secret_hash, disabled, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		r.realm, c.ID, string(doc), hash, c.Disabled, now.UnixMicro(), now.UnixMicro())
	if err = sqlstore.MapError(err); errors.Is(err, sqlstore.ErrConflict) {
		return Client{}, fmt.Errorf("%w: %s", ErrClientExists, c.ID)
	} else if err != nil {
		return Client{}, fmt.Errorf("auth: create client: %w", err)
	}
	r.log.Info("client registered", zap.String("realm", r.realm), zap.String("client_id", c.ID),
		zap.String("auth_method", c.AuthMethod), zap.Strings("grant_types", c.GrantTypes))
	return c, nil
}

// Get returns the client, or ErrClientNotFound.
func (r *ClientRegistry) Get(ctx context.Context, id string) (Client, error) {
	c, _, err := r.get(ctx, id)
	return c, err
}

func (r *ClientRegistry) get(ctx context.Context, id string) (Client, string, error) {
	var doc, hash string
	var disabled bool
	err := r.db.QueryRowStmt(ctx, r.getStmt, r.realm, id).Scan(&doc, &hash, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return Client{}, "", ErrClientNotFound
	}
	if err != nil {
		return Client{}, "", fmt.Errorf("auth: get client: %w", err)
	}
	c, err := r.decode(doc)
	if err != nil {
		return Client{}, "", fmt.Errorf("auth: client %s: %w", id, err)
	}
	c.Disabled = disabled
	return c, hash, nil
}

// maxCachedClients bounds the decoded registrations kept; past it the
// cache starts again empty.
const maxCachedClients = 10000

// decode returns the registration stored as doc, decoded once per text:
// a registration changed in any way (its document carries the time it was
// updated) is another text, decoded afresh. Each caller gets its own copy
// of the lists and maps, so none can change what another sees.
func (r *ClientRegistry) decode(doc string) (Client, error) {
	if v, ok := r.docCache.Load(doc); ok {
		return v.(Client).clone(), nil
	}
	var c Client
	if err := json.Unmarshal([]byte(doc), &c); err != nil {
		return Client{}, err
	}
	if r.docCacheSize.Add(1) > maxCachedClients {
		r.docCache.Clear()
		r.docCacheSize.Store(0)
	}
	r.docCache.Store(doc, c.clone())
	return c, nil
}

// List returns the realm's clients ordered by id.
func (r *ClientRegistry) List(ctx context.Context) ([]Client, error) {
	rows, err := r.db.QueryContext(ctx,
		`SELECT doc, disabled FROM auth_clients WHERE realm = $1 ORDER BY client_id`, r.realm)
	if err != nil {
		return nil, fmt.Errorf("auth: list clients: %w", err)
	}
	defer rows.Close()
	var out []Client
	for rows.Next() {
		var doc string
		var c Client
		if err := rows.Scan(&doc, &c.Disabled); err != nil {
			return nil, err
		}
		disabled := c.Disabled
		if err := json.Unmarshal([]byte(doc), &c); err != nil {
			return nil, err
		}
		c.Disabled = disabled
		out = append(out, c)
	}
	return out, rows.Err()
}

// Update replaces the client's registration (matched by ID); its creation
// time and secret are kept. Changing the authentication method to or from
// client_secret_basic is refused: register a new client instead.
func (r *ClientRegistry) Update(ctx context.Context, c Client) (Client, error) {
	if err := c.Validate(); err != nil {
		return Client{}, err
	}
	return r.modify(ctx, c.ID, "update", func(stored *Client) error {
		*stored = c
		return nil
	})
}

// Modify changes the client's registration in one transaction: fn gets
// the stored registration to change in place, and the result is checked
// and stored as Update stores it. Callers that modify one client at once
// each see the other's change, so fn can merge lists (say, the redirect
// URIs of a site reached at several addresses) without losing any. fn may
// run more than once and must keep no state of its own; an error from it
// is returned unchanged and nothing is stored.
func (r *ClientRegistry) Modify(ctx context.Context, id string, fn func(*Client) error) (Client, error) {
	return r.modify(ctx, id, "modify", fn)
}

func (r *ClientRegistry) modify(ctx context.Context, id, verb string, fn func(*Client) error) (Client, error) {
	var out Client
	ctx, cancel := r.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err := r.db.Tx(ctx, func(tx *sql.Tx) error {
		var doc string
		var disabled bool
		err := tx.QueryRowContext(ctx,
			`SELECT doc, disabled FROM auth_clients WHERE realm = $1 AND client_id = $2`+r.db.Dialect().ForUpdate(),
			r.realm, id).Scan(&doc, &disabled)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrClientNotFound
		}
		if err != nil {
			return err
		}
		var c Client
		if err := json.Unmarshal([]byte(doc), &c); err != nil {
			return err
		}
		c.Disabled = disabled
		method, created := c.AuthMethod, c.CreatedAt
		if err := fn(&c); err != nil {
			return err
		}
		c.ID = id
		if err := c.Validate(); err != nil {
			return err
		}
		if (method == AuthSecretBasic) != (c.AuthMethod == AuthSecretBasic) {
			return &InvalidClientError{Field: "token_endpoint_auth_method", Reason: "cannot switch to or from client_secret_basic"}
		}
		c.CreatedAt = created
		c.UpdatedAt = r.now().UTC().Truncate(time.Microsecond)
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`UPDATE auth_clients SET doc = $1, disabled = $2, updated_at = $3 WHERE realm = $4 AND client_id = $5`,
			string(b), c.Disabled, c.UpdatedAt.UnixMicro(), r.realm, c.ID)
		out = c
		return err
	})
	if err != nil {
		return Client{}, fmt.Errorf("auth: %s client %s: %w", verb, id, err)
	}
	r.log.Info("client updated", zap.String("realm", r.realm), zap.String("client_id", id))
	return out, nil
}

// RotateSecret gives a client_secret_basic client a new secret, returned
// once; the old one stops working at once.
func (r *ClientRegistry) RotateSecret(ctx context.Context, id string) (string, error) {
	c, err := r.Get(ctx, id)
	if err != nil {
		return "", err
	}
	if c.AuthMethod != AuthSecretBasic {
		return "", &InvalidClientError{Field: "token_endpoint_auth_method", Reason: "only client_secret_basic clients have a secret"}
	}
	secret, err := newSecret()
	if err != nil {
		return "", err
	}
	if _, err := r.db.ExecContext(ctx,
		`UPDATE auth_clients SET secret_hash = $1, updated_at = $2 WHERE realm = $3 AND client_id = $4`,
		hashSecret(secret), r.now().UnixMicro(), r.realm, id); err != nil {
		return "", fmt.Errorf("auth: rotate secret: %w", err)
	}
	r.log.Info("client secret rotated", zap.String("realm", r.realm), zap.String("client_id", id))
	return secret, nil
}

// SetDisabled disables or re-enables a client. A disabled client fails
// authentication at once on every instance.
func (r *ClientRegistry) SetDisabled(ctx context.Context, id string, disabled bool) error {
	res, err := r.db.ExecContext(ctx,
		`UPDATE auth_clients SET disabled = $1, updated_at = $2 WHERE realm = $3 AND client_id = $4`,
		disabled, r.now().UnixMicro(), r.realm, id)
	if err != nil {
		return fmt.Errorf("auth: disable client: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrClientNotFound
	}
	r.log.Info("client enabled state changed", zap.String("realm", r.realm), zap.String("client_id", id), zap.Bool("disabled", disabled))
	return nil
}

// a hash that matches no secret, compared against for unknown clients so
// that the answer takes as long as for known ones.
var noSecretHash = hashSecret("\x00no client has this secret")

// Authenticate identifies the client of a token-endpoint request: HTTP Basic
// with the client secret, a private_key_jwt assertion (RFC 7523) whose "aud"
// must be exactly one of audiences (the token endpoint's URL, or the
// issuer), as a string or an array of that one value, or a
// bare client_id for a public client. The request's form must be parsed
// (r.ParseForm) before. Failures are *OAuthError values with invalid_client
// or invalid_request; the reason goes to the log, never to the client. A
// registry that cannot be read is not a refusal: its error is returned as
// is, never as invalid_client, and the endpoints answer it with 503 when
// the database is unavailable.
func (r *ClientRegistry) Authenticate(ctx context.Context, req *http.Request, audiences []string) (Client, error) {
	id, secret, hasBasic := req.BasicAuth()
	assertion := req.PostForm.Get("client_assertion")
	assertionType := req.PostForm.Get("client_assertion_type")
	formID := req.PostForm.Get("client_id")
	switch {
	case hasBasic && assertion != "":
		return Client{}, invalidRequest("use one client authentication method")
	case req.PostForm.Has("client_secret"):
		return Client{}, invalidClient("client_secret_post is not supported; use HTTP Basic or private_key_jwt", false, nil)
	case hasBasic:
		return r.authenticateBasic(ctx, id, secret, formID)
	case assertion != "":
		if assertionType != ClientAssertionType {
			return Client{}, invalidRequest("client_assertion_type must be " + ClientAssertionType)
		}
		return r.authenticateAssertion(ctx, assertion, formID, audiences)
	case formID != "":
		c, _, err := r.get(ctx, formID)
		if err != nil && !errors.Is(err, ErrClientNotFound) {
			return Client{}, err // the registry failed; the client was not refused
		}
		if err != nil || c.Disabled || c.Confidential() {
			return Client{}, r.refuse(formID, "client authentication failed", false, err)
		}
		return c, nil
	}
	return Client{}, invalidClient("client authentication required", false, nil)
}

func (r *ClientRegistry) refuse(id, desc string, basic bool, cause error) *OAuthError {
	r.log.Info("client authentication refused", zap.String("realm", r.realm), zap.String("client_id", id), zap.Error(cause))
	return invalidClient(desc, basic, cause)
}

func (r *ClientRegistry) authenticateBasic(ctx context.Context, rawID, rawSecret, formID string) (Client, error) {
	// RFC 6749 section 2.3.1: both parts are form-urlencoded before Basic.
	id, err1 := url.QueryUnescape(rawID)
	secret, err2 := url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil {
		return Client{}, invalidRequest("malformed Basic credentials")
	}
	if formID != "" && formID != id {
		return Client{}, invalidRequest("client_id does not match the authenticated client")
	}
	c, hash, err := r.get(ctx, id)
	if err != nil && !errors.Is(err, ErrClientNotFound) {
		return Client{}, err // the registry failed; the client was not refused
	}
	if err != nil {
		subtle.ConstantTimeCompare([]byte(noSecretHash), []byte(hashSecret(secret)))
		return Client{}, r.refuse(id, "client authentication failed", true, err)
	}
	ok := subtle.ConstantTimeCompare([]byte(hash), []byte(hashSecret(secret))) == 1
	switch {
	case c.AuthMethod != AuthSecretBasic:
		return Client{}, r.refuse(id, "client authentication failed", true, errors.New("client is not registered for client_secret_basic"))
	case !ok:
		return Client{}, r.refuse(id, "client authentication failed", true, errors.New("wrong secret"))
	case c.Disabled:
		return Client{}, r.refuse(id, "client authentication failed", true, errors.New("client disabled"))
	}
	return c, nil
}

func (r *ClientRegistry) authenticateAssertion(ctx context.Context, assertion, formID string, audiences []string) (Client, error) {
	// One parse: the key provider reads the issuer from the signed payload,
	// finds that client and offers its registered keys; nothing else in the
	// token is trusted before the signature is checked.
	var (
		client   Client
		lookErr  error
		storeErr error // the registry failed: not the client's fault
	)
	provider := jws.KeyProviderFunc(func(ctx context.Context, sink jws.KeySink, sig *jws.Signature, msg *jws.Message) error {
		var claims struct {
			Iss string `json:"iss"`
		}
		if err := json.Unmarshal(msg.Payload(), &claims); err != nil || claims.Iss == "" {
			lookErr = errors.New("assertion has no issuer")
			return lookErr
		}
		if formID != "" && formID != claims.Iss {
			lookErr = errClientIDMismatch
			return lookErr
		}
		c, _, err := r.get(ctx, claims.Iss)
		if err != nil {
			if !errors.Is(err, ErrClientNotFound) {
				storeErr = err
			}
			lookErr = err
			return err
		}
		if c.AuthMethod != AuthPrivateKeyJWT || c.Disabled {
			lookErr = errors.New("not a private_key_jwt client, or disabled")
			return lookErr
		}
		client = c
		alg := sig.ProtectedHeaders().Algorithm()
		if !slices.Contains(assertionAlgs, alg) {
			lookErr = fmt.Errorf("assertion algorithm %q is not accepted", alg)
			return lookErr
		}
		set, err := r.clientKeys(c.JWKS)
		if err != nil {
			lookErr = err
			return err
		}
		kid := sig.ProtectedHeaders().KeyID()
		for i := 0; i < set.Len(); i++ {
			k, _ := set.Key(i)
			if kid == "" || k.KeyID() == kid {
				sink.Key(alg, k)
			}
		}
		return nil
	})
	tok, err := jwt.ParseString(assertion,
		jwt.WithKeyProvider(provider),
		jwt.WithContext(ctx),
		jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(r.now)),
		jwt.WithAcceptableSkew(30*time.Second),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.JwtIDKey),
	)
	if errors.Is(lookErr, errClientIDMismatch) {
		return Client{}, invalidRequest("client_id does not match the client assertion")
	}
	if storeErr != nil {
		return Client{}, storeErr
	}
	id := client.ID
	if err != nil {
		if lookErr != nil {
			err = lookErr
		}
		return Client{}, r.refuse(id, "client authentication failed", false, err)
	}
	now := r.now()
	switch {
	case tok.Issuer() != id || tok.Subject() != id:
		return Client{}, r.refuse(id, "client authentication failed", false, errors.New("assertion iss and sub must both be the client_id"))
	case len(tok.Audience()) != 1 || !slices.Contains(audiences, tok.Audience()[0]):
		// One audience, ours: an assertion also addressed to another
		// server could be replayed by it here (and ours there).
		return Client{}, r.refuse(id, "client authentication failed", false, fmt.Errorf("assertion audience %v is not this endpoint alone", tok.Audience()))
	case tok.JwtID() == "" || len(tok.JwtID()) > 256:
		return Client{}, r.refuse(id, "client authentication failed", false, errors.New("assertion needs a jti of at most 256 bytes"))
	case tok.Expiration().After(now.Add(MaxAssertionLifetime)):
		return Client{}, r.refuse(id, "client authentication failed", false, errors.New("assertion lives too long"))
	}
	// One use only, across instances: the insert of the jti is the check.
	fresh, err := r.recordAssertion(ctx, id, tok.JwtID(), tok.Expiration())
	if err != nil {
		return Client{}, err
	}
	if !fresh {
		return Client{}, r.refuse(id, "client authentication failed", false, errors.New("client assertion replayed"))
	}
	return client, nil
}

var errClientIDMismatch = errors.New("client_id does not match the assertion")

// assertionAlgs are the signature algorithms accepted for client
// assertions: asymmetric ones only.
var assertionAlgs = []jwa.SignatureAlgorithm{jwa.ES256, jwa.ES384, jwa.ES512, jwa.EdDSA, jwa.PS256, jwa.PS384, jwa.PS512, jwa.RS256}

// clientKeys returns a client's parsed JWKS, cached by its text so that a
// changed registration is picked up at once. The cache is dropped when it
// grows past a bound, so it cannot grow without end.
func (r *ClientRegistry) clientKeys(raw json.RawMessage) (jwk.Set, error) {
	key := string(raw)
	if v, ok := r.keyCache.Load(key); ok {
		return v.(jwk.Set), nil
	}
	set, err := jwk.Parse(raw)
	if err != nil {
		return nil, err
	}
	if r.keyCacheSize.Add(1) > 10000 {
		r.keyCache.Clear()
		r.keyCacheSize.Store(0)
	}
	r.keyCache.Store(key, set)
	return set, nil
}

// PurgeAssertions forgets assertion ids that expired before t.
func (r *ClientRegistry) PurgeAssertions(ctx context.Context, before time.Time) (int64, error) {
	res, err := r.db.ExecContext(ctx, `DELETE FROM auth_client_assertions WHERE expires_at < $1`, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("auth: purge assertions: %w", err)
	}
	return res.RowsAffected()
}
