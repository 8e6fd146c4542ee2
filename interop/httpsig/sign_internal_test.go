package httpsig

import (
	"bufio"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// referenceSign is the plain construction Sign must agree with, byte for
// byte: the parameters as structured-field values, the signature base by
// signatureBase (the verifier's own), and both fields written as
// dictionaries with any member of the same label replaced.
func referenceSign(t *testing.T, s *Signer, r *http.Request) (base []byte, input, signature string) {
	t.Helper()
	var covered []sfItem
	for _, c := range s.components {
		covered = append(covered, sfItem{val: c.name})
	}
	for _, c := range s.ifPresent {
		msg := message{header: r.Header}
		if len(msg.lines(c.name)) > 0 {
			covered = append(covered, sfItem{val: c.name})
		}
	}
	created := s.cfg.Now().Unix()
	params := []sfParam{{key: "created", val: created}}
	if s.cfg.Expires > 0 {
		params = append(params, sfParam{key: "expires", val: created + int64(s.cfg.Expires/time.Second)})
	}
	params = append(params, sfParam{key: "keyid", val: s.cfg.KeyID})
	if !s.cfg.OmitAlg {
		params = append(params, sfParam{key: "alg", val: string(s.alg)})
	}
	if n := s.cfg.Nonce(); n != "" {
		params = append(params, sfParam{key: "nonce", val: n})
	}
	if s.cfg.Tag != "" {
		params = append(params, sfParam{key: "tag", val: s.cfg.Tag})
	}
	msg := requestMessage(r)
	base, _, err := signatureBase(&msg, covered, params)
	require.NoError(t, err)
	sig, err := s.sign(base)
	require.NoError(t, err)
	set := func(name string, m sfMember) string {
		var members []sfMember
		if old := r.Header.Values(name); len(old) > 0 {
			members, _ = parseDictionary(strings.Join(old, ", "))
		}
		replaced := false
		for i := range members {
			if members[i].key == m.key {
				members[i], replaced = m, true
			}
		}
		if !replaced {
			members = append(members, m)
		}
		var b strings.Builder
		writeDictionary(&b, members)
		return b.String()
	}
	input = set(HeaderSignatureInput, sfMember{key: s.cfg.Label, isInner: true, inner: covered, params: params})
	signature = set(HeaderSignature, sfMember{key: s.cfg.Label, item: sfItem{val: sig}})
	return base, input, signature
}

// Sign writes the signature base and both fields directly into a reused
// buffer; for every kind of component, parameter and existing field, what
// it writes is what the structured-field construction gives, and it
// verifies.
func TestSignMatchesReferenceConstruction(t *testing.T) {
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	ecPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Unix(1_790_000_000, 0)
	all := []string{"@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query", "content-digest", "x-road-client", "x-road-id"}

	configs := map[string]SignerConfig{
		"gateway": {KeyID: "gw-1", IfPresent: GatewayOptionalComponents()},
		"every derived component": {KeyID: `k"ey\1`, Components: all, IfPresent: []string{"X-Multi", "x-folded", "x-odd-case"},
			Label: "proxy", Tag: "egovkit", Expires: 90 * time.Second},
		"no alg, no nonce": {KeyID: "k", OmitAlg: true, Components: []string{"@method", "@path"}, Nonce: func() string { return "" }},
		"quoted nonce":     {KeyID: "k", Components: []string{"@query"}, Nonce: func() string { return `n"o\nce` }},
	}
	requests := map[string]func() *http.Request{
		"query": func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "https://Registry.Example:443/r1/persons/find?year=2026&x=%20", strings.NewReader(`{"a":1}`))
			return r
		},
		"no query, default http port": func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://registry.example:80/a%2Fb/c", nil)
			return r
		},
		"empty query kept": func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://registry.example:8080/?", nil)
			return r
		},
		"as received": func() *http.Request {
			r, _ := http.ReadRequest(bufio.NewReader(strings.NewReader("GET /x/y?q=1 HTTP/1.1\r\nHost: Svc.Internal\r\n\r\n")))
			return r
		},
		"signatures already there": func() *http.Request {
			r, _ := http.NewRequest(http.MethodDelete, "https://registry.example/z", nil)
			r.Header.Set(HeaderSignatureInput, `consumer=("@method");created=1, sig1=("@path");created=2, proxy=();created=3`)
			r.Header.Set(HeaderSignature, `consumer=:AAAA:, sig1=:BBBB:, proxy=:CCCC:`)
			return r
		},
		"malformed signature fields": func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "https://registry.example/z", nil)
			r.Header.Set(HeaderSignatureInput, `((( not a dictionary`)
			r.Header.Set(HeaderSignature, `sig1=`)
			return r
		},
	}
	for cname, cfg := range configs {
		for kname, key := range map[string]crypto.Signer{"ed25519": edPriv, "ecdsa": ecPriv} {
			for rname, mk := range requests {
				t.Run(cname+"/"+kname+"/"+rname, func(t *testing.T) {
					cfg := cfg
					cfg.Key = key
					cfg.Now = func() time.Time { return now }
					if cfg.Nonce == nil {
						cfg.Nonce = func() string { return "fixed-nonce_1" }
					}
					s, err := NewSigner(cfg)
					require.NoError(t, err)
					r := mk()
					r.Header.Set("X-Road-Client", " GR/GOV/EL-123/portal\t")
					r.Header.Set("X-Road-Id", "id-1")
					r.Header.Set("Egovkit-Consent-Id", "c-42")
					r.Header["X-Multi"] = []string{"a", " b ", "c"}
					r.Header["X-Folded"] = []string{"one\r\n two"}
					r.Header["x-odd-case"] = []string{"set without canonical key"}
					if cname == "every derived component" || r.Body == nil || r.Body == http.NoBody {
						r.Header.Set(HeaderContentDigest, "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:")
					}
					require.NoError(t, s.ensureDigest(r))
					wantBase, wantInput, wantSig := referenceSign(t, s, r)

					require.NoError(t, s.Sign(r))
					assert.Equal(t, wantInput, r.Header.Get(HeaderSignatureInput))
					if kname == "ed25519" { // deterministic: the same base gives the same signature
						assert.Equal(t, wantSig, r.Header.Get(HeaderSignature))
					}
					// The verifier rebuilds the base from the request and the
					// Signature-Input written: it is the reference base, and the
					// signature over it holds.
					in, err := parseDictionary(r.Header.Get(HeaderSignatureInput))
					require.NoError(t, err)
					var mine sfMember
					for _, m := range in {
						if m.key == s.cfg.Label {
							mine = m
						}
					}
					msg := requestMessage(r)
					base, _, err := signatureBase(&msg, mine.inner, mine.params)
					require.NoError(t, err)
					assert.Equal(t, string(wantBase), string(base))
					sigs, err := parseDictionary(r.Header.Get(HeaderSignature))
					require.NoError(t, err)
					for _, m := range sigs {
						if m.key == s.cfg.Label {
							assert.True(t, verifySignature(key.Public(), base, m.item.val.([]byte)))
						}
					}
				})
			}
		}
	}
}
