package sqldb_test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/modtest"
)

// An agency's own module imports sqldb and metrics alone, opens SQLite with
// the opener and counts; another program of it opens its pool with plain
// sql.Open and is refused with an error that says what to change. Both are
// built outside this module, against this checkout, offline from the module
// cache.
const importerGood = `package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/egovkit/egovkit/metrics"
	"github.com/egovkit/egovkit/sqldb"
)

func main() {
	ctx := context.Background()
	db, err := sqldb.OpenSQLite(ctx, filepath.Join(os.Args[1], "agency.db"), nil)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	defer db.Close()
	m, err := metrics.New(ctx, metrics.Config{DB: db, Location: time.UTC,
		Kinds: []metrics.Kind{{Name: metrics.KindDeclaration, Labels: []string{"agency"}}}})
	if err != nil {
		fmt.Println("metrics:", err)
		os.Exit(1)
	}
	for range 3 {
		m.Count(metrics.KindDeclaration, "ypes")
	}
	if err := m.Close(); err != nil {
		fmt.Println("close:", err)
		os.Exit(1)
	}
	now := time.Now().UTC()
	p, err := metrics.ParsePeriod(now.AddDate(0, 0, -1).Format("2006-01-02") + ".." + now.AddDate(0, 0, 1).Format("2006-01-02"))
	if err != nil {
		fmt.Println("period:", err)
		os.Exit(1)
	}
	m, err = metrics.New(ctx, metrics.Config{DB: db, Location: time.UTC,
		Kinds: []metrics.Kind{{Name: metrics.KindDeclaration, Labels: []string{"agency"}}}})
	if err != nil {
		fmt.Println("metrics again:", err)
		os.Exit(1)
	}
	defer m.Close()
	n, err := m.Total(ctx, metrics.KindDeclaration, p)
	if err != nil {
		fmt.Println("total:", err)
		os.Exit(1)
	}
	fmt.Println("total", n)
}
`

const importerPlain = `package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite"

	"github.com/egovkit/egovkit/metrics"
	"github.com/egovkit/egovkit/sqldb/sqlcheck"
)

func main() {
	ctx := context.Background()
	db, err := sql.Open("sqlite", filepath.Join(os.Args[1], "plain.db"))
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	defer db.Close()
	_, err = metrics.New(ctx, metrics.Config{DB: db,
		Kinds: []metrics.Kind{{Name: metrics.KindDeclaration}}})
	var se *sqlcheck.SettingsError
	if !errors.As(err, &se) {
		fmt.Println("not refused:", err)
		os.Exit(1)
	}
	fmt.Println("refused:", err)
}
`

func TestImportedFromAnotherModule(t *testing.T) {
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	bin := modtest.Build(t, root, map[string][]byte{
		"good/main.go":  []byte(importerGood),
		"plain/main.go": []byte(importerPlain),
	})

	data := t.TempDir()
	out, err := exec.Command(filepath.Join(bin, "good"), data).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "total 3\n", string(out))

	out, err = exec.Command(filepath.Join(bin, "plain"), data).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "refused: metrics: sqlcheck:")
	assert.Contains(t, string(out), "foreign_keys is 0 (want 1)")
	assert.Contains(t, string(out), "sqldb.Open")
}
