package metrics_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/metrics"
)

func TestPrometheusCollector(t *testing.T) {
	m := open(t, sqltest.SQLite(t), func(c *metrics.Config) { c.MaxLabelSets = 2 })
	for range 3 {
		m.Count(metrics.KindDeclaration, "ypes", metrics.ChannelDigital)
	}
	m.Count(metrics.KindDeclaration, "efka", metrics.ChannelInPerson)
	m.Count(metrics.KindDeclaration, "gsis", metrics.ChannelDigital) // over the limit
	m.Count("undeclared-kind", "a", "b")

	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(m.Collector()))
	want := `
# HELP egovkit_declaration_transactions_total Transactions of kind declaration counted by this instance since it started.
# TYPE egovkit_declaration_transactions_total counter
egovkit_declaration_transactions_total{agency="_overflow",channel="_overflow"} 1
egovkit_declaration_transactions_total{agency="efka",channel="in_person"} 1
egovkit_declaration_transactions_total{agency="ypes",channel="digital"} 3
# HELP egovkit_undeclared_kind_transactions_total Transactions of kind undeclared-kind counted by this instance since it started.
# TYPE egovkit_undeclared_kind_transactions_total counter
egovkit_undeclared_kind_transactions_total{label1="a",label2="b"} 1
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want)))

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	problems, err := testutil.CollectAndLint(m.Collector())
	require.NoError(t, err)
	assert.Empty(t, problems, "client_golang's own lint")

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus); the lint above ran")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "%s", out)
	assert.Empty(t, strings.TrimSpace(string(out)), "promtool check metrics is clean")
}
