// Package reqid carries a request's id in its context. The middleware that
// gives requests their ids (internal/httpx, and the public middleware
// package over it) stores it here; the problem writer, the access log and
// the pages read it, so each quotes the same id without importing the
// others.
package reqid

import "context"

type key struct{}

// NewContext returns ctx carrying the request id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// FromContext returns the request id, or "" when there is none.
func FromContext(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}
