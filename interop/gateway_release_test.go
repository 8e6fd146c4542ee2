package interop_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/exchangelog/verify"
)

// heldLog passes appends on to the rig's log, each once the test lets it
// (or fails them while broken), and says when one arrives.
type heldLog struct {
	next    interop.ExchangeLog
	arrived chan verify.Entry
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	broken  bool
	hold    bool
}

func (l *heldLog) Append(ctx context.Context, e verify.Entry) (int64, error) {
	l.mu.Lock()
	broken, hold := l.broken, l.hold
	l.mu.Unlock()
	if hold {
		l.arrived <- e
		<-l.release
	}
	if broken {
		return 0, errors.New("the log's database is gone")
	}
	return l.next.Append(ctx, e)
}

// letGo lets the held appends, and every one after, through.
func (l *heldLog) letGo() { l.once.Do(func() { close(l.release) }) }

func (l *heldLog) set(broken, hold bool) {
	l.mu.Lock()
	l.broken, l.hold = broken, hold
	l.mu.Unlock()
}

func releaseRig(t *testing.T, db *sqltest.DB) (*rig, *heldLog) {
	held := &heldLog{arrived: make(chan verify.Entry, 1), release: make(chan struct{})}
	rg := newRigWith(t, db.DB.DB, func(cfg *interop.GatewayConfig) {
		held.next = cfg.Log
		cfg.Log = held
		cfg.LogBeforeRelease = true
	})
	// Registered after the rig's: runs before the gateway's Close waits
	// for appends under way.
	t.Cleanup(held.letGo)
	return rg, held
}

// TestGatewayLogBeforeRelease: with LogBeforeRelease the consumer has no
// byte of the answer until its entry is committed, and the entry is in
// the log the moment the answer arrives. Runs on SQLite, and on
// PostgreSQL when EGOVKIT_TEST_POSTGRES_DSN is set.
func TestGatewayLogBeforeRelease(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		rg, held := releaseRig(t, db)
		rg.desk.give("consent-1", deskConsent{consumer: dypa, service: rg.services["address"], subject: "GR090000045"})
		held.set(false, true)

		type answer struct {
			res  *http.Response
			body []byte
			err  error
		}
		answered := make(chan answer, 1)
		go func() {
			req, _ := http.NewRequest("GET", rg.srv.URL+addressPath, nil)
			req.Header.Set("Authorization", "Bearer "+rg.token)
			req.Header.Set("X-Road-Client", dypa.String())
			req.Header.Set("X-Road-UserId", "GR090000045")
			req.Header.Set("Egovkit-Consent-Id", "consent-1")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				answered <- answer{err: err}
				return
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			answered <- answer{res, body, err}
		}()

		var pending verify.Entry
		select {
		case pending = <-held.arrived:
		case <-time.After(5 * time.Second):
			t.Fatal("the provider's answer was never logged")
		}
		assert.Equal(t, http.StatusOK, pending.Status)
		assert.Equal(t, "consent-1", pending.ConsentID)
		select {
		case a := <-answered:
			t.Fatalf("the consumer had an answer before its entry was committed: %v %v", a.res, a.err)
		case <-time.After(200 * time.Millisecond):
		}
		held.set(false, false)
		held.letGo()

		var a answer
		select {
		case a = <-answered:
		case <-time.After(5 * time.Second):
			t.Fatal("no answer once the entry was committed")
		}
		require.NoError(t, a.err)
		require.Equal(t, http.StatusOK, a.res.StatusCode, string(a.body))
		assert.JSONEq(t, `{"person":"123","address":"Οδός Πανεπιστημίου 1"}`, string(a.body))
		id := a.res.Header.Get("X-Road-Request-Id")
		rec, err := rg.log.EntryByExchangeID(context.Background(), id)
		require.NoError(t, err, "the entry is committed before the answer arrives")
		e := rg.proves(t, rec)
		assert.Equal(t, verify.Hash(sha256.Sum256(a.body)), e.ResponseSHA256)
		assert.Equal(t, int64(len(a.body)), e.ResponseSize)
		assert.Equal(t, 200, e.Status)
		assert.Positive(t, e.UpstreamDuration)
		assert.Equal(t, 1, rg.count.get(dypa.String(), rg.services["address"].String(), interop.OutcomeOK))
	})
}

// TestGatewayLogBeforeReleaseLogDown: an answer the log cannot take is
// held back; the consumer gets 503 and none of the provider's data.
func TestGatewayLogBeforeReleaseLogDown(t *testing.T) {
	rg, held := releaseRig(t, sqltest.SQLite(t))
	rg.desk.give("consent-2", deskConsent{consumer: dypa, service: rg.services["address"], subject: "GR090000045"})
	held.set(true, false)

	res := rg.call(t, "GET", addressPath, nil, "X-Road-UserId", "GR090000045", "Egovkit-Consent-Id", "consent-2")
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	res.Body = io.NopCloser(strings.NewReader(string(body)))
	checkProblem(t, res, http.StatusServiceUnavailable, interop.TypeGatewayUnavailable, "Server.ClientProxy.LogUnavailable")
	assert.NotEmpty(t, res.Header.Get("Retry-After"))
	assert.NotContains(t, string(body), "Πανεπιστημίου", "no byte of the provider's answer")
	select {
	case <-rg.seen:
	default:
		t.Fatal("the provider was called")
	}
	assert.Equal(t, 1, rg.count.get(dypa.String(), rg.services["address"].String(), interop.OutcomeUnavailable))
	_, err = rg.log.EntryByExchangeID(context.Background(), res.Header.Get("X-Road-Request-Id"))
	assert.Error(t, err, "nothing reached the log")

	// Once the log is back, calls go through again.
	held.set(false, false)
	res = rg.call(t, "GET", "/r1/GR/GOV/EL-AADE/REGISTRY/open/ok", nil)
	body, _ = io.ReadAll(res.Body)
	require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	assert.Equal(t, "ok", string(body))
	_, err = rg.log.EntryByExchangeID(context.Background(), res.Header.Get("X-Road-Request-Id"))
	assert.NoError(t, err)
}

// TestGatewayLogBeforeReleaseBodies: a streamed answer is sent whole with
// its length; one that grows past the service's limit is refused with a
// problem, not cut off, since none of it has left.
func TestGatewayLogBeforeReleaseBodies(t *testing.T) {
	rg, _ := releaseRig(t, sqltest.SQLite(t))

	res := rg.call(t, "GET", "/r1/GR/GOV/EL-AADE/REGISTRY/address/persons/7/address", nil)
	checkProblem(t, res, http.StatusForbidden, interop.TypeConsentRefused, "Server.ServerProxy.ConsentRefused")
	refused := rg.logged(t, res.Header.Get("X-Road-Request-Id")).Entry
	assert.Equal(t, http.StatusForbidden, refused.Status, "refusals are logged as before")

	// A streamed answer within the limit: the gateway sends its length.
	res = rg.call(t, "POST", "/r1/GR/GOV/EL-AADE/REGISTRY/open/echo", strings.NewReader("ping"), "Content-Type", "text/plain")
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	assert.Equal(t, "ping", string(body))
	assert.Equal(t, int64(4), res.ContentLength)

	res = rg.call(t, "GET", "/r1/GR/GOV/EL-AADE/REGISTRY/open/big", nil)
	checkProblem(t, res, http.StatusBadGateway, interop.TypeResponseTooLarge, "Server.ServerProxy.ResponseTooLarge")
	rec := rg.logged(t, res.Header.Get("X-Road-Request-Id"))
	assert.Equal(t, http.StatusBadGateway, rec.Entry.Status)
	assert.Equal(t, "Server.ServerProxy.ResponseTooLarge", rec.Entry.Error)

	// An answer with trailers keeps them.
	res = rg.call(t, "GET", "/r1/GR/GOV/EL-AADE/REGISTRY/open/trailer", nil)
	body, err = io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	assert.Equal(t, "counted", string(body))
	assert.Equal(t, "7", res.Trailer.Get("X-Checksum"))

	// A HEAD keeps the length the provider announced.
	res = rg.call(t, "HEAD", "/r1/GR/GOV/EL-AADE/REGISTRY/open/ok", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, int64(2), res.ContentLength)
}
