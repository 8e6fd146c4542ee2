package interop_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/interop"
)

// The examples of X-Road's message protocol for REST (PR-REST, 4.1 and 6).
func TestParsePathXRoadExamples(t *testing.T) {
	for _, c := range []struct {
		path, service, rest string
	}{
		{"/r1/INSTANCE/CLASS2/MEMBER2/SUBSYSTEM2/BARSERVICE/v1/bar/zyggy", "INSTANCE/CLASS2/MEMBER2/SUBSYSTEM2/BARSERVICE", "/v1/bar/zyggy"},
		{"/r1/DEV/COM/222/TESTSERVICE/petstore/v2/pets/1124", "DEV/COM/222/TESTSERVICE/petstore", "/v2/pets/1124"},
		{"/r1/DEV/COM/222/TESTSERVICE/petstore/v2/pets/1124/images", "DEV/COM/222/TESTSERVICE/petstore", "/v2/pets/1124/images"},
		{"/r1/DEV/COM/222/TESTSERVICE/petstore", "DEV/COM/222/TESTSERVICE/petstore", "/"},
		{"/r1/DEV/COM/222/TESTSERVICE/petstore/", "DEV/COM/222/TESTSERVICE/petstore", "/"},
		// 4.2: a part that holds a '/' is percent-encoded on its own.
		{"/r1/INSTANCE/CLASS/MEMBER/SUBSYSTEM/BAR%2FSERVICE/x", "", ""},
		// Encoded slashes in the provider's path stay as they came.
		{"/r1/GR/GOV/EL-AADE/REG/addr/a%2Fb/c", "GR/GOV/EL-AADE/REG/addr", "/a%2Fb/c"},
		// '?' is allowed in identifiers and travels encoded.
		{"/r1/GR/GOV/M%3F/REG/x", "GR/GOV/M%3F/REG/x", "/"},
	} {
		id, rest, err := interop.ParsePath(c.path)
		if c.service == "" {
			assert.ErrorIs(t, err, interop.ErrInvalidID, c.path)
			continue
		}
		require.NoError(t, err, c.path)
		assert.Equal(t, c.service, id.String(), c.path)
		assert.Equal(t, c.rest, rest, c.path)
		back, err := interop.ParseServiceID(id.String())
		require.NoError(t, err)
		assert.Equal(t, id, back)
	}
	id, _, err := interop.ParsePath("/r1/INSTANCE/CLASS2/MEMBER2/SUBSYSTEM2/BARSERVICE/v1/bar/zyggy")
	require.NoError(t, err)
	assert.Equal(t, interop.ServiceID{Instance: "INSTANCE", Class: "CLASS2", Member: "MEMBER2", Subsystem: "SUBSYSTEM2", Service: "BARSERVICE"}, id)
	assert.Equal(t, interop.ClientID{Instance: "INSTANCE", Class: "CLASS2", Member: "MEMBER2", Subsystem: "SUBSYSTEM2"}, id.Provider())
}

func TestParsePathRefusals(t *testing.T) {
	for _, p := range []string{
		"", "/", "/r1/", "/r2/A/B/C/D/E", "/rest/A/B/C/D/E", "r1/A/B/C/D/E",
		"/r1/A/B/C/D",                                // no service
		"/r1/A/B/C/D/",                               // empty service
		"/r1/A//C/D/E",                               // empty part
		"/r1/A/B/C/D/E/../../x",                      // dot segments in the provider's path
		"/r1/A/B/C/D/E/a/%2e%2E/x",                   // encoded dot segments
		"/r1/A/B/C/D/E/a//b",                         // empty inner segment
		"/r1/A/B/C/D/..",                             // dot segment as identifier
		"/r1/A/B/C/D/%2e",                            // encoded dot segment as identifier
		"/r1/A/B/C%20D/E/F",                          // space
		"/r1/A/B/C/D/%ZZ",                            // bad escape
		"/r1/A/B/Ελλάδα/D/E",                         // not an allowed character
		"/r1/A/B/%CE%95/D/E",                         // not an allowed character, encoded
		"/r1/A/B/C/D/E" + strings.Repeat("/x", 1000), // too long
	} {
		_, _, err := interop.ParsePath(p)
		assert.ErrorIs(t, err, interop.ErrInvalidID, "%q", p)
		assert.ErrorIs(t, err, errkind.Invalid, "%q", p)
	}
}

func TestClientID(t *testing.T) {
	for _, c := range []struct {
		in   string
		want interop.ClientID
	}{
		{"INSTANCE/CLASS1/MEMBER1/SUBSYSTEM1", interop.ClientID{Instance: "INSTANCE", Class: "CLASS1", Member: "MEMBER1", Subsystem: "SUBSYSTEM1"}},
		{"DEV/COM/222/TESTCLIENT", interop.ClientID{Instance: "DEV", Class: "COM", Member: "222", Subsystem: "TESTCLIENT"}},
		{"FI/GOV/2296962-1", interop.ClientID{Instance: "FI", Class: "GOV", Member: "2296962-1"}},
		{"GR/GOV/M'(x)+,.=%3F", interop.ClientID{Instance: "GR", Class: "GOV", Member: "M'(x)+,.=?"}},
	} {
		got, err := interop.ParseClientID(c.in)
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, got)
		assert.Equal(t, c.in, got.String())
		assert.NoError(t, interop.ValidateClientID(got))
	}
	for _, bad := range []string{"", "A/B", "A/B/C/D/E", "A/B/C/", "A/B/C D", "A/B/C/_x", "A/B/C/x;y", "A/B/" + strings.Repeat("x", 256)} {
		_, err := interop.ParseClientID(bad)
		assert.ErrorIs(t, err, interop.ErrInvalidID, "%q", bad)
	}
	c := interop.ClientID{Instance: "GR", Class: "GOV", Member: "M", Subsystem: "S"}
	assert.Equal(t, interop.ClientID{Instance: "GR", Class: "GOV", Member: "M"}, c.MemberID())
}

func TestServiceIDWithVersion(t *testing.T) {
	id, err := interop.ParseServiceID("FI/GOV/0245458-3/VeroSS2/getTaxRating/v1")
	require.NoError(t, err)
	assert.Equal(t, "v1", id.Version)
	assert.Equal(t, "FI/GOV/0245458-3/VeroSS2/getTaxRating/v1", id.String())
	_, err = interop.ParseServiceID("FI/GOV/0245458-3/VeroSS2")
	assert.ErrorIs(t, err, interop.ErrInvalidID, "the subsystem is required")
	text, err := id.MarshalText()
	require.NoError(t, err)
	var back interop.ServiceID
	require.NoError(t, back.UnmarshalText(text))
	assert.Equal(t, id, back)
	assert.ErrorIs(t, back.UnmarshalText([]byte("x")), interop.ErrInvalidID)
}

// FuzzParsePath: no panic, and what parses prints back to a path that
// parses to the same service and rest.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/r1/INSTANCE/CLASS2/MEMBER2/SUBSYSTEM2/BARSERVICE/v1/bar/zyggy", "/r1/A/B/C/D/E", "/r1/A/B/M%3F/D/E/%2e", "/r1/A/B/C/D/E/a%2Fb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		id, rest, err := interop.ParsePath(p)
		if err != nil {
			return
		}
		again, rest2, err := interop.ParsePath("/r1/" + id.String() + rest)
		if err != nil {
			t.Fatalf("%q parsed to %v %q, which does not parse back: %v", p, id, rest, err)
		}
		if again != id || rest2 != rest {
			t.Fatalf("%q: %v %q then %v %q", p, id, rest, again, rest2)
		}
	})
}

// FuzzParseClientID: no panic, and a round trip through String.
func FuzzParseClientID(f *testing.F) {
	for _, s := range []string{"DEV/COM/222/TESTCLIENT", "FI/GOV/2296962-1", "A/B/%3F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := interop.ParseClientID(s)
		if err != nil {
			return
		}
		back, err := interop.ParseClientID(c.String())
		if err != nil || back != c {
			t.Fatalf("%q → %v → %q → %v, %v", s, c, c.String(), back, err)
		}
	})
}
