package consumer

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/problem"
)

// Errors of the package, matched with errors.Is. Each matches one kind of
// package errkind.
var (
	// ErrConfig: New was given a configuration it cannot work with
	// (errkind.Invalid).
	ErrConfig = errkind.New(errkind.Invalid, "consumer: invalid configuration")
	// ErrCall: the call itself cannot be made as given: no service, a
	// path the gateway would refuse, a body that cannot be read
	// (errkind.Invalid).
	ErrCall = errkind.New(errkind.Invalid, "consumer: invalid call")
	// ErrUnavailable: the gateway or the token endpoint could not be
	// reached, or gave an answer that could not be read; the same call
	// may succeed later (errkind.Unavailable).
	ErrUnavailable = errkind.New(errkind.Unavailable, "consumer: could not reach the gateway or the token endpoint")
)

// Error is a refusal answered by the gateway (or by the provider behind
// it) as RFC 9457 problem+json, or with X-Road's X-Road-Error header, or
// with a status that says the call may be retried (429, 502, 503, 504).
// It matches an errkind kind by its status: 401 Unauthorized, 403
// Forbidden, 404 NotFound, 409 Conflict, any other 4xx Invalid, 429
// RateLimited, 502, 503 and 504 Unavailable; other statuses (500) match
// none.
type Error struct {
	// Status is the HTTP status of the answer.
	Status int
	// Type, Title, Detail and Instance are the problem's members, when the
	// answer was problem+json.
	Type     string
	Title    string
	Detail   string
	Instance string
	// XRoadError is the X-Road error code (such as
	// "Server.ServerProxy.AccessDenied"), from the X-Road-Error header or
	// the problem's "xroad_error" member.
	XRoadError string
	// RetryAfter is the wait the answer asked for (Retry-After, or the
	// problem's "retry_after" member), zero when it asked none.
	RetryAfter time.Duration
	// MessageID is the X-Road-Id of the call.
	MessageID string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "consumer: %d", e.Status)
	if e.Title != "" {
		b.WriteString(" " + e.Title)
	} else if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.XRoadError != "" {
		b.WriteString(" (" + e.XRoadError + ")")
	}
	return b.String()
}

// Is matches the error's kind.
func (e *Error) Is(target error) bool {
	return target != nil && target == kindOf(e.Status)
}

func kindOf(status int) error {
	switch status {
	case http.StatusUnauthorized:
		return errkind.Unauthorized
	case http.StatusForbidden:
		return errkind.Forbidden
	case http.StatusNotFound:
		return errkind.NotFound
	case http.StatusConflict:
		return errkind.Conflict
	case http.StatusTooManyRequests:
		return errkind.RateLimited
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return errkind.Unavailable
	}
	if status >= 400 && status < 500 {
		return errkind.Invalid
	}
	return nil
}

// Problem returns the refusal as the problem it was answered with, so a
// consumer that is itself an API can pass it on.
func (e *Error) Problem() *problem.Problem {
	p := &problem.Problem{Type: e.Type, Title: e.Title, Status: e.Status, Detail: e.Detail, Instance: e.Instance}
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(e.Status)
	}
	ext := map[string]any{}
	if e.XRoadError != "" {
		ext["xroad_error"] = e.XRoadError
	}
	if s := int((e.RetryAfter + time.Second - 1) / time.Second); s > 0 {
		ext["retry_after"] = s
	}
	if len(ext) > 0 {
		p.Extensions = ext
	}
	return p
}

// HeaderXRoadError is the response header of X-Road's REST protocol that
// carries the error code of a refusal.
const HeaderXRoadError = "X-Road-Error"

// maxProblemBody bounds how much of a refusal's body is read.
const maxProblemBody = 64 << 10

// isRefusal reports whether a response is turned into an *Error rather
// than handed to the caller: problem+json or an X-Road-Error header on a
// status of 400 or more, or a status that the call may be retried on.
func isRefusal(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	if resp.StatusCode < 400 {
		return false
	}
	if resp.Header.Get(HeaderXRoadError) != "" {
		return true
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return mt == problem.ContentType
}

// readRefusal reads (a bounded prefix of) the body of a refusal and
// closes it.
func readRefusal(resp *http.Response, messageID string, now time.Time) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxProblemBody))
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxProblemBody))
	resp.Body.Close()
	return parseRefusal(resp.StatusCode, resp.Header, body, messageID, now)
}

// parseRefusal builds the *Error of an answer from its status, headers
// and body. A body that is not a problem object leaves the problem's
// members empty; nothing in it can make the parse fail.
func parseRefusal(status int, h http.Header, body []byte, messageID string, now time.Time) *Error {
	e := &Error{Status: status, XRoadError: h.Get(HeaderXRoadError), MessageID: messageID}
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	var retryMember time.Duration
	if mt == problem.ContentType || mt == "application/json" {
		// Members are read one by one, so one of the wrong type is
		// ignored rather than the whole object.
		var members map[string]json.RawMessage
		if json.Unmarshal(body, &members) == nil {
			str := func(k string) string {
				var v string
				if raw, ok := members[k]; ok {
					_ = json.Unmarshal(raw, &v)
				}
				return clip(v)
			}
			e.Type, e.Title, e.Detail, e.Instance = str("type"), str("title"), str("detail"), str("instance")
			if e.XRoadError == "" {
				e.XRoadError = str("xroad_error")
			}
			var secs float64
			if raw, ok := members["retry_after"]; ok && json.Unmarshal(raw, &secs) == nil && secs > 0 && secs < maxRetryAfterSeconds {
				retryMember = time.Duration(secs * float64(time.Second))
			}
		}
	}
	e.XRoadError = clip(e.XRoadError)
	if d, ok := parseRetryAfter(h.Get("Retry-After"), now); ok {
		e.RetryAfter = d
	} else {
		e.RetryAfter = retryMember
	}
	return e
}

// clip bounds a member copied from an answer, so that an error message
// stays readable whatever the server sent.
func clip(s string) string {
	const max = 1024
	if len(s) > max {
		return strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}

// maxRetryAfterSeconds bounds a Retry-After taken from an answer: a day.
const maxRetryAfterSeconds = 86400

// parseRetryAfter reads a Retry-After value: delay-seconds or an
// HTTP-date (RFC 9110 section 10.2.3).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 || n > maxRetryAfterSeconds {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	if d > maxRetryAfterSeconds*time.Second {
		return 0, false
	}
	return d, true
}

// TokenError is a refusal of the token endpoint: an RFC 6749 error code
// and description. invalid_request, invalid_scope, invalid_target and
// unsupported_grant_type match errkind.Invalid; a 429 errkind.RateLimited;
// a 5xx errkind.Unavailable; any other refusal (invalid_client,
// unauthorized_client, ...) errkind.Unauthorized.
type TokenError struct {
	Status      int
	Code        string
	Description string
}

func (e *TokenError) Error() string {
	s := fmt.Sprintf("consumer: token endpoint answered %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Is matches the error's kind.
func (e *TokenError) Is(target error) bool {
	var kind error
	switch {
	case e.Status == http.StatusTooManyRequests:
		kind = errkind.RateLimited
	case e.Status >= 500:
		kind = errkind.Unavailable
	case e.Code == "invalid_request" || e.Code == "invalid_scope" || e.Code == "invalid_target" || e.Code == "unsupported_grant_type":
		kind = errkind.Invalid
	default:
		kind = errkind.Unauthorized
	}
	return target != nil && target == kind
}
