package ident

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// ErrInvalid is matched (errors.Is) by every validation failure.
var ErrInvalid = errors.New("invalid identifier")

// ErrUnknownScheme is returned by a Registry for a scheme it does not hold.
var ErrUnknownScheme = errors.New("ident: unknown identifier scheme")

// Error says which scheme rejected a value and why. The value itself is not
// kept, so the error can be logged.
type Error struct {
	Scheme string // e.g. "gr-afm"
	Reason string // e.g. "must have 9 digits"
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Scheme, e.Reason) }

// Is makes errors.Is(err, ErrInvalid) hold.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Scheme is one kind of national identifier. Normalize returns the canonical
// form of s, or an *Error saying what is wrong with it.
type Scheme interface {
	Name() string
	Normalize(s string) (string, error)
}

// Registry finds schemes by name. It is safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	schemes map[string]Scheme
}

// NewRegistry returns a registry holding the given schemes.
func NewRegistry(schemes ...Scheme) *Registry {
	r := &Registry{schemes: map[string]Scheme{}}
	for _, s := range schemes {
		r.Register(s)
	}
	return r
}

// Default returns a new registry with the Greek schemes: AFM ("gr-afm") and
// AMKA ("gr-amka").
func Default() *Registry { return NewRegistry(AFM{}, AMKA{}) }

// Register adds or replaces a scheme.
func (r *Registry) Register(s Scheme) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.schemes[s.Name()] = s
}

// Lookup returns the scheme of that name.
func (r *Registry) Lookup(name string) (Scheme, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.schemes[name]
	return s, ok
}

// Names lists the registered schemes in order.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.schemes))
	for n := range r.schemes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Normalize validates value under the named scheme and returns its canonical
// form.
func (r *Registry) Normalize(scheme, value string) (string, error) {
	s, ok := r.Lookup(scheme)
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrUnknownScheme, scheme)
	}
	return s.Normalize(value)
}

// digitsOnly reports whether s is non-empty ASCII digits.
func digitsOnly(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compact removes the spaces, dots and dashes people type inside numbers.
func compact(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '.', '-', '\u00a0':
			return -1
		}
		return r
	}, s)
}

// Mask keeps the last keep characters of s and replaces the others with '*',
// for logs. At most half of s is ever shown.
func Mask(s string, keep int) string {
	r := []rune(s)
	if keep > len(r)/2 {
		keep = len(r) / 2
	}
	if keep < 0 {
		keep = 0
	}
	return strings.Repeat("*", len(r)-keep) + string(r[len(r)-keep:])
}
