package procedures_test

import (
	"image/color"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/browsertest"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/procedures/search"
)

// catalogueAlone serves the sample catalogue's pages, and nothing else,
// at prefix on a fresh server.
func catalogueAlone(t *testing.T, prefix string) *httptest.Server {
	t.Helper()
	ctx := t.Context()
	reg, err := procedures.NewRegistry(ctx, sqltest.SQLite(t).DB.DB)
	require.NoError(t, err)
	var docs [][]byte
	for _, d := range procedures.Samples() {
		docs = append(docs, d)
	}
	_, err = reg.ImportPublished(ctx, "samples", docs)
	require.NoError(t, err)
	idx, err := search.New(ctx, reg)
	require.NoError(t, err)
	t.Cleanup(func() { idx.Close() })
	h, err := procedures.PagesHandler(procedures.PagesConfig{Registry: reg, Index: idx, Prefix: prefix})
	require.NoError(t, err)
	mux := http.NewServeMux()
	if prefix == "" {
		mux.Handle("/", h)
	} else {
		mux.Handle(prefix+"/", http.StripPrefix(prefix, h))
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestPagesServeTheirStylesheet mounts the catalogue's handler alone on a
// fresh mux, at the root and below a path, as a service importing only
// this package would: its pages link a stylesheet the handler serves.
func TestPagesServeTheirStylesheet(t *testing.T) {
	for _, prefix := range []string{"", "/procedures"} {
		t.Run("at "+prefix+"/", func(t *testing.T) {
			srv := catalogueAlone(t, prefix)
			for _, p := range []string{"/", "/?q=passport", "/passport"} {
				browsertest.AssertStyled(t, nil, srv.URL, prefix+p, prefix+"/static/")
			}
		})
	}
}

// TestPagesStyledInBrowser loads a page of the catalogue, mounted alone,
// in chromium and checks that the stylesheet was applied: the header has
// the stylesheet's colour (--color-header-bg) where an unstyled page is
// white.
func TestPagesStyledInBrowser(t *testing.T) {
	browsertest.Binary(t)
	srv := catalogueAlone(t, "/procedures")
	shot := browsertest.Screenshot(t, srv.URL+"/procedures/passport?lang=el", "procedures-alone-passport-el", 1024, 900)
	assert.Equal(t, color.RGBA{R: 0x00, G: 0x34, B: 0x76, A: 0xff}, browsertest.Pixel(t, shot, 4, 4))
}

// TestEditorLinksItsScript checks that the editors' form, and no public
// page, links the script of its groups, deferred, from the handler's own
// static directory, which serves it as JavaScript.
func TestEditorLinksItsScript(t *testing.T) {
	s := newEditorSite(t, sqltest.SQLite(t), true)
	_, _, page := s.do("GET", "/edit/new", "editor", nil, false)
	m := regexp.MustCompile(`<script src="(/procedures/static/groups\.[0-9a-f]+\.js)" defer></script>`).FindStringSubmatch(page)
	require.NotNil(t, m, "the form links its script")
	assert.Equal(t, 1, strings.Count(page, "<script"), "one script, and no inline one")
	resp, err := http.Get(s.srv.URL + m[1])
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/javascript; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, page, `<template data-group="steps" data-legend="Step {n}" data-max="120">`, "with the empty item the script adds")
	for _, p := range []string{"/", "/passport", "/edit/"} {
		_, _, public := s.do("GET", p, "editor", nil, false)
		assert.NotContains(t, public, "<script", p)
	}
}
