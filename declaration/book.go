package declaration

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/fold"
	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/problem"
)

// Directions of a protocol book entry.
const (
	Incoming = "incoming"
	Outgoing = "outgoing"
	Internal = "internal"
)

// BookEntry is one document registered in the protocol book.
type BookEntry struct {
	Issuer string `json:"issuer"`
	// Number is the protocol number, "2026/000123".
	Number    string `json:"number"`
	Year      int    `json:"year"`
	Seq       int64  `json:"seq"`
	Direction string `json:"direction"`
	Subject   string `json:"subject"`
	Sender    string `json:"sender"`
	Recipient string `json:"recipient"`
	// Date is the date written on the document, YYYY-MM-DD.
	Date string `json:"date"`
	// ContentSHA256 is the hex SHA-256 of the document's bytes.
	ContentSHA256 string `json:"content_sha256"`
	// Signature is the document's signature, if it has one (a JWS, or a
	// base64 CMS signature), kept as given.
	Signature    string    `json:"signature,omitempty"`
	RegisteredAt time.Time `json:"registered_at"`
	RegisteredBy string    `json:"registered_by"`
	// PrevHash and Hash chain the entries: Hash is the SHA-256 of the
	// entry's fields and PrevHash, hex.
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// BookConfig configures a protocol book.
type BookConfig struct {
	DB *sql.DB
	// Issuer is the agency whose book this is. Numbers run per issuer and
	// year, shared with the documents a Service of the same Issuer issues:
	// one agency, one numbering.
	Issuer string
	// Location decides the year of a number; nil means Europe/Athens, as
	// for the service's own documents (Config.Location).
	Location *time.Location
	// DBTimeout bounds each database call; zero means 5 s.
	DBTimeout time.Duration
	// Now replaces time.Now, for tests; nil means time.Now.
	Now func() time.Time
	// Logger logs registrations (issuer, number and direction only);
	// nil logs nothing.
	Logger *zap.Logger
}

// Book is an agency's protocol book: the register of its incoming,
// outgoing and internal documents. Registering gives the next protocol
// number; entries are append-only (the database refuses changes) and
// hash-chained, so that Verify detects an entry changed or deleted behind
// the database's back. Several instances may share one database.
type Book struct {
	cfg BookConfig
	db  *sqlstore.DB
}

// NewBook opens the protocol book of cfg.Issuer, migrating the store.
func NewBook(ctx context.Context, cfg BookConfig) (*Book, error) {
	if cfg.DB == nil || strings.TrimSpace(cfg.Issuer) == "" {
		return nil, errors.New("declaration: a protocol book needs DB and Issuer")
	}
	if cfg.Location == nil {
		cfg.Location = defaultLocation()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	db, err := sqlstore.New(ctx, cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("declaration: %w", err)
	}
	if err := db.Migrate(ctx, "declaration", migrations); err != nil {
		return nil, fmt.Errorf("declaration: %w", err)
	}
	return &Book{cfg: cfg, db: db.WithTimeout(cfg.DBTimeout)}, nil
}

// genesis is the PrevHash of an issuer's first entry.
const genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// entryHash is the SHA-256 of the entry's fields, in a fixed order, and
// the previous entry's hash.
func entryHash(e *BookEntry) string {
	canon, _ := json.Marshal([]any{e.Issuer, e.Year, e.Seq, e.Direction, e.Subject, e.Sender, e.Recipient, e.Date,
		e.ContentSHA256, e.Signature, e.RegisteredAt.UnixMicro(), e.RegisteredBy, e.PrevHash})
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:])
}

// checkEntry validates what is registered.
func checkEntry(e *BookEntry) error {
	var c checker
	c.anyScript = true
	switch e.Direction {
	case Incoming, Outgoing, Internal:
	default:
		c.add("/direction", `must be "incoming", "outgoing" or "internal"`)
	}
	e.Subject, e.Sender, e.Recipient = strings.TrimSpace(e.Subject), strings.TrimSpace(e.Sender), strings.TrimSpace(e.Recipient)
	c.text("/subject", e.Subject, true, 1000)
	c.text("/sender", e.Sender, true, MaxRecipient)
	c.text("/recipient", e.Recipient, true, MaxRecipient)
	c.text("/registered_by", e.RegisteredBy, true, MaxName)
	if _, err := time.Parse(time.DateOnly, e.Date); err != nil {
		c.add("/date", "must be a date, YYYY-MM-DD")
	}
	e.ContentSHA256 = strings.ToLower(e.ContentSHA256)
	if b, err := hex.DecodeString(e.ContentSHA256); err != nil || len(b) != sha256.Size {
		c.add("/content_sha256", "must be a SHA-256 in hex, 64 characters")
	}
	if len(e.Signature) > 64<<10 || strings.ContainsAny(e.Signature, "\x00\n\r") {
		c.add("/signature", "must be one line of at most 64 KiB")
	}
	return c.err()
}

// Register records a document and returns its entry with the protocol
// number given to it. Direction, Subject, Sender, Recipient, Date,
// ContentSHA256 and RegisteredBy are required; Signature is optional. The
// rest is filled in.
func (b *Book) Register(ctx context.Context, e BookEntry) (BookEntry, error) {
	if err := checkEntry(&e); err != nil {
		return BookEntry{}, err
	}
	now := b.cfg.Now()
	e.Issuer, e.Year = b.cfg.Issuer, now.In(b.cfg.Location).Year()
	e.RegisteredAt = now.UTC().Truncate(time.Microsecond)
	folded := fold.String(e.Subject + "\n" + e.Sender + "\n" + e.Recipient)
	ctx, cancel := b.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err := b.db.Tx(ctx, func(tx *sql.Tx) error {
		// The head row first: it makes registrations of one issuer take
		// turns, so each sees the last hash.
		var entries int64
		err := tx.QueryRowContext(ctx, `INSERT INTO declaration_book_head (issuer, last_hash, entries) VALUES ($1, $2, 0)
			ON CONFLICT (issuer) DO UPDATE SET entries = declaration_book_head.entries RETURNING last_hash, entries`,
			e.Issuer, genesis).Scan(&e.PrevHash, &entries)
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO declaration_protocol (issuer, year, last) VALUES ($1, $2, 1)
			ON CONFLICT (issuer, year) DO UPDATE SET last = declaration_protocol.last + 1 RETURNING last`,
			e.Issuer, e.Year).Scan(&e.Seq); err != nil {
			return err
		}
		e.Number = FormatProtocol(e.Year, e.Seq)
		e.Hash = entryHash(&e)
		if _, err := tx.ExecContext(ctx, `INSERT INTO declaration_book (issuer, year, seq, direction, subject, sender, recipient,
			doc_date, content_sha256, signature, registered_at, registered_by, folded, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			e.Issuer, e.Year, e.Seq, e.Direction, e.Subject, e.Sender, e.Recipient, e.Date, e.ContentSHA256, e.Signature,
			e.RegisteredAt.UnixMicro(), e.RegisteredBy, folded, e.PrevHash, e.Hash); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE declaration_book_head SET last_hash = $1, entries = $2 WHERE issuer = $3`,
			e.Hash, entries+1, e.Issuer)
		return err
	})
	if err != nil {
		return BookEntry{}, fmt.Errorf("declaration: register: %w", err)
	}
	b.cfg.Logger.Info("document registered", zap.String("issuer", e.Issuer), zap.String("number", e.Number),
		zap.String("direction", e.Direction))
	return e, nil
}

const selectEntry = `SELECT issuer, year, seq, direction, subject, sender, recipient, doc_date, content_sha256, signature,
	registered_at, registered_by, prev_hash, hash FROM declaration_book`

func scanEntry(row scanner) (BookEntry, error) {
	var e BookEntry
	var at int64
	if err := row.Scan(&e.Issuer, &e.Year, &e.Seq, &e.Direction, &e.Subject, &e.Sender, &e.Recipient, &e.Date,
		&e.ContentSHA256, &e.Signature, &at, &e.RegisteredBy, &e.PrevHash, &e.Hash); err != nil {
		return BookEntry{}, err
	}
	e.RegisteredAt = time.UnixMicro(at).UTC()
	e.Number = FormatProtocol(e.Year, e.Seq)
	return e, nil
}

// Get returns the entry with a protocol number, "2026/000123".
func (b *Book) Get(ctx context.Context, number string) (BookEntry, error) {
	var year int
	var seq int64
	if _, err := fmt.Sscanf(number, "%d/%d", &year, &seq); err != nil || seq < 1 || FormatProtocol(year, seq) != number {
		return BookEntry{}, fail(ErrNotFound, "%q is not a protocol number such as 2026/000123", number)
	}
	e, err := scanEntry(b.db.QueryRowContext(ctx, selectEntry+` WHERE issuer = $1 AND year = $2 AND seq = $3`, b.cfg.Issuer, year, seq))
	if errors.Is(err, sql.ErrNoRows) {
		return BookEntry{}, fail(ErrNotFound, "no entry %s in the book", number)
	}
	if err != nil {
		return BookEntry{}, fmt.Errorf("declaration: book: %w", err)
	}
	return e, nil
}

// BookQuery searches the protocol book.
type BookQuery struct {
	// Text is looked for in subject, sender and recipient, without regard
	// to case or accents.
	Text      string
	Direction string
	// From and To bound the registration time; zero means open.
	From, To time.Time
	// Limit is at most 500; zero means 100. Offset pages on.
	Limit, Offset int
}

// Search returns the entries that match, newest first.
func (b *Book) Search(ctx context.Context, q BookQuery) ([]BookEntry, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Limit > 500 || q.Offset < 0 || len(q.Text) > 500 {
		return nil, &InvalidError{Fields: []problem.FieldError{{Pointer: "/limit",
			Detail: "at most 500 entries a page, a non-negative offset and at most 500 characters of text"}}}
	}
	where := []string{"issuer = $1"}
	args := []any{b.cfg.Issuer}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	for _, w := range strings.Fields(fold.String(q.Text)) {
		w = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(w)
		add(`folded LIKE ? ESCAPE '\'`, "%"+w+"%")
	}
	if q.Direction != "" {
		add("direction = ?", q.Direction)
	}
	if !q.From.IsZero() {
		add("registered_at >= ?", q.From.UnixMicro())
	}
	if !q.To.IsZero() {
		add("registered_at < ?", q.To.UnixMicro())
	}
	args = append(args, q.Limit, q.Offset)
	query := fmt.Sprintf(`%s WHERE %s ORDER BY registered_at DESC, year DESC, seq DESC LIMIT $%d OFFSET $%d`,
		selectEntry, strings.Join(where, " AND "), len(args)-1, len(args))
	rows, err := b.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("declaration: book: %w", err)
	}
	defer rows.Close()
	var out []BookEntry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("declaration: book: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// BookReport is what Verify found.
type BookReport struct {
	Entries int64  `json:"entries"`
	Head    string `json:"head"` // the last entry's hash
	// Broken lists the entries whose hash or link does not hold, by
	// number, with what is wrong; empty when the book is intact.
	Broken []string `json:"broken,omitempty"`
}

// OK reports whether the book is intact.
func (r BookReport) OK() bool { return len(r.Broken) == 0 }

// Verify walks the whole chain: every entry's hash must match its fields,
// every entry must point at the one before, and the last must be the head
// with the number of entries the head counts. An entry changed, inserted
// or deleted behind the database's back shows up in Broken. Publishing
// Head now and then (in a daily report, say) lets an auditor also detect a
// rewrite of the whole chain.
func (b *Book) Verify(ctx context.Context) (BookReport, error) {
	var rep BookReport
	var headHash string
	var headCount int64
	err := b.db.QueryRowContext(ctx, `SELECT last_hash, entries FROM declaration_book_head WHERE issuer = $1`, b.cfg.Issuer).
		Scan(&headHash, &headCount)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		headHash = genesis
	case err != nil:
		return rep, fmt.Errorf("declaration: book: %w", err)
	}
	rows, err := b.db.QueryContext(ctx, selectEntry+` WHERE issuer = $1 ORDER BY year, seq`, b.cfg.Issuer)
	if err != nil {
		return rep, fmt.Errorf("declaration: book: %w", err)
	}
	defer rows.Close()
	prev := genesis
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return rep, fmt.Errorf("declaration: book: %w", err)
		}
		rep.Entries++
		switch {
		case e.PrevHash != prev:
			rep.Broken = append(rep.Broken, e.Number+": does not follow the entry before it (one was changed, inserted or deleted)")
		case entryHash(&e) != e.Hash:
			rep.Broken = append(rep.Broken, e.Number+": its fields do not match its hash (it was changed)")
		}
		prev = e.Hash
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("declaration: book: %w", err)
	}
	rep.Head = prev
	if prev != headHash || rep.Entries != headCount {
		rep.Broken = append(rep.Broken, fmt.Sprintf("the last entry or the count (%d) is not the head's (%d): entries were deleted or added at the end", rep.Entries, headCount))
	}
	return rep, nil
}
