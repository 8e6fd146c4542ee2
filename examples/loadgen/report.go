package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"
)

// recorder keeps every measured transaction's latency by kind, and the
// failures by status.
type recorder struct {
	mu        sync.Mutex
	measuring bool
	latencies map[string][]time.Duration
	failures  map[string]map[string]int
	lastErr   map[string]string
	// done and failed count every transaction, warm-up included, for the
	// progress line.
	done, failed int
}

func newRecorder() *recorder {
	return &recorder{latencies: map[string][]time.Duration{}, failures: map[string]map[string]int{}, lastErr: map[string]string{}}
}

// record notes one transaction of kind that took d and ended with err.
func (r *recorder) record(kind string, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done++
	if err != nil {
		r.failed++
	}
	if !r.measuring {
		return
	}
	if err == nil {
		r.latencies[kind] = append(r.latencies[kind], d)
		return
	}
	status := "network"
	var se *statusError
	if errors.As(err, &se) {
		status = strconv.Itoa(se.status)
	}
	if r.failures[kind] == nil {
		r.failures[kind] = map[string]int{}
	}
	r.failures[kind][status]++
	r.lastErr[kind] = err.Error()
}

// Figures is the latency and count of one kind, or of all.
type Figures struct {
	OK        int            `json:"ok"`
	Errors    map[string]int `json:"errors,omitempty"` // by HTTP status, or "network"
	LastError string         `json:"last_error,omitempty"`
	PerSecond float64        `json:"per_second"` // successful transactions per second
	P50       float64        `json:"p50_ms"`
	P90       float64        `json:"p90_ms"`
	P99       float64        `json:"p99_ms"`
	Max       float64        `json:"max_ms"`
}

// Report is what a run measured, after its warm-up.
type Report struct {
	Portal  string  `json:"portal"`
	Model   string  `json:"model"` // "open, 500/s" or "closed, 64 workers"
	Mix     string  `json:"mix"`
	Seconds float64 `json:"seconds"`
	Dropped int     `json:"dropped,omitempty"` // open model: arrivals not started, every worker busy
	// Citizens the mix ran on, and how many of them transactions drew
	// (warm-up included).
	Citizens      int                 `json:"citizens,omitempty"`
	CitizensDrawn int                 `json:"citizens_drawn,omitempty"`
	Overall       Figures             `json:"overall"`
	ByKind        map[string]*Figures `json:"by_kind"`
	Started       time.Time           `json:"started"`
	Finished      time.Time           `json:"finished"`
}

func figures(lat []time.Duration, seconds float64) Figures {
	f := Figures{OK: len(lat)}
	if len(lat) == 0 {
		return f
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	at := func(q float64) float64 { return ms(lat[min(len(lat)-1, int(q*float64(len(lat))))]) }
	f.PerSecond = float64(len(lat)) / seconds
	f.P50, f.P90, f.P99, f.Max = at(0.50), at(0.90), at(0.99), ms(lat[len(lat)-1])
	return f
}

// reported are the kinds a report shows, in its order: the mix's, then
// the ones of -mode tokens and -mode introspect.
var reported = append(slices.Clone(kinds), kindToken, kindIntrospect)

// report sums up the measured part of the run.
func (r *recorder) report(seconds float64) *Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &Report{Seconds: seconds, ByKind: map[string]*Figures{}}
	var all []time.Duration
	allErrs := map[string]int{}
	for _, k := range reported {
		lat := r.latencies[k]
		if len(lat) == 0 && len(r.failures[k]) == 0 {
			continue
		}
		all = append(all, lat...)
		f := figures(slices.Clone(lat), seconds)
		f.Errors, f.LastError = r.failures[k], r.lastErr[k]
		for s, n := range r.failures[k] {
			allErrs[s] += n
		}
		rep.ByKind[k] = &f
	}
	rep.Overall = figures(all, seconds)
	if len(allErrs) > 0 {
		rep.Overall.Errors = allErrs
	}
	return rep
}

func (rep *Report) print(w io.Writer) {
	fmt.Fprintf(w, "\n%s — %s, mix %s, %.1f s measured", rep.Portal, rep.Model, rep.Mix, rep.Seconds)
	if rep.Citizens > 0 {
		fmt.Fprintf(w, ", %d citizen(s), %d drawn", rep.Citizens, rep.CitizensDrawn)
	}
	if rep.Dropped > 0 {
		fmt.Fprintf(w, ", %d arrivals dropped (every worker busy)", rep.Dropped)
	}
	fmt.Fprintf(w, "\n%-14s %8s %9s %8s %8s %8s %8s  %s\n", "kind", "ok", "ok/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors by status")
	line := func(name string, f *Figures) {
		fmt.Fprintf(w, "%-14s %8d %9.1f %8.1f %8.1f %8.1f %8.1f  %v\n", name, f.OK, f.PerSecond, f.P50, f.P90, f.P99, f.Max, errs(f.Errors))
	}
	for _, k := range reported {
		if f := rep.ByKind[k]; f != nil {
			line(k, f)
		}
	}
	line("overall", &rep.Overall)
	for _, k := range reported {
		if f := rep.ByKind[k]; f != nil && f.LastError != "" {
			fmt.Fprintf(w, "last %s error: %s\n", k, f.LastError)
		}
	}
}

func errs(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	b, _ := json.Marshal(m)
	return string(b)
}
