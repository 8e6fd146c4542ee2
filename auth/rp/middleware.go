package rp

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/httpx"
)

type identityKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// FromContext returns the identity the middleware accepted for the request.
func FromContext(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(*Identity)
	return id, ok && id != nil
}

// Requirement is something a route asks of a token beyond being valid.
type Requirement func(*requirements)

type requirements struct {
	scopes []string
	minACR string
}

// RequireScopes asks for every one of the scopes.
func RequireScopes(scopes ...string) Requirement {
	return func(r *requirements) { r.scopes = append(r.scopes, scopes...) }
}

// RequireACR asks for at least the given eIDAS level of assurance
// (LoALow < LoASubstantial < LoAHigh). A lower one is answered with
// insufficient_user_authentication (RFC 9470), so the client can send the
// person back to the provider to step up.
func RequireACR(acr string) Requirement {
	return func(r *requirements) { r.minACR = acr }
}

// Middleware accepts requests that carry a valid bearer access token
// meeting the requirements, puts the identity in the request context
// ([FromContext]) and refuses the rest with 401 or 403, a WWW-Authenticate
// header per RFC 6750 and RFC 9470, and a problem+json body. Tokens are
// read from the Authorization header only, never from the query string.
func (v *Verifier) Middleware(reqs ...Requirement) func(http.Handler) http.Handler {
	var want requirements
	for _, r := range reqs {
		r(&want)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, err := v.authorize(r, want)
			if err != nil {
				v.refuse(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
		})
	}
}

func (v *Verifier) authorize(r *http.Request, want requirements) (*Identity, *Error) {
	raw, err := bearer(r)
	if err != nil {
		return nil, err
	}
	id, verr := v.Verify(r.Context(), raw)
	if verr != nil {
		return nil, verr.(*Error)
	}
	for _, s := range want.scopes {
		if !id.HasScope(s) {
			return nil, &Error{Code: CodeInsufficientScope, Description: "the token lacks a required scope",
				Scope: strings.Join(want.scopes, " ")}
		}
	}
	if want.minACR != "" && loaRank[id.ACR] < loaRank[want.minACR] {
		return nil, &Error{Code: CodeInsufficientUserAuthentication,
			Description: "a higher level of authentication is required", ACRValues: want.minACR}
	}
	return id, nil
}

func bearer(r *http.Request) (string, *Error) {
	hs := r.Header.Values("Authorization")
	if len(hs) == 0 {
		return "", &Error{Code: CodeMissingToken, Description: "no access token"}
	}
	if len(hs) > 1 {
		return "", &Error{Code: CodeInvalidRequest, Description: "more than one Authorization header"}
	}
	scheme, tok, ok := strings.Cut(hs[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", &Error{Code: CodeMissingToken, Description: "the Authorization header is not a bearer token"}
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", &Error{Code: CodeInvalidRequest, Description: "empty bearer token"}
	}
	return tok, nil
}

// refuse answers the request per RFC 6750 section 3 and RFC 9470.
func (v *Verifier) refuse(w http.ResponseWriter, r *http.Request, e *Error) {
	if e.Code == CodeTemporarilyUnavailable {
		v.log.Warn("access token not judged: provider keys unavailable", zap.String("path", httpx.MaskURL(r.URL)),
			zap.String("request_id", httpx.RequestIDFromContext(r.Context())), zap.Error(e.Err))
		httpx.WriteProblem(w, r, httpx.Unavailable(e.Description, httpx.RetryAfterUnavailable))
		return
	}
	params := []string{`realm=` + quote(v.cfg.Audience)}
	if e.Code != CodeMissingToken {
		params = append(params, `error=`+quote(e.Code), `error_description=`+quote(e.Description))
	}
	if e.Scope != "" {
		params = append(params, `scope=`+quote(e.Scope))
	}
	if e.ACRValues != "" {
		params = append(params, `acr_values=`+quote(e.ACRValues))
	}
	if e.MaxAge > 0 {
		params = append(params, `max_age=`+quote(strconv.Itoa(e.MaxAge)))
	}
	w.Header().Set("WWW-Authenticate", "Bearer "+strings.Join(params, ", "))
	w.Header().Set("Cache-Control", "no-store")
	if ce := v.log.Check(zap.InfoLevel, "access token refused"); ce != nil {
		fields := []zap.Field{zap.String("code", e.Code), zap.String("path", httpx.MaskURL(r.URL)),
			zap.String("request_id", httpx.RequestIDFromContext(r.Context()))}
		if e.Err != nil {
			fields = append(fields, zap.String("reason", e.Err.Error()))
		}
		ce.Write(fields...)
	}
	code := e.Code
	if code == "" {
		code = "missing_token"
	}
	httpx.WriteProblem(w, r, httpx.NewProblem(httpx.TypeBase+"auth/"+strings.ReplaceAll(code, "_", "-"), e.Status(), e.Description))
}

// quote makes an RFC 9110 quoted-string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
