package verify

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"
)

// Hash is a SHA-256 value: a leaf hash, a tree's root, a node of a proof,
// the digest of a request or response body. It is written in JSON as
// standard base64.
type Hash = tlog.Hash

// Limits of an entry's fields.
const (
	// MaxIDLength bounds ExchangeID.
	MaxIDLength = 128
	// MaxFieldLength bounds Gateway, Consumer, Service, ConsentID,
	// Subject and Error.
	MaxFieldLength = 255
	// MaxMethodLength bounds Method.
	MaxMethodLength = 16
)

// Entry is what the log keeps of one exchange: metadata and digests, never
// a payload or a citizen's identifier. In JSON, digests are base64 and
// durations are nanoseconds. Its fields follow X-Road's
// operational monitoring record (requestInTs, client and service
// identifiers, message id, request and response sizes, status code, fault
// code, durations), with the consent and the citizen's pseudonym added.
type Entry struct {
	// ExchangeID identifies the exchange (the gateway's X-Road-Request-Id);
	// unique in the log. Letters, digits and . _ : - only.
	ExchangeID string `json:"exchange_id"`
	// Time is when the gateway received the request (X-Road's
	// requestInTs), kept to the microsecond in UTC.
	Time time.Time `json:"time"`
	// Gateway names the instance that handled the exchange (X-Road's
	// security server); may be empty.
	Gateway string `json:"gateway,omitempty"`
	// Consumer is the calling client's identifier, X-Road style:
	// "EL/GOV/090165560/portal".
	Consumer string `json:"consumer"`
	// Service is the called service's identifier, X-Road style:
	// "EL/GOV/090153025/registry/birth-record".
	Service string `json:"service"`
	// Method is the HTTP method of the request.
	Method string `json:"method"`
	// ConsentID is the consent the exchange was made under; empty when a
	// legal basis allowed it.
	ConsentID string `json:"consent_id,omitempty"`
	// Subject is the citizen's pseudonym, never a tax or social-security
	// number; empty when the exchange concerns no citizen.
	Subject string `json:"subject,omitempty"`
	// RequestSHA256 and ResponseSHA256 are the SHA-256 digests of the
	// request and response bodies (of the empty string for none).
	RequestSHA256  Hash `json:"request_sha256"`
	ResponseSHA256 Hash `json:"response_sha256"`
	// RequestSize and ResponseSize are the bodies' lengths in bytes.
	RequestSize  int64 `json:"request_size"`
	ResponseSize int64 `json:"response_size"`
	// Status is the HTTP status answered to the consumer, 100 to 599.
	Status int `json:"status"`
	// Error is the typed code of a refusal or failure (X-Road's
	// faultCode, the gateway's problem type); empty on success.
	Error string `json:"error,omitempty"`
	// Duration is the whole exchange as the gateway saw it, from request
	// received to response sent (responseOutTs − requestInTs).
	Duration time.Duration `json:"duration"`
	// UpstreamDuration is the provider's share, from request forwarded to
	// response received (responseInTs − requestOutTs); zero when the
	// request was refused before it was forwarded.
	UpstreamDuration time.Duration `json:"upstream_duration"`
}

// LeafPrefix is the first line of every leaf in the encoding defined by
// [Entry.MarshalLeaf].
const LeafPrefix = "egovkit exchange v1"

// leafKeys are the keys of the leaf's lines after the first, in order.
var leafKeys = [...]string{
	"id", "time", "gateway", "consumer", "service", "method", "consent", "subject",
	"request-sha256", "response-sha256", "request-size", "response-size", "status", "error",
	"duration-us", "upstream-us",
}

// Normalize returns e with Time in UTC truncated to the microsecond, and
// the durations truncated to the microsecond: what the leaf keeps.
func (e Entry) Normalize() Entry {
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	e.Duration = e.Duration.Truncate(time.Microsecond)
	e.UpstreamDuration = e.UpstreamDuration.Truncate(time.Microsecond)
	return e
}

// Validate reports the first field that breaks the limits of the
// encoding, as an error matching [ErrMalformed].
func (e *Entry) Validate() error {
	bad := func(field, why string) error {
		return fmt.Errorf("%w: entry: %s %s", ErrMalformed, field, why)
	}
	if e.ExchangeID == "" || len(e.ExchangeID) > MaxIDLength || strings.IndexFunc(e.ExchangeID, notIDChar) >= 0 {
		return bad("exchange_id", fmt.Sprintf("must be 1 to %d letters, digits or . _ : -", MaxIDLength))
	}
	if e.Time.IsZero() || e.Time.Year() < 1970 || e.Time.Year() > 9999 {
		return bad("time", "must be a time between the years 1970 and 9999")
	}
	for _, f := range []struct {
		name, value string
		required    bool
	}{
		{"gateway", e.Gateway, false}, {"consumer", e.Consumer, true}, {"service", e.Service, true},
		{"consent_id", e.ConsentID, false}, {"subject", e.Subject, false}, {"error", e.Error, false},
	} {
		if f.required && f.value == "" {
			return bad(f.name, "is required")
		}
		if !token(f.value, MaxFieldLength) {
			return bad(f.name, fmt.Sprintf("must be at most %d printable characters without spaces", MaxFieldLength))
		}
	}
	if e.Method == "" || len(e.Method) > MaxMethodLength || strings.IndexFunc(e.Method, notMethodChar) >= 0 {
		return bad("method", "must be an HTTP method in capitals, such as GET")
	}
	if e.RequestSize < 0 || e.ResponseSize < 0 {
		return bad("request_size", "and response_size must not be negative")
	}
	if e.Status < 100 || e.Status > 599 {
		return bad("status", "must be an HTTP status, 100 to 599")
	}
	if e.Duration < 0 || e.UpstreamDuration < 0 {
		return bad("duration", "and upstream_duration must not be negative")
	}
	return nil
}

func notIDChar(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == ':' || r == '-')
}

func notMethodChar(r rune) bool { return !(r >= 'A' && r <= 'Z' || r == '-' || r == '_') }

// token reports whether s is valid UTF-8 of at most max bytes, with no
// space, control or other unprintable character.
func token(s string, max int) bool {
	if len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// MarshalLeaf returns the entry's canonical encoding: the bytes the Merkle
// tree's leaf is the hash of (RFC 6962: SHA-256 of 0x00 and the bytes).
// Two entries have the same encoding exactly when their normalised fields
// are equal. The entry is normalised first (see [Entry.Normalize]) and
// must pass [Entry.Validate].
//
// The encoding is UTF-8 text of 17 lines, each ended by a line feed
// (U+000A). The first is [LeafPrefix]; each other is a fixed key, one
// space and the value, in this order:
//
//	egovkit exchange v1
//	id <ExchangeID>
//	time <Time as Unix microseconds, decimal>
//	gateway <Gateway>
//	consumer <Consumer>
//	service <Service>
//	method <Method>
//	consent <ConsentID>
//	subject <Subject>
//	request-sha256 <RequestSHA256, 64 lower-case hex digits>
//	response-sha256 <ResponseSHA256, 64 lower-case hex digits>
//	request-size <RequestSize, decimal>
//	response-size <ResponseSize, decimal>
//	status <Status, decimal>
//	error <Error>
//	duration-us <Duration in microseconds, decimal>
//	upstream-us <UpstreamDuration in microseconds, decimal>
//
// An empty value leaves nothing after the space. Decimals have no sign,
// no leading zeros and no separators. No value can hold a space or a line
// feed, so the lines cannot be confused. A later version would change the
// first line.
func (e Entry) MarshalLeaf() ([]byte, error) {
	e = e.Normalize()
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e.appendLeaf(make([]byte, 0, 512)), nil
}

func (e *Entry) appendLeaf(b []byte) []byte {
	b = append(b, LeafPrefix+"\n"...)
	b = leafLine(b, "id", e.ExchangeID)
	b = leafNumber(b, "time", e.Time.UnixMicro())
	b = leafLine(b, "gateway", e.Gateway)
	b = leafLine(b, "consumer", e.Consumer)
	b = leafLine(b, "service", e.Service)
	b = leafLine(b, "method", e.Method)
	b = leafLine(b, "consent", e.ConsentID)
	b = leafLine(b, "subject", e.Subject)
	b = leafHex(b, "request-sha256", e.RequestSHA256[:])
	b = leafHex(b, "response-sha256", e.ResponseSHA256[:])
	b = leafNumber(b, "request-size", e.RequestSize)
	b = leafNumber(b, "response-size", e.ResponseSize)
	b = leafNumber(b, "status", int64(e.Status))
	b = leafLine(b, "error", e.Error)
	b = leafNumber(b, "duration-us", e.Duration.Microseconds())
	b = leafNumber(b, "upstream-us", e.UpstreamDuration.Microseconds())
	return b
}

// leafLine, leafNumber and leafHex append one line of the leaf, "key
// value\n", writing the value straight into b.
func leafLine(b []byte, key, value string) []byte {
	b = append(b, key...)
	b = append(b, ' ')
	b = append(b, value...)
	return append(b, '\n')
}

func leafNumber(b []byte, key string, n int64) []byte {
	b = append(b, key...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\n')
}

func leafHex(b []byte, key string, sum []byte) []byte {
	b = append(b, key...)
	b = append(b, ' ')
	b = hex.AppendEncode(b, sum)
	return append(b, '\n')
}

// MaxLeafSize bounds the encoding of an entry; ParseLeaf refuses longer
// input.
const MaxLeafSize = 4096

// ParseLeaf decodes the canonical encoding of [Entry.MarshalLeaf]. It
// accepts only that encoding: any other spelling of the same values
// (leading zeros, upper-case hex, a line out of order, a missing final
// line feed) fails with [ErrMalformed], so an entry has one leaf and one
// leaf hash.
func ParseLeaf(leaf []byte) (Entry, error) {
	var e Entry
	bad := func(why string) (Entry, error) {
		return Entry{}, fmt.Errorf("%w: leaf: %s", ErrMalformed, why)
	}
	if len(leaf) > MaxLeafSize {
		return bad("too long")
	}
	rest, ok := bytes.CutPrefix(leaf, []byte(LeafPrefix+"\n"))
	if !ok {
		return bad("does not start with " + strconv.Quote(LeafPrefix))
	}
	var values [len(leafKeys)]string
	for i, key := range leafKeys {
		var line []byte
		line, rest, ok = bytes.Cut(rest, []byte("\n"))
		if !ok {
			return bad("line " + key + " missing or not ended")
		}
		v, ok := bytes.CutPrefix(line, []byte(key+" "))
		if !ok {
			return bad("line " + strconv.Itoa(i+2) + " is not " + strconv.Quote(key))
		}
		values[i] = string(v)
	}
	if len(rest) != 0 {
		return bad("text after the last line")
	}
	nums := map[int]int64{}
	for _, i := range []int{1, 10, 11, 12, 14, 15} {
		n, err := strconv.ParseInt(values[i], 10, 64)
		if err != nil || n < 0 {
			return bad(leafKeys[i] + " is not a decimal")
		}
		nums[i] = n
	}
	if nums[12] > math.MaxInt32 || nums[14] > math.MaxInt64/1000 || nums[15] > math.MaxInt64/1000 {
		return bad("a number is out of range")
	}
	for i, h := range map[int]*Hash{8: &e.RequestSHA256, 9: &e.ResponseSHA256} {
		if len(values[i]) != 2*len(h) {
			return bad(leafKeys[i] + " is not a SHA-256 in hex")
		}
		if _, err := hex.Decode(h[:], []byte(values[i])); err != nil {
			return bad(leafKeys[i] + " is not a SHA-256 in hex")
		}
	}
	e.ExchangeID, e.Gateway, e.Consumer, e.Service, e.Method = values[0], values[2], values[3], values[4], values[5]
	e.ConsentID, e.Subject, e.Error = values[6], values[7], values[13]
	e.Time = time.UnixMicro(nums[1]).UTC()
	e.RequestSize, e.ResponseSize, e.Status = nums[10], nums[11], int(nums[12])
	e.Duration = time.Duration(nums[14]) * time.Microsecond
	e.UpstreamDuration = time.Duration(nums[15]) * time.Microsecond
	if err := e.Validate(); err != nil {
		return Entry{}, err
	}
	// One spelling only: the entry must encode back to the same bytes.
	if !bytes.Equal(e.appendLeaf(nil), leaf) {
		return bad("not in canonical form")
	}
	return e, nil
}

// LeafHash returns the RFC 6962 hash of a leaf: SHA-256 of a zero byte
// followed by the leaf's bytes.
func LeafHash(leaf []byte) Hash { return tlog.RecordHash(leaf) }
