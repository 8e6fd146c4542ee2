package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// DefaultMaxBody is the body size [Decode] accepts unless told otherwise.
const DefaultMaxBody = 1 << 20

// DecodeError is why a request body was refused. It renders as a 400, 413
// or 415 problem through [WriteError].
type DecodeError struct {
	Status int
	Type   string
	Detail string
	Err    error
}

func (e *DecodeError) Error() string { return "httpx: decode: " + e.Detail }
func (e *DecodeError) Unwrap() error { return e.Err }

// Problem shows the error over HTTP.
func (e *DecodeError) Problem() *Problem { return NewProblem(e.Type, e.Status, e.Detail) }

// ErrBadBody is matched (errors.Is) by every [DecodeError].
var ErrBadBody = errors.New("httpx: bad request body")

// Is makes errors.Is(err, ErrBadBody) hold.
func (e *DecodeError) Is(target error) bool { return target == ErrBadBody }

// DecodeOption tunes [Decode].
type DecodeOption func(*decodeConfig)

type decodeConfig struct {
	maxBytes     int64
	allowUnknown bool
}

// MaxBytes sets the largest body accepted.
func MaxBytes(n int64) DecodeOption { return func(c *decodeConfig) { c.maxBytes = n } }

// AllowUnknownFields accepts members the destination type does not have.
func AllowUnknownFields() DecodeOption { return func(c *decodeConfig) { c.allowUnknown = true } }

// Decode reads exactly one JSON value from the request body into dst. It
// refuses a content type other than application/json or a +json type, a body
// larger than the limit (1 MiB by default), an empty body, unknown members
// (unless allowed), and anything after the value. Errors are [*DecodeError]
// values with a detail a client can act on.
func Decode(w http.ResponseWriter, r *http.Request, dst any, opts ...DecodeOption) error {
	cfg := decodeConfig{maxBytes: DefaultMaxBody}
	for _, o := range opts {
		o(&cfg)
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		return &DecodeError{Status: http.StatusUnsupportedMediaType, Type: TypeUnsupportedMedia,
			Detail: "Content-Type must be application/json"}
	}
	if r.ContentLength > cfg.maxBytes {
		return tooLarge(cfg.maxBytes, nil)
	}
	body := http.MaxBytesReader(w, r.Body, cfg.maxBytes)
	return decodeFrom(body, dst, cfg)
}

func decodeFrom(body io.Reader, dst any, cfg decodeConfig) error {
	dec := json.NewDecoder(body)
	if !cfg.allowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, cfg.maxBytes)
	}
	// Exactly one value: anything but white space after it is an error.
	var extra json.RawMessage
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
		return nil
	case err == nil:
		return bad("body must contain a single JSON value", nil)
	default:
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(cfg.maxBytes, err)
		}
		return bad("body must contain a single JSON value", err)
	}
}

func bad(detail string, err error) *DecodeError {
	return &DecodeError{Status: http.StatusBadRequest, Type: TypeBadRequest, Detail: detail, Err: err}
}

func tooLarge(limit int64, err error) *DecodeError {
	return &DecodeError{Status: http.StatusRequestEntityTooLarge, Type: TypePayloadTooLarge,
		Detail: fmt.Sprintf("body must not be larger than %d bytes", limit), Err: err}
}

func decodeError(err error, limit int64) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
		mbe    *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return tooLarge(limit, err)
	case errors.Is(err, io.EOF):
		return bad("body must not be empty", err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bad("body ends in the middle of a JSON value", err)
	case errors.As(err, &syntax):
		return bad(fmt.Sprintf("malformed JSON at byte %d", syntax.Offset), err)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return bad(fmt.Sprintf("field %q: expected %s, got JSON %s", typ.Field, typ.Type, typ.Value), err)
		}
		return bad(fmt.Sprintf("expected %s, got JSON %s", typ.Type, typ.Value), err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for this case.
		return bad("unknown field "+strings.TrimPrefix(err.Error(), "json: unknown field "), err)
	default:
		return bad("malformed JSON", err)
	}
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// DecodeBytes applies the same rules as [Decode] to a body already read.
func DecodeBytes(b []byte, dst any, opts ...DecodeOption) error {
	cfg := decodeConfig{maxBytes: DefaultMaxBody}
	for _, o := range opts {
		o(&cfg)
	}
	if int64(len(b)) > cfg.maxBytes {
		return tooLarge(cfg.maxBytes, nil)
	}
	return decodeFrom(bytes.NewReader(b), dst, cfg)
}
