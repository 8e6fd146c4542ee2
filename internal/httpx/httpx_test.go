package httpx

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/egovkit/egovkit/internal/sqlstore"
)

// wrapped is a package error with a Problem that wraps a cause.
type wrapped struct {
	p   *Problem
	err error
}

func (e *wrapped) Error() string     { return e.p.Error() }
func (e *wrapped) Unwrap() error     { return e.err }
func (e *wrapped) Problem() *Problem { return e.p }

type payload struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func decodeRequest(ct, body string, opts ...DecodeOption) (payload, error) {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	var p payload
	err := Decode(httptest.NewRecorder(), r, &p, opts...)
	return p, err
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, ct, body string
		opts           []DecodeOption
		status         int
		detail         string
	}{
		{"ok", "application/json", `{"name":"a","count":2}`, nil, 0, ""},
		{"ok with charset and trailing space", "application/json; charset=utf-8", "{\"name\":\"a\"}\n ", nil, 0, ""},
		{"problem+json is JSON", "application/merge-patch+json", `{"name":"a"}`, nil, 0, ""},
		{"no content type", "", `{}`, nil, 415, "Content-Type must be application/json"},
		{"form", "application/x-www-form-urlencoded", `name=a`, nil, 415, "Content-Type must be application/json"},
		{"text/json is not accepted", "text/plain", `{}`, nil, 415, "Content-Type must be application/json"},
		{"empty", "application/json", ``, nil, 400, "body must not be empty"},
		{"unknown field", "application/json", `{"name":"a","admin":true}`, nil, 400, `unknown field "admin"`},
		{"unknown allowed", "application/json", `{"name":"a","admin":true}`, []DecodeOption{AllowUnknownFields()}, 0, ""},
		{"two values", "application/json", `{"name":"a"}{"name":"b"}`, nil, 400, "body must contain a single JSON value"},
		{"trailing garbage", "application/json", `{"name":"a"} x`, nil, 400, "body must contain a single JSON value"},
		{"syntax", "application/json", `{"name":}`, nil, 400, "malformed JSON at byte 9"},
		{"truncated", "application/json", `{"name":"a"`, nil, 400, "body ends in the middle of a JSON value"},
		{"wrong type", "application/json", `{"count":"two"}`, nil, 400, `field "count": expected int, got JSON string`},
		{"wrong top-level type", "application/json", `[1]`, nil, 400, "expected httpx.payload, got JSON array"},
		{"too large", "application/json", `{"name":"` + strings.Repeat("a", 100) + `"}`, []DecodeOption{MaxBytes(50)}, 413, "body must not be larger than 50 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeRequest(tt.ct, tt.body, tt.opts...)
			if tt.status == 0 {
				require.NoError(t, err)
				return
			}
			var de *DecodeError
			require.ErrorAs(t, err, &de)
			assert.ErrorIs(t, err, ErrBadBody)
			assert.Equal(t, tt.status, de.Status)
			assert.Equal(t, tt.detail, de.Detail)

			// Rendered through the one error writer.
			w := httptest.NewRecorder()
			WriteError(w, httptest.NewRequest("POST", "/", nil), nil, fmt.Errorf("wrapped: %w", err))
			assert.Equal(t, tt.status, w.Code)
			assert.Equal(t, ContentTypeProblem, w.Header().Get("Content-Type"))
			var p map[string]any
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
			assert.Equal(t, tt.detail, p["detail"])
		})
	}
}

func TestDecodeBytesLimit(t *testing.T) {
	var p payload
	assert.Error(t, DecodeBytes([]byte(`{"name":"abc"}`), &p, MaxBytes(5)))
	require.NoError(t, DecodeBytes([]byte(`{"name":"abc"}`), &p))
	assert.Equal(t, "abc", p.Name)
}

// appError is how a package's typed error renders itself.
type appError struct{ code string }

func (e *appError) Error() string { return "app: " + e.code }
func (e *appError) Problem() *Problem {
	p := NewProblem(TypeBase+"app/"+e.code, http.StatusConflict, "the thing is "+e.code)
	p.Extensions = map[string]any{"code": e.code, "status": "must not replace the standard member"}
	return p
}

func TestWriteError(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)
	r := httptest.NewRequest("GET", "/x", nil)
	r = r.WithContext(NewContextWithRequestID(r.Context(), "req-1"))

	w := httptest.NewRecorder()
	WriteError(w, r, log, fmt.Errorf("service: %w", &appError{code: "taken"}))
	assert.Equal(t, http.StatusConflict, w.Code)
	var got map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
	assert.Equal(t, TypeBase+"app/taken", got["type"])
	assert.Equal(t, "the thing is taken", got["detail"])
	assert.Equal(t, "taken", got["code"])
	assert.EqualValues(t, 409, got["status"])
	assert.Equal(t, "urn:request:req-1", got["instance"])
	assert.Zero(t, logs.Len(), "expected errors are not logged as internal")

	w = httptest.NewRecorder()
	WriteError(w, r, log, errors.New("pq: password authentication failed for user secret"))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.NotContains(t, w.Body.String(), "secret", "internal details never reach the client")
	assert.Contains(t, w.Body.String(), TypeInternal)
	require.Equal(t, 1, logs.Len())
	assert.Equal(t, "req-1", logs.All()[0].ContextMap()["request_id"])

	// A database that does not answer is a 503 with Retry-After, however
	// the error reached the handler, and never the problem a package
	// chose for a server-side failure.
	logs.TakeAll()
	for name, e := range map[string]error{
		"sentinel":          fmt.Errorf("store: save: %w", sqlstore.ErrUnavailable),
		"deadline":          fmt.Errorf("store: get: %w", context.DeadlineExceeded),
		"closed pool":       fmt.Errorf("store: get: %w", sql.ErrConnDone),
		"refused":           &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED},
		"500 problem cause": &wrapped{p: NewProblem(TypeInternal, 500, "x"), err: sqlstore.ErrUnavailable},
	} {
		w = httptest.NewRecorder()
		WriteError(w, r, log, e)
		assert.Equal(t, http.StatusServiceUnavailable, w.Code, name)
		assert.Equal(t, ContentTypeProblem, w.Header().Get("Content-Type"), name)
		assert.Equal(t, "5", w.Header().Get("Retry-After"), name)
		assert.Contains(t, w.Body.String(), TypeUnavailable, name)
	}
	assert.Equal(t, 5, logs.FilterMessage("database unavailable").Len())
	w = httptest.NewRecorder()
	WriteError(w, r, log, &wrapped{p: NotFound("no such thing"), err: sqlstore.ErrUnavailable})
	assert.Equal(t, http.StatusNotFound, w.Code, "a refusal the package decided on stands")
	assert.Equal(t, http.StatusServiceUnavailable, ServerErrorStatus(fmt.Errorf("x: %w", context.DeadlineExceeded)))
	assert.Equal(t, http.StatusInternalServerError, ServerErrorStatus(errors.New("x")))
	assert.Equal(t, http.StatusInternalServerError, ServerErrorStatus(context.Canceled))

	w = httptest.NewRecorder()
	WriteProblem(w, r, RateLimited(30))
	assert.Equal(t, "30", w.Header().Get("Retry-After"))
	assert.Equal(t, 429, w.Code)

	w = httptest.NewRecorder()
	v := Validation("two fields are wrong", FieldError{Pointer: "/title/el", Detail: "required"}, FieldError{Field: "afm", Detail: "check digit does not match"})
	WriteProblem(w, r, v)
	assert.Equal(t, 422, w.Code)
	assert.JSONEq(t, `{"type":"`+TypeValidation+`","title":"Validation failed","status":422,"detail":"two fields are wrong",
		"instance":"urn:request:req-1","errors":[{"pointer":"/title/el","detail":"required"},{"field":"afm","detail":"check digit does not match"}]}`, w.Body.String())

	w = httptest.NewRecorder()
	WriteJSON(w, 201, map[string]int{"a": 1})
	assert.Equal(t, 201, w.Code)
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	w = httptest.NewRecorder()
	WriteJSON(w, 200, func() {})
	assert.Equal(t, 500, w.Code, "an unencodable value is an internal error, not a panic")
}

func TestRequestID(t *testing.T) {
	var seen string
	h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = RequestIDFromContext(r.Context())
	}))
	for _, tt := range []struct {
		in   string
		keep bool
	}{
		{"abc-123_X.y:z", true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"bad id", false},
		{"<script>", false},
		{"line\nbreak", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set(HeaderRequestID, tt.in)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		assert.Equal(t, seen, w.Header().Get(HeaderRequestID))
		if tt.keep {
			assert.Equal(t, tt.in, seen)
		} else {
			assert.Regexp(t, `^[0-9a-z]{16}$`, seen, "a fresh id replaces %q", tt.in)
		}
	}
	assert.NotEqual(t, NewRequestID(), NewRequestID())
}

func TestAccessLogMasksPersonalData(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	h := Chain(RequestID, AccessLog(zap.New(core)))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(503)
			return
		}
		w.Write([]byte("hello"))
	}))
	r := httptest.NewRequest("GET", "/citizens/123456783/phone?to=%2B306912345678&email=maria%40example.gr&lang=el&name=Maria+Papadopoulou&page=2", nil)
	r.RemoteAddr = "192.0.2.77:51234"
	r.Header.Set("User-Agent", "test-agent")
	h.ServeHTTP(httptest.NewRecorder(), r)

	require.Equal(t, 1, logs.Len())
	e := logs.All()[0]
	f := e.ContextMap()
	line := fmt.Sprint(f)
	for _, secret := range []string{"123456783", "6912345678", "maria", "Papadopoulou", "192.0.2.77"} {
		assert.NotContains(t, line, secret)
	}
	assert.Equal(t, "/citizens/*******83/phone?email=xxx&lang=el&name=xxx&page=2&to=xxx", f["path"])
	assert.Equal(t, "192.0.2.0", f["client"])
	assert.EqualValues(t, 200, f["status"])
	assert.EqualValues(t, 5, f["bytes"])
	assert.NotEmpty(t, f["request_id"])
	assert.Equal(t, zapcore.InfoLevel, e.Level)

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/fail", nil))
	assert.Equal(t, zapcore.ErrorLevel, logs.All()[1].Level)
}

func TestMaskHelpers(t *testing.T) {
	assert.Equal(t, "afm *******83, year 2026, page 12", Mask("afm 123456783, year 2026, page 12"))
	assert.Equal(t, "call *** *** **78 or +** ***-***-**78", Mask("call 691 234 5678 or +30 691-234-5678"))
	assert.Equal(t, "born **.**.**85", Mask("born 15.03.1985"))
	assert.Equal(t, "v1.2.3 and 10-20", Mask("v1.2.3 and 10-20"), "short groups stay")
	assert.Equal(t, "/citizens/*******83", MaskURL(&url.URL{Path: "/citizens/123456783", RawPath: "/citizens/%31%32%33%34%35%36%37%38%33"}))
	assert.Equal(t, "write to m***@example.gr or k***@gov.gr", Mask("write to maria@example.gr or kostas.p@gov.gr"))
	assert.Equal(t, "+30 69******78", MaskPhone("+30 6912345678"))
	assert.Equal(t, "+3069******78", MaskPhone("+306912345678"))
	assert.Equal(t, "*****78", MaskPhone("1234578"))
	assert.Equal(t, "m***@x.gr", MaskEmail("maria@x.gr"))
	assert.Equal(t, "Μ*** Π***", MaskName("Μαρία  Παπαδοπούλου"))
	assert.Equal(t, "192.0.2.0", MaskIP("192.0.2.9"))
	assert.Equal(t, "2001:db8:1::", MaskIP("[2001:db8:1:2::5]:443"))
	assert.Equal(t, "", MaskIP("not an ip"))
	assert.Equal(t, "", MaskURL(nil))
	assert.Equal(t, "/x?(unparsable query)", MaskURL(&url.URL{Path: "/x", RawQuery: "a=%zz"}))
}

func TestRecover(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)
	h := Chain(RequestID, Recover(log))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/abort":
			panic(http.ErrAbortHandler)
		case "/late":
			w.Write([]byte("partial"))
		}
		panic("boom")
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, 500, w.Code)
	assert.Equal(t, ContentTypeProblem, w.Header().Get("Content-Type"))
	assert.NotContains(t, w.Body.String(), "boom")
	require.Equal(t, 1, logs.Len())
	fields := logs.All()[0].ContextMap()
	assert.Equal(t, "boom", fields["panic"])
	assert.Contains(t, fields["stack"], "runtime/debug.Stack")
	assert.NotEmpty(t, fields["request_id"])

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/late", nil))
	assert.Equal(t, "partial", w.Body.String(), "nothing is appended once the response has started")

	assert.PanicsWithValue(t, http.ErrAbortHandler, func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/abort", nil))
	})
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		accept string
		want   string
		html   bool
	}{
		{"", "application/json", false},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html", true},
		{"*/*", "application/json", false},
		{"application/json", "application/json", false},
		{"application/json;q=0.5, text/html", "text/html", true},
		{"text/*;q=0.9, application/json;q=0.8", "text/html", true},
		{"image/png", "", false},
		{"text/html;q=0", "application/json", false},
		{"text/html;q=0, */*", "application/json", false},
		{"text/html;q=bogus, application/json", "application/json", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		if tt.accept != "" {
			r.Header.Set("Accept", tt.accept)
		}
		got := Negotiate(r, "application/json", "text/html")
		if tt.accept == "text/html;q=0" {
			assert.Equal(t, "", got, tt.accept)
		} else {
			assert.Equal(t, tt.want, got, tt.accept)
		}
		assert.Equal(t, tt.html, WantsHTML(r), tt.accept)
	}
	assert.Equal(t, "", Negotiate(httptest.NewRequest("GET", "/", nil)))
}

func TestMethodNotAllowed(t *testing.T) {
	w := httptest.NewRecorder()
	MethodNotAllowed("GET", "HEAD").ServeHTTP(w, httptest.NewRequest("DELETE", "/", nil))
	assert.Equal(t, 405, w.Code)
	assert.Equal(t, "GET, HEAD", w.Header().Get("Allow"))
}

func TestRecorderKeepsFlusher(t *testing.T) {
	h := AccessLog(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, http.NewResponseController(w).Flush())
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	assert.True(t, w.Flushed)
}

var longDigits = regexp.MustCompile(`[0-9]{9,}`)

func FuzzMask(f *testing.F) {
	for _, s := range []string{"123456789", "a@b", "@@", "x 12345678901 y", "+30 6912345678", "\xff1234567890"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := Mask(s)
		if longDigits.MatchString(m) {
			t.Fatalf("Mask(%q) = %q keeps a long digit run", s, m)
		}
		if !strings.Contains(s, "@") && len(m) != len(s) {
			t.Fatalf("Mask(%q) = %q changed the length", s, m)
		}
		_ = MaskPhone(s)
		_ = MaskName(s)
		u, err := url.Parse("/p/" + url.PathEscape(s) + "?x=" + url.QueryEscape(s))
		if err == nil && longDigits.MatchString(MaskURL(u)) {
			t.Fatalf("MaskURL keeps a long digit run: %q", MaskURL(u))
		}
	})
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"name":"a","count":1}`, `{}`, `[]`, `{"name":1}`, `{"x":1}`, `{"name":"a"} {}`, "", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		p, err := decodeRequest("application/json", body)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Status < 400 || de.Detail == "" {
				t.Fatalf("untyped or empty error for %q: %v", body, err)
			}
			return
		}
		// What was accepted round-trips.
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeRequest("application/json", string(b))
		if err != nil || again != p {
			t.Fatalf("round trip of %q: %+v != %+v (%v)", body, again, p, err)
		}
	})
}

func TestFallbacks(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(r.PathValue("id"))) })
	mux.HandleFunc("POST /items/{id}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /dir/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("dir")) })
	pages := 0
	h := Fallbacks(mux, func(w http.ResponseWriter, r *http.Request, status int) {
		pages++
		w.WriteHeader(status)
		w.Write([]byte("page"))
	})
	serve := func(method, target, accept string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := serve("GET", "/items/7", "")
	assert.Equal(t, "7", w.Body.String())

	w = serve("DELETE", "/items/7", "")
	assert.Equal(t, 405, w.Code)
	assert.Equal(t, ContentTypeProblem, w.Header().Get("Content-Type"))
	assert.Contains(t, w.Header().Get("Allow"), "GET")
	assert.Contains(t, w.Body.String(), TypeMethodNotAllowed)

	w = serve("GET", "/nothing", "")
	assert.Equal(t, 404, w.Code)
	assert.Contains(t, w.Body.String(), TypeNotFound)

	w = serve("GET", "/nothing", "text/html")
	assert.Equal(t, 404, w.Code)
	assert.Equal(t, "page", w.Body.String())
	assert.Equal(t, 1, pages)

	w = serve("GET", "/dir", "")
	assert.Contains(t, []int{http.StatusMovedPermanently, http.StatusTemporaryRedirect}, w.Code, "the mux's canonical redirect is kept")
	assert.Equal(t, "/dir/", w.Header().Get("Location"))
}

func TestRemoteHost(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.77:51234"
	assert.Equal(t, "192.0.2.77", RemoteHost(r))
	r.RemoteAddr = "[2001:db8::1]:443"
	assert.Equal(t, "2001:db8::1", RemoteHost(r))
	r.RemoteAddr = "pipe"
	assert.Equal(t, "pipe", RemoteHost(r), "an address without a port is kept whole")
}

func TestSameOrigin(t *testing.T) {
	for _, c := range []struct {
		hdr  map[string]string
		want bool
	}{
		{map[string]string{"Sec-Fetch-Site": "same-origin"}, true},
		{map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://example.gr"}, false},
		{map[string]string{"Origin": "http://example.gr"}, true},
		{map[string]string{"Origin": "http://evil.example"}, false},
		{map[string]string{"Referer": "http://example.gr/page"}, true},
		{map[string]string{"Referer": "http://example.gr.evil.example/"}, false},
		{nil, false},
	} {
		r := httptest.NewRequest("POST", "http://example.gr/form", nil)
		for k, v := range c.hdr {
			r.Header.Set(k, v)
		}
		assert.Equal(t, c.want, SameOrigin(r), c.hdr)
	}
}
