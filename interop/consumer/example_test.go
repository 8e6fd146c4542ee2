package consumer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/consumer"
)

// A system of DYPA calls a service of the tax authority's registry
// through the gateway. The provider (package auth) has the system's
// public key registered for private_key_jwt; the gateway admits its
// token and its X-Road headers.
func Example() {
	ctx := context.Background()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // in practice, from an HSM or a file
	check(err)
	op, err := startProvider(ctx, time.Now)
	check(err)
	defer op.close()
	check(op.register(ctx, "dypa-app", "dypa-app-1", key))
	gw, err := startGateway(ctx, op, time.Now)
	check(err)
	defer gw.srv.Close()

	c, err := consumer.New(consumer.Config{
		Gateway:  gw.srv.URL,
		Consumer: interop.ClientID{Instance: "GR", Class: "GOV", Member: "DYPA", Subsystem: "APP"},
		Issuer:   op.issuer,
		ClientID: "dypa-app",
		Key:      key,
		KeyID:    "dypa-app-1",
		Scopes:   []string{"interop:call"},
		Resource: "https://gateway.example.gov/r1",
	})
	check(err)

	svc := interop.ServiceID{Instance: "GR", Class: "GOV", Member: "EL-AADE", Subsystem: "REGISTRY", Service: "address"}
	resp, err := c.Do(ctx, consumer.Call{
		Service:        svc,
		Method:         http.MethodPost,
		Path:           "/persons/find",
		Body:           strings.NewReader(`{"afm":"123456783"}`),
		Header:         http.Header{"Content-Type": {"application/json"}},
		ConsentID:      "c-42",
		IdempotencyKey: "find-2026-0001", // a POST is retried only with one
	})
	check(err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))

	svc.Service = "no-such-service"
	_, err = c.Do(ctx, consumer.Call{Service: svc})
	var refusal *consumer.Error
	if errors.As(err, &refusal) {
		fmt.Println(refusal.Status, refusal.XRoadError, errors.Is(err, errkind.NotFound))
	}
	// Output:
	// 200 {"method":"POST"}
	// 404 Server.ServerProxy.UnknownService true
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
