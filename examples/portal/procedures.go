package main

import (
	"context"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/procedures"
)

// mountProcedures opens the registry of procedures, imports the sample
// procedures on first run (a procedure already there is left alone), and
// mounts the catalogue pages at /procedures/ and the JSON API at
// /procedures/api/, with a search index that follows the database.
func (a *app) mountProcedures(ctx context.Context, mux *http.ServeMux, cfg appConfig) error {
	reg, err := procedures.NewRegistry(ctx, cfg.DB, procedures.WithLogger(a.log))
	if err != nil {
		return err
	}
	var docs [][]byte
	for _, d := range procedures.Samples() {
		docs = append(docs, d)
	}
	n, err := reg.ImportPublished(ctx, "egovkit sample procedures", docs)
	if err != nil {
		return err
	}
	if n > 0 {
		a.log.Info("sample procedures imported", zap.Int("procedures", n))
	}
	idx, err := procedures.NewIndex(ctx, reg)
	if err != nil {
		return err
	}
	idx.StartRefresh(5 * time.Second)
	a.closers = append(a.closers, idx.Close)
	api, err := procedures.APIHandler(procedures.APIConfig{Registry: reg, Index: idx, Logger: a.log})
	if err != nil {
		return err
	}
	mux.Handle("/procedures/api/", http.StripPrefix("/procedures/api", api))
	pages, err := procedures.PagesHandler(procedures.PagesConfig{Registry: reg, Index: idx, Prefix: "/procedures", Logger: a.log})
	if err != nil {
		return err
	}
	mux.Handle("/procedures/", http.StripPrefix("/procedures", pages))
	for i := range a.services {
		if a.services[i].Key == "procedures" {
			a.services[i].Href = "/procedures/"
		}
	}
	return nil
}
