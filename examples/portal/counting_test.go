package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/examples/agency/agency"
	"github.com/egovkit/egovkit/metrics"
)

// *metrics.Metrics is the Counter of every package that counts, as it is:
// the portal wires it with one line each.
var (
	_ auth.TransactionCounter = (*metrics.Metrics)(nil)
	_ declaration.Counter     = (*metrics.Metrics)(nil)
	_ consent.Counter         = (*metrics.Metrics)(nil)
)

// TestCountedKindsAreTheStatistics checks that what auth and declaration
// report is what the statistics page names and counts: their kinds are
// metrics' kinds, with the channel metrics calls digital, and the portal
// declares each with the labels its package reports.
func TestCountedKindsAreTheStatistics(t *testing.T) {
	assert.Equal(t, metrics.KindAuthentication, auth.CountSignIn)
	assert.Equal(t, metrics.KindDeclaration, declaration.CountDeclaration)
	assert.Equal(t, metrics.KindAuthorization, declaration.CountAuthorization)
	assert.Equal(t, metrics.ChannelDigital, auth.ChannelDigital)
	assert.Equal(t, metrics.ChannelDigital, declaration.ChannelDigital)
	declared := map[string][]string{}
	for _, k := range transactionKinds {
		declared[k.Name] = k.Labels
	}
	assert.Equal(t, auth.CountLabels(), declared[auth.CountSignIn])
	assert.Equal(t, declaration.CountLabels(), declared[declaration.CountDeclaration])
	assert.Equal(t, declaration.CountLabels(), declared[declaration.CountAuthorization])
	assert.Equal(t, consent.CountLabels(), declared[consent.CountKind])
	assert.Equal(t, agency.CountLabels(), declared[agency.CountApplication])
}
