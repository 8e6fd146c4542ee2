package procedures

import (
	"context"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/problem"
)

// Searcher finds published procedures: what the catalogue pages and the
// API's /search ask of a search index. The package
// github.com/egovkit/egovkit/procedures/search provides one, a full-text
// index that understands Greek; it lives apart so that a program using the
// registry alone does not carry a search engine.
//
// A Searcher checks its query with [Query.Normalize] and answers a
// [*QueryError] when it is out of bounds.
type Searcher interface {
	Search(ctx context.Context, q Query) (Results, error)
}

// QueryError says why a search cannot be run.
type QueryError struct{ Reason string }

func (e *QueryError) Error() string { return "procedures: search: " + e.Reason }

// Problem renders the error as a 400.
func (e *QueryError) Problem() *problem.Problem { return httpx.BadRequest(e.Reason) }

// Is makes errors.Is(err, errkind.Invalid) hold.
func (e *QueryError) Is(target error) bool { return target == errkind.Invalid }

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

// Normalize checks the query's bounds and fills in the default page size:
// a text of at most 500 bytes, at most 100 results a page, starting from
// at most the 10,000th.
func (q Query) Normalize() (Query, error) {
	if q.Limit <= 0 {
		q.Limit = 20
	}
	if q.Limit > 100 || q.Offset < 0 || q.Offset > 10000 || len(q.Text) > 500 {
		return q, &QueryError{Reason: "a query of at most 500 bytes, up to 100 results a page, from at most the 10,000th"}
	}
	return q, nil
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
