package verify_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/interop/exchangelog/verify"
)

func sample() verify.Entry {
	return verify.Entry{
		ExchangeID:       "xr-2026-000001",
		Time:             time.Date(2026, 11, 22, 10, 0, 0, 123456789, time.FixedZone("EET", 2*3600)),
		Gateway:          "gw-1",
		Consumer:         "EL/GOV/090165560/portal",
		Service:          "EL/GOV/090153025/registry/birth-record",
		Method:           "POST",
		ConsentID:        "c-1",
		Subject:          "psn-Ωμέγα",
		RequestSHA256:    sha256.Sum256([]byte("request")),
		ResponseSHA256:   sha256.Sum256([]byte("response")),
		RequestSize:      7,
		ResponseSize:     8,
		Status:           200,
		Duration:         1500*time.Microsecond + 999*time.Nanosecond,
		UpstreamDuration: 900 * time.Microsecond,
	}
}

// TestLeafEncoding pins the canonical encoding: a change to it changes
// every leaf hash, so it must be deliberate (a new first line).
func TestLeafEncoding(t *testing.T) {
	leaf, err := sample().MarshalLeaf()
	require.NoError(t, err)
	want := "egovkit exchange v1\n" +
		"id xr-2026-000001\n" +
		"time 1795334400123456\n" +
		"gateway gw-1\n" +
		"consumer EL/GOV/090165560/portal\n" +
		"service EL/GOV/090153025/registry/birth-record\n" +
		"method POST\n" +
		"consent c-1\n" +
		"subject psn-Ωμέγα\n" +
		"request-sha256 " + hexOf("request") + "\n" +
		"response-sha256 " + hexOf("response") + "\n" +
		"request-size 7\n" +
		"response-size 8\n" +
		"status 200\n" +
		"error \n" +
		"duration-us 1500\n" +
		"upstream-us 900\n"
	assert.Equal(t, want, string(leaf))

	e, err := verify.ParseLeaf(leaf)
	require.NoError(t, err)
	assert.Equal(t, sample().Normalize(), e)
	assert.Equal(t, time.UTC, e.Time.Location())
}

func hexOf(s string) string {
	h := sha256.Sum256([]byte(s))
	const digits = "0123456789abcdef"
	var b strings.Builder
	for _, c := range h {
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&15])
	}
	return b.String()
}

// TestParseLeafOneSpelling: other spellings of the same values are
// refused, so an entry has exactly one leaf hash.
func TestParseLeafOneSpelling(t *testing.T) {
	leaf, err := sample().MarshalLeaf()
	require.NoError(t, err)
	for name, change := range map[string]func(string) string{
		"leading zero": func(s string) string { return strings.Replace(s, "status 200", "status 0200", 1) },
		"upper-case hex": func(s string) string {
			return strings.Replace(s, hexOf("request"), strings.ToUpper(hexOf("request")), 1)
		},
		"no final newline": func(s string) string { return strings.TrimSuffix(s, "\n") },
		"extra line":       func(s string) string { return s + "extra 1\n" },
		"crlf":             func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") },
		"lines swapped": func(s string) string {
			return strings.Replace(s, "gateway gw-1\nconsumer EL/GOV/090165560/portal\n", "consumer EL/GOV/090165560/portal\ngateway gw-1\n", 1)
		},
		"other version":  func(s string) string { return strings.Replace(s, "v1", "v2", 1) },
		"plus sign":      func(s string) string { return strings.Replace(s, "request-size 7", "request-size +7", 1) },
		"negative":       func(s string) string { return strings.Replace(s, "request-size 7", "request-size -7", 1) },
		"space in value": func(s string) string { return strings.Replace(s, "gateway gw-1", "gateway gw 1", 1) },
		"short hash":     func(s string) string { return strings.Replace(s, hexOf("request"), hexOf("request")[:62], 1) },
		"long hash":      func(s string) string { return strings.Replace(s, hexOf("request"), hexOf("request")+"00", 1) },
		"status too big": func(s string) string { return strings.Replace(s, "status 200", "status 2000000000000", 1) },
		"no id":          func(s string) string { return strings.Replace(s, "id xr-2026-000001", "id ", 1) },
		"huge duration": func(s string) string {
			return strings.Replace(s, "duration-us 1500", "duration-us 9223372036854775807", 1)
		},
		"empty":       func(string) string { return "" },
		"prefix only": func(string) string { return verify.LeafPrefix + "\n" },
	} {
		_, err := verify.ParseLeaf([]byte(change(string(leaf))))
		assert.ErrorIs(t, err, verify.ErrMalformed, name)
		assert.ErrorIs(t, err, errkind.Invalid, name)
	}
}

// FuzzParseLeaf: parsing never panics, and whatever parses encodes back
// to the same bytes.
func FuzzParseLeaf(f *testing.F) {
	leaf, _ := sample().MarshalLeaf()
	f.Add(leaf)
	f.Add([]byte(verify.LeafPrefix + "\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := verify.ParseLeaf(b)
		if err != nil {
			return
		}
		again, err := e.MarshalLeaf()
		require.NoError(t, err)
		assert.Equal(t, b, again)
	})
}

// FuzzParseCheckpoint: no panic, and a parsed checkpoint formats back to
// its first three lines.
func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte("example.org/log\n5\n" + strings.Repeat("A", 43) + "=\n"))
	f.Add([]byte("example.org/log\n5\n" + strings.Repeat("A", 43) + "=\next\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := verify.ParseCheckpoint(b)
		if err != nil {
			return
		}
		assert.True(t, bytes.HasPrefix(b, verify.FormatCheckpoint(c.Origin, c.Size, c.Root)))
	})
}

func TestOpenCheckpoint(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "example.org/log")
	require.NoError(t, err)
	signer, err := note.NewSigner(skey)
	require.NoError(t, err)
	root := sha256.Sum256([]byte("root"))
	body := verify.FormatCheckpoint("example.org/log", 42, root)
	signed, err := note.Sign(&note.Note{Text: string(body)}, signer)
	require.NoError(t, err)

	c, err := verify.OpenCheckpoint(signed, vkey)
	require.NoError(t, err)
	assert.Equal(t, int64(42), c.Size)
	assert.Equal(t, verify.Hash(root), c.Root)
	assert.Equal(t, "example.org/log", c.Origin)

	// Another key, a changed body, another origin under this key.
	_, otherV, err := note.GenerateKey(rand.Reader, "example.org/log")
	require.NoError(t, err)
	_, err = verify.OpenCheckpoint(signed, otherV)
	assert.ErrorIs(t, err, verify.ErrSignature)
	_, err = verify.OpenCheckpoint(bytes.Replace(signed, []byte("\n42\n"), []byte("\n43\n"), 1), vkey)
	assert.ErrorIs(t, err, verify.ErrSignature)
	other, err := note.Sign(&note.Note{Text: string(verify.FormatCheckpoint("other.org/log", 42, root))}, signer)
	require.NoError(t, err)
	_, err = verify.OpenCheckpoint(other, vkey)
	assert.ErrorIs(t, err, verify.ErrSignature)
	_, err = verify.OpenCheckpoint(signed, "not a key")
	assert.ErrorIs(t, err, verify.ErrMalformed)

	for _, bad := range []string{"", "o\n1\n", "o\n01\n" + root64(root) + "\n", "o\n-1\n" + root64(root) + "\n",
		"o\n1\nAAAA\n", "o o\n1\n" + root64(root) + "\n", "\n1\n" + root64(root) + "\n"} {
		_, err := verify.ParseCheckpoint([]byte(bad))
		assert.ErrorIs(t, err, verify.ErrMalformed, "%q", bad)
	}
}

func root64(h [32]byte) string { return verify.Hash(h).String() }
