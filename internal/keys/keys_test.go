package keys_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

func kek(t testing.TB) []byte {
	k, err := keys.GenerateKEK()
	require.NoError(t, err)
	return k
}

func kidOf(t testing.TB, compact []byte) string {
	t.Helper()
	msg, err := jws.Parse(compact)
	require.NoError(t, err)
	return msg.Signatures()[0].ProtectedHeaders().KeyID()
}

func TestSignVerifyAndPersist(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		k := kek(t)
		for _, alg := range []keys.Alg{keys.ES256, keys.EdDSA} {
			set := "test/" + alg.String()
			m, err := keys.New(ctx, db.DB.DB, set, k, keys.WithAlgorithm(alg))
			require.NoError(t, err)
			sig, err := m.Sign(ctx, []byte("hello"), keys.WithType("example+jws"))
			require.NoError(t, err)
			payload, err := m.Verify(ctx, sig)
			require.NoError(t, err)
			assert.Equal(t, "hello", string(payload))

			msg, err := jws.Parse(sig)
			require.NoError(t, err)
			h := msg.Signatures()[0].ProtectedHeaders()
			assert.Equal(t, alg, h.Algorithm())
			assert.Equal(t, "example+jws", h.Type())

			// Another instance on another pool loads the same key.
			again, err := keys.New(ctx, db.OpenAnother(t), set, k, keys.WithAlgorithm(alg))
			require.NoError(t, err)
			payload, err = again.Verify(ctx, sig)
			require.NoError(t, err)
			assert.Equal(t, "hello", string(payload))
			sig2, err := again.Sign(ctx, []byte("x"))
			require.NoError(t, err)
			assert.Equal(t, kidOf(t, sig), kidOf(t, sig2), "the same key is active")

			// The kid is the RFC 7638 thumbprint of the published key.
			set1, err := m.PublicSet(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, set1.Len())
			pk, _ := set1.Key(0)
			tp, err := pk.Thumbprint(crypto.SHA256)
			require.NoError(t, err)
			assert.Equal(t, base64.RawURLEncoding.EncodeToString(tp), pk.KeyID())
			assert.Equal(t, string(jwk.ForSignature), pk.KeyUsage())
		}
	})
}

func tableBytes(t *testing.T, db *sqltest.DB) []string {
	t.Helper()
	return append(db.Dump(t, "SELECT set_name, kek_check FROM keys_sets ORDER BY set_name"),
		db.Dump(t, "SELECT set_name, seq, kid, public_jwk, private_enc, active_from FROM keys_keys ORDER BY set_name, seq")...)
}

func TestKEKRequiredAndChecked(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		for _, bad := range [][]byte{nil, make([]byte, 16), make([]byte, 33)} {
			_, err := keys.New(ctx, db.DB.DB, "s", bad)
			assert.ErrorIs(t, err, keys.ErrNoKEK)
		}
		right := kek(t)
		m, err := keys.New(ctx, db.DB.DB, "s", right)
		require.NoError(t, err)
		require.NoError(t, m.Rotate(ctx))
		before := tableBytes(t, db)

		_, err = keys.New(ctx, db.DB.DB, "s", kek(t))
		require.ErrorIs(t, err, keys.ErrWrongKEK)
		assert.Contains(t, err.Error(), `set "s"`)
		assert.Equal(t, before, tableBytes(t, db), "a wrong KEK changes nothing")

		// A different set may use its own KEK.
		_, err = keys.New(ctx, db.DB.DB, "other", kek(t))
		require.NoError(t, err)
		_, err = keys.New(ctx, db.DB.DB, "s", right)
		require.NoError(t, err)
	})
}

func TestParseKEK(t *testing.T) {
	k := kek(t)
	for _, s := range []string{
		keys.EncodeKEK(k), " " + keys.EncodeKEK(k) + "\n",
		base64.RawURLEncoding.EncodeToString(k), fmt.Sprintf("%x", k),
	} {
		got, err := keys.ParseKEK(s)
		require.NoError(t, err, s)
		assert.Equal(t, k, got)
	}
	for _, s := range []string{"", "short", base64.StdEncoding.EncodeToString(make([]byte, 31)), "zz" + fmt.Sprintf("%x", k)[2:]} {
		_, err := keys.ParseKEK(s)
		assert.ErrorIs(t, err, keys.ErrNoKEK, s)
	}
}

func TestRotationTimeline(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		c := testclock.New()
		m, err := keys.New(ctx, db.DB.DB, "rot", kek(t), keys.WithClock(c.Now),
			keys.WithPublishLead(10*time.Minute), keys.WithMaxTokenLifetime(time.Hour))
		require.NoError(t, err)
		old, err := m.Sign(ctx, []byte("signed before rotation"))
		require.NoError(t, err)
		oldKid := kidOf(t, old)

		require.NoError(t, m.Rotate(ctx))
		require.NoError(t, m.Rotate(ctx), "a second rotation while one is pending is a no-op")
		pub, err := m.PublicSet(ctx)
		require.NoError(t, err)
		assert.Equal(t, 2, pub.Len(), "the new key is published before it signs")
		s, err := m.Sign(ctx, []byte("x"))
		require.NoError(t, err)
		assert.Equal(t, oldKid, kidOf(t, s), "the old key still signs during the lead time")

		c.Advance(10 * time.Minute)
		s, err = m.Sign(ctx, []byte("x"))
		require.NoError(t, err)
		newKid := kidOf(t, s)
		assert.NotEqual(t, oldKid, newKid, "the new key signs once its lead time is over")
		_, err = m.Verify(ctx, old)
		assert.NoError(t, err, "tokens signed before rotation still verify")
		pub, _ = m.PublicSet(ctx)
		assert.Equal(t, 2, pub.Len())

		c.Advance(time.Hour - time.Second)
		_, err = m.Verify(ctx, old)
		assert.NoError(t, err, "until the longest token lifetime has passed")

		c.Advance(time.Second)
		pub, _ = m.PublicSet(ctx)
		assert.Equal(t, 1, pub.Len(), "then the retired key leaves the JWKS")
		k0, _ := pub.Key(0)
		assert.Equal(t, newKid, k0.KeyID())
		_, err = m.Verify(ctx, old)
		assert.ErrorIs(t, err, keys.ErrUnknownKey)
	})
}

func TestMaintainRotatesByAge(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx := t.Context()
	c := testclock.New()
	m, err := keys.New(ctx, db.DB.DB, "age", kek(t), keys.WithClock(c.Now), keys.WithRotateEvery(24*time.Hour))
	require.NoError(t, err)
	require.NoError(t, m.Maintain(ctx))
	pub, _ := m.PublicSet(ctx)
	assert.Equal(t, 1, pub.Len(), "a young key is kept")
	c.Advance(24 * time.Hour)
	require.NoError(t, m.Maintain(ctx))
	require.NoError(t, m.Maintain(ctx))
	pub, _ = m.PublicSet(ctx)
	assert.Equal(t, 2, pub.Len(), "one rotation, however often Maintain runs")

	off, err := keys.New(ctx, db.DB.DB, "manual", kek(t), keys.WithClock(c.Now), keys.WithRotateEvery(0))
	require.NoError(t, err)
	c.Advance(1000 * time.Hour)
	require.NoError(t, off.Maintain(ctx))
	pub, _ = off.PublicSet(ctx)
	assert.Equal(t, 1, pub.Len())
}

// TestInstancesAgree starts several instances of one set at once on
// separate pools, rotates from all of them at once, and checks there is one
// key per step and that they sign with the same key and verify each other.
func TestInstancesAgree(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		c := testclock.New()
		k := kek(t)
		const n = 4
		ms := make([]*keys.Manager, n)
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range ms {
			pool := db.OpenAnother(t)
			wg.Add(1)
			go func() {
				defer wg.Done()
				ms[i], errs[i] = keys.New(ctx, pool, "shared", k, keys.WithClock(c.Now), keys.WithPublishLead(5*time.Minute))
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		countKeys := func() int {
			var n int
			require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM keys_keys WHERE set_name = 'shared'").Scan(&n))
			return n
		}
		assert.Equal(t, 1, countKeys(), "racing first starts create one key")

		for i := range ms {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = ms[i].Rotate(ctx) }()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		assert.Equal(t, 2, countKeys(), "racing rotations create one key")

		c.Advance(5 * time.Minute)
		var kids []string
		var toks [][]byte
		for _, m := range ms {
			s, err := m.Sign(ctx, []byte("x"))
			require.NoError(t, err)
			kids = append(kids, kidOf(t, s))
			toks = append(toks, s)
		}
		for i := range kids {
			assert.Equal(t, kids[0], kids[i], "every instance signs with the same key")
		}
		for _, m := range ms {
			for _, tok := range toks {
				_, err := m.Verify(ctx, tok)
				require.NoError(t, err)
			}
		}
	})
}

func TestUnknownKidIsFetched(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx := t.Context()
	c := testclock.New()
	k := kek(t)
	a, err := keys.New(ctx, db.DB.DB, "s", k, keys.WithClock(c.Now), keys.WithPublishLead(0))
	require.NoError(t, err)
	b, err := keys.New(ctx, db.OpenAnother(t), "s", k, keys.WithClock(c.Now), keys.WithRefresh(time.Hour))
	require.NoError(t, err)
	require.NoError(t, a.Rotate(ctx))
	c.Advance(2 * time.Second)
	tok, err := a.Sign(ctx, []byte("x"))
	require.NoError(t, err)
	_, err = b.Verify(ctx, tok)
	assert.NoError(t, err, "a key created by another instance is loaded on first sight")
}

func TestRejectsForgeries(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx := t.Context()
	m, err := keys.New(ctx, db.DB.DB, "s", kek(t))
	require.NoError(t, err)
	good, err := m.Sign(ctx, []byte(`{"sub":"123456783"}`))
	require.NoError(t, err)
	parts := strings.Split(string(good), ".")
	require.Len(t, parts, 3)
	kid := kidOf(t, good)

	header := func(h string) string { return base64.RawURLEncoding.EncodeToString([]byte(h)) }
	pub, _ := m.PublicSet(ctx)
	pk, _ := pub.Key(0)
	pubJSON, _ := json.Marshal(pk)
	// HS256 with the public key's JSON as the HMAC secret: the classic
	// algorithm-confusion forgery.
	hsKey := pubJSON
	hs, err := jws.Sign([]byte(`{"sub":"999999999"}`), jws.WithKey(jwa.HS256, hsKey, jws.WithProtectedHeaders(func() jws.Headers {
		h := jws.NewHeaders()
		_ = h.Set(jws.KeyIDKey, kid)
		return h
	}())))
	require.NoError(t, err)

	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	foreign, err := jws.Sign([]byte("x"), jws.WithKey(jwa.ES256, other))
	require.NoError(t, err)

	tests := map[string]string{
		"tampered payload":   parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"999999999"}`)) + "." + parts[2],
		"tampered signature": parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"alg none":           header(`{"alg":"none","kid":"`+kid+`"}`) + "." + parts[1] + ".",
		"HS256 confusion":    string(hs),
		"no kid, foreign":    string(foreign),
		"garbage":            "not a token",
		"empty":              "",
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := m.Verify(ctx, []byte(tok))
			require.Error(t, err)
			assert.True(t, errorsIsAny(err, keys.ErrInvalidSignature, keys.ErrUnknownKey), "%v", err)
		})
	}
}

func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

func TestJWT(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx := t.Context()
	c := testclock.New()
	m, err := keys.New(ctx, db.DB.DB, "jwt", kek(t), keys.WithClock(c.Now))
	require.NoError(t, err)
	tok, err := jwt.NewBuilder().Issuer("https://id.example.gr").Subject("s1").
		IssuedAt(c.Now()).Expiration(c.Now().Add(5 * time.Minute)).Build()
	require.NoError(t, err)
	signed, err := m.SignJWT(ctx, tok, keys.WithType("at+jwt"))
	require.NoError(t, err)

	got, err := m.ParseJWT(ctx, signed, jwt.WithIssuer("https://id.example.gr"))
	require.NoError(t, err)
	assert.Equal(t, "s1", got.Subject())

	_, err = m.ParseJWT(ctx, signed, jwt.WithIssuer("https://evil.example"))
	assert.ErrorIs(t, err, keys.ErrInvalidSignature)

	c.Advance(5*time.Minute + 31*time.Second)
	_, err = m.ParseJWT(ctx, signed)
	assert.Error(t, err, "expired, beyond the 30 s leeway")
}

// opaqueSigner hides its key behind crypto.Signer, as an HSM does.
type opaqueSigner struct{ s crypto.Signer }

func (o opaqueSigner) Public() crypto.PublicKey { return o.s.Public() }
func (o opaqueSigner) Sign(r io.Reader, d []byte, opts crypto.SignerOpts) ([]byte, error) {
	return o.s.Sign(r, d, opts)
}

func TestExternalSigner(t *testing.T) {
	ctx := context.Background()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	oldEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	oldTok, err := jws.Sign([]byte("old"), jws.WithKey(jwa.ES256, oldEC, jws.WithProtectedHeaders(func() jws.Headers {
		s, _ := keys.NewStatic(oldEC)
		pub, _ := s.PublicSet(ctx)
		k, _ := pub.Key(0)
		h := jws.NewHeaders()
		_ = h.Set(jws.KeyIDKey, k.KeyID())
		return h
	}())))
	require.NoError(t, err)

	for name, signer := range map[string]crypto.Signer{"p256": opaqueSigner{ec}, "ed25519": opaqueSigner{ed}} {
		t.Run(name, func(t *testing.T) {
			s, err := keys.NewStatic(signer, keys.WithPrevious(oldEC.Public()))
			require.NoError(t, err)
			tok, err := s.Sign(ctx, []byte("hsm"))
			require.NoError(t, err)
			p, err := s.Verify(ctx, tok)
			require.NoError(t, err)
			assert.Equal(t, "hsm", string(p))
			p, err = s.Verify(ctx, oldTok)
			require.NoError(t, err, "a previous key verifies")
			assert.Equal(t, "old", string(p))
			pub, err := s.PublicSet(ctx)
			require.NoError(t, err)
			assert.Equal(t, 2, pub.Len())
		})
	}
	rsaLike := opaqueSigner{s: fakeRSA{}}
	_, err = keys.NewStatic(rsaLike)
	assert.ErrorIs(t, err, keys.ErrUnsupportedKey)
}

type fakeRSA struct{}

func (fakeRSA) Public() crypto.PublicKey { return "not a supported key" }
func (fakeRSA) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, fmt.Errorf("unused")
}

func TestJWKSHandler(t *testing.T) {
	db := sqltest.SQLite(t)
	m, err := keys.New(t.Context(), db.DB.DB, "web", kek(t))
	require.NoError(t, err)
	srv := httptest.NewServer(m.JWKSHandler())
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "application/jwk-set+json", resp.Header.Get("Content-Type"))
	assert.Equal(t, "public, max-age=150", resp.Header.Get("Cache-Control"), "shorter than the 10-minute publish lead")
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(body, &doc))
	require.Len(t, doc.Keys, 1)
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		assert.NotContains(t, doc.Keys[0], private, "only public parameters are published")
	}
	assert.Equal(t, "ES256", doc.Keys[0]["alg"])
	assert.Equal(t, "sig", doc.Keys[0]["use"])

	set, err := jwk.Parse(body)
	require.NoError(t, err)
	tok, err := m.Sign(t.Context(), []byte("checked with the published set"))
	require.NoError(t, err)
	_, err = jws.Verify(tok, jws.WithKeySet(set))
	assert.NoError(t, err, "a relying party verifies with the published document alone")

	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 304, resp.StatusCode)

	resp, err = http.Post(srv.URL, "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 405, resp.StatusCode)
}

func FuzzVerify(f *testing.F) {
	db := sqltest.SQLite(f)
	m, err := keys.New(context.Background(), db.DB.DB, "fuzz", kek(f))
	require.NoError(f, err)
	good, err := m.Sign(context.Background(), []byte("seed"))
	require.NoError(f, err)
	for _, s := range []string{string(good), "", ".", "..", "a.b.c", "eyJhbGciOiJub25lIn0..", string(good) + "x", `{"payload":"x","signatures":[]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := m.Verify(context.Background(), []byte(s))
		if err == nil && s != string(good) {
			// Only a genuine signature verifies; jwx accepts the same token
			// in JSON serialisation too, which must carry the same payload.
			if string(p) != "seed" {
				t.Fatalf("forged input verified: %q → %q", s, p)
			}
		}
	})
}

func TestCheckKEK(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		right := kek(t)
		require.NoError(t, keys.CheckKEK(ctx, db.DB.DB, right), "an empty database passes")
		_, err := keys.New(ctx, db.DB.DB, "a", right)
		require.NoError(t, err)
		require.NoError(t, keys.CheckKEK(ctx, db.DB.DB, right))
		err = keys.CheckKEK(ctx, db.DB.DB, kek(t))
		assert.ErrorIs(t, err, keys.ErrWrongKEK)
		assert.Contains(t, err.Error(), `set "a"`)
		assert.ErrorIs(t, keys.CheckKEK(ctx, db.DB.DB, nil), keys.ErrNoKEK)
	})
}

// SignJWT writes what jwt.Sign writes with the same key and headers: the
// same header and claims, byte for byte, and for EdDSA, whose signatures
// are deterministic, the same token. The type defaults to JWT and a
// caller's type stands.
func TestSignJWTAsJWX(t *testing.T) {
	ctx := t.Context()
	now := time.Now().Truncate(time.Second)
	tok, err := jwt.NewBuilder().Issuer("https://id.example.gr/citizen").Subject("Ελένη-1").Audience([]string{"agency"}).
		IssuedAt(now).Expiration(now.Add(time.Hour)).Claim("scope", "openid profile").Claim("acr", "substantial").Build()
	require.NoError(t, err)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	for _, raw := range []crypto.Signer{edKey, ecKey} {
		s, err := keys.NewStatic(raw)
		require.NoError(t, err)
		set, err := s.PublicSet(ctx)
		require.NoError(t, err)
		pub, ok := set.Key(0)
		require.True(t, ok)
		alg := jwa.SignatureAlgorithm(pub.Algorithm().String())
		for _, typ := range []string{"", "at+jwt"} {
			var opts []keys.SignOption
			h := jws.NewHeaders()
			require.NoError(t, h.Set(jws.KeyIDKey, pub.KeyID()))
			if typ != "" {
				opts = append(opts, keys.WithType(typ))
				require.NoError(t, h.Set(jws.TypeKey, typ))
			}
			ours, err := s.SignJWT(ctx, tok, opts...)
			require.NoError(t, err)
			theirs, err := jwt.Sign(tok, jwt.WithKey(alg, raw, jws.WithProtectedHeaders(h)))
			require.NoError(t, err)
			cut := func(b []byte) string { return string(b[:strings.LastIndexByte(string(b), '.')]) }
			assert.Equal(t, cut(theirs), cut(ours), "%s typ %q: header and claims", alg, typ)
			if alg == jwa.EdDSA {
				assert.Equal(t, string(theirs), string(ours), "deterministic signatures agree")
			}
			got, err := jwt.Parse(ours, jwt.WithKeySet(set))
			require.NoError(t, err)
			assert.Equal(t, "Ελένη-1", got.Subject())
			msg, err := jws.Parse(ours)
			require.NoError(t, err)
			wantTyp := typ
			if wantTyp == "" {
				wantTyp = "JWT"
			}
			assert.Equal(t, wantTyp, msg.Signatures()[0].ProtectedHeaders().Type())
		}
	}
}
