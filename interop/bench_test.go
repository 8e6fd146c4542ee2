package interop_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/interoptest"
)

// BenchmarkAuthorize decides allowed calls from a snapshot of 1,000
// services and 10,000 rights (ten consumers per service, each with a
// pattern of one wildcard segment and a final "**", half of them with a
// validity window), beside two floors in the same run: a plain map lookup
// of the (consumer, service) pair as one precomputed string, and the same
// lookup keyed by the two identifiers as Authorize receives them.
func BenchmarkAuthorize(b *testing.B) {
	ctx := b.Context()
	st, err := interop.NewMemoryStore()
	require.NoError(b, err)
	const services, perService = 1000, 10
	ids := make([]interop.ServiceID, services)
	consumers := make([]interop.ClientID, perService)
	for j := range consumers {
		consumers[j] = interoptest.Consumer(fmt.Sprintf("C%d", j))
	}
	floor := map[string]bool{}
	type pair struct {
		s interop.ServiceID
		c interop.ClientID
	}
	pairs := map[pair]bool{}
	for i := range ids {
		s := interoptest.Service(fmt.Sprintf("S%d", i))
		ids[i] = s.ID
		_, err := st.CreateService(ctx, s)
		require.NoError(b, err)
		for j, c := range consumers {
			r := interop.Right{Consumer: c, Service: s.ID, Method: "GET", Path: "/persons/*/**"}
			if j%2 == 1 {
				r.Path = "/persons/*/address"
				r.NotBefore = s.CreatedAt.AddDate(-1, 0, 0)
			}
			_, err := st.GrantRight(ctx, r)
			require.NoError(b, err)
			floor[c.String()+" "+s.ID.String()] = true
			pairs[pair{s.ID, c}] = true
		}
	}
	a, err := interop.New(ctx, interop.Config{Store: st, PollInterval: -1})
	require.NoError(b, err)
	defer a.Close()
	keys := make([]string, 0, len(floor))
	for k := range floor {
		keys = append(keys, k)
	}

	b.Run("authorize", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_, err := a.Authorize(ctx, consumers[i%perService], ids[i%services], "GET", "/persons/123/address")
			if err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("map-floor", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if !floor[keys[i%len(keys)]] {
				b.Fatal("missing")
			}
			i++
		}
	})
	b.Run("pair-map-floor", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if !pairs[pair{ids[i%services], consumers[i%perService]}] {
				b.Fatal("missing")
			}
			i++
		}
	})
	b.Run("parse-and-authorize", func(b *testing.B) {
		b.ReportAllocs()
		client := consumers[3].String()
		paths := make([]string, services)
		for i, id := range ids {
			paths[i] = "/r1/" + id.String() + "/persons/123/address"
		}
		i := 0
		for b.Loop() {
			c, err := interop.ParseClientID(client)
			if err != nil {
				b.Fatal(err)
			}
			id, rest, err := interop.ParsePath(paths[i%services])
			if err != nil {
				b.Fatal(err)
			}
			if _, err := a.Authorize(ctx, c, id, "GET", rest); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
