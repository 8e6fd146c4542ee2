package declaration

import (
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/errkind"
)

// Option configures NewSigningKeys or NewOfflineVerifier; the Service and
// the Book take a Config instead. Each option's documentation names the
// constructors that take it; a constructor given another fails with
// ErrOption rather than ignore it.
type Option func(*options)

type options struct {
	given []string

	log       *zap.Logger
	now       func() time.Time
	dbTimeout time.Duration
	maxKeys   int
}

// ErrOption means a constructor was given an option it does not take.
var ErrOption = errkind.New(errkind.Invalid, "declaration: option not taken by this constructor")

// collect applies opts for the constructor named ctor, which takes the
// options named in takes.
func collect(ctor string, opts []Option, takes ...string) (*options, error) {
	o := &options{}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	for _, name := range o.given {
		if !slices.Contains(takes, name) {
			return nil, fmt.Errorf("declaration: %s does not take %s: %w", ctor, name, ErrOption)
		}
	}
	if o.log == nil {
		o.log = zap.NewNop()
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o, nil
}

func (o *options) mark(name string) { o.given = append(o.given, name) }

// WithLogger logs key creation and rotation; nil (the default) logs
// nothing. NewSigningKeys takes it.
func WithLogger(l *zap.Logger) Option {
	return func(o *options) { o.mark("WithLogger"); o.log = l }
}

// WithClock replaces time.Now, for tests; nil keeps time.Now. Both
// NewSigningKeys and NewOfflineVerifier (which judges expiry by it) take
// it.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.mark("WithClock"); o.now = now }
}

// WithDBTimeout bounds each database call; zero or less keeps the default
// of 5 s. NewSigningKeys takes it.
func WithDBTimeout(d time.Duration) Option {
	return func(o *options) { o.mark("WithDBTimeout"); o.dbTimeout = d }
}

// WithMaxKeys sets how many keys the JWK Set may hold; zero or less
// means DefaultMaxKeys. Every key counts, also those the verifier does
// not use (RSA keys, keys without a "kid"). NewOfflineVerifier takes it.
func WithMaxKeys(n int) Option {
	return func(o *options) { o.mark("WithMaxKeys"); o.maxKeys = n }
}
