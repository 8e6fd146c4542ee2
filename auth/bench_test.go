package auth_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

const benchIssuer = "https://id.example.gr/auth/citizen"

// benchProvider is a citizen-realm provider on a fresh SQLite database.
func benchProvider(b *testing.B) (*auth.ClientRegistry, *keys.Manager, http.Handler) {
	reg, ks, h, _ := benchProviderDB(b)
	return reg, ks, h
}

// benchProviderDB is benchProvider with its database, for benchmarks
// that fill its tables.
func benchProviderDB(b *testing.B) (*auth.ClientRegistry, *keys.Manager, http.Handler, *sqltest.DB) {
	b.Helper()
	db := sqltest.SQLite(b)
	ctx := context.Background()
	reg, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen")
	require.NoError(b, err)
	kek, _ := keys.GenerateKEK()
	ks, err := keys.New(ctx, db.DB.DB, "auth/citizen", kek)
	require.NoError(b, err)
	p, err := auth.NewProvider(ctx, auth.ProviderConfig{Issuer: benchIssuer, Keys: ks, Clients: reg})
	require.NoError(b, err)
	return reg, ks, p.Handler(), db
}

// fillRows grows a table of the provider's to size rows by the statement
// insert, which takes the row's number; in transactions of 10,000 rows
// (each within the database deadline).
func fillRows(b *testing.B, db *sqltest.DB, have *int, size int, insert string) {
	for *have < size {
		to := min(size, *have+10_000)
		require.NoError(b, db.Tx(context.Background(), func(tx *sql.Tx) error {
			st, err := tx.Prepare(insert)
			if err != nil {
				return err
			}
			defer st.Close()
			for n := *have; n < to; n++ {
				if _, err := st.Exec(n); err != nil {
					return err
				}
			}
			return nil
		}))
		*have = to
	}
}

// BenchmarkClientCredentials issues access tokens through the token
// endpoint on SQLite: parse the form, verify the client's private_key_jwt
// assertion against its registered key, record its jti, sign an RFC 9068
// access token. Beside it, in the same run, the floor: verifying the
// assertion (jwt.Parse with the client's key) and signing the token with
// the provider's own key set, nothing else. The assertions are made before
// the timer starts, as clients make them. Each runs on one goroutine and
// on parallel ones (b.RunParallel, as many as -cpu says): on 2 cores the
// parallel figure should be half the single one when nothing serialises
// the requests.
//
//	go test -run '^$' -bench ClientCredentials -benchmem -benchtime 3000x -count 5 ./auth/
func BenchmarkClientCredentials(b *testing.B) {
	ctx := context.Background()
	reg, ks, h, db := benchProviderDB(b)
	jc := newJWTClient(b, "tax-system")
	_, _, err := reg.Create(ctx, jc.client)
	require.NoError(b, err)

	var seq atomic.Int64
	assertions := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			now := time.Now()
			tok, _ := jwt.NewBuilder().Issuer(jc.client.ID).Subject(jc.client.ID).Audience([]string{benchIssuer + "/token"}).
				IssuedAt(now).Expiration(now.Add(time.Minute)).JwtID(fmt.Sprint("bench-", seq.Add(1))).Build()
			s, _ := jwt.Sign(tok, jwt.WithKey(jwa.ES256, jc.key))
			out[i] = string(s)
		}
		return out
	}
	endpoint := func(parallel bool) func(*testing.B) {
		return func(b *testing.B) {
			bodies := assertions(b.N)
			for i, a := range bodies {
				bodies[i] = url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {auth.ClientAssertionType},
					"client_assertion": {a}}.Encode()
			}
			var cursor atomic.Int64
			run(b, parallel, func(next func() bool) {
				for next() {
					r := httptest.NewRequest("POST", "/token", strings.NewReader(bodies[cursor.Add(1)-1]))
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Fatal(w.Code, w.Body.String())
					}
				}
			})
		}
	}
	floor := func(parallel bool) func(*testing.B) {
		return func(b *testing.B) {
			all := assertions(b.N)
			var cursor atomic.Int64
			run(b, parallel, func(next func() bool) {
				for next() {
					if _, err := jwt.ParseString(all[cursor.Add(1)-1], jwt.WithKey(jwa.ES256, jc.key.Public())); err != nil {
						b.Fatal(err)
					}
					tok, _ := jwt.NewBuilder().Issuer(benchIssuer).Subject("tax-system").Audience(jc.client.Audience).
						Expiration(time.Now().Add(10 * time.Minute)).Build()
					if _, err := ks.SignJWT(ctx, tok, keys.WithType("at+jwt")); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	b.Run("paired", func(b *testing.B) {
		bodies, floors := assertions(b.N), assertions(b.N)
		for i, a := range bodies {
			bodies[i] = url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {auth.ClientAssertionType},
				"client_assertion": {a}}.Encode()
		}
		paired(b, func(i int) {
			r := httptest.NewRequest("POST", "/token", strings.NewReader(bodies[i]))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Error(w.Code, w.Body.String())
			}
		}, func(i int) {
			if _, err := jwt.ParseString(floors[i], jwt.WithKey(jwa.ES256, jc.key.Public())); err != nil {
				b.Error(err)
			}
			tok, _ := jwt.NewBuilder().Issuer(benchIssuer).Subject("tax-system").Audience(jc.client.Audience).
				Expiration(time.Now().Add(10 * time.Minute)).Build()
			if _, err := ks.SignJWT(ctx, tok, keys.WithType("at+jwt")); err != nil {
				b.Error(err)
			}
		})
	})
	b.Run("token-endpoint/sqlite", endpoint(false))
	b.Run("baseline-verify-assertion+sign-token", floor(false))
	b.Run("token-endpoint/sqlite/parallel", endpoint(true))
	b.Run("baseline-verify-assertion+sign-token/parallel", floor(true))
	// The recorded assertion ids, which the replay check looks up and
	// adds to, at two sizes: a client's ids are kept until they expire.
	have := 0
	for _, size := range []int{1_000, 100_000} {
		fillRows(b, db, &have, size, `INSERT INTO auth_client_assertions (realm, client_id, jti, expires_at)
			VALUES ('citizen', 'tax-system', 'old-' || CAST($1 AS TEXT), 9000000000000000)`)
		b.Run(fmt.Sprintf("assertions=%d/token-endpoint/sqlite/parallel", size), endpoint(true))
	}
}

// BenchmarkIntrospection introspects access tokens through the endpoint on
// SQLite, from parallel callers (a resource server authenticating with
// HTTP Basic): client lookup, signature and claims check, revocation
// lookup. Every call introspects a token the provider has not seen before,
// as when each request to a resource server carries a new caller's token;
// the tokens are issued before the timer starts. Beside it, in the same
// run, the floor: the provider's own key set verifying the signature of
// tokens of the same kind, in parallel too. Target: 20,000 per second on
// 2 cores.
//
//	go test -run '^$' -bench Introspection -benchmem -benchtime 4000x -count 5 ./auth/
func BenchmarkIntrospection(b *testing.B) {
	ctx := context.Background()
	reg, ks, h, db := benchProviderDB(b)
	_, secret, err := reg.Create(ctx, webClient())
	require.NoError(b, err)
	api := registryAPI()
	api.ResourceServer = "https://agency.example.gr/api"
	_, apiSecret, err := reg.Create(ctx, api)
	require.NoError(b, err)

	// issue takes n fresh access tokens from the token endpoint.
	issue := func(n int) []string {
		out := make([]string, n)
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Go(func() {
				for i := w; i < n; i += 2 {
					r := httptest.NewRequest("POST", "/token", strings.NewReader("grant_type=client_credentials"))
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					r.SetBasicAuth("demo-agency", secret)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, r)
					var tr auth.TokenResponse
					if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &tr) != nil {
						panic(rec.Body.String())
					}
					out[i] = tr.AccessToken
				}
			})
		}
		wg.Wait()
		return out
	}

	fresh := func(b *testing.B) {
		bodies := make([]string, b.N)
		for i, t := range issue(b.N) {
			bodies[i] = url.Values{"token": {t}}.Encode()
		}
		var cursor atomic.Int64
		run(b, true, func(next func() bool) {
			for next() {
				r := httptest.NewRequest("POST", "/introspect", strings.NewReader(bodies[cursor.Add(1)-1]))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.SetBasicAuth("registry-api", apiSecret)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 || !strings.Contains(w.Body.String(), `"active":true`) {
					b.Fatal(w.Code, w.Body.String())
				}
			}
		})
	}
	b.Run("introspection-endpoint/sqlite/parallel/fresh-tokens", fresh)
	b.Run("paired", func(b *testing.B) {
		all := issue(2 * b.N)
		bodies, tokens := make([]string, b.N), make([][]byte, b.N)
		for i := range b.N {
			bodies[i], tokens[i] = url.Values{"token": {all[i]}}.Encode(), []byte(all[b.N+i])
		}
		paired(b, func(i int) {
			r := httptest.NewRequest("POST", "/introspect", strings.NewReader(bodies[i]))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.SetBasicAuth("registry-api", apiSecret)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 || !strings.Contains(w.Body.String(), `"active":true`) {
				b.Error(w.Code, w.Body.String())
			}
		}, func(i int) {
			if _, err := ks.Verify(ctx, tokens[i]); err != nil {
				b.Error(err)
			}
		})
	})
	b.Run("baseline-verify-signature/parallel", func(b *testing.B) {
		tokens := make([][]byte, b.N)
		for i, t := range issue(b.N) {
			tokens[i] = []byte(t)
		}
		var cursor atomic.Int64
		run(b, true, func(next func() bool) {
			for next() {
				if _, err := ks.Verify(ctx, tokens[cursor.Add(1)-1]); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	// The revoked tokens, which every introspection looks up, at two
	// sizes: revocations are kept until the tokens expire.
	have := 0
	for _, size := range []int{1_000, 100_000} {
		fillRows(b, db, &have, size, `INSERT INTO auth_revoked_tokens (realm, jti, client_id, expires_at, revoked_at)
			VALUES ('citizen', 'revoked-' || CAST($1 AS TEXT), 'demo-agency', 9000000000000000, 0)`)
		b.Run(fmt.Sprintf("revoked=%d/introspection-endpoint/sqlite/parallel/fresh-tokens", size), fresh)
	}
}

// run runs body on parallel goroutines (b.RunParallel), or on one when
// parallel is false, and reports, beside the wall-clock time, the CPU time
// the process used per operation (cpu-ns/op, the garbage collector's work
// included). On a machine shared with other work the wall-clock figure
// moves with the others' load; the CPU time, and its ratio to a
// baseline's, much less.
func run(b *testing.B, parallel bool, body func(next func() bool)) {
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	if parallel {
		b.RunParallel(func(pb *testing.PB) { body(pb.Next) })
	} else {
		i := 0
		body(func() bool { i++; return i <= b.N })
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// paired runs subject and floor b.N times each, in turns of 16 calls of
// one then 16 of the other, each turn spread over GOMAXPROCS goroutines,
// and reports the CPU time per call of each (subject-cpu-ns/op,
// floor-cpu-ns/op) and their ratio, and the ratio of wall-clock times.
// Taken turn by turn, both meet the same load from the machine's other
// work, which moves the figures of separate benchmarks by a factor of two
// on a shared machine.
func paired(b *testing.B, subject, floor func(i int)) {
	const turn = 16
	workers := runtime.GOMAXPROCS(0)
	spread := func(f func(int), from, to int) {
		var wg sync.WaitGroup
		var next atomic.Int64
		next.Store(int64(from))
		for range workers {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < to; i = int(next.Add(1) - 1) {
					f(i)
				}
			})
		}
		wg.Wait()
	}
	var subjectCPU, floorCPU, subjectWall, floorWall time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for from := 0; from < b.N; from += turn {
		to := min(from+turn, b.N)
		c0, w0 := cpuTime(), time.Now()
		spread(subject, from, to)
		c1, w1 := cpuTime(), time.Now()
		spread(floor, from, to)
		c2, w2 := cpuTime(), time.Now()
		subjectCPU, floorCPU = subjectCPU+c1-c0, floorCPU+c2-c1
		subjectWall, floorWall = subjectWall+w1.Sub(w0), floorWall+w2.Sub(w1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(subjectCPU)/n, "subject-cpu-ns/op")
	b.ReportMetric(float64(floorCPU)/n, "floor-cpu-ns/op")
	b.ReportMetric(float64(subjectCPU)/float64(floorCPU), "cpu-ratio")
	b.ReportMetric(float64(subjectWall)/float64(floorWall), "wall-ratio")
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
