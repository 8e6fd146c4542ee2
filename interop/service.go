package interop

import (
	"encoding/json"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/egovkit/egovkit/problem"
)

// Text is a text in Greek and English.
type Text struct {
	El string `json:"el"`
	En string `json:"en"`
}

// ItemType is the type of a data item's value.
type ItemType string

// Types of data items.
const (
	ItemText     ItemType = "text"
	ItemNumber   ItemType = "number"
	ItemDate     ItemType = "date"
	ItemBoolean  ItemType = "boolean"
	ItemCode     ItemType = "code"     // a value of a code list
	ItemDocument ItemType = "document" // a whole document, such as a certificate
)

// DataItem is one piece of information a service offers about a citizen
// or a business, such as "residence_address": what a consent names and a
// citizen's access log shows.
type DataItem struct {
	// Code identifies the item within the service: lower-case letters,
	// digits, '_', '.' and '-', at most 64 bytes.
	Code  string   `json:"code"`
	Type  ItemType `json:"type"`
	Label Text     `json:"label"`
}

// Limits bound each call of a service. Zero means the gateway's default.
type Limits struct {
	MaxRequestBytes  int64         `json:"max_request_bytes,omitempty"`
	MaxResponseBytes int64         `json:"max_response_bytes,omitempty"`
	Timeout          time.Duration `json:"-"` // "timeout_ms" in JSON
	// RatePerSecond and Burst bound the calls of one consumer: a token
	// bucket refilled at RatePerSecond holding at most Burst calls (Burst 0
	// means one second's worth, at least 1).
	RatePerSecond float64 `json:"rate_per_second,omitempty"`
	Burst         int     `json:"burst,omitempty"`
}

// Service is a provider's service in the registry.
type Service struct {
	ID ServiceID `json:"id"`
	// Owner is the member that provides the service and answers for it:
	// the ID's instance, class and member (a subsystem is not taken). Left
	// zero, it is filled from the ID.
	Owner ClientID `json:"owner,omitzero"`
	Title Text     `json:"title"`
	// Upstream is the provider's base URL, http or https, with no query,
	// fragment or user information; the gateway appends the rest of the
	// request's path to its path.
	Upstream string `json:"upstream"`
	// OpenAPI is the service's OpenAPI 3 document as JSON, stored as
	// given; empty when the provider published none.
	OpenAPI json.RawMessage `json:"openapi,omitempty"`
	// Items are the data items the service offers.
	Items []DataItem `json:"items,omitempty"`
	// ConsentRequired makes the gateway ask the [ConsentChecker] before
	// each call; otherwise LegalBasis names the law that allows the
	// exchange without consent (at least one of the two is needed).
	ConsentRequired bool   `json:"consent_required"`
	LegalBasis      string `json:"legal_basis,omitempty"`
	Limits          Limits `json:"limits"`
	// Disabled switches the service off without deleting it or its
	// rights: calls are refused with [ErrServiceDisabled].
	Disabled bool `json:"disabled"`
	// Revision counts the changes of the service, set by the store; an
	// update must name the revision it started from.
	Revision  int64     `json:"revision"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Size limits of a registration.
const (
	MaxOpenAPIBytes = 1 << 20
	MaxItems        = 200
	maxTextLen      = 500
	maxURLLen       = 2000
)

// Validate checks a registration, and fills Owner from the ID when it is
// zero. Errors match [ErrInvalid] and carry a *problem.ValidationError
// listing every field.
func (s *Service) Validate() error {
	var v violations
	if err := ValidateServiceID(s.ID); err != nil {
		v.add("/id", "invalid", err.(*Error).Detail, "μη έγκυρο αναγνωριστικό υπηρεσίας")
	} else if s.ID.Version != "" {
		v.add("/id", "invalid", "a REST service has no version in its identifier: put it in its paths", "μια υπηρεσία REST δεν έχει έκδοση στο αναγνωριστικό της")
	}
	if s.Owner.IsZero() {
		s.Owner = s.ID.Provider().MemberID()
	} else if s.Owner.MemberID() != s.ID.Provider().MemberID() || s.Owner.Subsystem != "" {
		v.add("/owner", "invalid", "the owner is the member named in the service's identifier", "κάτοχος είναι το μέλος του αναγνωριστικού της υπηρεσίας")
	}
	checkText(&v, "/title", s.Title, true)
	if msg := checkUpstream(s.Upstream); msg != "" {
		v.add("/upstream", "invalid", msg, "μη αποδεκτή διεύθυνση παρόχου (http ή https)")
	}
	if len(s.OpenAPI) > 0 {
		if msg := checkOpenAPI(s.OpenAPI); msg != "" {
			v.add("/openapi", "invalid", msg, "μη έγκυρο έγγραφο OpenAPI 3")
		}
	}
	if len(s.Items) > MaxItems {
		v.add("/items", "too_many", "at most "+strconv.Itoa(MaxItems)+" data items", "έως "+strconv.Itoa(MaxItems)+" στοιχεία")
	}
	seen := make(map[string]bool, len(s.Items))
	for i, it := range s.Items {
		p := "/items/" + strconv.Itoa(i)
		if !validItemCode(it.Code) {
			v.add(p+"/code", "invalid", "a code of lower-case letters, digits, '_', '.' and '-', at most 64 bytes", "κωδικός με πεζά λατινικά, ψηφία, '_', '.' και '-'")
		} else if seen[it.Code] {
			v.add(p+"/code", "duplicate", "the code is given twice", "ο κωδικός δίνεται δύο φορές")
		}
		seen[it.Code] = true
		switch it.Type {
		case ItemText, ItemNumber, ItemDate, ItemBoolean, ItemCode, ItemDocument:
		default:
			v.add(p+"/type", "invalid", "one of text, number, date, boolean, code, document", "ένας από τους τύπους text, number, date, boolean, code, document")
		}
		checkText(&v, p+"/label", it.Label, true)
	}
	if !s.ConsentRequired && strings.TrimSpace(s.LegalBasis) == "" {
		v.add("/legal_basis", "required", "a service that needs no consent names the legal basis that allows the exchange", "χωρίς συγκατάθεση απαιτείται νομική βάση")
	}
	if len(s.LegalBasis) > maxTextLen || !utf8.ValidString(s.LegalBasis) {
		v.add("/legal_basis", "invalid", "at most 500 bytes of UTF-8", "έως 500 χαρακτήρες")
	}
	l := s.Limits
	if l.MaxRequestBytes < 0 || l.MaxResponseBytes < 0 || l.Timeout < 0 || l.RatePerSecond < 0 || l.Burst < 0 ||
		l.RatePerSecond != l.RatePerSecond || l.RatePerSecond > 1e6 {
		v.add("/limits", "invalid", "limits are zero (the gateway's default) or positive", "τα όρια είναι μηδέν ή θετικά")
	}
	return v.err("the service cannot be registered as given")
}

func checkText(v *violations, p string, t Text, required bool) {
	for _, f := range []struct{ lang, s string }{{"el", t.El}, {"en", t.En}} {
		switch {
		case required && strings.TrimSpace(f.s) == "":
			v.add(p+"/"+f.lang, "required", "required", "υποχρεωτικό")
		case len(f.s) > maxTextLen || !utf8.ValidString(f.s):
			v.add(p+"/"+f.lang, "invalid", "at most 500 bytes of UTF-8", "έως 500 χαρακτήρες")
		}
	}
}

func checkUpstream(s string) string {
	if s == "" {
		return "the provider's URL is required"
	}
	if len(s) > maxURLLen {
		return "the provider's URL is too long"
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "the provider's URL does not parse"
	case u.Scheme != "http" && u.Scheme != "https":
		return "the provider's URL is http or https"
	case u.Host == "" || u.Opaque != "":
		return "the provider's URL names a host"
	case u.User != nil:
		return "the provider's URL carries no user information"
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "the provider's URL has no query or fragment"
	}
	if _, port, err := net.SplitHostPort(u.Host); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "the provider's URL has a bad port"
		}
	}
	return ""
}

func checkOpenAPI(doc json.RawMessage) string {
	if len(doc) > MaxOpenAPIBytes {
		return "the OpenAPI document is larger than 1 MiB"
	}
	var head struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(doc, &head); err != nil {
		return "the OpenAPI document is not a JSON object"
	}
	if !strings.HasPrefix(head.OpenAPI, "3.") {
		return `the OpenAPI document has no "openapi": "3.x" member`
	}
	return ""
}

func validItemCode(c string) bool {
	if c == "" || len(c) > 64 {
		return false
	}
	for i := 0; i < len(c); i++ {
		b := c[i]
		if !('a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '_' || b == '.' || b == '-') {
			return false
		}
	}
	return true
}

// violations gathers what is wrong with a registration.
type violations []problem.Violation

func (v *violations) add(pointer, kind, en, el string) {
	*v = append(*v, problem.Violation{Pointer: pointer, Kind: kind, Message: en, MessageEL: el})
}

func (v violations) err(detail string) error {
	if len(v) == 0 {
		return nil
	}
	return &invalidError{detail: detail, v: &problem.ValidationError{Violations: v}}
}

// invalidError matches ErrInvalid and carries the violations.
type invalidError struct {
	detail string
	v      *problem.ValidationError
}

func (e *invalidError) Error() string { return "interop: " + e.detail + ": " + e.v.Error() }
func (e *invalidError) Unwrap() []error {
	return []error{ErrInvalid, e.v}
}
func (e *invalidError) Problem() *problem.Problem {
	p := e.v.Problem()
	p.Detail = e.detail
	return p
}

type limitsJSON struct {
	MaxRequestBytes  int64   `json:"max_request_bytes,omitempty"`
	MaxResponseBytes int64   `json:"max_response_bytes,omitempty"`
	TimeoutMillis    int64   `json:"timeout_ms,omitempty"`
	RatePerSecond    float64 `json:"rate_per_second,omitempty"`
	Burst            int     `json:"burst,omitempty"`
}

// MarshalJSON writes the timeout as "timeout_ms".
func (l Limits) MarshalJSON() ([]byte, error) {
	return json.Marshal(limitsJSON{l.MaxRequestBytes, l.MaxResponseBytes, l.Timeout.Milliseconds(), l.RatePerSecond, l.Burst})
}

// UnmarshalJSON reads the timeout from "timeout_ms".
func (l *Limits) UnmarshalJSON(b []byte) error {
	var j limitsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.TimeoutMillis > int64(24*time.Hour/time.Millisecond) || j.TimeoutMillis < 0 {
		j.TimeoutMillis = -1 // refused by Validate
	}
	*l = Limits{j.MaxRequestBytes, j.MaxResponseBytes, time.Duration(j.TimeoutMillis) * time.Millisecond, j.RatePerSecond, j.Burst}
	return nil
}
