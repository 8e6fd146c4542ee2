package search

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	"go.uber.org/zap"

	"github.com/egovkit/egovkit/procedures"
)

// Index is the full-text index of the published procedures, in Greek and
// English, kept in memory and brought up to date from the registry: every
// instance sharing a database sees another's publications at its next
// refresh (StartRefresh; every few seconds). It is the
// [procedures.Searcher] of the catalogue pages and the API.
type Index struct {
	reg *procedures.Registry
	log *zap.Logger

	mu      sync.RWMutex
	mapping mapping.IndexMapping
	// analyzers are the mapping's analyzers of the text fields, by name.
	analyzers map[string]analysis.Analyzer
	idx       bleve.Index
	batches   int               // refreshes applied since idx was built
	indexed   map[string]string // id → hash of the indexed version
	summary   map[string]*procedures.Procedure

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

func toIndexDoc(p *procedures.Procedure) indexDoc {
	var el, en []string
	add := func(t procedures.Text) {
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

var _ procedures.Searcher = (*Index)(nil)

// Option configures an Index.
type Option func(*Index)

// WithLogger logs the refreshes that fail; nothing is logged by default.
func WithLogger(l *zap.Logger) Option { return func(x *Index) { x.log = l } }

// New builds the index of the procedures published now in reg, in memory.
// Close stops its refreshes and frees it.
func New(ctx context.Context, reg *procedures.Registry, opts ...Option) (*Index, error) {
	if reg == nil {
		return nil, errors.New("search: the index needs a Registry")
	}
	x := &Index{reg: reg, log: zap.NewNop(), indexed: map[string]string{}, summary: map[string]*procedures.Procedure{}}
	for _, o := range opts {
		o(x)
	}
	if x.log == nil {
		x.log = zap.NewNop()
	}
	m, err := newMapping()
	if err != nil {
		return nil, err
	}
	x.mapping = m
	x.analyzers = map[string]analysis.Analyzer{}
	for _, name := range []string{greekAnalyzer, en.AnalyzerName} {
		a := m.AnalyzerNamed(name)
		if a == nil {
			return nil, fmt.Errorf("search: no analyzer %q", name)
		}
		x.analyzers[name] = a
	}
	if x.idx, err = newMemIndex(m); err != nil {
		return nil, err
	}
	if err := x.Refresh(ctx); err != nil {
		x.Close()
		return nil, err
	}
	return x, nil
}

// RebuildAfter is how many refreshes that change the index it takes before
// the next one rebuilds it whole (see the package documentation).
const RebuildAfter = 32

// newMemIndex is an empty index in memory. Scorch, bleve's segment-based
// index, builds many times faster than its in-memory tree store; without a
// path it keeps its segments in memory and runs no persister or merger.
func newMemIndex(m mapping.IndexMapping) (bleve.Index, error) {
	idx, err := bleve.NewUsing("", m, scorch.Name, scorch.Name, map[string]any{"unsafe_batch": true})
	if err != nil {
		return nil, fmt.Errorf("search: index: %w", err)
	}
	return idx, nil
}

// Refresh brings the index up to date with the published procedures:
// new and changed ones are indexed, withdrawn ones removed.
func (x *Index) Refresh(ctx context.Context) error {
	published, err := x.reg.PublishedHashes(ctx)
	if err != nil {
		return fmt.Errorf("search: refresh: %w", err)
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
	x.mu.RLock()
	rebuild := x.batches >= RebuildAfter
	x.mu.RUnlock()
	if rebuild {
		return x.rebuild(ctx)
	}
	var docs []*procedures.Version
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
			if errors.Is(err, procedures.ErrNotFound) {
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
		return fmt.Errorf("search: index: %w", err)
	}
	for _, v := range docs {
		x.indexed[v.Procedure.ID], x.summary[v.Procedure.ID] = v.Hash, v.Procedure
	}
	for _, id := range gone {
		delete(x.indexed, id)
		delete(x.summary, id)
	}
	x.batches++
	x.log.Debug("search index refreshed", zap.Int("indexed", len(docs)), zap.Int("removed", len(gone)))
	return nil
}

// rebuild indexes everything published into a fresh index, in one batch,
// and swaps it in; searches go on against the old one meanwhile.
func (x *Index) rebuild(ctx context.Context) error {
	all, err := x.reg.ListPublished(ctx)
	if err != nil {
		return fmt.Errorf("search: rebuild: %w", err)
	}
	idx, err := newMemIndex(x.mapping)
	if err != nil {
		return err
	}
	b := idx.NewBatch()
	indexed, summary := make(map[string]string, len(all)), make(map[string]*procedures.Procedure, len(all))
	for _, v := range all {
		if err := b.Index(v.Procedure.ID, toIndexDoc(v.Procedure)); err != nil {
			idx.Close()
			return err
		}
		indexed[v.Procedure.ID], summary[v.Procedure.ID] = v.Hash, v.Procedure
	}
	if err := idx.Batch(b); err != nil {
		idx.Close()
		return fmt.Errorf("search: rebuild: %w", err)
	}
	x.mu.Lock()
	old := x.idx
	x.idx, x.indexed, x.summary, x.batches = idx, indexed, summary, 0
	x.mu.Unlock()
	x.log.Debug("search index rebuilt", zap.Int("indexed", len(all)))
	return old.Close()
}

// sinceBuild is how many refreshes have changed the index since it was
// last built whole; it never exceeds RebuildAfter.
func (x *Index) sinceBuild() int { x.mu.RLock(); defer x.mu.RUnlock(); return x.batches }

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

// Close stops refreshing and frees the index.
func (x *Index) Close() error {
	if x.stop != nil {
		close(x.stop)
		<-x.done
	}
	return x.idx.Close()
}

// Search finds published procedures. Words match in titles (which weigh
// most, a whole title most of all) and in the rest of the text, in Greek
// (accents, case and endings folded) and English (stemmed); filters narrow
// by category, life event, authority and channel.
func (x *Index) Search(ctx context.Context, q procedures.Query) (procedures.Results, error) {
	q, err := q.Normalize()
	if err != nil {
		return procedures.Results{}, err
	}
	var must []query.Query
	text := strings.TrimSpace(q.Text)
	if text != "" {
		must = append(must, x.textQuery(text))
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
		return procedures.Results{}, fmt.Errorf("search: %w", err)
	}
	out := procedures.Results{Total: res.Total, Hits: make([]procedures.Hit, 0, len(res.Hits))}
	for _, h := range res.Hits {
		p := x.summary[h.ID]
		if p == nil {
			continue
		}
		out.Hits = append(out.Hits, procedures.Hit{ID: h.ID, Title: p.Title, Authority: p.Authority.Name, Score: h.Score})
	}
	return out, nil
}

// matchTokens is what bleve's match query (operator "or") builds from the
// analyzed tokens: any of the terms in field.
func matchTokens(tokens analysis.TokenStream, field string, boost float64) query.Query {
	tqs := make([]query.Query, len(tokens))
	for i, t := range tokens {
		tq := bleve.NewTermQuery(string(t.Term))
		tq.SetField(field)
		tq.SetBoost(boost)
		tqs[i] = tq
	}
	q := bleve.NewDisjunctionQuery(tqs...)
	q.SetMin(1)
	q.SetBoost(boost)
	return q
}

// phraseTokens is what bleve's match-phrase query builds from the analyzed
// tokens: the terms at their positions, a gap where a stop word was.
func phraseTokens(tokens analysis.TokenStream, field string, boost float64) query.Query {
	first, last := int(^uint(0)>>1), 0
	for _, t := range tokens {
		first, last = min(first, t.Position), max(last, t.Position)
	}
	phrase := make([][]string, last-first+1)
	for _, t := range tokens {
		phrase[t.Position-first] = append(phrase[t.Position-first], string(t.Term))
	}
	q := query.NewMultiPhraseQuery(phrase, field)
	q.SetBoost(boost)
	return q
}

// textQuery matches text in the titles (boost 5, and 20 as a phrase) and
// the rest (boost 1), in Greek and English. Each analyzer reads the text
// once; the query is the one bleve's match and match-phrase queries would
// build from the same tokens (a disjunction of term queries per field, a
// multi-phrase query per title) without analyzing it again for each field.
func (x *Index) textQuery(text string) query.Query {
	var either []query.Query
	for _, a := range []struct {
		analyzer     string
		title, other string
	}{{greekAnalyzer, "title_el", "text_el"}, {en.AnalyzerName, "title_en", "text_en"}} {
		tokens := x.analyzers[a.analyzer].Analyze([]byte(text))
		if len(tokens) == 0 {
			either = append(either, bleve.NewMatchNoneQuery(), bleve.NewMatchNoneQuery(), bleve.NewMatchNoneQuery())
			continue
		}
		either = append(either, matchTokens(tokens, a.title, 5), matchTokens(tokens, a.other, 1), phraseTokens(tokens, a.title, 20))
	}
	return bleve.NewDisjunctionQuery(either...)
}
