package interop_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/consumer"
)

// tokenEndpoint is a client_credentials token endpoint that authenticates
// the client by its private_key_jwt assertion (RFC 7523) against the
// client's public key and issues the issuer's access token for it.
func tokenEndpoint(t *testing.T, is *issuer, clientID string, clientKey *ecdsa.PublicKey) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" ||
			r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		a, err := jwt.ParseString(r.PostForm.Get("client_assertion"), jwt.WithKey(jwa.ES256, clientKey),
			jwt.WithValidate(true), jwt.WithIssuer(clientID), jwt.WithSubject(clientID), jwt.WithAudience(srv.URL))
		if err != nil || a.JwtID() == "" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": is.token(t, clientID, nil), "token_type": "Bearer", "expires_in": 300})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestGatewayWithConsumerClient: the consumers' client calls through the
// gateway to a provider behind interop/provider, unchanged: a token by
// private_key_jwt, a GET under consent, a POST whose Content-Digest the
// client computes and the gateway streams, and a refusal read as a typed
// error.
func TestGatewayWithConsumerClient(t *testing.T) {
	rg := newRig(t, nil)
	rg.desk.give("consent-5", deskConsent{consumer: dypa, service: rg.services["address"], subject: "GR090000045"})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tokens := tokenEndpoint(t, rg.issuer, dypa.String(), &key.PublicKey)
	c, err := consumer.New(consumer.Config{Gateway: rg.srv.URL, Consumer: dypa, TokenURL: tokens.URL,
		ClientID: dypa.String(), Key: key, KeyID: "dypa-1"})
	require.NoError(t, err)
	ctx := context.Background()

	res, err := c.Do(ctx, consumer.Call{Service: rg.services["address"], Path: "/persons/123/address",
		UserID: "GR090000045", ConsentID: "consent-5", Issue: "case-9"})
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	assert.Contains(t, string(body), `"person":"123"`)
	seen := <-rg.seen
	assert.Equal(t, "consent-5", seen.ConsentID)
	assert.Equal(t, pseudonym("GR090000045"), seen.Citizen)
	rg.proves(t, rg.logged(t, res.Header.Get("X-Road-Request-Id")))

	payload := []byte(`{"query":"οδός"}`)
	res, err = c.Do(ctx, consumer.Call{Service: rg.services["open"], Method: "POST", Path: "/echo", Body: bytes.NewReader(payload)})
	require.NoError(t, err)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	assert.Equal(t, payload, body)

	_, err = c.Do(ctx, consumer.Call{Service: rg.services["address"], Path: "/persons/123/address", UserID: "GR090000045"})
	var refusal *consumer.Error
	require.True(t, errors.As(err, &refusal), "%v", err)
	assert.Equal(t, http.StatusForbidden, refusal.Status)
	assert.Equal(t, interop.TypeConsentRefused, refusal.Type)
	assert.Equal(t, "Server.ServerProxy.ConsentRefused", refusal.XRoadError)
}

// TestRetryAfterTimeoutReachesProvider: a GET the gateway answered 504
// (the provider was too slow) is retried by the consumer's client with
// the same X-Road-Id; the gateway signs the new attempt afresh, so the
// provider's replay guard serves it and its handler reads the one
// message id.
func TestRetryAfterTimeoutReachesProvider(t *testing.T) {
	rg := newRig(t, nil)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tokens := tokenEndpoint(t, rg.issuer, dypa.String(), &key.PublicKey)
	c, err := consumer.New(consumer.Config{Gateway: rg.srv.URL, Consumer: dypa, TokenURL: tokens.URL,
		ClientID: dypa.String(), Key: key, KeyID: "dypa-1"})
	require.NoError(t, err)

	res, err := c.Do(context.Background(), consumer.Call{Service: rg.services["open"], Path: "/slow-once", MessageID: "msg-retried-1"})
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	assert.Equal(t, "msg-retried-1", string(body))
	assert.Equal(t, "msg-retried-1", res.Header.Get("X-Road-Id"))
	// The first attempt's exchange may still be finishing: let it end
	// before the rig's clean-up closes the gateway under it.
	rg.srv.Close()
}
