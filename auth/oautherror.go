package auth

import (
	"encoding/json"
	"net/http"

	"github.com/egovkit/egovkit/internal/httpx"
)

// OAuth error codes (RFC 6749 section 5.2 and its extensions).
const (
	ErrCodeInvalidRequest       = "invalid_request"
	ErrCodeInvalidClient        = "invalid_client"
	ErrCodeInvalidGrant         = "invalid_grant"
	ErrCodeUnauthorizedClient   = "unauthorized_client"
	ErrCodeUnsupportedGrantType = "unsupported_grant_type"
	ErrCodeInvalidScope         = "invalid_scope"
)

// OAuthError is an error the OAuth endpoints answer with the body RFC 6749
// prescribes, {"error": …, "error_description": …}, rather than problem+json,
// because OAuth clients expect it.
type OAuthError struct {
	Code        string
	Description string
	Status      int
	// Basic asks the client to authenticate with HTTP Basic (a 401 with
	// WWW-Authenticate: Basic), as RFC 6749 requires when Basic was used.
	Basic bool
	Err   error
}

func (e *OAuthError) Error() string {
	s := "auth: " + e.Code + ": " + e.Description
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *OAuthError) Unwrap() error { return e.Err }

// Write sends the error response. The cause (Err) is never sent.
func (e *OAuthError) Write(w http.ResponseWriter) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if e.Basic && status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="token", charset="UTF-8"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": e.Code, "error_description": e.Description})
}

// ErrCodeTemporarilyUnavailable is the "error" member of the 503 answers
// OAuth endpoints give when the database is unavailable (RFC 6749 section
// 4.1.2.1 names the code).
const ErrCodeTemporarilyUnavailable = "temporarily_unavailable"

// writeUnavailable answers 503 problem+json with Retry-After; the body
// also has "error" and "error_description", so that an OAuth client reads
// it as it reads any error of the endpoint.
func writeUnavailable(w http.ResponseWriter, pr *httpx.Problem) {
	cp := *pr
	cp.Extensions = map[string]any{"error": ErrCodeTemporarilyUnavailable, "error_description": pr.Detail}
	for k, v := range pr.Extensions {
		cp.Extensions[k] = v
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteProblem(w, nil, &cp)
}

func invalidClient(desc string, basic bool, err error) *OAuthError {
	return &OAuthError{Code: ErrCodeInvalidClient, Description: desc, Status: http.StatusUnauthorized, Basic: basic, Err: err}
}

func invalidRequest(desc string) *OAuthError {
	return &OAuthError{Code: ErrCodeInvalidRequest, Description: desc, Status: http.StatusBadRequest}
}
