package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// The kinds of transaction in the mix.
const (
	kindSignIn        = "signin"
	kindInterop       = "interop"
	kindDeclaration   = "declaration"
	kindAuthorization = "authorization"
)

var kinds = []string{kindSignIn, kindInterop, kindDeclaration, kindAuthorization}

// nationalMix is the share of each kind in Greece's published figures,
// brought to one period (the first half of 2021):
//
//	sign-ins (H1 2021)              86,000,000
//	interoperability calls (H1 2021) 64,000,000
//	solemn declarations (2020)       2,140,000 / 2 = 1,070,000
//	authorizations (2020)              845,000 / 2 =   422,500
//	total                                          151,492,500
//
// which is 56.77 % sign-ins, 42.25 % interoperability calls, 0.706 %
// declarations and 0.279 % authorizations: per 10,000 transactions,
// 5,677 sign-ins, 4,225 calls, 71 declarations and 28 authorizations (the
// weights below; a year's declarations are halved on the assumption that
// they spread evenly over the year).
const nationalMix = "signin=5677,interop=4225,declaration=71,authorization=28"

// mix draws kinds in proportion to their weights.
type mix struct {
	kinds   []string
	cumul   []int
	total   int
	weights map[string]int
}

// parseMix reads "kind=weight,…"; kinds left out have weight 0.
func parseMix(s string) (*mix, error) {
	m := &mix{weights: map[string]int{}}
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("-mix: %q is not kind=weight", part)
		}
		known := false
		for _, kk := range kinds {
			known = known || kk == k
		}
		if !known {
			return nil, fmt.Errorf("-mix: unknown kind %q (known: %s)", k, strings.Join(kinds, ", "))
		}
		w, err := strconv.Atoi(v)
		if err != nil || w < 0 {
			return nil, fmt.Errorf("-mix: the weight of %s must be a whole number ≥ 0, not %q", k, v)
		}
		m.weights[k] += w
	}
	for _, k := range kinds {
		if w := m.weights[k]; w > 0 {
			m.total += w
			m.kinds = append(m.kinds, k)
			m.cumul = append(m.cumul, m.total)
		}
	}
	if m.total == 0 {
		return nil, fmt.Errorf("-mix: every weight is 0")
	}
	return m, nil
}

// draw picks a kind.
func (m *mix) draw() string {
	n := rand.IntN(m.total)
	for i, c := range m.cumul {
		if n < c {
			return m.kinds[i]
		}
	}
	return m.kinds[len(m.kinds)-1]
}

// has says whether kind is in the mix.
func (m *mix) has(kind string) bool { return m.weights[kind] > 0 }
