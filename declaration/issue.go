package declaration

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/ident"
)

// Issuing takes numbers from a counter row that every issue of the issuer
// must lock, and signs twice with the numbers in the content, so
// issues of one issuer cannot overlap. Rather than queue one by one,
// concurrent issues are gathered into batches: the first caller leads,
// takes every issue waiting (up to maxBatch) into one transaction, takes
// their numbers in one step, signs them on all cores and commits once;
// then the next batch. A lone issue is a batch of one.

// maxBatch bounds how many documents one transaction issues.
const maxBatch = 64

// issueStmts are the statements every batch runs, the reads of a
// document that every confirmation and verification make, and the writes
// of every draft and code request, prepared once rather than for every
// call: on SQLite, parsing a statement cost as much as running it.
type issueStmts struct{ protocol, status, update, byID, byCode, create, challenge *sql.Stmt }

func (s *Service) prepareIssue(ctx context.Context) (err error) {
	prepare := func(query string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = s.db.PrepareContext(ctx, query)
		return st
	}
	s.stmts.protocol = prepare(`INSERT INTO declaration_protocol (issuer, year, last) VALUES ($1, $2, $3)
		ON CONFLICT (issuer, year) DO UPDATE SET last = declaration_protocol.last + $3 RETURNING last`)
	s.stmts.status = prepare(`INSERT INTO declaration_status (issuer, last) VALUES ($1, $2)
		ON CONFLICT (issuer) DO UPDATE SET last = declaration_status.last + $2 RETURNING last`)
	s.stmts.update = prepare(`UPDATE declaration_documents SET state = $1, issued_at = $2, protocol_year = $3,
		protocol_seq = $4, code = $5, token = $6, sd_jwt = $7, status_idx = $8, challenge = ''
		WHERE id = $9`)
	s.stmts.byID = prepare(selectDocument + ` WHERE id = $1`)
	s.stmts.byCode = prepare(selectDocument + ` WHERE code = $1`)
	s.stmts.create = prepare(`INSERT INTO declaration_documents
		(id, issuer, kind, state, declarant, grantee, content, created_at, expires_at, valid_until)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`)
	s.stmts.challenge = prepare(`UPDATE declaration_documents SET challenge = $1 WHERE id = $2 AND state = $3`)
	return err
}

type issueReq struct {
	d *Document
	// challenge and code are the one-time code's, checked and used up in
	// the issuing transaction; empty for an issue without a code.
	challenge, code string
	done            chan error
}

type batcher struct {
	mu      sync.Mutex
	queue   []*issueReq
	leading bool
}

// issue numbers, codes and signs a confirmed draft, in one transaction
// with the protocol number it takes and the one-time code it uses up.
// Once the draft is queued, it is issued (and counted) whatever becomes of
// ctx: a caller that stops waiting gets ctx's error, not the outcome.
func (s *Service) issue(ctx context.Context, d *Document, challenge, code string) error {
	req := &issueReq{d: d, challenge: challenge, code: code, done: make(chan error, 1)}
	b := &s.batch
	b.mu.Lock()
	b.queue = append(b.queue, req)
	if b.leading {
		b.mu.Unlock()
		select {
		case err := <-req.done:
			return err
		case <-ctx.Done():
			// The batch may still issue it; the caller hears no more.
			return ctx.Err()
		}
	}
	b.leading = true
	for {
		n := min(len(b.queue), maxBatch)
		batch := b.queue[:n:n]
		b.queue = b.queue[n:]
		if n == 0 {
			b.leading = false
			b.mu.Unlock()
			break
		}
		b.mu.Unlock()
		// The batch carries other callers' documents: it must not end
		// when this caller's request does.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err := s.issueBatch(bctx, batch)
		cancel()
		for _, r := range batch {
			if err != nil {
				r.done <- err
			}
		}
		b.mu.Lock()
	}
	return <-req.done
}

// issueBatch issues the drafts of a batch in one transaction and answers
// each request that succeeds; on a failure of the whole transaction it
// answers none and returns the error.
func (s *Service) issueBatch(ctx context.Context, batch []*issueReq) error {
	now := s.now()
	year := now.In(s.cfg.Location).Year()
	issuedAt := now.UTC().Truncate(time.Microsecond)
	var answers map[*issueReq]error
	ctx, cancel := s.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		answers = map[*issueReq]error{}
		// Only drafts still waiting get numbers, so that none is lost.
		ids := make([]any, 0, len(batch))
		marks := make([]string, 0, len(batch))
		for i, r := range batch {
			ids = append(ids, r.d.ID)
			marks = append(marks, fmt.Sprintf("$%d", i+2))
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM declaration_documents WHERE state = $1 AND id IN (`+strings.Join(marks, ", ")+`)`,
			append([]any{StateDraft}, ids...)...)
		if err != nil {
			return err
		}
		waiting := map[string]bool{}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			waiting[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var todo []*issueReq
		for _, r := range batch {
			if !waiting[r.d.ID] {
				answers[r] = fail(ErrState, "the document was issued by another request")
				continue
			}
			delete(waiting, r.d.ID) // the same draft twice in one batch: once
			todo = append(todo, r)
		}
		// The codes are checked and used up here, in the transaction
		// that issues: an issue that fails, or a process that dies before
		// it commits, leaves a right code usable, and a wrong one is
		// counted when the batch commits. Each check locks its citizen's
		// row until the commit, so they are taken in the order of the
		// citizens' numbers, the same in every instance.
		checks := slices.Clone(todo)
		slices.SortStableFunc(checks, func(a, b *issueReq) int { return strings.Compare(a.d.Declarant.AFM, b.d.Declarant.AFM) })
		refused := map[*issueReq]bool{}
		for _, r := range checks {
			if r.challenge == "" {
				continue
			}
			no, err := s.otp.VerifyTx(ctx, tx, r.challenge, r.d.Declarant.AFM, purpose(r.d.ID), r.code)
			if err != nil {
				return err
			}
			if no != nil {
				answers[r] = codeError(no)
				refused[r] = true
			}
		}
		todo = slices.DeleteFunc(todo, func(r *issueReq) bool { return refused[r] })
		if len(todo) == 0 {
			return nil
		}
		k := int64(len(todo))
		var last, lastIdx int64
		if err := tx.StmtContext(ctx, s.stmts.protocol).QueryRowContext(ctx, s.cfg.Issuer, year, k).Scan(&last); err != nil {
			return err
		}
		if err := tx.StmtContext(ctx, s.stmts.status).QueryRowContext(ctx, s.cfg.Issuer, k).Scan(&lastIdx); err != nil {
			return err
		}
		update := tx.StmtContext(ctx, s.stmts.update)
		defer update.Close()
		// Sign on every core, and write each document as soon as it is
		// signed, while the next ones are being signed. Numbers follow the
		// order of arrival.
		signed := make([]error, len(todo))
		ready := make([]chan struct{}, len(todo))
		for i := range ready {
			ready[i] = make(chan struct{})
		}
		work := make(chan int, len(todo))
		for i := range todo {
			work <- i
		}
		close(work)
		var wg sync.WaitGroup
		defer wg.Wait()
		for range min(runtime.GOMAXPROCS(0), len(todo)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					d := todo[i].d
					d.State, d.IssuedAt, d.Code = StateIssued, issuedAt, newCode()
					d.Protocol = FormatProtocol(year, last-k+1+int64(i))
					signed[i] = s.signAll(ctx, d, lastIdx-k+int64(i))
					close(ready[i])
				}
			}()
		}
		for i, r := range todo {
			<-ready[i]
			if signed[i] != nil {
				return signed[i]
			}
			d := r.d
			if _, err := update.ExecContext(ctx, StateIssued, d.IssuedAt.UnixMicro(), year, last-k+1+int64(i), d.Code,
				d.Token, d.SDJWT, lastIdx-k+int64(i), d.ID); err != nil {
				return err
			}
			answers[r] = nil
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("declaration: issue: %w", err)
	}
	// Counted here, once the documents are stored, rather than by the
	// callers, some of whom may have stopped waiting.
	for r, e := range answers {
		if e == nil {
			d := r.d
			s.countIssued(d.Draft)
			s.log.Info("document issued", zap.String("id", d.ID), zap.String("kind", d.Draft.Kind),
				zap.String("protocol", d.Protocol), zap.String("declarant", ident.MaskAFM(d.Declarant.AFM)))
		}
		r.done <- e
	}
	return nil
}

// signAll signs a numbered document two ways: the JWS of its content,
// and the SD-JWT VC with its status-list index. The summary in its QR
// code is signed when a PDF is drawn (QRContent).
func (s *Service) signAll(ctx context.Context, d *Document, statusIdx int64) error {
	token, err := s.sign(ctx, d)
	if err != nil {
		return err
	}
	if d.SDJWT, err = s.sdJWT(ctx, d, statusIdx); err != nil {
		return err
	}
	d.Token = token
	return nil
}
