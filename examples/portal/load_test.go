package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/sqldb"
)

// BenchmarkTokenLoad is a load test against the running portal: the
// portal serves on loopback with its SQLite database, and concurrent
// clients take client_credentials tokens with private_key_jwt over HTTP.
// It reports tokens per second; the target is 2,000 on 2 cores. The client
// assertions are signed before the clock starts, as each agency system
// signs its own.
//
//	go test -run '^$' -bench TokenLoad -benchtime 20000x ./examples/portal/
func BenchmarkTokenLoad(b *testing.B) {
	dataDir := b.TempDir()
	dbURL := "sqlite:" + filepath.Join(dataDir, "egovkit.db")

	// Register a private_key_jwt client in the database the portal will
	// open (the KEK file is created by the portal on start).
	ctx := context.Background()
	db, err := sqldb.Open(ctx, dbURL, nil)
	require.NoError(b, err)
	reg, err := auth.NewClientRegistry(ctx, db, "citizen")
	require.NoError(b, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(b, err)
	pub, _ := jwk.FromRaw(key.Public())
	_ = pub.Set(jwk.KeyIDKey, "load-1")
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	raw, _ := json.Marshal(set)
	_, _, err = reg.Create(ctx, auth.Client{ID: "load-client", Name: "Load test", AuthMethod: auth.AuthPrivateKeyJWT,
		GrantTypes: []string{auth.GrantClientCredentials}, Scopes: []string{"registry:read"},
		Audience: []string{"https://registry.example.gr"}, JWKS: raw})
	require.NoError(b, err)
	require.NoError(b, db.Close())

	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(runCtx, []string{"-addr", "127.0.0.1:0", "-data", dataDir, "-db", dbURL, "-demo=false"},
			func(string) string { return "" }, io.Discard, func(a string) { addrc <- a })
	}()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a
	case err := <-done:
		b.Fatalf("portal did not start: %v", err)
	}
	tokenURL := base + "/auth/citizen/token"

	h := jws(key)
	bodies := make([]string, b.N)
	for i := range bodies {
		now := time.Now()
		tok, _ := jwt.NewBuilder().Issuer("load-client").Subject("load-client").Audience([]string{tokenURL}).
			IssuedAt(now).Expiration(now.Add(4 * time.Minute)).JwtID(fmt.Sprint("load-", i)).Build()
		signed, err := jwt.Sign(tok, h)
		require.NoError(b, err)
		bodies[i] = url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {auth.ClientAssertionType},
			"client_assertion": {string(signed)}}.Encode()
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var next atomic.Int64
	var failed atomic.Int64
	b.SetParallelism(8) // 16 concurrent clients on 2 cores
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			resp, err := client.Post(tokenURL, "application/x-www-form-urlencoded", strings.NewReader(bodies[i]))
			if err != nil {
				failed.Add(1)
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failed.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tokens/s")
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed", f, b.N)
	}
	cancel()
	<-done
}

func jws(key *ecdsa.PrivateKey) jwt.SignOption { return jwt.WithKey(jwa.ES256, key) }
