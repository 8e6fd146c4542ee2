package procedures

import (
	"context"
	"database/sql"
	"strings"
)

// AddressFields lists the places of the schema that hold an address, as
// JSON Pointer patterns ("*" for every item), links first.
func AddressFields() (links, identifiers []string) {
	for _, f := range addressFields {
		p := "/" + strings.Join(f.path, "/")
		if f.link {
			links = append(links, p)
		} else {
			identifiers = append(identifiers, p)
		}
	}
	return links, identifiers
}

// SeedPublished stores documents straight as published versions, for
// benchmarks that need thousands of them.
func SeedPublished(ctx context.Context, r *Registry, docs [][]byte) error {
	return r.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, doc := range docs {
			p, err := Parse(doc)
			if err != nil {
				return err
			}
			raw, hash, err := canonical(p, 1)
			if err != nil {
				return err
			}
			now := r.now().UnixMicro()
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO procedures_versions (id, version, state, doc, hash, author, created_at, updated_at, published_at) VALUES ($1, 1, $2, $3, $4, 'seed', $5, $5, $5)`,
				p.ID, StatePublished, string(raw), hash, now); err != nil {
				return err
			}
		}
		return nil
	})
}
