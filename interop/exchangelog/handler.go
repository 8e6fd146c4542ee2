package exchangelog

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/problem"
)

// Problem types of the handler, under problem.TypeBase.
const (
	TypeOutOfRange = problem.TypeBase + "exchangelog/out-of-range"
	TypeTampered   = problem.TypeBase + "exchangelog/tampered"
)

// CheckpointResponse is the answer of GET checkpoint.
type CheckpointResponse struct {
	Origin string `json:"origin"`
	Size   int64  `json:"size"`
	Root   Hash   `json:"root"`
	// Checkpoint is the signed note: verify it with verify.OpenCheckpoint
	// and the log's verifier key, obtained independently.
	Checkpoint string `json:"checkpoint"`
}

// InclusionResponse is the answer of GET proof/inclusion.
type InclusionResponse struct {
	Index    int64  `json:"index"`
	Size     int64  `json:"size"`
	LeafHash Hash   `json:"leaf_hash"`
	Proof    []Hash `json:"proof"`
	// Checkpoint is the signed checkpoint of Size leaves, when the
	// request named no size and the latest checkpoint was used.
	Checkpoint string `json:"checkpoint,omitempty"`
}

// ConsistencyResponse is the answer of GET proof/consistency.
type ConsistencyResponse struct {
	First  int64  `json:"first"`
	Second int64  `json:"second"`
	Proof  []Hash `json:"proof"`
}

// Handler serves the log's read side as JSON, for auditors, consumers
// and citizens' access logs; mount it under a prefix with
// http.StripPrefix. Every answer is public: entries hold metadata,
// digests and pseudonyms only. Routes:
//
//	GET checkpoint                                   CheckpointResponse
//	GET key                                          the verifier key, text/plain
//	GET proof/inclusion?index=N[&size=S]             InclusionResponse
//	GET proof/inclusion?leaf_hash=B64[&size=S]       InclusionResponse
//	GET proof/consistency?first=A&second=B           ConsistencyResponse
//	GET entries/N                                    Record
//	GET entries?exchange_id=ID                       Record
//
// Without size, an inclusion proof is for the tree of the latest
// checkpoint, which the answer carries; an entry appended after that
// checkpoint is out of range until the next one (Config.CheckpointEvery). Bad parameters and sizes beyond
// the log are answered 400 as problem+json (type TypeOutOfRange for
// sizes and indexes), an unknown entry 404, a database that does not
// answer 503 with Retry-After.
func (l *Log) Handler() http.Handler {
	return http.HandlerFunc(l.serve)
}

func (l *Log) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	known := path == "checkpoint" || path == "key" || path == "proof/inclusion" || path == "proof/consistency" ||
		path == "entries" || strings.HasPrefix(path, "entries/")
	if !known {
		problem.Write(w, r, problem.New(problem.TypeNotFound, http.StatusNotFound, "no such resource in the exchange log"))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		problem.Write(w, r, problem.New(problem.TypeMethodNotAllowed, http.StatusMethodNotAllowed, "the exchange log is read with GET"))
		return
	}
	switch {
	case path == "checkpoint":
		l.serveCheckpoint(w, r)
	case path == "key":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(l.cfg.VerifierKey + "\n"))
	case path == "proof/inclusion":
		l.serveInclusion(w, r)
	case path == "proof/consistency":
		l.serveConsistency(w, r)
	case path == "entries":
		id := r.URL.Query().Get("exchange_id")
		if id == "" {
			badParam(w, r, "exchange_id", "name an exchange id, or ask for entries/{index}")
			return
		}
		rec, err := l.EntryByExchangeID(r.Context(), id)
		l.answer(w, r, rec, err)
	default:
		n, ok := parseCount(strings.TrimPrefix(path, "entries/"))
		if !ok {
			badParam(w, r, "index", "must be a leaf index, a decimal from 0")
			return
		}
		rec, err := l.Entry(r.Context(), n)
		l.answer(w, r, rec, err)
	}
}

func (l *Log) serveCheckpoint(w http.ResponseWriter, r *http.Request) {
	cp, err := l.Checkpoint(r.Context())
	if err != nil {
		l.fail(w, r, err)
		return
	}
	l.answer(w, r, CheckpointResponse{Origin: cp.Origin, Size: cp.Size, Root: cp.Root, Checkpoint: string(cp.Note)}, nil)
}

func (l *Log) serveInclusion(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var resp InclusionResponse
	if s := q.Get("size"); s != "" {
		n, ok := parseCount(s)
		if !ok {
			badParam(w, r, "size", "must be a tree size, a decimal")
			return
		}
		resp.Size = n
	} else {
		cp, err := l.Checkpoint(r.Context())
		if err != nil {
			l.fail(w, r, err)
			return
		}
		resp.Size, resp.Checkpoint = cp.Size, string(cp.Note)
	}
	switch idx, hash := q.Get("index"), q.Get("leaf_hash"); {
	case idx != "" && hash == "":
		n, ok := parseCount(idx)
		if !ok {
			badParam(w, r, "index", "must be a leaf index, a decimal from 0")
			return
		}
		resp.Index = n
		if n < resp.Size {
			rec, err := l.Entry(r.Context(), n)
			if err != nil {
				l.fail(w, r, err)
				return
			}
			resp.LeafHash = rec.LeafHash
		}
	case hash != "" && idx == "":
		raw, err := base64.StdEncoding.DecodeString(hash)
		if err != nil || len(raw) != len(Hash{}) {
			badParam(w, r, "leaf_hash", "must be a SHA-256 in standard base64")
			return
		}
		var h Hash
		copy(h[:], raw)
		rec, err := l.EntryByLeafHash(r.Context(), h)
		if err != nil {
			l.fail(w, r, err)
			return
		}
		resp.Index, resp.LeafHash = rec.Index, rec.LeafHash
	default:
		badParam(w, r, "index", "name either index or leaf_hash")
		return
	}
	proof, err := l.InclusionProof(r.Context(), resp.Index, resp.Size)
	resp.Proof = proof
	l.answer(w, r, resp, err)
}

func (l *Log) serveConsistency(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	first, ok1 := parseCount(q.Get("first"))
	second, ok2 := parseCount(q.Get("second"))
	if !ok1 || !ok2 {
		badParam(w, r, "first", "first and second must be tree sizes, decimals")
		return
	}
	proof, err := l.ConsistencyProof(r.Context(), first, second)
	l.answer(w, r, ConsistencyResponse{First: first, Second: second, Proof: proof}, err)
}

// parseCount reads a non-negative decimal in its one spelling.
func parseCount(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0 && strconv.FormatInt(n, 10) == s
}

func badParam(w http.ResponseWriter, r *http.Request, field, detail string) {
	p := problem.New(problem.TypeBadRequest, http.StatusBadRequest, "bad query parameter")
	p.Errors = []problem.FieldError{{Field: field, Detail: detail}}
	problem.Write(w, r, p)
}

func (l *Log) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		l.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_ = json.NewEncoder(w).Encode(v)
}

func (l *Log) fail(w http.ResponseWriter, r *http.Request, err error) {
	var tamper *TamperError
	switch {
	case errors.Is(err, ErrRange):
		problem.Write(w, r, problem.New(TypeOutOfRange, http.StatusBadRequest, err.Error()))
	case errors.Is(err, errkind.NotFound):
		problem.Write(w, r, problem.New(problem.TypeNotFound, http.StatusNotFound, "no such entry in the exchange log"))
	case errors.Is(err, errkind.Unavailable):
		l.cfg.Logger.Warn("exchange log unavailable", zap.Error(err))
		problem.Write(w, r, problem.Unavailable("the exchange log cannot be read now", 5))
	case errors.As(err, &tamper):
		l.cfg.Logger.Error("exchange log does not verify", zap.Error(err))
		problem.Write(w, r, problem.New(TypeTampered, http.StatusInternalServerError, "the stored log does not verify"))
	default:
		l.cfg.Logger.Error("exchange log request failed", zap.Error(err))
		problem.Write(w, r, problem.New(problem.TypeInternal, http.StatusInternalServerError, ""))
	}
}
