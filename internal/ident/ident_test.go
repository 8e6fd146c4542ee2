package ident

import (
	"bytes"
	"crypto/rand"
	"errors"
	mrand "math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAFM(t *testing.T) {
	// 1·2⁸ + 2·2⁷ + 3·2⁶ + 4·2⁵ + 5·2⁴ + 6·2³ + 7·2² + 8·2¹ = 1004;
	// 1004 mod 11 = 3; 3 mod 10 = 3: check digit 3.
	// 0·2⁸ + 9·2⁷ = 1152; 1152 mod 11 = 8: check digit 8.
	// 5·2¹ = 10; 10 mod 11 = 10; 10 mod 10 = 0: check digit 0.
	tests := []struct {
		in, want, reason string
	}{
		{"123456783", "123456783", ""},
		{"090000008", "090000008", ""},
		{"000000050", "000000050", ""},
		{" 123 456 783 ", "123456783", ""},
		{"EL123456783", "123456783", ""},
		{"gr 123-456-783", "123456783", ""},
		{"123456784", "", "check digit does not match"},
		{"000000051", "", "check digit does not match"},
		{"000000000", "", "cannot be all zeros"},
		{"12345678", "", "must have 9 digits"},
		{"1234567830", "", "must have 9 digits"},
		{"", "", "must have 9 digits"},
		{"12345678A", "", "must contain digits only"},
		{"١٢٣٤٥٦٧٨٣", "", "must have 9 digits"}, // Arabic-Indic digits are not accepted
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := AFM{}.Normalize(tt.in)
			if tt.reason == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				assert.True(t, ValidAFM(tt.in))
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalid)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, "gr-afm", e.Scheme)
			assert.Equal(t, tt.reason, e.Reason)
			assert.Empty(t, got)
			assert.False(t, ValidAFM(tt.in))
		})
	}
}

func TestAMKA(t *testing.T) {
	// 1503850123 from the right, doubling every other digit starting with
	// the last: 6+2+2+0+1+8+6+0+1+1 = 27, so the Luhn digit is 3.
	tests := []struct {
		in, reason string
	}{
		{"15038501233", ""},
		{"150385 0123 3", ""},
		{"29020012349", ""}, // 29 Feb 2000: valid in the 2000s
		{"15038501234", "check digit does not match"},
		{"31020112340", "does not start with a valid date of birth (DDMMYY)"},
		{"29020112340", "does not start with a valid date of birth (DDMMYY)"}, // 1901 and 2001 are not leap years
		{"00018501230", "does not start with a valid date of birth (DDMMYY)"},
		{"01138501230", "does not start with a valid date of birth (DDMMYY)"},
		{"1503850123", "must have 11 digits"},
		{"1503850123x", "must contain digits only"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := AMKA{}.Normalize(tt.in)
			if tt.reason == "" {
				require.NoError(t, err)
				assert.Len(t, got, 11)
				assert.True(t, ValidAMKA(tt.in))
				return
			}
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.reason, e.Reason)
			assert.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func TestLuhnDigitOfTheLeapDayExample(t *testing.T) {
	// 2902001234 from the right, doubling the last digit first:
	// 8+3+4+1+0+0+4+0+9+2 = 31, so the Luhn digit is 9.
	assert.Equal(t, byte('9'), luhnCheck("2902001234"))
	assert.Equal(t, byte('3'), luhnCheck("1503850123"))
}

func TestAMKABirthDate(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	mk := func(ddmmyy string) string {
		s := ddmmyy + "0123"
		return s + string(luhnCheck(s))
	}
	tests := []struct {
		amka string
		want time.Time
	}{
		{mk("150385"), time.Date(1985, 3, 15, 0, 0, 0, 0, time.UTC)},
		{mk("010125"), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		{mk("221126"), time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}, // born today
		{mk("231126"), time.Date(1926, 11, 23, 0, 0, 0, 0, time.UTC)}, // tomorrow in 2026 is in the future
		{mk("290200"), time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC)},
		{mk("290204"), time.Date(2004, 2, 29, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := AMKABirthDate(tt.amka, now)
		require.NoError(t, err, tt.amka)
		assert.Equal(t, tt.want, got, tt.amka)
	}
	// 29 Feb '28: 2028 is in the future and 1928 was a leap year.
	got, err := AMKABirthDate(mk("290228"), now)
	require.NoError(t, err)
	assert.Equal(t, time.Date(1928, 2, 29, 0, 0, 0, 0, time.UTC), got)

	_, err = AMKABirthDate("123", now)
	assert.ErrorIs(t, err, ErrInvalid)
}

func TestRegistry(t *testing.T) {
	r := Default()
	assert.Equal(t, []string{"gr-afm", "gr-amka"}, r.Names())
	got, err := r.Normalize("gr-afm", "EL 123456783")
	require.NoError(t, err)
	assert.Equal(t, "123456783", got)
	_, err = r.Normalize("gr-amka", "123")
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = r.Normalize("cy-tic", "1")
	assert.ErrorIs(t, err, ErrUnknownScheme)

	// Another country's scheme plugs in.
	r.Register(fixedLength{name: "xx-id", n: 4})
	got, err = r.Normalize("xx-id", "1234")
	require.NoError(t, err)
	assert.Equal(t, "1234", got)
	_, err = r.Normalize("xx-id", "12")
	assert.ErrorIs(t, err, ErrInvalid)
	assert.Equal(t, []string{"gr-afm", "gr-amka"}, Default().Names(), "registries do not share state")
}

type fixedLength struct {
	name string
	n    int
}

func (f fixedLength) Name() string { return f.name }
func (f fixedLength) Normalize(s string) (string, error) {
	if len(s) != f.n || !digitsOnly(s) {
		return "", &Error{Scheme: f.name, Reason: "wrong length"}
	}
	return s, nil
}

func TestErrorKeepsNoValue(t *testing.T) {
	_, err := AFM{}.Normalize("123456784")
	assert.NotContains(t, err.Error(), "123456784", "errors can be logged without exposing the number")
}

func TestMask(t *testing.T) {
	assert.Equal(t, "*******83", MaskAFM("123456783"))
	assert.Equal(t, "*********33", MaskAMKA("15038501233"))
	assert.Equal(t, "*2", Mask("12", 4), "never more than half is shown")
	assert.Equal(t, "", Mask("", 2))
	assert.Equal(t, "***", Mask("abc", -1))
}

func TestGenerators(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	src := readerFunc(func(p []byte) (int, error) {
		for i := range p {
			p[i] = byte(rng.UintN(256))
		}
		return len(p), nil
	})
	birth := time.Date(1990, 7, 4, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 1000; i++ {
		afm, err := GenerateAFM(src)
		require.NoError(t, err)
		require.True(t, ValidAFM(afm), afm)
		amka, err := GenerateAMKA(birth, src)
		require.NoError(t, err)
		require.True(t, ValidAMKA(amka), amka)
		require.Equal(t, "040790", amka[:6])
	}
	afm, err := GenerateAFM(rand.Reader)
	require.NoError(t, err)
	assert.True(t, ValidAFM(afm))

	_, err = GenerateAFM(bytes.NewReader(nil))
	assert.Error(t, err)
	_, err = GenerateAMKA(birth, bytes.NewReader([]byte{1}))
	assert.Error(t, err)
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"123456783", "EL123456783", "15038501233", "", "000000000", "29020012349", "\xff\xfe", "GR-1.2 3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, sc := range []Scheme{AFM{}, AMKA{}} {
			got, err := sc.Normalize(s)
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("%s: untyped error %v", sc.Name(), err)
				}
				continue
			}
			again, err := sc.Normalize(got)
			if err != nil || again != got {
				t.Fatalf("%s: %q normalised to %q, which does not re-validate (%v)", sc.Name(), s, got, err)
			}
			if !digitsOnly(got) {
				t.Fatalf("%s: canonical form %q is not digits", sc.Name(), got)
			}
		}
	})
}
