package exchangelog

import (
	"time"

	"go.uber.org/zap"
)

// Option configures NewSigningKey; New takes a Config instead.
type Option func(*options)

type options struct {
	log       *zap.Logger
	now       func() time.Time
	dbTimeout time.Duration
}

func collect(opts []Option) options {
	o := options{}
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	if o.log == nil {
		o.log = zap.NewNop()
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o
}

// WithLogger logs the creation of a signing key; nil (the default) logs
// nothing.
func WithLogger(l *zap.Logger) Option { return func(o *options) { o.log = l } }

// WithClock replaces time.Now for the key's creation time; nil keeps
// time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithDBTimeout bounds each database call; zero or less keeps the default
// of 5 s.
func WithDBTimeout(d time.Duration) Option { return func(o *options) { o.dbTimeout = d } }
