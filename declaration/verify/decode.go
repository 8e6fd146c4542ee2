package verify

import (
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// decodeOptions make JSON v2 read the claims as encoding/json reads them
// (a differential test and a fuzz test hold the two to the same
// results): names matched without regard to case but with their
// underscores, duplicate names allowed (the last one wins), invalid UTF-8
// replaced, null leaving a value as it is, and times read by
// time.Time.UnmarshalJSON. Unknown names are skipped, and data
// after the object is refused, as by both.
//
// It is JSON v2 rather than encoding/json because reading the claims is
// most of the verifier's work beyond the signature check: JSON v2 reads
// them in a quarter to a half of the time, and copies a short string it has read
// lately (an issuer, a name, a kind) once rather than for every token
// (BenchmarkDecode). Of the options that make up encoding/json's
// behaviour in JSON v2 (jsonv1.DefaultOptionsV1), it takes only those
// that reading these types depends on: the others concern writing JSON
// or Go types the claims do not have, and cost time. Times go through
// time.Time.UnmarshalJSON, as in encoding/json, rather than JSON v2's own
// reading of times, which takes a time written with escapes that
// UnmarshalJSON refuses.
var decodeOptions = jsonv2.JoinOptions(
	jsonv2.MatchCaseInsensitiveNames(true),
	jsonv1.MatchCaseSensitiveDelimiter(true),
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
	jsonv1.MergeWithLegacySemantics(true),
	jsonv2.WithUnmarshalers(jsonv2.UnmarshalFunc(func(b []byte, t *time.Time) error { return t.UnmarshalJSON(b) })),
)

// decode reads a token's JSON payload into claims (a *Claims or a
// *Summary) as encoding/json.Unmarshal does.
func decode(payload []byte, claims any) error {
	return jsonv2.Unmarshal(payload, claims, decodeOptions)
}
