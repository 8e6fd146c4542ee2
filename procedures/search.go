package procedures

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	"go.uber.org/zap"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/problem"
)

// Index is the full-text index of the published procedures, in Greek and
// English, kept in memory and brought up to date from the registry: every
// instance sharing a database sees another's publications at its next
// refresh (StartRefresh; every few seconds).
type Index struct {
	reg *Registry
	log *zap.Logger

	mu      sync.RWMutex
	idx     bleve.Index
	dir     string            // the index's files
	lock    *os.File          // held while the index lives; see indexdir.go
	indexed map[string]string // id → hash of the indexed version
	summary map[string]*Procedure

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// indexDoc is what is indexed of a procedure.
type indexDoc struct {
	TitleEL   string   `json:"title_el"`
	TitleEN   string   `json:"title_en"`
	TextEL    string   `json:"text_el"`
	TextEN    string   `json:"text_en"`
	Category  []string `json:"category"`
	LifeEvent []string `json:"life_event"`
	Authority string   `json:"authority"`
	Channel   []string `json:"channel"`
}

func newMapping() (mapping.IndexMapping, error) {
	m := bleve.NewIndexMapping()
	if err := m.AddCustomAnalyzer(greekAnalyzer, greekAnalyzerConfig()); err != nil {
		return nil, err
	}
	text := func(analyzer string) *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer, f.Store, f.IncludeTermVectors, f.IncludeInAll = analyzer, false, false, false
		return f
	}
	kw := func() *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer, f.Store, f.IncludeInAll = keyword.Name, false, false
		return f
	}
	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt("title_el", text(greekAnalyzer))
	doc.AddFieldMappingsAt("text_el", text(greekAnalyzer))
	doc.AddFieldMappingsAt("title_en", text(en.AnalyzerName))
	doc.AddFieldMappingsAt("text_en", text(en.AnalyzerName))
	for _, f := range []string{"category", "life_event", "authority", "channel"} {
		doc.AddFieldMappingsAt(f, kw())
	}
	m.DefaultMapping = doc
	m.StoreDynamic, m.IndexDynamic, m.DocValuesDynamic = false, false, false
	return m, nil
}

func toIndexDoc(p *Procedure) indexDoc {
	var el, en []string
	add := func(t Text) {
		el = append(el, t.EL)
		if t.EN != "" {
			en = append(en, t.EN)
		}
	}
	add(p.Description)
	add(p.Authority.Name)
	for _, s := range p.Steps {
		add(s.Title)
		if s.Description != nil {
			add(*s.Description)
		}
	}
	for _, e := range p.Evidence {
		add(e.Title)
	}
	for _, o := range p.Outputs {
		add(o.Title)
	}
	for _, f := range p.FAQ {
		add(f.Question)
	}
	d := indexDoc{TitleEL: p.Title.EL, TitleEN: p.Title.EN, TextEL: strings.Join(el, "\n"), TextEN: strings.Join(en, "\n"),
		Category: p.Categories, LifeEvent: p.LifeEvents, Authority: p.Authority.ID}
	for _, c := range p.Channels {
		d.Channel = append(d.Channel, c.Type)
	}
	return d
}

// NewIndex builds the index of the procedures published now.
func NewIndex(ctx context.Context, reg *Registry) (*Index, error) {
	m, err := newMapping()
	if err != nil {
		return nil, err
	}
	// Scorch, bleve's segment-based index, builds many times faster than
	// its in-memory tree store; its files live in a temporary directory
	// removed on Close, since the index is rebuilt from the database at
	// every start. A process that is killed cannot remove its directory:
	// the next index removes it (see removeAbandonedIndexes).
	removeAbandonedIndexes(os.TempDir(), reg.log)
	dir, lock, err := newIndexDir(os.TempDir())
	if err != nil {
		return nil, fmt.Errorf("procedures: index: %w", err)
	}
	idx, err := bleve.NewUsing(filepath.Join(dir, "index"), m, scorch.Name, scorch.Name, map[string]any{"unsafe_batch": true})
	if err != nil {
		os.RemoveAll(dir)
		lock.Close()
		return nil, fmt.Errorf("procedures: index: %w", err)
	}
	x := &Index{reg: reg, log: reg.log, idx: idx, dir: dir, lock: lock, indexed: map[string]string{}, summary: map[string]*Procedure{}}
	if err := x.Refresh(ctx); err != nil {
		x.Close()
		return nil, err
	}
	return x, nil
}

// Refresh brings the index up to date with the published procedures:
// new and changed ones are indexed, withdrawn ones removed.
func (x *Index) Refresh(ctx context.Context) error {
	rows, err := x.reg.db.QueryContext(ctx, `SELECT id, hash FROM procedures_versions WHERE state = $1`, StatePublished)
	if err != nil {
		return fmt.Errorf("procedures: refresh index: %w", err)
	}
	published := map[string]string{}
	for rows.Next() {
		var id, hash string
		if err := rows.Scan(&id, &hash); err != nil {
			rows.Close()
			return err
		}
		published[id] = hash
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	x.mu.RLock()
	var changed, gone []string
	for id, h := range published {
		if x.indexed[id] != h {
			changed = append(changed, id)
		}
	}
	for id := range x.indexed {
		if _, ok := published[id]; !ok {
			gone = append(gone, id)
		}
	}
	x.mu.RUnlock()
	if len(changed) == 0 && len(gone) == 0 {
		return nil
	}
	var docs []*Version
	if len(changed) > 50 {
		all, err := x.reg.ListPublished(ctx)
		if err != nil {
			return err
		}
		want := map[string]bool{}
		for _, id := range changed {
			want[id] = true
		}
		for _, v := range all {
			if want[v.Procedure.ID] {
				docs = append(docs, v)
			}
		}
	} else {
		for _, id := range changed {
			v, err := x.reg.Published(ctx, id)
			if errors.Is(err, ErrNotFound) {
				continue // withdrawn meanwhile; the next refresh sees it
			}
			if err != nil {
				return err
			}
			docs = append(docs, v)
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	b := x.idx.NewBatch()
	for _, v := range docs {
		if err := b.Index(v.Procedure.ID, toIndexDoc(v.Procedure)); err != nil {
			return err
		}
	}
	for _, id := range gone {
		b.Delete(id)
	}
	if err := x.idx.Batch(b); err != nil {
		return fmt.Errorf("procedures: index: %w", err)
	}
	for _, v := range docs {
		x.indexed[v.Procedure.ID], x.summary[v.Procedure.ID] = v.Hash, v.Procedure
	}
	for _, id := range gone {
		delete(x.indexed, id)
		delete(x.summary, id)
	}
	x.log.Debug("search index refreshed", zap.Int("indexed", len(docs)), zap.Int("removed", len(gone)))
	return nil
}

// StartRefresh refreshes the index every interval until Close.
func (x *Index) StartRefresh(every time.Duration) {
	x.once.Do(func() {
		x.stop, x.done = make(chan struct{}), make(chan struct{})
		go func() {
			defer close(x.done)
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-x.stop:
					return
				case <-t.C:
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					if err := x.Refresh(ctx); err != nil {
						x.log.Warn("search index refresh failed", zap.Error(err))
					}
					cancel()
				}
			}
		}()
	})
}

// Close stops refreshing and frees the index and its files.
func (x *Index) Close() error {
	if x.stop != nil {
		close(x.stop)
		<-x.done
	}
	err := x.idx.Close()
	if rerr := os.RemoveAll(x.dir); err == nil {
		err = rerr
	}
	x.lock.Close() // after the removal: a starting index never sees this one half gone
	return err
}

// QueryError says why a search cannot be run.
type QueryError struct{ Reason string }

func (e *QueryError) Error() string { return "procedures: search: " + e.Reason }

// Is makes errors.Is(err, errkind.Invalid) hold.
func (e *QueryError) Is(target error) bool { return target == errkind.Invalid }

// Problem renders the error as a 400.
func (e *QueryError) Problem() *problem.Problem { return httpx.BadRequest(e.Reason) }

// Query is a search: words in Greek or English, and filters.
type Query struct {
	Text      string
	Category  string
	LifeEvent string
	Authority string
	Channel   string
	Limit     int // at most 100; zero means 20
	Offset    int
}

// Hit is a procedure found, with its score.
type Hit struct {
	ID        string  `json:"id"`
	Title     Text    `json:"title"`
	Authority Text    `json:"authority"`
	Score     float64 `json:"score"`
}

// Results are a page of hits, best first.
type Results struct {
	Total uint64 `json:"total"`
	Hits  []Hit  `json:"hits"`
}

// Search finds published procedures. Words match in titles (which weigh
// most, a whole title most of all) and in the rest of the text, in Greek
// (accents, case and endings folded) and English (stemmed); filters narrow
// by category, life event, authority and channel.
func (x *Index) Search(ctx context.Context, q Query) (Results, error) {
	if q.Limit <= 0 {
		q.Limit = 20
	}
	if q.Limit > 100 || q.Offset < 0 || q.Offset > 10000 || len(q.Text) > 500 {
		return Results{}, &QueryError{Reason: "a query of at most 500 bytes, up to 100 results a page, from at most the 10,000th"}
	}
	var must []query.Query
	text := strings.TrimSpace(q.Text)
	if text != "" {
		var any []query.Query
		for field, boost := range map[string]float64{"title_el": 5, "title_en": 5, "text_el": 1, "text_en": 1} {
			mq := bleve.NewMatchQuery(text)
			mq.SetField(field)
			mq.SetBoost(boost)
			any = append(any, mq)
		}
		for _, field := range []string{"title_el", "title_en"} {
			pq := bleve.NewMatchPhraseQuery(text)
			pq.SetField(field)
			pq.SetBoost(20)
			any = append(any, pq)
		}
		must = append(must, bleve.NewDisjunctionQuery(any...))
	}
	for field, v := range map[string]string{"category": q.Category, "life_event": q.LifeEvent, "authority": q.Authority, "channel": q.Channel} {
		if v != "" {
			tq := bleve.NewTermQuery(v)
			tq.SetField(field)
			must = append(must, tq)
		}
	}
	var root query.Query = bleve.NewMatchAllQuery()
	if len(must) > 0 {
		root = bleve.NewConjunctionQuery(must...)
	}
	req := bleve.NewSearchRequestOptions(root, q.Limit, q.Offset, false)
	x.mu.RLock()
	defer x.mu.RUnlock()
	res, err := x.idx.SearchInContext(ctx, req)
	if err != nil {
		return Results{}, fmt.Errorf("procedures: search: %w", err)
	}
	out := Results{Total: res.Total, Hits: make([]Hit, 0, len(res.Hits))}
	for _, h := range res.Hits {
		p := x.summary[h.ID]
		if p == nil {
			continue
		}
		out.Hits = append(out.Hits, Hit{ID: h.ID, Title: p.Title, Authority: p.Authority.Name, Score: h.Score})
	}
	return out, nil
}
