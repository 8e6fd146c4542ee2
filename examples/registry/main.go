// Command registry is a registry's system behind the interop gateway
// (provider B of the once-only journey): the civil registry's
// family-status certificate, served as a small REST API that only the
// gateway may call, each request checked with package interop/provider
// against the gateway's published keys.
//
//	go run ./examples/portal -demo &                  # the portal and its gateway, at http://127.0.0.1:8080
//	go run ./examples/registry -portal http://127.0.0.1:8080
//
// The portal's demo mode already runs this registry in its own process
// (package examples/registry/registry), registered and on a port it prints;
// run it alone against a portal where you register it as described
// below.
//
// It serves:
//
//	/                                 a page saying what the registry offers (Greek and English)
//	/api/family-status                the certificate of the citizen the call is about (gateway only)
//	/api/family-status/preview        the same data as item and value pairs, the preview the
//	                                  citizen sees before consenting (gateway only)
//	/static/                          the shared stylesheet
//
// Register it at the gateway as two services with the upstream
// <public URL>/api and the items marital_status, spouse and children: the
// certificate, which requires consent, with a right to GET
// /family-status for the agencies that ask for it; and its preview,
// without consent (its legal basis: the citizen sees their own data
// before deciding), with a right to GET /family-status/preview for the
// portal's consent pages alone. The gateway forwards a call's path after
// the service identifier below the upstream, signed: GET
// /r1/GR/GOV/EL-YPES/CIVREG/family-status/family-status arrives here as
// GET /api/family-status.
//
// # Who the call is about
//
// The gateway passes the citizen two ways: X-Road-UserId, the identifier
// the consumer sent ("GR" and the tax number), and a keyed pseudonym of it
// (Egovkit-Citizen-Pseudonym) that only the gateway can compute. The
// registry finds its records by tax number, so it reads X-Road-UserId.
// It may trust it: the gateway's signature covers the header, and the
// gateway checked, before forwarding, that the citizen's consent covers
// this consumer, this service and this very identifier. The pseudonym and
// the consent id are logged with each answer; the tax number never is.
//
// # Data
//
// On first run it writes a few sample citizens to <data>/citizens.json,
// which it reads at every start: edit it to change what the registry
// holds. The registry keeps no secret: it verifies signatures with the
// gateway's public keys (-gateway-jwks, by default the portal's
// <portal>/interop/keys), fetched and cached by interop/provider. It stops
// gracefully on SIGINT or SIGTERM.
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
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/examples/registry/registry"
)

type config struct {
	Addr, Data, Portal, JWKS string
}

func main() {
	var c config
	flag.StringVar(&c.Addr, "addr", "127.0.0.1:8091", "address to listen on")
	flag.StringVar(&c.Data, "data", "registry-data", "data directory, created on first run")
	flag.StringVar(&c.Portal, "portal", "http://127.0.0.1:8080", "the portal's URL, whose gateway calls this registry")
	flag.StringVar(&c.JWKS, "gateway-jwks", "", "the gateway's JWK set; empty means <portal>/interop/keys")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log, _ := zap.NewProduction()
	if err := run(ctx, log, c); err != nil {
		log.Error("registry", zap.Error(err))
		os.Exit(1)
	}
}

func run(ctx context.Context, log *zap.Logger, c config) error {
	if c.JWKS == "" {
		c.JWKS = strings.TrimSuffix(c.Portal, "/") + "/interop/keys"
	}
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return err
	}
	people, err := registry.LoadCitizens(filepath.Join(c.Data, "citizens.json"), log)
	if err != nil {
		return err
	}
	h, err := registry.New(ctx, registry.Config{JWKSURL: c.JWKS, Citizens: people, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	log.Info("verifying the gateway's signatures", zap.String("jwks", c.JWKS))
	return serve(ctx, log, ln, h)
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
