package auth

import (
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/sms"
)

// Option configures one of the package's stores. Every constructor that
// takes options (NewAccounts, NewClientRegistry, NewCodeStore,
// NewContactRegistry, NewOneTimeCodes, NewSigningKeys, NewTOTPStore) takes
// WithLogger, WithClock and WithDBTimeout, so one list of them can be
// handed to all. The other options belong to one type, and their
// documentation names the constructor that takes them; any other
// constructor given one fails with an error that names the option,
// rather than ignore it.
type Option func(*options)

// options is what the options set, with the names of those given, so a
// constructor can refuse the ones that are not its own.
type options struct {
	given []string

	log       *zap.Logger
	now       func() time.Time
	dbTimeout time.Duration

	// NewAccounts
	passwordParams *PasswordParams
	slots          int
	hashWait       time.Duration

	// NewContactRegistry
	emailCodes  *OneTimeCodes
	emailSender sms.Sender
}

func (o *options) mark(name string) { o.given = append(o.given, name) }

// The options every constructor takes.
var commonOptions = []string{"WithLogger", "WithClock", "WithDBTimeout"}

// collect applies opts for the constructor named ctor, which takes the
// common options and those named in own. nil options are skipped. The
// logger is never nil and the clock never nil in what it returns.
func collect(ctor string, opts []Option, own ...string) (*options, error) {
	o := &options{}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	for _, name := range o.given {
		if !slices.Contains(commonOptions, name) && !slices.Contains(own, name) {
			return nil, fmt.Errorf("auth: %s does not take %s: %w", ctor, name, ErrOption)
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

// ErrOption means a constructor was given an option that belongs to
// another type.
var ErrOption = errkind.New(errkind.Invalid, "auth: option not taken by this constructor")

// WithLogger sets where a store logs; nil (the default) logs nothing.
// Identifiers, numbers and addresses are masked in what it logs. The
// stores log changes (accounts, registrations, contact details, keys
// created or rotated), refused client authentications and lock-outs; a
// CodeStore logs nothing. Every constructor takes it.
func WithLogger(l *zap.Logger) Option {
	return func(o *options) { o.mark("WithLogger"); o.log = l }
}

// WithClock replaces time.Now, for tests; nil keeps time.Now. Every
// constructor takes it.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.mark("WithClock"); o.now = now }
}

// WithDBTimeout bounds each database call of a store; zero or less keeps
// the default of 5 s. A database that does not answer in time fails the
// call with an error matching errkind.Unavailable, which the endpoints
// answer with 503. Given to NewClientRegistry it also bounds the token,
// introspection and revocation endpoints as a whole, since they use the
// registry first. Every constructor takes it.
func WithDBTimeout(d time.Duration) Option {
	return func(o *options) { o.mark("WithDBTimeout"); o.dbTimeout = d }
}
