package interop

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/egovkit/egovkit/interop/exchangelog/verify"
	"github.com/egovkit/egovkit/interop/httpsig"
)

// errResponseBody is a response larger than the service's limit; errBodyLimit
// is what the meter's Read returns past its limit.
var (
	errResponseBody = errors.New("interop: the provider's response is larger than allowed")
	errBodyLimit    = errors.New("interop: body larger than allowed")
)

// meter counts and hashes a body as it streams, and stops it at a limit:
// the Read that would pass the limit returns errBodyLimit. Request bodies
// are hashed with SHA-256 (the exchange log, the Content-Digest of a
// buffered body) and SHA-512 (X-Road-Request-Hash); responses with
// SHA-256 only. Its state is guarded: the transport may still be reading
// a request body the provider answered before reading, while the
// exchange is logged.
type meter struct {
	mu       sync.Mutex
	rc       io.ReadCloser
	limit    int64
	n        int64
	h256     hash.Hash
	h512     hash.Hash
	err      error
	eof      bool
	tooLarge bool
}

func newMeter(rc io.ReadCloser, limit int64, request bool) *meter {
	m := &meter{rc: rc, limit: limit, h256: sha256.New()}
	if request {
		m.h512 = sha512.New()
	}
	if rc == nil {
		m.eof = true
	}
	return m
}

func (m *meter) Read(p []byte) (int, error) {
	if m.rc == nil {
		return 0, io.EOF
	}
	m.mu.Lock()
	if m.tooLarge {
		m.mu.Unlock()
		return 0, errBodyLimit
	}
	// Read one byte past the limit, to tell a body of exactly the limit
	// from a larger one.
	if room := m.limit - m.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	m.mu.Unlock()
	n, err := m.rc.Read(p)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n+int64(n) > m.limit {
		n = int(m.limit - m.n)
		m.tooLarge = true
		err = errBodyLimit
	}
	m.h256.Write(p[:n])
	if m.h512 != nil {
		m.h512.Write(p[:n])
	}
	m.n += int64(n)
	switch {
	case err == io.EOF:
		m.eof = true
	case err != nil && m.err == nil:
		m.err = err
	}
	return n, err
}

func (m *meter) Close() error {
	if m.rc == nil {
		return nil
	}
	return m.rc.Close()
}

// sized returns the body's SHA-256 and size so far.
func (m *meter) sized() (verify.Hash, int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var sum verify.Hash
	m.h256.Sum(sum[:0])
	return sum, m.n
}

func (m *meter) sum256() verify.Hash {
	sum, _ := m.sized()
	return sum
}

// done reports whether the body was read to its end; cut, whether it was
// stopped at the limit; failure, the first error of reading it.
func (m *meter) done() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.eof
}

func (m *meter) cut() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tooLarge
}

func (m *meter) failure() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

func (m *meter) size() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}

// sum512 appends the SHA-512 of a request body read to its end to dst.
func (m *meter) sum512(dst []byte) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h512.Sum(dst)
}

// emptyDigest is the Content-Digest of an empty body.
var emptyDigest = digestOf(verify.Hash(sha256.Sum256(nil)))

func digestOf(h verify.Hash) string {
	return httpsig.DigestSHA256 + "=:" + base64.StdEncoding.EncodeToString(h[:]) + ":"
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func unescapePath(raw string) (string, error) { return url.PathUnescape(raw) }

// requestHeadSum is the SHA-512 of the part of a request the
// X-Road-Request-Hash covers besides its body: the method and the gateway
// path as the consumer sent them, then the X-Road headers the gateway
// forwarded, lower-cased, one a line, each line ended by CR LF.
func requestHeadSum(method, path, query string, h http.Header) [sha512.Size]byte {
	var buf [512]byte
	b := append(buf[:0], method...)
	b = append(b, ' ')
	b = append(b, path...)
	if query != "" {
		b = append(b, '?')
		b = append(b, query...)
	}
	b = append(b, "\r\n"...)
	for _, f := range hashedHeaders {
		if v := h[f.key]; len(v) > 0 && v[0] != "" {
			b = append(b, f.lower...)
			b = append(b, ": "...)
			b = append(b, v[0]...)
			b = append(b, "\r\n"...)
		}
	}
	return sha512.Sum512(b)
}

// hashedHeaders are the headers the request hash covers, in order, by
// their canonical keys and the lower-case names the hash writes.
var hashedHeaders = func() (out [4]struct{ key, lower string }) {
	for i, name := range [...]string{httpsig.HeaderClient, httpsig.HeaderMessageID, httpsig.HeaderUserID, httpsig.HeaderIssue} {
		out[i].key, out[i].lower = http.CanonicalHeaderKey(name), strings.ToLower(name)
	}
	return out
}()

// requestHash is X-Road-Request-Hash as X-Road's message protocol for
// REST defines it: base64 of SHA512(SHA512(head) || SHA512(body)), or of
// SHA512(head) when the request has no body.
func (x *exchange) requestHash() string {
	if x.reqMeter == nil || x.reqMeter.size() == 0 {
		return base64.StdEncoding.EncodeToString(x.headSum[:])
	}
	var both [2 * sha512.Size]byte
	copy(both[:], x.headSum[:])
	x.reqMeter.sum512(both[sha512.Size:sha512.Size])
	sum := sha512.Sum512(both[:])
	return base64.StdEncoding.EncodeToString(sum[:])
}

// idSource makes exchange ids in the layout of UUID version 7 (RFC 9562):
// 48 bits of Unix milliseconds, then a 12-bit counter that keeps ids of
// one millisecond in order, then 62 random bits. They sort by time, which
// keeps the exchange log's index append-mostly.
type idSource struct {
	mu     sync.Mutex
	lastMS int64
	seq    uint16
}

func (s *idSource) next(now time.Time) string {
	ms := now.UnixMilli()
	s.mu.Lock()
	if ms <= s.lastMS {
		ms = s.lastMS
		s.seq++
		if s.seq > 0x0fff {
			ms++
			s.seq = 0
		}
	} else {
		s.seq = 0
	}
	s.lastMS = ms
	seq := s.seq
	s.mu.Unlock()
	var u [16]byte
	binary.BigEndian.PutUint64(u[:8], uint64(ms)<<16|0x7000|uint64(seq))
	rand.Read(u[8:])
	u[8] = u[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], u[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], u[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], u[8:10])
	out[23] = '-'
	hex.Encode(out[24:], u[10:])
	return string(out[:])
}

// limiters are the token buckets of each consumer for each service, made
// on first use and made anew when the registry changes the service's
// rate. A bucket's fields never change once it is stored.
type limiters struct {
	m sync.Map // grantKey → *bucket
	n atomic.Int64
}

type bucket struct {
	lim   *rate.Limiter
	rate  float64
	burst int
}

// maxBuckets bounds the buckets kept; past it they are all dropped and
// start full again, which only ever lets calls through.
const maxBuckets = 100000

// wait takes a call from the bucket of k, and returns zero when it may
// go, or how long until it could.
func (l *limiters) wait(k grantKey, lim Limits, now time.Time) time.Duration {
	if lim.RatePerSecond <= 0 {
		return 0
	}
	burst := lim.Burst
	if burst <= 0 {
		burst = max(int(math.Ceil(lim.RatePerSecond)), 1)
	}
	v, ok := l.m.Load(k)
	if !ok {
		if l.n.Add(1) > maxBuckets {
			l.m.Clear()
			l.n.Store(1)
		}
		v, _ = l.m.LoadOrStore(k, &bucket{lim: rate.NewLimiter(rate.Limit(lim.RatePerSecond), burst), rate: lim.RatePerSecond, burst: burst})
	}
	b := v.(*bucket)
	if b.rate != lim.RatePerSecond || b.burst != burst {
		// The registry changed the service's rate: a new bucket, full.
		b = &bucket{lim: rate.NewLimiter(rate.Limit(lim.RatePerSecond), burst), rate: lim.RatePerSecond, burst: burst}
		l.m.Store(k, b)
	}
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}
