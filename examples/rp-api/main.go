// Command rp-api is an agency's own JSON API protected by auth/rp: it
// takes the access tokens an egovkit provider (the portal's, or any
// OpenID provider issuing RFC 9068 access tokens) issues for it, and
// nothing else of egovkit's sign-in runs in it. Each route asks for what it
// needs: a token issued for this API (its audience), a scope, and, to
// write, the level of assurance of a password and a one-time code.
//
//	go run ./examples/portal -demo &                  # the provider, at http://127.0.0.1:8080
//	go run ./examples/rp-api -issuer http://127.0.0.1:8080/auth/citizen
//
//	GET  /api/applications  scope permits:read                           the caller's applications
//	POST /api/applications  scope permits:write, LoA substantial         {"kind": "parking"}
//	GET  /openapi.json      no token                                     this API, described (OpenAPI 3.1)
//
// A request without a token, or with one issued for another service, is
// refused 401 invalid_token; a missing scope 403 insufficient_scope; a write
// at a lower level of assurance 401 insufficient_user_authentication with
// the acr_values to step up to (RFC 6750, RFC 9470); every refusal is an
// RFC 9457 problem (application/problem+json). The provider's keys are
// fetched from its discovery document on the first request, so the API
// starts while the provider is away.
//
// To call it, register a client in the provider's realm whose audience is
// this API (-audience, by default http://<listening address>/api) and
// whose scopes include permits:read and permits:write, and ask for them at
// sign-in or with the client_credentials grant.
//
// It keeps the applications in a SQLite database in the data directory
// (-data, created on first run) unless -db names another, and stops
// gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/problem"
	"github.com/egovkit/egovkit/sqldb"
)

// apiDoc describes the API; the provider's discovery URL is filled in at
// start.
//
//go:embed openapi.json
var apiDoc []byte

// The scopes this API asks of tokens.
const (
	scopeRead  = "permits:read"
	scopeWrite = "permits:write"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8083", "address to listen on")
	data := flag.String("data", "rp-api-data", "data directory, created on first run")
	dbURL := flag.String("db", "", "database URL (sqlite:PATH or postgres://…); empty means sqlite:<data>/permits.db")
	issuer := flag.String("issuer", "", "issuer URL of the OpenID provider whose access tokens are accepted, such as http://127.0.0.1:8080/auth/citizen")
	audience := flag.String("audience", "", "this API's identifier, which tokens must be issued for; empty means http://<listening address>/api")
	jwksURL := flag.String("jwks-url", "", "where the provider publishes its keys; empty means its discovery document's jwks_uri")
	flag.Parse()
	if *issuer == "" {
		fmt.Fprintln(os.Stderr, "rp-api: -issuer is required")
		flag.Usage()
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log, _ := zap.NewProduction()
	if err := run(ctx, log, *addr, *data, *dbURL, rp.Config{Issuer: *issuer, Audience: *audience, JWKSURL: *jwksURL}); err != nil {
		log.Error("rp-api", zap.Error(err))
		os.Exit(1)
	}
}

func run(ctx context.Context, log *zap.Logger, addr, data, dbURL string, cfg rp.Config) error {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(data, "permits.db")
	}
	db, err := sqldb.Open(ctx, dbURL, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS permit_applications (
		id TEXT PRIMARY KEY, subject TEXT NOT NULL, kind TEXT NOT NULL, created_at TEXT NOT NULL)`); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if cfg.Audience == "" {
		cfg.Audience = fmt.Sprintf("http://%s/api", ln.Addr())
	}
	cfg.Logger = log
	v, err := rp.NewVerifier(cfg)
	if err != nil {
		return err
	}
	read := v.Middleware(rp.RequireScopes(scopeRead))
	write := v.Middleware(rp.RequireScopes(scopeWrite), rp.RequireACR(rp.LoASubstantial))
	mux := http.NewServeMux()
	mux.Handle("GET /api/applications", read(listApplications(db)))
	mux.Handle("POST /api/applications", write(apply(db)))
	doc, err := describe(cfg.Issuer)
	if err != nil {
		return err
	}
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	})
	log.Info("accepting tokens", zap.String("issuer", cfg.Issuer), zap.String("audience", cfg.Audience))
	return serve(ctx, log, ln, mux)
}

// describe returns the OpenAPI document with the provider's discovery
// document as where clients find how to get tokens.
func describe(issuer string) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(apiDoc, &doc); err != nil {
		return nil, err
	}
	scheme := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)["provider"].(map[string]any)
	scheme["openIdConnectUrl"] = issuer + "/.well-known/openid-configuration"
	return json.MarshalIndent(doc, "", "  ")
}

type application struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
}

// listApplications answers the applications of whoever the token speaks
// for.
func listApplications(db *sql.DB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := rp.FromContext(r.Context())
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		rows, err := db.QueryContext(ctx, `SELECT id, kind, created_at FROM permit_applications WHERE subject = $1 ORDER BY created_at, id`, id.Subject)
		if err != nil {
			unavailable(w)
			return
		}
		defer rows.Close()
		list := []application{}
		for rows.Next() {
			var a application
			var created string
			if err := rows.Scan(&a.ID, &a.Kind, &created); err != nil {
				unavailable(w)
				return
			}
			a.CreatedAt, _ = time.Parse(time.RFC3339, created)
			list = append(list, a)
		}
		if rows.Err() != nil {
			unavailable(w)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"subject": id.Subject, "applications": list})
	})
}

// apply records an application for a permit of a known kind.
func apply(db *sql.DB) http.Handler {
	kinds := map[string]bool{"parking": true, "street_trading": true, "building": true}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := rp.FromContext(r.Context())
		var req struct {
			Kind string `json:"kind"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeProblem(w, problem.New(problem.TypeBadRequest, http.StatusBadRequest, `the body is not a JSON object {"kind": …}`))
			return
		}
		if !kinds[req.Kind] {
			p := problem.New(problem.TypeValidation, http.StatusUnprocessableEntity, "unknown kind of permit")
			p.Errors = []problem.FieldError{{Pointer: "/kind", Detail: "one of parking, street_trading, building"}}
			writeProblem(w, p)
			return
		}
		a := application{ID: rand.Text(), Kind: req.Kind, CreatedAt: time.Now().UTC().Truncate(time.Second)}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, `INSERT INTO permit_applications (id, subject, kind, created_at) VALUES ($1, $2, $3, $4)`,
			a.ID, id.Subject, a.Kind, a.CreatedAt.Format(time.RFC3339)); err != nil {
			unavailable(w)
			return
		}
		writeJSON(w, http.StatusCreated, a)
	})
}

func unavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "5")
	writeProblem(w, problem.New(problem.TypeUnavailable, http.StatusServiceUnavailable, "the database did not answer; try again shortly"))
}

func writeProblem(w http.ResponseWriter, p *problem.Problem) {
	w.Header().Set("Content-Type", problem.ContentType)
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// serve answers on ln until ctx ends, then lets requests under way finish
// for up to ten seconds.
func serve(ctx context.Context, log *zap.Logger, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", zap.String("url", fmt.Sprintf("http://%s/", ln.Addr())))
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(stopCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
