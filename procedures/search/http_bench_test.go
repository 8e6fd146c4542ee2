package search_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/procedures/search"
)

// searchAPI is the procedures API with the search index over n synthetic
// procedures, as a service mounts it.
func searchAPI(b *testing.B, n int) http.Handler {
	b.Helper()
	reg := seeded(b, n)
	idx, err := search.New(context.Background(), reg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { idx.Close() })
	h, err := procedures.APIHandler(procedures.APIConfig{Registry: reg, Index: idx})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

func searchRequests() []*http.Request {
	reqs := make([]*http.Request, len(searchQueries))
	for i, q := range searchQueries {
		reqs[i] = httptest.NewRequest(http.MethodGet, "/search?q="+url.QueryEscape(q), nil)
	}
	return reqs
}

func serve(b *testing.B, h http.Handler, r *http.Request) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		b.Fatalf("%s: %d %s", r.URL, w.Code, w.Body)
	}
}

// BenchmarkSearchHTTP is one caller asking the search API again and
// again: the cost of one query through the handler, JSON included.
func BenchmarkSearchHTTP(b *testing.B) {
	h := searchAPI(b, 20)
	reqs := searchRequests()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		serve(b, h, reqs[i%len(reqs)])
		i++
	}
}

// BenchmarkSearchHTTP64 is 64 callers in a closed loop (each asks again
// as soon as it is answered) on the search API over 20 procedures, and
// reports the median and 99th percentile latency (target: p99 at most
// 10 ms). On two cores the callers queue: p99 is about 64 × the cost of
// one query / 2.
func BenchmarkSearchHTTP64(b *testing.B) {
	h := searchAPI(b, 20)
	reqs := searchRequests()
	closedLoop(b, func(i int) { serve(b, h, reqs[i%len(reqs)]) })
}

// BenchmarkSearchHTTP64Yield is BenchmarkSearchHTTP64 with callers that
// let the others run between two calls, as a caller waiting for its
// network does: without it a caller that never blocks keeps its core for
// a whole scheduler time slice (10 ms) and the one it displaced waits for
// many slices, which is the scheduler's tail, not the handler's cost.
func BenchmarkSearchHTTP64Yield(b *testing.B) {
	h := searchAPI(b, 20)
	reqs := searchRequests()
	closedLoop(b, func(i int) {
		serve(b, h, reqs[i%len(reqs)])
		runtime.Gosched()
	})
}

// BenchmarkSearchHTTP64Loopback is the same over a real HTTP server on the
// loopback interface, 64 keep-alive connections; the callers' side of
// HTTP runs on the same two cores.
func BenchmarkSearchHTTP64Loopback(b *testing.B) {
	srv := httptest.NewServer(searchAPI(b, 20))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	urls := make([]string, len(searchQueries))
	for i, q := range searchQueries {
		urls[i] = srv.URL + "/search?q=" + url.QueryEscape(q)
	}
	closedLoop(b, func(i int) {
		res, err := client.Get(urls[i%len(urls)])
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", urls[i%len(urls)], res.StatusCode)
		}
	})
}

// closedLoop runs b.N calls of do from 64 callers, each calling again as
// soon as its call returns, and reports the median and 99th percentile.
func closedLoop(b *testing.B, do func(i int)) {
	const callers = 64
	var next atomic.Int64
	lat := make([][]time.Duration, callers)
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				start := time.Now()
				do(int(i))
				lat[c] = append(lat[c], time.Since(start))
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
}
