// Command procedures-only is an agency's registry of administrative
// procedures built on package procedures and nothing else of egovkit: the
// public catalogue pages in Greek and English, which serve their own
// stylesheet, and the JSON API, seeded on first run with the package's
// sample procedures. With -search (the default) the catalogue and the API
// search with the full-text index of procedures/search; with -search=false
// the catalogue lists the procedures with its filters and no search box.
//
//	go run ./examples/procedures-only                 # http://127.0.0.1:8082/procedures/
//	go run ./examples/procedures-only -search=false
//	go run ./examples/procedures-only -db postgres://postgres@127.0.0.1/agency
//
//	curl http://127.0.0.1:8082/procedures/api/procedures
//	curl 'http://127.0.0.1:8082/procedures/api/search?q=δήλωση'
//
// A program that never searches leaves the import of procedures/search out
// and builds without its engine (bleve), a far smaller binary.
//
// It keeps its SQLite database in the data directory (-data, created on
// first run) unless -db names another, and stops gracefully on SIGINT or
// SIGTERM. Editing the registry (drafts, approval, publication) takes
// civil servants signed in with their roles, which this example leaves out:
// see examples/portal for a workspace behind auth/rp.
package main

import (
	"context"
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

	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/procedures/search"
	"github.com/egovkit/egovkit/sqldb"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "address to listen on")
	data := flag.String("data", "procedures-data", "data directory, created on first run")
	dbURL := flag.String("db", "", "database URL (sqlite:PATH or postgres://…); empty means sqlite:<data>/registry.db")
	withSearch := flag.Bool("search", true, "search with the full-text index of procedures/search")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log, _ := zap.NewProduction()
	if err := run(ctx, log, *addr, *data, *dbURL, *withSearch); err != nil {
		log.Error("procedures-only", zap.Error(err))
		os.Exit(1)
	}
}

func run(ctx context.Context, log *zap.Logger, addr, data, dbURL string, withSearch bool) error {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(data, "registry.db")
	}
	db, err := sqldb.Open(ctx, dbURL, nil)
	if err != nil {
		return err
	}
	defer db.Close()

	reg, err := procedures.NewRegistry(ctx, db, procedures.WithLogger(log))
	if err != nil {
		return err
	}
	// The samples are published on first run; a procedure already in the
	// registry is left as it is.
	var samples [][]byte
	for _, doc := range procedures.Samples() {
		samples = append(samples, doc)
	}
	n, err := reg.ImportPublished(ctx, "egovkit sample procedures", samples)
	if err != nil {
		return err
	}
	log.Info("sample procedures", zap.Int("imported", n))

	// A nil Searcher leaves search out of the pages and the API.
	var index procedures.Searcher
	if withSearch {
		idx, err := search.New(ctx, reg, search.WithLogger(log))
		if err != nil {
			return err
		}
		idx.StartRefresh(5 * time.Second) // what other instances publish
		defer idx.Close()
		index = idx
	}

	api, err := procedures.APIHandler(procedures.APIConfig{Registry: reg, Index: index, Logger: log})
	if err != nil {
		return err
	}
	pages, err := procedures.PagesHandler(procedures.PagesConfig{Registry: reg, Index: index, Prefix: "/procedures", Logger: log})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/procedures/api/", http.StripPrefix("/procedures/api", api))
	mux.Handle("/procedures/", http.StripPrefix("/procedures", pages)) // with its stylesheet, at /procedures/static/…
	mux.Handle("GET /{$}", http.RedirectHandler("/procedures/", http.StatusSeeOther))
	return serve(ctx, log, addr, mux)
}

// serve answers on addr until ctx ends, then lets requests under way
// finish for up to ten seconds.
func serve(ctx context.Context, log *zap.Logger, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
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
