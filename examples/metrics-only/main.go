// Command metrics-only is an agency's own service that counts its
// transactions with package metrics and nothing else of egovkit: a small
// JSON API that issues certificates of residence, each one counted; the
// public statistics page, which serves its own stylesheet; the statistics
// as JSON and CSV; and the counters for Prometheus.
//
//	go run ./examples/metrics-only                    # http://127.0.0.1:8081/stats/
//	go run ./examples/metrics-only -db postgres://postgres@127.0.0.1/agency
//
//	curl -d '{"channel":"digital"}' http://127.0.0.1:8081/api/certificates
//	curl 'http://127.0.0.1:8081/stats/api/totals?kind=certificate&period=2026'
//	curl http://127.0.0.1:8081/metrics
//
// It keeps its SQLite database in the data directory (-data, created on
// first run) unless -db names another. Counts are written to the database
// every second and on SIGINT or SIGTERM, when the service stops gracefully:
// nothing counted is lost.
package main

import (
	"context"
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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/egovkit/egovkit/metrics"
	"github.com/egovkit/egovkit/problem"
	"github.com/egovkit/egovkit/sqldb"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on")
	data := flag.String("data", "metrics-data", "data directory, created on first run")
	dbURL := flag.String("db", "", "database URL (sqlite:PATH or postgres://…); empty means sqlite:<data>/agency.db")
	agency := flag.String("agency", "dimos-athinaion", "the agency label of this service's counts")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log, _ := zap.NewProduction()
	if err := run(ctx, log, *addr, *data, *dbURL, *agency); err != nil {
		log.Error("metrics-only", zap.Error(err))
		os.Exit(1)
	}
}

func run(ctx context.Context, log *zap.Logger, addr, data, dbURL, agency string) error {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(data, "agency.db")
	}
	db, err := sqldb.Open(ctx, dbURL, nil)
	if err != nil {
		return err
	}
	defer db.Close()

	// Declare the kinds this service counts with the names of their
	// labels; a certificate replaces a visit to the town hall.
	m, err := metrics.New(ctx, metrics.Config{DB: db, Logger: log, Kinds: []metrics.Kind{
		{Name: metrics.KindCertificate, Labels: []string{"agency", "channel"}, ReplacesVisit: true},
	}})
	if err != nil {
		return err
	}
	defer m.Close() // writes what is still counted in memory

	// The page is mounted below /stats/ and serves its own stylesheet
	// there, at /stats/static/….
	page, err := m.PageHandler(metrics.PageConfig{Prefix: "/stats", APIPrefix: "/stats/api/"})
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.Collector())

	mux := http.NewServeMux()
	mux.Handle("/stats/", http.StripPrefix("/stats", page))
	mux.Handle("/stats/api/", http.StripPrefix("/stats/api", m.APIHandler()))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("POST /api/certificates", issueCertificate(m, agency))
	mux.Handle("GET /{$}", http.RedirectHandler("/stats/", http.StatusSeeOther))
	return serve(ctx, log, addr, mux)
}

// issueCertificate is the agency's own transaction: it issues a
// certificate of residence, asked for through a channel, and counts it.
func issueCertificate(m *metrics.Metrics, agency string) http.Handler {
	channels := map[string]bool{metrics.ChannelDigital: true, metrics.ChannelInPerson: true,
		metrics.ChannelPhone: true, metrics.ChannelVideoCall: true}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Channel string `json:"channel"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeProblem(w, problem.New(problem.TypeBadRequest, http.StatusBadRequest, "the body is not a JSON object {\"channel\": …}"))
			return
		}
		if !channels[req.Channel] {
			p := problem.New(problem.TypeValidation, http.StatusUnprocessableEntity, "unknown channel")
			p.Errors = []problem.FieldError{{Pointer: "/channel", Detail: "one of digital, in_person, phone, video_call"}}
			writeProblem(w, p)
			return
		}
		m.Count(metrics.KindCertificate, agency, req.Channel)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]string{"kind": metrics.KindCertificate, "agency": agency, "channel": req.Channel})
	})
}

func writeProblem(w http.ResponseWriter, p *problem.Problem) {
	w.Header().Set("Content-Type", problem.ContentType)
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
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
