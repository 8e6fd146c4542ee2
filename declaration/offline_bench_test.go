package declaration_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// BenchmarkOfflineVerify checks issued documents (OfflineVerifier.Verify)
// and the summaries in their QR codes (VerifyQR) with ES256 and EdDSA
// keys, each beside the bare standard-library verification of the same
// signatures in the same run: SHA-256 of the signing input and
// crypto/ecdsa.Verify (r and s made into numbers beforehand), or
// crypto/ed25519.Verify. The verifier's work beyond that is splitting the
// compact form, finding the key by its header, decoding the signature
// and the payload (JSON v2 set to encoding/json's semantics), and judging
// issuer, code and expiry. The tokens are those the Service issues.
// Target: at most 1.15 times the bare verification (BENCHMARKS.md).
//
// Each check reports its wall time (ns/op) and the process's CPU time
// (cpu-ns/op, which counts the garbage collector's work and not the time
// other processes hold the cores). The "paired" benchmarks run both in
// turn, 16 of each at a time, and report the ratio of their CPU times
// and of their wall times, which a machine whose speed drifts during the
// run affects least.
func BenchmarkOfflineVerify(b *testing.B) {
	ctx := context.Background()
	for _, alg := range []string{declaration.ES256, declaration.EdDSA} {
		f := newFixtureAlg(b, sqltest.SQLite(b).DB.DB, nil, alg)
		var tokens, qrs []string
		for range 100 {
			d, err := declaration.IssueWithoutCode(ctx, f.svc, maria, solemn())
			require.NoError(b, err)
			qr, err := f.svc.QRContent(ctx, d)
			require.NoError(b, err)
			tokens, qrs = append(tokens, d.Token), append(qrs, qr)
		}
		summaries := make([]string, len(qrs))
		for i, qr := range qrs {
			_, summaries[i], _ = strings.Cut(qr, "#")
		}
		v := offlineVerifier(b, f)
		set, err := f.keys.PublicSet(ctx)
		require.NoError(b, err)
		pub, _ := set.Key(0)
		var key any
		require.NoError(b, pub.Raw(&key))
		name := map[string]string{declaration.ES256: "ecdsa.Verify", declaration.EdDSA: "ed25519.Verify"}[alg]

		verifyToken := func(b *testing.B, i int) {
			if _, st, err := v.Verify(tokens[i%len(tokens)]); err != nil || st != declaration.StatusValid {
				b.Fatal(st, err)
			}
		}
		verifyQR := func(b *testing.B, i int) {
			if _, st, err := v.VerifyQR(qrs[i%len(qrs)]); err != nil || st != declaration.StatusValid {
				b.Fatal(st, err)
			}
		}
		for _, c := range []struct {
			what, verifier string
			bare, check    func(*testing.B, int)
		}{
			{"token", "OfflineVerifier.Verify", bareVerify(b, key, tokens), verifyToken},
			{"qr", "OfflineVerifier.VerifyQR", bareVerify(b, key, summaries), verifyQR},
		} {
			b.Run(alg+"/"+c.what+"/"+name, func(b *testing.B) { single(b, c.bare) })
			b.Run(alg+"/"+c.what+"/"+c.verifier, func(b *testing.B) { single(b, c.check) })
			b.Run(alg+"/"+c.what+"/paired", func(b *testing.B) { paired(b, c.bare, c.check) })
		}
	}
}

// bareVerify returns a check of the i-th token's signature with key by the
// standard library alone, its signature decoded beforehand.
func bareVerify(b *testing.B, key any, tokens []string) func(*testing.B, int) {
	type signed struct {
		input, sig []byte
		r, s       *big.Int
	}
	in := make([]signed, len(tokens))
	for i, tok := range tokens {
		dot := strings.LastIndexByte(tok, '.')
		sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
		require.NoError(b, err)
		require.Len(b, sig, 64)
		in[i] = signed{[]byte(tok[:dot]), sig, new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])}
	}
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		return func(b *testing.B, i int) {
			t := &in[i%len(in)]
			digest := sha256.Sum256(t.input)
			if !ecdsa.Verify(k, digest[:], t.r, t.s) {
				b.Fatal("signature")
			}
		}
	case ed25519.PublicKey:
		return func(b *testing.B, i int) {
			t := &in[i%len(in)]
			if !ed25519.Verify(k, t.input, t.sig) {
				b.Fatal("signature")
			}
		}
	}
	b.Fatalf("no bare verification for %T", key)
	return nil
}

// single runs one check per iteration.
func single(b *testing.B, check func(*testing.B, int)) {
	b.ReportAllocs()
	start, i := cpuTime(), 0
	for b.Loop() {
		check(b, i)
		i++
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// paired runs batches of 16 bare checks and 16 of the verifier's in turn
// and reports the time of each per check and their ratios.
func paired(b *testing.B, bare, check func(*testing.B, int)) {
	const batch = 16
	var bareCPU, checkCPU, bareWall, checkWall time.Duration
	i := 0
	for b.Loop() {
		c0, w0 := cpuTime(), time.Now()
		for j := range batch {
			bare(b, i+j)
		}
		c1, w1 := cpuTime(), time.Now()
		for j := range batch {
			check(b, i+j)
		}
		c2, w2 := cpuTime(), time.Now()
		bareCPU, checkCPU = bareCPU+c1-c0, checkCPU+c2-c1
		bareWall, checkWall = bareWall+w1.Sub(w0), checkWall+w2.Sub(w1)
		i += batch
	}
	n := float64(b.N * batch)
	b.ReportMetric(float64(bareCPU)/n, "bare-cpu-ns/check")
	b.ReportMetric(float64(checkCPU)/n, "verifier-cpu-ns/check")
	b.ReportMetric(float64(checkCPU)/float64(bareCPU), "cpu-ratio")
	b.ReportMetric(float64(checkWall)/float64(bareWall), "wall-ratio")
}

// cpuTime is the CPU time this process has used, the garbage collector's
// included.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
