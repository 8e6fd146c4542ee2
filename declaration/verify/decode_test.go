package verify

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// payloads are what a Service signs (a solemn declaration, an
// authorization with a grantee, an end date and template fields, a QR
// summary) and variants of them that probe what encoding/json accepts,
// refuses and how it fills the claims: unknown and duplicate names, names
// in other cases, nulls, wrong types, odd numbers and times, invalid
// UTF-8, escapes and data after the object.
func payloads(t testing.TB) []string {
	t.Helper()
	claims := Claims{
		Stamp: Stamp{Issuer: "https://docs.example.gr", ID: "5KKDJYWCWTWMVD46WPT5WBUHCN", IssuedAt: 1795341600,
			Expiry: 1798000000, IssuerName: "gov.gr", Kind: "authorization", Protocol: "2026/000001",
			Code: "SJ6Z-D3FN-FN5Y-QB2W-4NWX"},
		Declarant: Person{AFM: "123456783", GivenName: "Μαρία", FamilyName: "Παπαδοπούλου",
			FatherName: "Γεώργιος", MotherName: "Ελένη", BirthDate: "1985-03-15", IDCard: "ΑΚ 123456"},
		Content: Draft{Kind: "authorization", Lang: "el", Recipient: "Δήμος Αθηναίων",
			Text: "Γραμμή 1\nΓραμμή «2» \"3\" \\ / \t é <b>&</b>", Grantee: &Party{AFM: "987654321", Name: "Νίκος"},
			ValidUntil: time.Date(2026, 12, 31, 23, 59, 59, 0, time.FixedZone("", 2*3600)),
			Template:   "parking", Fields: json.RawMessage(`{"plate": "ΙΚΥ-1234", "n": [1, 2.5e3, null]}`)},
		Statutory: "Με ατομική μου ευθύνη",
		StatusURL: "https://docs.example.gr/verify?code=SJ6Z-D3FN-FN5Y-QB2W-4NWX",
	}
	full, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	summary, err := json.Marshal(Summary{Stamp: claims.Stamp, Declarant: Party{AFM: "123456783", Name: "Μαρία Π."},
		Grantee: claims.Content.Grantee, Recipient: "Δήμος", TokenSHA256: TokenSHA256("x")})
	if err != nil {
		t.Fatal(err)
	}
	stamp := `"iss":"https://docs.example.gr","jti":"J","iat":1795341600,"issuer_name":"gov.gr","kind":"solemn_declaration","protocol":"2026/000001","code":"C"`
	p := []string{string(full), string(summary), "{" + stamp + "}",
		// Unknown names, at the top and inside.
		`{"iss":"i","other":{"a":[1,{"b":null}]},"declarant":{"afm":"1","x":true}}`,
		// Duplicates: the last wins; an object after an object, or null
		// after a value.
		`{"iss":"a","iss":"b"}`, `{"iat":1,"iat":2}`,
		`{"declarant":{"afm":"1","given_name":"A"},"declarant":{"afm":"2"}}`,
		`{"content":{"grantee":{"afm":"1","name":"N"}},"content":{"grantee":{"afm":"2"}}}`,
		`{"content":{"grantee":{"afm":"1"}},"content":{"grantee":null}}`,
		`{"iss":"a","iss":null}`, `{"iat":5,"iat":null}`, `{"declarant":{"afm":"1"},"declarant":null}`,
		`{"content":{"fields":{"a":1}},"content":{"fields":null}}`,
		`{"content":{"valid_until":"2026-01-01T00:00:00Z"},"content":{"valid_until":null}}`,
		`{"content":{"fields":[1]},"content":{"fields":{"b":2}}}`,
		// Names in other cases, with other delimiters, or folded.
		`{"ISS":"a"}`, `{"Iss":"a","iss":"b"}`, `{"iss":"b","ISS":"a"}`, `{"Issuer_Name":"g"}`,
		`{"issuername":"g"}`, `{"issuer-name":"g"}`, `{"STATUS_URL":"u"}`, `{"status_url":"u","Status_URL":"v"}`,
		"{\"\u212aind\":\"k\"}", "{\"\u017ftatus_url\":\"u\"}", `{"DECLARANT":{"AFM":"1","Given_Name":"G"}}`,
		`{"Content":{"Grantee":{"Afm":"1"}}}`, `{"mobile":"6900000000","declarant":{"mobile":"69","Mobile":"1","-":"x"}}`,
		`{"Stamp":{"iss":"x"}}`, `{"token_sha256":"t","TOKEN_SHA256":"u"}`,
		// Nulls where values go.
		`{"iss":null,"iat":null,"declarant":null,"content":null,"grantee":null}`,
		`{"content":{"grantee":null,"fields":null,"valid_until":null,"text":null}}`, `null`,
		// Wrong types.
		`{"iss":1}`, `{"iss":true}`, `{"iss":[]}`, `{"iss":{}}`, `{"iat":"1"}`, `{"iat":1.5}`, `{"iat":1e3}`,
		`{"iat":1E0}`, `{"iat":-0}`, `{"iat":0.0}`, `{"iat":9223372036854775807}`, `{"iat":9223372036854775808}`,
		`{"iat":-9223372036854775808}`, `{"iat":-9223372036854775809}`, `{"iat":true}`, `{"exp":[]}`,
		`{"declarant":[]}`, `{"declarant":"x"}`, `{"declarant":1}`, `{"content":{"grantee":"x"}}`,
		`{"content":{"grantee":[]}}`, `{"content":{"fields":1}}`, `{"content":{"fields":"x"}}`,
		`{"content":{"fields":true}}`, `{"content":{"fields":[ 1 , 2 ]}}`, `{"content":{"fields": { "a" : 1 } }}`,
		`{"grantee":{"afm":1}}`, `{"declarant":{"afm":"1","name":2}}`, `[]`, `"x"`, `1`, `true`,
		// Times.
		`{"content":{"valid_until":"2026-01-01T00:00:00Z"}}`, `{"content":{"valid_until":"2026-01-01T00:00:00.123456789+02:00"}}`,
		`{"content":{"valid_until":"2026-01-01t00:00:00z"}}`, `{"content":{"valid_until":"2026-01-01T24:00:00Z"}}`,
		`{"content":{"valid_until":"2026-01-01 00:00:00Z"}}`, `{"content":{"valid_until":"2026-13-01T00:00:00Z"}}`,
		`{"content":{"valid_until":"2026-01-01T00:00:00"}}`, `{"content":{"valid_until":"2026-01-01"}}`,
		`{"content":{"valid_until":""}}`, `{"content":{"valid_until":1}}`, `{"content":{"valid_until":"0000-01-01T00:00:00Z"}}`,
		`{"content":{"valid_until":"2026-01-01T00:00:00,5Z"}}`, `{"content":{"valid_until":"2026-01-01T00:00:00+24:00"}}`,
		`{"content":{"valid_until":"2026-01-01T00:00:00+0200"}}`, `{"content":{"valid_until":"2026-01-01T00:00:00.Z"}}`,
		`{"content":{"valid_until":"+2026-01-01T00:00:00Z"}}`, `{"content":{"valid_until":"\u0032026-01-01T00:00:00Z"}}`,
		// Strings: escapes, invalid UTF-8, surrogates.
		`{"iss":"a\u00e9\n\"\\\/b"}`, "{\"iss\":\"a\xffb\"}", "{\"iss\":\"\xc3\"}", `{"iss":"\ud800"}`,
		`{"iss":"\ud83d\ude00"}`, `{"iss":"\udc00\ud800x"}`, `{"iss":"\u0000"}`, "{\"iss\":\"\x01\"}",
		`{"iss":"\x"}`, `{"iss":"\u12"}`, "{\"i\xffss\":\"a\"}", `{"\u0069ss":"a"}`,
		// Syntax and what follows the object.
		``, ` `, `{`, `{"iss"}`, `{"iss":}`, `{"iss":"a",}`, `{,}`, `{"iss":"a"}x`, `{"iss":"a"}{}`,
		`{"iss":"a"} `, " \t\r\n{\"iss\":\"a\"}\n ", `{"iss":"a"}null`, "\ufeff{}", `{"iat":01}`, `{"iat":+1}`,
		`{"iat":.5}`, `{"iat":1.}`, `{"iat":NaN}`, `{'iss':'a'}`, `{"iss":"a"}/**/`,
		strings.Repeat(`{"x":`, 10001) + "1" + strings.Repeat("}", 10001),
		`{"x":` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + "}",
	}
	return p
}

// agree decodes data with encoding/json and with decode, into fresh
// claims of both kinds, and reports any difference: one refuses what the
// other takes, or the two fill the claims differently.
func agree(t *testing.T, data []byte) {
	t.Helper()
	for _, fresh := range []func() any{func() any { return new(Claims) }, func() any { return new(Summary) }} {
		want, got := fresh(), fresh()
		wantErr, gotErr := json.Unmarshal(data, want), decode(data, got)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("%q into %T: encoding/json says %v, the verifier's decoder %v", data, want, wantErr, gotErr)
		}
		if wantErr != nil {
			continue
		}
		if c, ok := want.(*Claims); ok {
			// A time is compared as an instant and an offset (JSON
			// cannot write every offset time.Time holds), then left out.
			w, g := &c.Content.ValidUntil, &got.(*Claims).Content.ValidUntil
			_, wo := w.Zone()
			_, gotOffset := g.Zone()
			if !w.Equal(*g) || wo != gotOffset {
				t.Fatalf("%q: valid_until %v, the decoder %v", data, *w, *g)
			}
			*w, *g = time.Time{}, time.Time{}
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("%q into %T:\nencoding/json gives %+v\nthe decoder gives  %+v", data, want, want, got)
		}
	}
}

// TestDecodeAgreesWithEncodingJSON: the verifier reads the claims with
// JSON v2, set to encoding/json's semantics; on every payload here the
// two accept and refuse alike and fill the claims alike.
func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	for _, p := range payloads(t) {
		agree(t, []byte(p))
	}
}

// FuzzDecode holds the verifier's decoder to encoding/json on any payload.
func FuzzDecode(f *testing.F) {
	for _, p := range payloads(f) {
		if len(p) < 4096 {
			f.Add([]byte(p))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) { agree(t, data) })
}
