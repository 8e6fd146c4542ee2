package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/examples/agency/agency"
	"github.com/egovkit/egovkit/internal/browsertest"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/metrics"
)

//go:embed testdata/journey.js
var journeyScript []byte

// lockedBuffer collects the portal's log while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var journeyURLs = regexp.MustCompile(`"agency": "(http://127\.0\.0\.1:[0-9]+)/", "registry": "(http://127\.0\.0\.1:[0-9]+)/"`)

// startDemoJourney runs the portal in demo mode and returns its URL and
// the URLs it printed for the journey's agency and registry.
func startDemoJourney(t *testing.T) (base, agencyURL, registryURL string) {
	t.Helper()
	var log lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "data"), "-demo"},
			func(string) string { return "" }, &log, func(a string) { addrc <- a })
	}()
	select {
	case a := <-addrc:
		base = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("portal did not start: %v\n%s", err, log.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("portal did not start in time")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "graceful shutdown")
		case <-time.After(20 * time.Second):
			t.Error("portal did not stop")
		}
	})
	m := journeyURLs.FindStringSubmatch(log.String())
	require.NotNil(t, m, "the portal prints the agency's and the registry's URLs:\n%s", log.String())
	return base, m[1], m[2]
}

// TestDemoJourneyStarts checks that the portal in demo mode serves the
// agency and the registry on their own ports, registered at the portal:
// the agency signs in through the portal's provider, the registry answers
// only calls the gateway signed.
func TestDemoJourneyStarts(t *testing.T) {
	base, agencyURL, registryURL := startDemoJourney(t)
	resp, body := fetch(t, "GET", agencyURL+"/", map[string]string{"Accept-Language": "en"})
	assert.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, body, "Child benefit")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := noRedirect.Get(agencyURL + "/apply")
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, 303, r.StatusCode)
	assert.Contains(t, r.Header.Get("Location"), base+"/auth/citizen/authorize?", "the agency signs in at the portal")
	_, body = fetch(t, "GET", base+"/", map[string]string{"Accept-Language": "en"})
	assert.Contains(t, body, `href="`+agencyURL+`/"`, "the home page links the agency")
	resp, _ = fetch(t, "GET", registryURL+"/", nil)
	assert.Equal(t, 200, resp.StatusCode)
	resp, body = fetch(t, "GET", registryURL+"/api/family-status", map[string]string{"X-Road-UserId": "GR" + demoCitizenAFM})
	assert.Equal(t, 401, resp.StatusCode, "the registry refuses a call the gateway did not sign: %s", body)
	assert.NotContains(t, body, "Παπαδοπούλου")
	// The preview needs no consent, so only the portal's consumer has a
	// right to it: another consumer is refused at the gateway.
	token := clientToken(t, base, demoRequesterID, demoRequesterSecret, scopeInteropCall)
	resp, body = fetch(t, "GET", base+gatewayPath+"/"+journeyPreviewService.String()+"/family-status/preview", map[string]string{
		"Authorization": "Bearer " + token, "X-Road-Client": demoConsumer.String(), "X-Road-UserId": "GR" + demoCitizenAFM})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a consumer other than the portal is refused the preview: %s", body)
	assert.Contains(t, body, "Server.ServerProxy.AccessDenied", "for want of a right")
	assert.NotContains(t, body, "Νίκος")
}

// journeyState is one page the walk passed.
type journeyState struct {
	Name, URL, H1, Text, Lang, Screenshot string
	Width, ScrollWidth, InnerWidth        int
	Violations                            []struct {
		ID, Help string
		Nodes    []string
	}
}

// TestBrowserDemoJourney walks the once-only journey through the demo
// portal in chromium at 390 px, in Greek and in English, approving and
// refusing: the approved application has the certificate fetched with
// no upload form, the refused one takes an upload, and the citizen's
// access log lists the exchange with a verified inclusion proof. No page
// breaks a WCAG 2.1 AA rule or scrolls sideways; the screenshots are kept
// in $EGOVKIT_SCREENSHOT_DIR.
func TestBrowserDemoJourney(t *testing.T) {
	browsertest.Binary(t)
	base, agencyURL, _ := startDemoJourney(t)
	out := browsertest.Script(t, journeyScript, base, agencyURL)
	var rep struct {
		States []journeyState
		Errors []string
		Walks  []struct {
			Lang                                     string
			Approve, UploadForm                      bool
			ConsentText, ConsentURL, ApplicationText string
			Exchange, Consent, LogText, UploadedText string
			DeclarationIntro, CodeText, DeclaredText string
			DeclarationNumber, VerifyText            string
			PDFType, PDFStart                        string
			AuthzRefusedText, AuthzInvalid           string
			AuthzCodeText, AuthorizedText            string
			AuthorizationNumber, AuthzVerifyText     string
		}
	}
	require.NoError(t, json.Unmarshal(out, &rep), string(out))
	require.Empty(t, rep.Errors)
	seen := map[string]bool{}
	for _, s := range rep.States {
		seen[s.Name] = true
		t.Logf("%-34s %s  %s", s.Name, s.URL, s.Screenshot)
		for _, v := range s.Violations {
			t.Errorf("%s (%s): %s (%s) at %v", s.Name, s.URL, v.Help, v.ID, v.Nodes)
		}
		assert.LessOrEqual(t, s.ScrollWidth, s.InnerWidth, "%s at %d px scrolls sideways", s.Name, s.Width)
		assert.NotEmpty(t, s.H1, "%s has a heading", s.Name)
		assert.Equal(t, s.Name[:2], s.Lang, "%s is in its language", s.Name)
	}
	require.Len(t, rep.Walks, 4)
	// The consent pages name the requester as its record does, by the
	// client's registered name, in both languages.
	words := map[string]struct {
		agency, items, preview, spouse, verified, family, born, declare, code, declared string
		ownAFM, authorized, grantee                                                     string
	}{
		"el": {"Δήμος Αθηναίων", "Οικογενειακή κατάσταση", "Τα στοιχεία που θα σταλούν", "Νίκος Δοκιμαστικός", "επαληθεύτηκε", "Δοκιμαστική", "02/05/2016",
			"Τα στοιχεία της αίτησής μου για επίδομα παιδιού", "Κωδικός μιας χρήσης", "εκδόθηκε με αριθμό πρωτοκόλλου",
			"δικός σας ΑΦΜ", "Η εξουσιοδότησή σας εκδόθηκε", "987654324"},
		"en": {"Δήμος Αθηναίων", "Marital status", "The data that would be sent", "Σοφία Παραδείγματος", "proof verified", "Παράδειγμα", "14/02/2021",
			"The particulars of my child benefit application", "One-time code", "was issued with protocol number",
			"your own tax number", "Your authorization was issued", "123456783"},
	}
	for _, w := range rep.Walks {
		want := words[w.Lang]
		assert.Contains(t, w.ConsentText, want.agency, "%s: the consent page says who asks", w.Lang)
		assert.Contains(t, w.ConsentText, want.items, "%s: and for what", w.Lang)
		assert.Contains(t, w.ConsentURL, base+"/consent/", "%s: the citizen consents at the portal", w.Lang)
		// The preview the registry holds, fetched through the gateway.
		assert.Contains(t, w.ConsentText, want.preview, "%s: the consent page previews the data", w.Lang)
		assert.Contains(t, w.ConsentText, want.spouse, "%s: the preview is the registry's record of the citizen", w.Lang)
		if w.Approve {
			assert.False(t, w.UploadForm, "%s: an approved application asks for no upload", w.Lang)
			assert.NotEmpty(t, w.Exchange, "%s: the certificate came through the gateway", w.Lang)
			assert.NotEmpty(t, w.Consent)
			assert.Contains(t, w.ApplicationText, want.family, "%s: the certificate is the citizen's", w.Lang)
			assert.Contains(t, w.ApplicationText, want.born, "%s: its dates are written as days", w.Lang)
			assert.Contains(t, w.LogText, w.Exchange, "%s: the access log lists the exchange", w.Lang)
			assert.Contains(t, w.LogText, want.verified, "%s: with its inclusion proof verified", w.Lang)
			// The solemn declaration, issued by the agency with the code
			// sent to the citizen's mobile.
			assert.Contains(t, w.DeclarationIntro, want.declare, "%s: the application asks for the declaration", w.Lang)
			assert.Contains(t, w.CodeText, want.code, "%s: and for its code", w.Lang)
			assert.Contains(t, w.DeclaredText, want.declared, "%s: the declaration is issued", w.Lang)
			assert.Regexp(t, `^[0-9]{4}/[0-9]+$`, w.DeclarationNumber, "%s: with a protocol number", w.Lang)
			assert.Equal(t, "application/pdf", w.PDFType, "%s: its PDF downloads", w.Lang)
			assert.Equal(t, "%PDF-", w.PDFStart, w.Lang)
			assert.Contains(t, w.VerifyText, w.DeclarationNumber, "%s: the verification page shows it", w.Lang)
			assert.Contains(t, w.VerifyText, want.declare, "%s: with its text", w.Lang)
			// The authorization: her own tax number refused beside the
			// field, then issued to the other citizen and verifiable.
			assert.Contains(t, w.AuthzRefusedText, want.ownAFM, "%s: her own tax number is refused", w.Lang)
			assert.Equal(t, "true", w.AuthzInvalid, "%s: the field is marked invalid", w.Lang)
			assert.Contains(t, w.AuthzCodeText, want.code, "%s: the authorization asks for its code", w.Lang)
			assert.Contains(t, w.AuthorizedText, want.authorized, "%s: the authorization is issued", w.Lang)
			assert.Regexp(t, `^[0-9]{4}/[0-9]+$`, w.AuthorizationNumber, "%s: with a protocol number", w.Lang)
			assert.NotEqual(t, w.DeclarationNumber, w.AuthorizationNumber, w.Lang)
			assert.Contains(t, w.AuthzVerifyText, w.AuthorizationNumber, "%s: the verification page shows it", w.Lang)
			assert.Contains(t, w.AuthzVerifyText, want.grantee, "%s: and whom it empowers", w.Lang)
			continue
		}
		assert.True(t, w.UploadForm, "%s: a refused application offers the upload", w.Lang)
		assert.Empty(t, w.Exchange)
		assert.Contains(t, w.UploadedText, "family-status.pdf", "%s: the upload is taken", w.Lang)
	}
	// The statistics count the agency's applications: two fetched and
	// two uploaded, within a flush interval.
	year := time.Now().In(mustAthens(t)).Format("2006")
	want := map[string]int64{agency.OutcomeFetched: 2, agency.OutcomeUploaded: 2}
	var counted map[string]int64
	assert.Eventually(t, func() bool {
		counted = topCounts(t, base, agency.CountApplication, agency.CountLabelOutcome, year)
		return maps.Equal(counted, want)
	}, 10*time.Second, 200*time.Millisecond, "applications counted by outcome")
	assert.Equal(t, want, counted)
	// The two declarations are counted as every declaration is, under
	// the agency as their issuer.
	var declared map[string]int64
	assert.Eventually(t, func() bool {
		declared = topCounts(t, base, declaration.CountDeclaration, declaration.CountLabelIssuer, year)
		return declared["Δήμος Αθηναίων"] == 2
	}, 10*time.Second, 200*time.Millisecond, "declarations counted by issuer")
	assert.Equal(t, int64(2), declared["Δήμος Αθηναίων"], "%v", declared)
	// Each consent page's preview was a call through the gateway, by the
	// portal's own consumer to the preview service, counted as any call.
	byService := topCounts(t, base, interop.KindCall, "service", year)
	assert.GreaterOrEqual(t, byService[journeyPreviewService.String()], int64(4), "the previews went through the gateway: %v", byService)
	byConsumer := topCounts(t, base, interop.KindCall, "consumer", year)
	assert.GreaterOrEqual(t, byConsumer[journeyPreviewConsumer.String()], int64(4), "as the portal's consumer: %v", byConsumer)
	for _, name := range []string{"portal-home", "agency-home", "signin", "code", "agency-apply", "consent-request", "agency-application", "consent-log", "agency-uploaded",
		"agency-declaration-code", "agency-declared", "agency-verify"} {
		for _, lang := range []string{"el", "en"} {
			found := false
			for n := range seen {
				if len(n) > len(name) && n[:2] == lang && n[len(n)-len(name):] == name {
					found = true
				}
			}
			assert.True(t, found, "the walk in %s reached %s", lang, name)
		}
	}
}

// topCounts reads the year's totals of kind by the values of label from
// the statistics API; none when it cannot be read.
func topCounts(t *testing.T, base, kind, label, year string) map[string]int64 {
	t.Helper()
	resp, body := fetch(t, "GET", base+"/stats/api/top?kind="+kind+"&label="+label+"&period="+year, nil)
	var top struct{ Entries []metrics.Entry }
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &top) != nil {
		return nil
	}
	counted := map[string]int64{}
	for _, e := range top.Entries {
		counted[e.Value] = e.Total
	}
	return counted
}

// TestDemoJourneyKeysKept checks that the agency's and the preview's
// interop keys are written into the data directory on the first start,
// readable by their owner only, and read back on the next: the clients
// registered with their key sets do not change at every start.
func TestDemoJourneyKeysKept(t *testing.T) {
	dir := t.TempDir()
	first, err := listenJourney(dir, "127.0.0.1:0", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, first.close())
	for _, f := range []string{"demo-agency/interop-key.pem", "preview-key.pem"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
	}
	again, err := listenJourney(dir, "127.0.0.1:0", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, again.close())
	assert.True(t, first.agencyKey.Equal(again.agencyKey), "the agency's key is kept")
	assert.True(t, first.previewKey.Equal(again.previewKey), "the preview's key is kept")
	assert.False(t, again.agencyKey.Equal(again.previewKey))
	other, err := listenJourney(t.TempDir(), "127.0.0.1:0", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, other.close())
	assert.False(t, first.agencyKey.Equal(other.agencyKey), "another data directory, another key")
}
