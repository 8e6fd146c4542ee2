package declaration_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/json"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/declaration/verify"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

func offlineVerifier(t testing.TB, f *fixture) *declaration.OfflineVerifier {
	t.Helper()
	set, err := f.keys.PublicSet(t.Context())
	require.NoError(t, err)
	jwks, err := json.Marshal(set)
	require.NoError(t, err)
	v, err := declaration.NewOfflineVerifier("https://docs.example.gr/", jwks, declaration.WithClock(f.clock.Now))
	require.NoError(t, err)
	return v
}

func TestOfflineVerification(t *testing.T) {
	for _, alg := range []string{declaration.ES256, declaration.EdDSA} {
		t.Run(alg, func(t *testing.T) { testOffline(t, alg) })
	}
}

func testOffline(t *testing.T, alg string) {
	f := newFixtureAlg(t, sqltest.SQLite(t).DB.DB, nil, alg)
	doc := f.issue(t, maria, authorization())
	v := offlineVerifier(t, f)

	c, status, err := v.Verify(doc.Token)
	require.NoError(t, err)
	assert.Equal(t, declaration.StatusValid, status)
	assert.Equal(t, doc.Protocol, c.Protocol)
	assert.Equal(t, doc.Draft.Text, c.Content.Text)
	// Text with escapes in its JSON comes back as it was.
	escaped := solemn()
	escaped.Text = "Γραμμή 1\nΓραμμή «2» \"3\" \\ / \t é"
	escapedDoc := f.issue(t, maria, escaped)
	c, _, err = v.Verify(escapedDoc.Token)
	require.NoError(t, err)
	assert.Equal(t, escaped.Text, c.Content.Text)

	qr, err := f.svc.QRContent(t.Context(), doc)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(qr, "https://docs.example.gr/verify?code="+doc.Code+"#"))
	assert.Less(t, len(qr), 1500, "fits a QR code that a phone reads from paper")
	code, token, err := declaration.ParseQR(qr)
	require.NoError(t, err)
	assert.Equal(t, doc.Code, code)
	again, err := f.svc.QRContent(t.Context(), doc)
	require.NoError(t, err)
	_, _, err = v.VerifyQR(again)
	require.NoError(t, err, "the summary is signed anew for every PDF, and each verifies")
	s, status, err := v.VerifyQR(qr)
	require.NoError(t, err)
	assert.Equal(t, declaration.StatusValid, status)
	assert.Equal(t, "Μαρία Παπαδοπούλου", s.Declarant.Name)
	assert.Equal(t, nikos.AFM, s.Grantee.AFM)
	assert.True(t, s.Matches(doc.Token))
	assert.False(t, s.Matches(doc.Token+"x"))

	// Past the authorization's end date.
	f.clock.Advance(40 * 24 * time.Hour)
	_, status, err = v.VerifyQR(qr)
	require.NoError(t, err)
	assert.Equal(t, declaration.StatusExpired, status)

	// What must fail.
	_, _, err = v.Verify(token)
	assert.ErrorIs(t, err, declaration.ErrBadToken, "a summary is not a full token")
	_, _, err = v.Verify(tamper(t, doc.Token, "protocol", "2026/000999"))
	assert.ErrorIs(t, err, declaration.ErrBadToken)
	_, _, err = v.VerifyQR(strings.Replace(qr, token, tamper(t, token, "code", "2222-2222-2222-2222-2222"), 1))
	assert.ErrorIs(t, err, declaration.ErrBadToken)
	other := f.issue(t, maria, solemn())
	_, _, err = v.VerifyQR(f.svc.VerifyURL(other.Code) + "#" + token)
	assert.ErrorIs(t, err, declaration.ErrBadToken, "the summary of another document")
	_, _, err = v.VerifyQR(f.svc.VerifyURL(doc.Code))
	assert.ErrorIs(t, err, declaration.ErrBadToken, "no summary")
	_, _, err = v.VerifyQR(strings.Replace(qr, "https://docs.example.gr/", "https://docs.example.gr.evil.example/", 1))
	assert.ErrorIs(t, err, declaration.ErrBadToken, "a genuine summary behind a look-alike address")

	stranger := newFixture(t, sqltest.SQLite(t).DB.DB, nil)
	foreign := stranger.issue(t, maria, solemn())
	_, _, err = v.Verify(foreign.Token)
	assert.ErrorIs(t, err, declaration.ErrUnknownKey, "signed by someone else's key")
	w := offlineVerifier(t, stranger)
	_, _, err = w.Verify(foreign.Token)
	require.NoError(t, err)
	_, err = declaration.NewOfflineVerifier("https://x", []byte(`{"keys":[]}`))
	assert.Error(t, err)
	ww, err := declaration.NewOfflineVerifier("https://elsewhere.example", mustJWKS(t, f))
	require.NoError(t, err)
	_, _, err = ww.Verify(doc.Token)
	assert.ErrorIs(t, err, declaration.ErrBadToken, "another issuer")
}

// keyedVerifier is an offline verifier with the public key it trusts.
type keyedVerifier struct {
	*declaration.OfflineVerifier
	key jwk.Key
}

// signedToken issues a document with keys of alg and returns a verifier
// for them and the document's token cut into signed input and signature.
func signedToken(t *testing.T, alg string) (v keyedVerifier, input, sig []byte) {
	f := newFixtureAlg(t, sqltest.SQLite(t).DB.DB, nil, alg)
	doc := f.issue(t, maria, solemn())
	set, err := f.keys.PublicSet(t.Context())
	require.NoError(t, err)
	v.OfflineVerifier = offlineVerifier(t, f)
	v.key, _ = set.Key(0)
	dot := strings.LastIndexByte(doc.Token, '.')
	sig, err = b64dec(doc.Token[dot+1:])
	require.NoError(t, err)
	return v, []byte(doc.Token[:dot]), sig
}

// TestOfflineEdDSAAgreesWithStdlib flips each bit of an EdDSA token's
// signature and some of its signed bytes: the offline verifier, which
// reads the compact form itself before it hands the signature to
// crypto/ed25519, must judge every variant as crypto/ed25519 does on the
// bytes as they are.
func TestOfflineEdDSAAgreesWithStdlib(t *testing.T) {
	v, input, sig := signedToken(t, declaration.EdDSA)
	var pub ed25519.PublicKey
	require.NoError(t, v.key.Raw(&pub))
	check := func(in, sg []byte) {
		_, _, err := v.Verify(string(in) + "." + b64(sg))
		assert.Equal(t, ed25519.Verify(pub, in, sg), err == nil, "%x", sg)
	}
	check(input, sig)
	for i := range 8 * len(sig) {
		s := slices.Clone(sig)
		s[i/8] ^= 1 << (i % 8)
		check(input, s)
	}
	// The signature's S plus the group order: the same point, refused by both.
	order := []byte{0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}
	s := slices.Clone(sig)
	carry := 0
	for i := range 32 {
		sum := int(s[32+i]) + int(order[i]) + carry
		s[32+i], carry = byte(sum), sum>>8
	}
	check(input, s)
	for _, i := range []int{0, len(input) / 2, len(input) - 1} {
		in := slices.Clone(input)
		in[i] ^= 0x01
		check(in, sig)
	}
}

// TestOfflineES256AgreesWithStdlib does the same for ES256 against
// crypto/ecdsa.Verify with r and s as numbers: the verifier turns the
// signature's two halves into the DER form crypto/ecdsa.VerifyASN1 reads.
func TestOfflineES256AgreesWithStdlib(t *testing.T) {
	v, input, sig := signedToken(t, declaration.ES256)
	var pub ecdsa.PublicKey
	require.NoError(t, v.key.Raw(&pub))
	check := func(in, sg []byte) {
		_, _, err := v.Verify(string(in) + "." + b64(sg))
		digest := sha256.Sum256(in)
		want := ecdsa.Verify(&pub, digest[:], new(big.Int).SetBytes(sg[:32]), new(big.Int).SetBytes(sg[32:]))
		assert.Equal(t, want, err == nil, "%x", sg)
	}
	check(input, sig)
	for i := range 8 * len(sig) {
		s := slices.Clone(sig)
		s[i/8] ^= 1 << (i % 8)
		check(input, s)
	}
	// s replaced by n - s: also a valid ECDSA signature, accepted by both.
	n := elliptic.P256().Params().N
	s := slices.Clone(sig)
	new(big.Int).Sub(n, new(big.Int).SetBytes(sig[32:])).FillBytes(s[32:])
	check(input, s)
	for _, i := range []int{0, len(input) / 2, len(input) - 1} {
		in := slices.Clone(input)
		in[i] ^= 0x01
		check(in, sig)
	}
}

func mustJWKS(t *testing.T, f *fixture) []byte {
	set, err := f.keys.PublicSet(t.Context())
	require.NoError(t, err)
	b, err := json.Marshal(set)
	require.NoError(t, err)
	return b
}

// tamper changes one claim of a signed token and keeps the signature.
func tamper(t *testing.T, token, claim, value string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	payload, err := b64dec(parts[1])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(payload, &m))
	m[claim] = value
	forged, _ := json.Marshal(m)
	return parts[0] + "." + b64(forged) + "." + parts[2]
}

// FuzzVerificationInput feeds what people type and scan to the parsers
// and the offline verifier: nothing panics, and nothing but the genuine
// token and QR content verifies.
func FuzzVerificationInput(f *testing.F) {
	fx := newFixture(f, sqltest.SQLite(f).DB.DB, nil)
	doc := fx.issue(f, maria, solemn())
	v := offlineVerifier(f, fx)
	qr, err := fx.svc.QRContent(f.Context(), doc)
	require.NoError(f, err)
	_, summary, _ := strings.Cut(qr, "#")
	for _, seed := range []string{doc.Code, strings.ToLower(doc.Code), qr, doc.Token, summary, "", "#", "https://x/verify?code=",
		"https://docs.example.gr/verify?code=" + doc.Code + "#a.b.c", "eyJhbGciOiJub25lIn0.e30.", doc.Token[:len(doc.Token)-2]} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if code, ok := declaration.NormalizeCode(in); ok {
			again, ok := declaration.NormalizeCode(code)
			if !ok || again != code {
				t.Fatalf("normalising %q is not stable: %q, %q", in, code, again)
			}
		}
		_, _, _ = declaration.ParseQR(in)
		if c, _, err := v.Verify(in); err == nil && (in != doc.Token || c.Code != doc.Code) {
			t.Fatalf("a token that was never issued verified: %q", in)
		}
		if s, _, err := v.VerifyQR(in); err == nil && s.Code != doc.Code {
			t.Fatalf("QR content that was never issued verified: %q", in)
		}
	})
}

// TestOfflineVerifierErrors: this package's names for the verifier refuse
// a JWK Set of too many keys as they always have, with an *Error whose
// kind is ErrTooManyKeys, before reading any key.
func TestOfflineVerifierErrors(t *testing.T) {
	jwks := `{"keys":[` + strings.Repeat(`{},`, declaration.DefaultMaxKeys) + `{}]}`
	_, err := declaration.NewOfflineVerifier("https://docs.example.gr", []byte(jwks))
	var typed *declaration.Error
	require.ErrorAs(t, err, &typed)
	assert.ErrorIs(t, err, declaration.ErrTooManyKeys)
	assert.ErrorIs(t, err, verify.ErrTooManyKeys, "one sentinel under two names")
	assert.Equal(t, "more than 64 keys", typed.Detail)
	_, err = declaration.NewOfflineVerifier("https://docs.example.gr", []byte(jwks), declaration.WithMaxKeys(65))
	assert.ErrorContains(t, err, "JWK", "within the limit, the keys are read, and these are empty")
}

// TestOfflineVerifierOptions: an option of the signing keys given to the
// verifier is refused, not ignored.
func TestOfflineVerifierOptions(t *testing.T) {
	_, err := declaration.NewOfflineVerifier("https://docs.example.gr", []byte(`{"keys":[]}`), declaration.WithDBTimeout(time.Second))
	assert.ErrorIs(t, err, declaration.ErrOption)
	assert.ErrorContains(t, err, "NewOfflineVerifier does not take WithDBTimeout")
	_, err = declaration.NewOfflineVerifier("https://docs.example.gr", []byte(`{"keys":[]}`), declaration.WithMaxKeys(3), declaration.WithClock(time.Now))
	assert.NotErrorIs(t, err, declaration.ErrOption, "its own options pass; the empty set is what is refused")
}
