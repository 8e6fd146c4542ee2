package metrics

import (
	"hash/maphash"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	_ "unsafe" // for go:linkname
)

// Well-known kinds of transaction. The set is open: any other name works.
const (
	KindAuthentication = "authentication"
	KindInteropCall    = "interop_call"
	KindDeclaration    = "declaration"
	KindAuthorization  = "authorization"
	KindCertificate    = "certificate"
	KindPrescription   = "prescription"
	KindReferral       = "referral"
	KindAppointment    = "appointment"
	// KindAll is the kind the statistics use for every kind together.
	KindAll = "all"
)

// Channels through which a transaction was served, for a "channel" label.
const (
	ChannelDigital   = "digital"
	ChannelInPerson  = "in_person"
	ChannelVideoCall = "video_call"
	ChannelPhone     = "phone"
)

// OverflowLabel is the single label value of the series that counts a
// kind's transactions beyond its cardinality limit.
const OverflowLabel = "_overflow"

// The shard an increment lands on is the processor (P) running the
// goroutine, so that two cores never write the same cache line. The
// runtime's procPin is what sync.Pool uses for the same purpose.
//
//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// cell is one shard of a counter, alone on its cache line.
type cell struct {
	n atomic.Uint64
	_ [56]byte
}

// Handle counts one kind with one fixed label set. Get it once with
// Metrics.Handle and call Inc on the hot path: no lookup, no allocation,
// no shared cache line.
type Handle struct {
	s *series
}

// Inc counts one transaction.
func (h *Handle) Inc() { h.s.add(1) }

// Add counts n transactions.
func (h *Handle) Add(n uint64) { h.s.add(n) }

// series is the running total of one kind and label set since start.
type series struct {
	kind    string
	labels  []string
	json    string // the labels as a JSON array, as the store keeps them
	cells   []cell // one per processor
	extra   cell   // for processors beyond len(cells)
	flushed uint64 // the part of the total already in the store; flusher only
}

func newSeries(kind string, labels []string, shards int) *series {
	return &series{kind: kind, labels: labels, json: labelsJSON(labels), cells: make([]cell, shards)}
}

func (s *series) add(n uint64) {
	p := procPin()
	if p < len(s.cells) {
		addOwn(&s.cells[p].n, n)
	} else {
		// More processors than when the series was made (GOMAXPROCS was
		// raised): they share one atomic cell.
		s.extra.n.Add(n)
	}
	procUnpin()
}

// total is everything counted since start.
func (s *series) total() uint64 {
	t := s.extra.n.Load()
	for i := range s.cells {
		t += s.cells[i].n.Load()
	}
	return t
}

// registry holds every series. Lookups read an immutable map through an
// atomic pointer, so Count takes no lock. New series (rare, and bounded by
// the cardinality limit) go to a pending map under a mutex, merged into a
// new immutable map once it has grown by a quarter, or at the next flush,
// so that creating n series costs O(n) in all.
type registry struct {
	seed   maphash.Seed
	shards int
	limit  int // label sets per kind
	warn   func(kind string, limit int)

	index   atomic.Pointer[map[uint64][]*series]
	mu      sync.Mutex
	pending map[uint64][]*series
	npend   int
	count   map[string]int // label sets per kind
	warned  map[string]bool
	all     []*series
}

func newRegistry(limit int, warn func(string, int)) *registry {
	shards := runtime.GOMAXPROCS(0)
	r := &registry{seed: maphash.MakeSeed(), shards: shards, limit: limit, warn: warn,
		pending: map[uint64][]*series{}, count: map[string]int{}, warned: map[string]bool{}}
	empty := map[uint64][]*series{}
	r.index.Store(&empty)
	return r
}

func (r *registry) hash(kind string, labels []string) uint64 {
	h := maphash.String(r.seed, kind)
	for _, l := range labels {
		h = h*0x9e3779b97f4a7c15 ^ maphash.String(r.seed, l)
	}
	return h
}

func find(list []*series, kind string, labels []string) *series {
	for _, s := range list {
		if s.kind == kind && slices.Equal(s.labels, labels) {
			return s
		}
	}
	return nil
}

// get returns the series for kind and labels, creating it when new; past
// the kind's limit it returns the kind's overflow series.
func (r *registry) get(kind string, labels []string) *series {
	h := r.hash(kind, labels)
	if s := find((*r.index.Load())[h], kind, labels); s != nil {
		return s
	}
	return r.create(h, kind, labels)
}

func (r *registry) create(h uint64, kind string, labels []string) *series {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := find((*r.index.Load())[h], kind, labels); s != nil {
		return s
	}
	if s := find(r.pending[h], kind, labels); s != nil {
		// Counted again before publication: publish now, so that the
		// next count takes no lock.
		r.promoteLocked()
		return s
	}
	if r.count[kind] >= r.limit {
		if !r.warned[kind] {
			r.warned[kind] = true
			if r.warn != nil {
				r.warn(kind, r.limit)
			}
		}
		over := []string{OverflowLabel}
		h, labels = r.hash(kind, over), over
		if s := r.lookupLocked(h, kind, labels); s != nil {
			return s
		}
	} else {
		r.count[kind]++
	}
	s := newSeries(strings.Clone(kind), cloneStrings(labels), r.shards)
	r.pending[h] = append(r.pending[h], s)
	r.npend++
	r.all = append(r.all, s)
	if r.npend > max(64, len(r.all)/4) {
		r.promoteLocked()
	}
	return s
}

func (r *registry) lookupLocked(h uint64, kind string, labels []string) *series {
	if s := find((*r.index.Load())[h], kind, labels); s != nil {
		return s
	}
	return find(r.pending[h], kind, labels)
}

// promoteLocked publishes a new index holding the pending series.
func (r *registry) promoteLocked() {
	if r.npend == 0 {
		return
	}
	idx := *r.index.Load()
	next := make(map[uint64][]*series, len(idx)+len(r.pending))
	for k, v := range idx {
		next[k] = v
	}
	for k, v := range r.pending {
		next[k] = append(slices.Clip(next[k]), v...)
	}
	r.index.Store(&next)
	r.pending, r.npend = map[uint64][]*series{}, 0
}

// snapshot lists every series, publishing the pending ones.
func (r *registry) snapshot() []*series {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.promoteLocked()
	return slices.Clone(r.all)
}

func cloneStrings(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.Clone(s)
	}
	return out
}
