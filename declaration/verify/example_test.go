package verify_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"strings"

	"github.com/egovkit/egovkit/declaration/verify"
)

// An office checks the QR code of a printed declaration with the issuer's
// published keys alone. Here the issuer's side (a declaration.Service) is
// played by issuerQR, which signs a summary as the service does.
func ExampleVerifier_VerifyQR() {
	jwks, qr := issuerQR()

	// Once per key set (fetched from the issuer's jwks.json beforehand):
	v, err := verify.New("https://docs.example.gr", jwks)
	if err != nil {
		log.Fatal(err)
	}
	// For every scanned code:
	s, status, err := v.VerifyQR(qr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(status, s.Protocol, s.Declarant.Name)
	// A look-alike address with a genuine summary is refused.
	_, _, err = v.VerifyQR(strings.Replace(qr, "docs.example.gr", "docs.example.gr.evil.example", 1))
	fmt.Println(err != nil)
	// Output:
	// valid 2026/000123 Μαρία Παπαδοπούλου
	// true
}

// issuerQR returns an issuer's JWK Set of one Ed25519 key and the content
// of a QR code it signed with it.
func issuerQR() (jwks []byte, qr string) {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	enc := base64.RawURLEncoding.EncodeToString
	jwks = fmt.Appendf(nil, `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"EdDSA","x":%q}]}`,
		enc(priv.Public().(ed25519.PublicKey)))
	code := "7KQM-2XPA-9HTR-4WNC-8DFE"
	payload, _ := json.Marshal(verify.Summary{
		Stamp: verify.Stamp{Issuer: "https://docs.example.gr", ID: "d1", IssuedAt: 1780000000,
			IssuerName: "gov.gr", Kind: "solemn_declaration", Protocol: "2026/000123", Code: code},
		Declarant: verify.Party{AFM: "090000045", Name: "Μαρία Παπαδοπούλου"},
	})
	input := enc([]byte(`{"alg":"EdDSA","kid":"k1","typ":"`+verify.QRTokenType+`"}`)) + "." + enc(payload)
	return jwks, "https://docs.example.gr/verify?code=" + code + "#" + input + "." + enc(ed25519.Sign(priv, []byte(input)))
}
