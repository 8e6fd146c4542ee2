package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/kek"
	"github.com/egovkit/egovkit/sms"
	"github.com/egovkit/egovkit/sqldb"
)

func ExampleHashPassword() {
	stored, err := auth.HashPassword("correct horse battery staple", auth.DefaultPasswordParams)
	if err != nil {
		panic(err)
	}
	ok, needsRehash, err := auth.VerifyPassword("correct horse battery staple", stored, auth.DefaultPasswordParams)
	fmt.Println(ok, needsRehash, err)
	ok, _, _ = auth.VerifyPassword("Correct horse battery staple", stored, auth.DefaultPasswordParams)
	fmt.Println(ok)
	// Output:
	// true false <nil>
	// false
}

func ExampleTOTP() {
	// The RFC 6238 test secret; real secrets come from auth.NewTOTPSecret.
	otp := auth.TOTP{Secret: []byte("12345678901234567890"), Digits: 8}
	at := time.Unix(1111111109, 0)
	code, _ := otp.Code(at)
	fmt.Println(code)

	step, ok := otp.Verify(code, at.Add(20*time.Second), 1)
	fmt.Println(ok, step) // remember step: codes of this period or earlier must be refused from now on
	// Output:
	// 07081804
	// true 37037036
}

// ExampleNewProvider wires a citizen realm on SQLite and reads its
// discovery document, as a relying party would.
func ExampleNewProvider() {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite::memory:", nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	key, _ := kek.Generate() // kept outside the database (see package kek)
	signing, err := auth.NewSigningKeys(ctx, db, "auth/citizen", key)
	if err != nil {
		panic(err)
	}
	clients, _ := auth.NewClientRegistry(ctx, db, "citizen")
	accounts, _ := auth.NewAccounts(ctx, db)
	codes, _ := auth.NewCodeStore(ctx, db, "citizen")
	gateway := &sms.Outbox{} // an sms.Webhook to the SMS gateway in production
	sms, _ := auth.NewOneTimeCodes(ctx, db, bytes.Repeat([]byte{7}, 32), gateway)
	contacts, _ := auth.NewContactRegistry(ctx, db, sms, gateway)

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	p, err := auth.NewProvider(ctx, auth.ProviderConfig{
		Issuer: srv.URL + "/auth/citizen", Realm: "citizen", Keys: signing, Clients: clients,
		Codes: codes, Accounts: accounts, OneTimeCodes: sms, Contacts: contacts,
	})
	if err != nil {
		panic(err)
	}
	mux.Handle("/auth/citizen/", http.StripPrefix("/auth/citizen", p.Handler()))

	resp, err := http.Get(srv.URL + "/auth/citizen/.well-known/openid-configuration")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Authorization string   `json:"authorization_endpoint"`
		ACR           []string `json:"acr_values_supported"`
		PKCE          []string `json:"code_challenge_methods_supported"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	fmt.Println(strings.TrimPrefix(doc.Authorization, srv.URL))
	fmt.Println(doc.ACR)
	fmt.Println(doc.PKCE)
	// Output:
	// /auth/citizen/authorize
	// [http://eidas.europa.eu/LoA/low http://eidas.europa.eu/LoA/substantial]
	// [S256]
}

// A refusal that asks for a wait carries it, for the caller's own
// Retry-After or message; the kind is the same for every package.
func ExampleRateLimitError() {
	var err error = fmt.Errorf("confirm mobile: %w",
		&auth.RateLimitError{Kind: auth.ErrCodeTooSoon, RetryAfter: 42 * time.Second})

	var rl *auth.RateLimitError
	if errors.As(err, &rl) {
		fmt.Println("wait", rl.RetryAfter)
	}
	fmt.Println(errors.Is(err, auth.ErrCodeTooSoon), errors.Is(err, errkind.RateLimited))
	fmt.Println(rl.Problem().Status)
	// Output:
	// wait 42s
	// true true
	// 429
}

// Constructors given an option of another type refuse it.
func ExampleOption() {
	db, err := sqldb.Open(context.Background(), "sqlite::memory:", nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	_, err = auth.NewClientRegistry(context.Background(), db, "citizen",
		auth.WithDBTimeout(2*time.Second), auth.WithPasswordParams(auth.DefaultPasswordParams))
	fmt.Println(err)
	fmt.Println(errors.Is(err, auth.ErrOption), errors.Is(err, errkind.Invalid))
	// Output:
	// auth: NewClientRegistry does not take WithPasswordParams: auth: option not taken by this constructor
	// true true
}
