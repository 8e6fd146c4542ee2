package httpsig

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"io"
	"strings"
)

// The RFC 9530 digest algorithms this package computes and checks.
const (
	DigestSHA256 = "sha-256"
	DigestSHA512 = "sha-512"
)

func newHash(alg string) hash.Hash {
	switch alg {
	case DigestSHA256:
		return sha256.New()
	case DigestSHA512:
		return sha512.New()
	}
	return nil
}

// ContentDigest is the Content-Digest field value (RFC 9530) of body with
// alg (DigestSHA256 or DigestSHA512), such as "sha-256=:47DEQpj8...=:".
func ContentDigest(alg string, body []byte) (string, error) {
	h := newHash(alg)
	if h == nil {
		return "", fail(ErrConfig, "unsupported digest algorithm "+alg)
	}
	h.Write(body)
	return digestValue(alg, h.Sum(nil)), nil
}

// digestValue is the dictionary of one member, alg (a valid key) with the
// byte sequence sum, written in one allocation.
func digestValue(alg string, sum []byte) string {
	var enc [(sha512.Size + 2) / 3 * 4]byte
	var b strings.Builder
	b.Grow(len(alg) + 3 + base64.StdEncoding.EncodedLen(len(sum)))
	b.WriteString(alg)
	b.WriteString("=:")
	b.Write(base64.StdEncoding.AppendEncode(enc[:0], sum))
	b.WriteByte(':')
	return b.String()
}

// DigestReader hashes a body as it is read, so that a stream's
// Content-Digest is known once it has been read to the end, without
// holding the body in memory.
type DigestReader struct {
	r   io.Reader
	alg string
	h   hash.Hash
	eof bool
}

// NewDigestReader returns a reader of r that hashes with alg
// (DigestSHA256 or DigestSHA512).
func NewDigestReader(r io.Reader, alg string) (*DigestReader, error) {
	h := newHash(alg)
	if h == nil {
		return nil, fail(ErrConfig, "unsupported digest algorithm "+alg)
	}
	return &DigestReader{r: r, alg: alg, h: h}, nil
}

func (d *DigestReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.h.Write(p[:n])
	if err == io.EOF {
		d.eof = true
	}
	return n, err
}

// Value is the Content-Digest field value of what was read, and whether
// the body was read to its end (before that, the value covers a prefix).
func (d *DigestReader) Value() (string, bool) {
	return digestValue(d.alg, d.h.Sum(nil)), d.eof
}

// parseContentDigest picks the strongest supported digest of a
// Content-Digest field value.
func parseContentDigest(v string) (alg string, want []byte, err error) {
	members, perr := parseDictionary(v)
	if perr != nil {
		return "", nil, fail(ErrDigest, "Content-Digest is not a structured dictionary")
	}
	for _, pick := range []string{DigestSHA512, DigestSHA256} {
		for _, m := range members {
			if m.key != pick || m.isInner {
				continue
			}
			b, ok := m.item.val.([]byte)
			if !ok || len(b) != newHash(pick).Size() {
				return "", nil, fail(ErrDigest, "Content-Digest "+pick+" is not a digest")
			}
			return pick, b, nil
		}
	}
	return "", nil, fail(ErrDigest, "Content-Digest has no sha-256 or sha-512 digest")
}

// VerifyingBody wraps a request body so that it is checked against a
// Content-Digest field value while it is read: the Read that reaches the
// end returns an [*Error] matching [ErrDigest] instead of io.EOF when the
// body does not match. A handler that acts on a body only after reading
// it to the end (io.ReadAll, or a decoder followed by a check for EOF)
// thus never acts on a tampered one.
type VerifyingBody struct {
	rc     io.ReadCloser
	h      hash.Hash
	want   []byte
	err    error
	passed bool
}

// NewVerifyingBody checks that contentDigest names a supported digest and
// returns the wrapped body; a nil body reads as empty.
func NewVerifyingBody(body io.ReadCloser, contentDigest string) (*VerifyingBody, error) {
	alg, want, err := parseContentDigest(contentDigest)
	if err != nil {
		return nil, err
	}
	if body == nil {
		body = io.NopCloser(bytes.NewReader(nil))
	}
	return &VerifyingBody{rc: body, h: newHash(alg), want: want}, nil
}

func (v *VerifyingBody) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF {
		if subtle.ConstantTimeCompare(v.h.Sum(nil), v.want) != 1 {
			v.err = fail(ErrDigest, "the body does not match Content-Digest")
			return n, v.err
		}
		v.passed = true
		v.err = io.EOF
	} else if err != nil {
		v.err = err
	}
	return n, err
}

// Close closes the underlying body.
func (v *VerifyingBody) Close() error { return v.rc.Close() }

// Verified reports whether the body has been read to its end and matched.
func (v *VerifyingBody) Verified() bool { return v.passed }
