package consumer_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/egovkit/egovkit/interop/consumer"
)

// BenchmarkCall measures what the client adds to a call: the cached
// token, the X-Road headers, a fresh message id and the body's digest,
// beside a bare http.Client POST of the same body with the same headers
// (the same token, a digest computed once) to the same server in the same
// run. The server answers at once, so the difference is the client's own
// cost.
func BenchmarkCall(b *testing.B) {
	ctx := context.Background()
	op, err := startProvider(ctx, time.Now)
	check(err)
	defer op.close()
	key := newP256()
	check(op.register(ctx, appClientID, appKeyID, key))
	var sent atomic.Pointer[http.Header] // the first call's headers
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sent.Load() == nil {
			h := r.Header.Clone()
			sent.CompareAndSwap(nil, &h)
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"street":"Πατησίων 1"}`)
	}))
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	body := bytes.Repeat([]byte(`{"afm":"123456783"}`), 50) // about 1 KB

	c, err := consumer.New(consumer.Config{Gateway: srv.URL, Consumer: dypa, TokenURL: op.tokenURL(),
		ClientID: appClientID, Key: key, KeyID: appKeyID, Resource: gatewayAudience, HTTPClient: hc})
	check(err)
	hdr := http.Header{"Content-Type": {"application/json"}}
	call := func() error {
		resp, err := c.Do(ctx, consumer.Call{Service: address, Method: http.MethodPost, Path: "/persons/find",
			Body: bytes.NewReader(body), Header: hdr, ConsentID: "c-42", IdempotencyKey: "k"})
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}
	check(call()) // takes the token, and shows the bare client the headers to send

	b.Run("bare", func(b *testing.B) {
		url := srv.URL + "/r1/" + address.String() + "/persons/find"
		same := *sent.Load()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				req.Header = same.Clone()
				resp, err := hc.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	})
	b.Run("consumer", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := call(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
