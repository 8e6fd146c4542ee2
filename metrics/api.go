package metrics

import (
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/egovkit/egovkit/internal/httpx"
)

// APIHandler serves the statistics as JSON (mount it below a prefix with
// http.StripPrefix, such as /stats/api):
//
//	GET /kinds                                 the declared kinds
//	GET /totals?kind=K&period=P                total of kind K (or "all") in P
//	GET /series?kind=K&period=P&by=month       totals step by step (day, month, year)
//	GET /top?kind=K&label=L&period=P&n=10      values of label L with the most transactions
//	GET /growth?kind=K&period=P&base=B         P against B: totals, change, change of the daily rate
//	GET /visits-avoided?period=P               kinds that replace a visit to an office
//
// Periods are as ParsePeriod reads them. Series and top lists come as CSV
// with format=csv or Accept: text/csv. Errors are RFC 9457 problem details
// naming the parameter; a period that cannot be read is a 400 of type
// ProblemBadPeriod whose "code" member is the PeriodError's Code.
func (m *Metrics) APIHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /kinds", m.apiKinds)
	mux.HandleFunc("GET /totals", m.apiTotals)
	mux.HandleFunc("GET /series", m.apiSeries)
	mux.HandleFunc("GET /top", m.apiTop)
	mux.HandleFunc("GET /growth", m.apiGrowth)
	mux.HandleFunc("GET /visits-avoided", m.apiVisits)
	return httpx.Fallbacks(mux, nil)
}

func badParam(w http.ResponseWriter, r *http.Request, field, detail string) {
	httpx.WriteProblem(w, r, &httpx.Problem{Type: httpx.TypeValidation, Title: "Invalid query parameter",
		Status: http.StatusBadRequest, Detail: detail, Errors: []httpx.FieldError{{Field: field, Detail: detail}}})
}

// badPeriod answers a *PeriodError in err as a 400 problem of type
// ProblemBadPeriod naming the parameter; it tells whether there was one.
func badPeriod(w http.ResponseWriter, r *http.Request, name string, err error) bool {
	var pe *PeriodError
	if !errors.As(err, &pe) {
		return false
	}
	httpx.WriteProblem(w, r, pe.problem(name))
	return true
}

// periodParam reads a period parameter, answering the error itself.
func periodParam(w http.ResponseWriter, r *http.Request, name string) (Period, bool) {
	p, err := ParsePeriod(r.URL.Query().Get(name))
	if err != nil {
		badPeriod(w, r, name, err)
		return Period{}, false
	}
	return p, true
}

func kindParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	k := r.URL.Query().Get("kind")
	if k == "" || len(k) > 100 {
		badParam(w, r, "kind", `kind is required: a kind of transaction, or "all"`)
		return "", false
	}
	return k, true
}

// kindAndPeriod reads the kind and period parameters most queries take.
func kindAndPeriod(w http.ResponseWriter, r *http.Request) (string, Period, bool) {
	kind, ok := kindParam(w, r)
	if !ok {
		return "", Period{}, false
	}
	p, ok := periodParam(w, r, "period")
	return kind, p, ok
}

func cacheable(w http.ResponseWriter) { w.Header().Set("Cache-Control", "public, max-age=60") }

func wantsCSV(r *http.Request) bool {
	return r.URL.Query().Get("format") == "csv" || httpx.Negotiate(r, "application/json", "text/csv") == "text/csv"
}

type kindInfo struct {
	Name          string            `json:"name"`
	Labels        []string          `json:"labels"`
	ReplacesVisit bool              `json:"replaces_visit"`
	Title         map[string]string `json:"title,omitempty"`
}

func (m *Metrics) apiKinds(w http.ResponseWriter, r *http.Request) {
	out := []kindInfo{}
	for _, k := range m.cfg.Kinds {
		out = append(out, kindInfo{Name: k.Name, Labels: append([]string{}, k.Labels...), ReplacesVisit: k.ReplacesVisit, Title: k.Title})
	}
	cacheable(w)
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"kinds": out})
}

type totalAnswer struct {
	Kind   string `json:"kind"`
	Period string `json:"period"`
	First  string `json:"first"`
	Last   string `json:"last"`
	Total  int64  `json:"total"`
}

func (m *Metrics) apiTotals(w http.ResponseWriter, r *http.Request) {
	kind, p, ok := kindAndPeriod(w, r)
	if !ok {
		return
	}
	t, err := m.Total(r.Context(), kind, p)
	if err != nil {
		httpx.WriteError(w, r, m.log, err)
		return
	}
	cacheable(w)
	httpx.WriteJSON(w, http.StatusOK, totalAnswer{Kind: kind, Period: p.Name, First: p.First.Format(time.DateOnly), Last: p.Last.Format(time.DateOnly), Total: t})
}

func (m *Metrics) apiSeries(w http.ResponseWriter, r *http.Request) {
	kind, p, ok := kindAndPeriod(w, r)
	if !ok {
		return
	}
	by := Granularity(r.URL.Query().Get("by"))
	if by == "" {
		by = ByMonth
	}
	if by != ByDay && by != ByMonth && by != ByYear {
		badParam(w, r, "by", "by is day, month or year")
		return
	}
	points, err := m.Series(r.Context(), kind, p, by)
	if badPeriod(w, r, "period", err) {
		return
	}
	if err != nil {
		httpx.WriteError(w, r, m.log, err)
		return
	}
	cacheable(w)
	if wantsCSV(r) {
		rows := [][]string{{"period", "first_day", "total"}}
		for _, pt := range points {
			rows = append(rows, []string{pt.Period, pt.First.Format(time.DateOnly), strconv.FormatInt(pt.Total, 10)})
		}
		writeCSV(w, kind+"-"+p.Name+"-by-"+string(by)+".csv", rows)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"kind": kind, "period": p.Name, "by": by, "points": points})
}

func (m *Metrics) apiTop(w http.ResponseWriter, r *http.Request) {
	kind, p, ok := kindAndPeriod(w, r)
	if !ok {
		return
	}
	label := r.URL.Query().Get("label")
	n := 10
	if v := r.URL.Query().Get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 1000 {
			badParam(w, r, "n", "n is a number from 1 to 1000")
			return
		}
	}
	// What the caller can mend is judged before the database is asked, so
	// a failing database is never blamed on the label.
	if kind == KindAll {
		badParam(w, r, "kind", "top values need one kind")
		return
	}
	if _, err := m.labelIndex(kind, label); err != nil {
		badParam(w, r, "label", err.Error())
		return
	}
	entries, err := m.Top(r.Context(), kind, label, p, n)
	if err != nil {
		httpx.WriteError(w, r, m.log, err)
		return
	}
	cacheable(w)
	if wantsCSV(r) {
		rows := [][]string{{label, "total"}}
		for _, e := range entries {
			rows = append(rows, []string{e.Value, strconv.FormatInt(e.Total, 10)})
		}
		writeCSV(w, kind+"-"+label+"-"+p.Name+".csv", rows)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"kind": kind, "label": label, "period": p.Name, "entries": entries})
}

func (m *Metrics) apiGrowth(w http.ResponseWriter, r *http.Request) {
	kind, p, ok := kindAndPeriod(w, r)
	if !ok {
		return
	}
	base, ok := periodParam(w, r, "base")
	if !ok {
		return
	}
	g, err := m.Growth(r.Context(), kind, p, base)
	if err != nil {
		httpx.WriteError(w, r, m.log, err)
		return
	}
	cacheable(w)
	httpx.WriteJSON(w, http.StatusOK, g)
}

func (m *Metrics) apiVisits(w http.ResponseWriter, r *http.Request) {
	p, ok := periodParam(w, r, "period")
	if !ok {
		return
	}
	t, err := m.VisitsAvoided(r.Context(), p)
	if err != nil {
		httpx.WriteError(w, r, m.log, err)
		return
	}
	cacheable(w)
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"period": p.Name, "total": t})
}

func writeCSV(w http.ResponseWriter, filename string, rows [][]string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeFilename(filename)+`"`)
	cw := csv.NewWriter(w)
	_ = cw.WriteAll(rows)
}

// safeFilename keeps letters, digits, '.', '-' and '_'.
func safeFilename(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
