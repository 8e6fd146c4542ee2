package procedures_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/procedures"
)

// shaclReport is what testdata/cpsv-ap/shacl.mjs prints.
type shaclReport struct {
	Conforms bool `json:"conforms"`
	Triples  int  `json:"triples"`
	Results  []struct {
		Focus, Path, Component, Shape string
		Message                       []string
	} `json:"results"`
}

// validateSHACL runs the official CPSV-AP 3.2.0 shapes over a JSON-LD
// document with rdf-validate-shacl, or skips when Node.js or the modules
// are missing (.ci/run installs them).
func validateSHACL(t *testing.T, doc []byte) shaclReport {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("SHACL validation skipped: node is not installed")
	}
	modules := os.Getenv("EGOVKIT_NODE_MODULES")
	for _, m := range []string{"rdf-validate-shacl", "jsonld", "n3", "@zazuko/env"} {
		if _, err := os.Stat(filepath.Join(modules, m)); modules == "" || err != nil {
			t.Skipf("SHACL validation skipped: EGOVKIT_NODE_MODULES has no %s", m)
		}
	}
	file := filepath.Join(t.TempDir(), "export.jsonld")
	require.NoError(t, os.WriteFile(file, doc, 0o600))
	script, err := filepath.Abs("testdata/cpsv-ap/shacl.mjs")
	require.NoError(t, err)
	cmd := exec.Command(node, script, file)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	out, err := cmd.Output()
	var stderr []byte
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	require.NoError(t, err, "%s", stderr)
	var rep shaclReport
	require.NoError(t, json.Unmarshal(out, &rep), "%s", out)
	return rep
}

func TestCPSVAPExportPassesTheOfficialShapes(t *testing.T) {
	var ps []*procedures.Procedure
	for name, doc := range procedures.Samples() {
		p, err := procedures.Parse(doc)
		require.NoError(t, err, name)
		ps = append(ps, p)
	}
	one, err := procedures.ExportCPSVAP("https://procedures.example.gr", ps[0])
	require.NoError(t, err)
	all, err := procedures.ExportCPSVAP("https://procedures.example.gr", ps...)
	require.NoError(t, err)
	_, err = procedures.ExportCPSVAP("relative/base", ps[0])
	assert.Error(t, err)

	var graph struct {
		Graph []map[string]any `json:"@graph"`
	}
	require.NoError(t, json.Unmarshal(all, &graph))
	services := 0
	for _, n := range graph.Graph {
		if n["@type"] == "cpsv:PublicService" {
			services++
		}
	}
	assert.Equal(t, len(ps), services)

	for name, doc := range map[string][]byte{"one procedure": one, "the catalogue": all} {
		rep := validateSHACL(t, doc)
		assert.Greater(t, rep.Triples, 10, name)
		for _, r := range rep.Results {
			t.Errorf("%s: %s at %s (%s): %v", name, r.Component, r.Focus, r.Path, r.Message)
		}
		assert.True(t, rep.Conforms, name)
	}
}

// TestSHACLValidatorFindsViolations makes sure the check checks: a public
// service without its competent authority does not conform.
func TestSHACLValidatorFindsViolations(t *testing.T) {
	doc := []byte(`{"@context": {"cpsv": "http://purl.org/vocab/cpsv#", "dct": "http://purl.org/dc/terms/"},
		"@id": "https://procedures.example.gr/procedures/x", "@type": "cpsv:PublicService", "dct:identifier": "x"}`)
	rep := validateSHACL(t, doc)
	assert.False(t, rep.Conforms)
	assert.NotEmpty(t, rep.Results)
}

func BenchmarkExportCatalogue(b *testing.B) {
	ctx := b.Context()
	reg, err := procedures.NewRegistry(ctx, sqltest.SQLite(b).DB.DB)
	require.NoError(b, err)
	require.NoError(b, procedures.SeedPublished(ctx, reg, procedures.Synthetic(3401, 7)))
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := reg.ExportCatalogue(ctx, "https://procedures.example.gr"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/catalogue")
}
