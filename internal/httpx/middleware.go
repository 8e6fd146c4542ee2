package httpx

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/reqid"
)

// Chain composes middleware so that the first one given is the outermost:
// Chain(a, b)(h) is a(b(h)).
func Chain(mw ...func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		for i := len(mw) - 1; i >= 0; i-- {
			h = mw[i](h)
		}
		return h
	}
}

// HeaderRequestID carries the request id in both directions.
const HeaderRequestID = "X-Request-ID"

// NewContextWithRequestID returns ctx carrying the request id.
func NewContextWithRequestID(ctx context.Context, id string) context.Context {
	return reqid.NewContext(ctx, id)
}

// RequestIDFromContext returns the request id, or "" when there is none.
func RequestIDFromContext(ctx context.Context) string { return reqid.FromContext(ctx) }

// RequestID is middleware that gives every request an id: the incoming
// X-Request-ID when it is safe (1 to 64 characters of letters, digits, '-',
// '_', '.', ':'), else a fresh random one. The id is echoed in the response
// header, stored in the context, and quoted by problem responses and logs.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderRequestID)
		if !validRequestID(id) {
			id = NewRequestID()
		}
		w.Header().Set(HeaderRequestID, id)
		next.ServeHTTP(w, r.WithContext(NewContextWithRequestID(r.Context(), id)))
	})
}

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewRequestID returns 80 random bits as 16 lower-case characters.
func NewRequestID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}

func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// recorder notes the status and size of a response. Unwrap lets
// http.ResponseController reach the writer's Flush and deadlines.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Flush() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// AccessLog is middleware that logs one line per request at info level (5xx
// at error level): method, path and query with personal data masked (see
// [MaskURL]), status, bytes, duration, request id, the client address with
// its host part cut (see [MaskIP]) and the user agent.
func AccessLog(log *zap.Logger) func(http.Handler) http.Handler {
	if log == nil {
		log = zap.NewNop()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &recorder{ResponseWriter: w}
			defer func() {
				status := rec.status
				if status == 0 {
					status = http.StatusOK
				}
				level := zap.InfoLevel
				if status >= 500 {
					level = zap.ErrorLevel
				}
				if ce := log.Check(level, "request"); ce != nil {
					ce.Write(
						zap.String("method", r.Method),
						zap.String("path", MaskURL(r.URL)),
						zap.Int("status", status),
						zap.Int64("bytes", rec.bytes),
						zap.Duration("duration", time.Since(start)),
						zap.String("request_id", RequestIDFromContext(r.Context())),
						zap.String("client", MaskIP(r.RemoteAddr)),
						zap.String("user_agent", truncate(r.UserAgent(), 200)),
					)
				}
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Recover is middleware that turns a panic into a 500 problem (when nothing
// was written yet) and logs the panic value with its stack and the request
// id. http.ErrAbortHandler is passed on, as net/http expects.
func Recover(log *zap.Logger) func(http.Handler) http.Handler {
	if log == nil {
		log = zap.NewNop()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &recorder{ResponseWriter: w}
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(p)
				}
				log.Error("panic serving request",
					zap.String("request_id", RequestIDFromContext(r.Context())),
					zap.String("method", r.Method),
					zap.String("path", MaskURL(r.URL)),
					zap.String("panic", fmt.Sprint(p)),
					zap.ByteString("stack", debug.Stack()),
				)
				if rec.status == 0 {
					WriteProblem(w, r, NewProblem(TypeInternal, http.StatusInternalServerError,
						"an internal error occurred; quote the request id when reporting it"))
				}
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// RemoteHost is the client address of a request without its port: the
// key for per-address limits when no reverse proxy stands in front.
func RemoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// MaskIP keeps the network part of a client address: the first three octets
// of IPv4 (last set to 0) and the first 48 bits of IPv6. The port is dropped.
func MaskIP(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	if ip == nil {
		return ""
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.Mask(net.CIDRMask(24, 32)).String()
	}
	return ip.Mask(net.CIDRMask(48, 128)).String()
}
