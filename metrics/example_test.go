package metrics_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/egovkit/egovkit/metrics"
	"github.com/egovkit/egovkit/sqldb"
)

func Example() {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite::memory:", nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	m, err := metrics.New(ctx, metrics.Config{DB: db, Kinds: []metrics.Kind{
		{Name: metrics.KindDeclaration, Labels: []string{"agency", "channel"}, ReplacesVisit: true},
	}})
	if err != nil {
		panic(err)
	}
	defer m.Close()

	// History from before counting began, as published.
	err = m.ImportCSV(ctx, "gov.gr", strings.NewReader("kind,labels,period,total\nall,,2020,94000000\nall,,2021-H1,150000000\n"))
	if err != nil {
		panic(err)
	}
	p, _ := metrics.ParsePeriod("2021-H1")
	base, _ := metrics.ParsePeriod("2020")
	g, _ := m.Growth(ctx, metrics.KindAll, p, base)
	fmt.Printf("%s against %s: %+.2f%% in total, %+.2f%% per day\n", g.Period, g.Base, *g.ChangePct, *g.RateChangePct)
	// Output:
	// 2021-H1 against 2020: +59.57% in total, +222.68% per day
}
