// Command portal runs every egovkit package on one port: the place where the
// packages are wired together. It imports public packages only (kek,
// middleware and page for what a service adds around the packages), so an
// agency can copy it as the model of wiring them into its own service.
//
//	go run ./examples/portal                      # http://127.0.0.1:8080, data in ./egovkit-data
//	go run ./examples/portal -demo                # the same, with demonstration accounts
//	go run ./examples/portal -db postgres://postgres@127.0.0.1/egovkit
//
// Demo mode (-demo, EGOVKIT_DEMO=true) creates accounts and a client whose
// passwords are published; it is off unless asked for and refused next to
// an SMS gateway or at a public URL that is not a loopback address. It
// also starts the once-only journey's agency and registry (packages
// examples/agency/agency and examples/registry/registry) in the same
// process on loopback ports of their own (-demo-agency-addr,
// -demo-registry-addr), registered at the portal, and prints their URLs.
// With -demo-citizens N it also creates N generated citizens, once, for
// loads spread over a population (examples/loadgen -citizens).
//
// On first run it creates the data directory, a SQLite database in it and a
// random key-encryption key (the file kek, mode 0600) that protects the
// signing keys stored in the database. Keep that file, or set EGOVKIT_KEK, for
// as long as the database lives: without it the stored keys cannot be used.
//
// It answers /healthz (the process is up) and /readyz (the database answers
// and can write), and stops gracefully on SIGINT or SIGTERM, finishing
// requests under way; the whole stop, closing included, takes at most the
// grace period (-shutdown-grace, 15 s), even when the database hangs.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/egovkit/egovkit/kek"
	"github.com/egovkit/egovkit/sms"
	"github.com/egovkit/egovkit/sqldb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode reports err on w and returns the exit status: 0 without an
// error, 2 for a refused command line or configuration, 1 otherwise.
// Every refusal is printed, so that a start refused for its settings
// (demo mode next to an SMS gateway, say) says why.
func exitCode(err error, w io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(w, "portal:", err)
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

var errUsage = errors.New("usage")

// shutdownGrace is the default bound on stopping after a signal (flag
// -shutdown-grace).
const shutdownGrace = 15 * time.Second

// run starts the portal and blocks until ctx ends; then it shuts down
// gracefully. ready, when not nil, is called with the listening address once
// the server accepts connections.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready func(addr string)) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, errFlagHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	log := newLogger(cfg, stderr)
	defer log.Sync() //nolint:errcheck // nothing to do about a failed flush at exit

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	key, created, err := loadOrCreateKEK(cfg)
	if err != nil {
		return err
	}
	if created {
		log.Info("generated a new key-encryption key; keep it with the database", zap.String("file", cfg.DataDir+"/kek"))
	}

	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	db, err := sqldb.Open(openCtx, cfg.DB, nil)
	cancel()
	if err != nil {
		return err
	}
	// Once shutdown has begun, it closes the app and the pool within the
	// grace period; these deferred closes cover the earlier returns.
	var stopping atomic.Bool
	defer func() {
		if !stopping.Load() {
			db.Close()
		}
	}()
	if err := kek.Check(ctx, db, key); err != nil {
		return fmt.Errorf("%w; the key-encryption key must be the one the database was created with", err)
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if cfg.Pprof != "" {
		if err := servePprof(ctx, cfg.Pprof, log); err != nil {
			return err
		}
	}
	addr := ln.Addr().String()
	base := cfg.PublicURL
	if base == "" {
		base = "http://" + addr
	}

	seal, created, err := loadPDFSigner(cfg, key)
	if err != nil {
		return err
	}
	if created {
		log.Warn("demo mode: generated a self-signed certificate to sign PDFs; set EGOVKIT_PDF_CERT and EGOVKIT_PDF_KEY on a real server",
			zap.String("file", cfg.DataDir+"/"+sealFile))
	}
	acfg := appConfig{DB: db, KEK: key, BaseURL: base, Demo: cfg.Demo, Log: log, AdminToken: cfg.AdminToken, PDFSigner: seal,
		DemoCitizens: cfg.DemoCitizens}
	if cfg.Demo {
		if acfg.Journey, err = listenJourney(cfg.DataDir, cfg.DemoAgencyAddr, cfg.DemoRegistryAddr); err != nil {
			return err
		}
	}
	if cfg.SMSWebhook != "" {
		acfg.SMS = &sms.Webhook{URL: cfg.SMSWebhook, Secret: []byte(cfg.SMSWebhookSecret)}
	}
	app, err := newApp(ctx, acfg)
	if err != nil {
		if acfg.Journey != nil {
			acfg.Journey.close()
		}
		return err
	}
	defer func() {
		if !stopping.Load() {
			app.Close()
		}
	}()
	srv := &http.Server{
		Handler:           app,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	log.Info("portal listening", zap.String("url", "http://"+addr+"/"), zap.String("db", sqldb.Redact(cfg.DB)))
	if ready != nil {
		ready(addr)
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", zap.Duration("grace", cfg.Grace))
	stopping.Store(true)
	return shutdown(cfg.Grace, log, srv, served, app.Close, db.Close)
}

// shutdown stops accepting requests, lets those under way finish, then
// closes what the packages hold (flushing counters) and the database
// pool, all within grace. A database that hangs cannot hold the exit:
// what is still waiting for it when grace passes is left to end with the
// process, and the error says so.
func shutdown(grace time.Duration, log *zap.Logger, srv *http.Server, served <-chan error, closers ...func() error) error {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		var errs []error
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		for _, c := range closers {
			if ctx.Err() != nil {
				break
			}
			if err := c(); err != nil {
				errs = append(errs, err)
			}
		}
		done <- errors.Join(errs...)
	}()
	select {
	case err := <-done:
		if err != nil {
			return err
		}
		log.Info("stopped")
		return nil
	case <-ctx.Done():
		log.Warn("grace period over; exiting with work unfinished (is the database answering?)", zap.Duration("grace", grace))
		return fmt.Errorf("shutdown: not finished within the grace period of %v", grace)
	}
}

func newLogger(cfg config, w io.Writer) *zap.Logger {
	enc := zap.NewDevelopmentEncoderConfig()
	encoder := zapcore.NewConsoleEncoder(enc)
	if cfg.LogJSON {
		encoder = zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	}
	core := zapcore.NewCore(encoder, zapcore.Lock(zapcore.AddSync(w)), zap.InfoLevel)
	return zap.New(core)
}
