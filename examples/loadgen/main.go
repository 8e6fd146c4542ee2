// Command loadgen puts the mixed national workload on a running portal
// (examples/portal in demo mode, with EGOVKIT_ADMIN_TOKEN set) and
// reports throughput and latency percentiles per kind of transaction.
//
// The mix follows Greece's published figures (see nationalMix): sign-ins
// on an existing single sign-on session (authorization request with PKCE,
// code, token exchange), calls through the interoperability gateway under
// a standing consent with a cached client_credentials token, and solemn
// declarations and authorizations written and confirmed with the code
// from the development outbox. Hold a rate (-rate, an open model: arrivals
// do not wait for answers, and latency counts from when each should have
// started), several rates one after another (-rate 200,400,800), or a
// number of workers (-c, a closed model).
//
// The mix runs on the demo citizen alone by default, or with -citizens N
// on a population: the demo citizen and the portal's generated citizens
// citizen00001 … (the portal's -demo-citizens N-1 or more), each with a
// browser, a single sign-on session, a standing consent and an access
// token of their own, set up before the load; each transaction picks one
// of them at random.
//
//	EGOVKIT_ADMIN_TOKEN=… go run ./examples/portal -demo -demo-citizens 999 &
//	EGOVKIT_ADMIN_TOKEN=… go run ./examples/loadgen -portal http://127.0.0.1:8080 -rate 500 -duration 30s
//	EGOVKIT_ADMIN_TOKEN=… go run ./examples/loadgen -citizens 1000 -rate 500 -duration 30s
//
// -mode password measures sign-ins with the password alone instead
// (argon2id, at the cost the portal is configured with), and -mode tokens
// client_credentials tokens taken by an agency's system with
// private_key_jwt, each with an assertion the generator has just signed;
// -mode introspect has a resource server introspect tokens taken
// beforehand (-tokens), each once.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	portal, admin, mix, jsonOut, mode string
	tokens, citizens                  int
	rates                             []float64
	workers, maxInFlight              int
	duration, warmup, timeout         time.Duration
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o options
	fl := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&o.portal, "portal", "http://127.0.0.1:8080", "the portal's URL (demo mode)")
	fl.StringVar(&o.admin, "admin-token", getenv("EGOVKIT_ADMIN_TOKEN"), "the portal's client administration token (env EGOVKIT_ADMIN_TOKEN), to register the load's client")
	fl.StringVar(&o.mix, "mix", nationalMix, "weights of the kinds: signin, interop, declaration, authorization")
	fl.StringVar(&o.mode, "mode", "mixed", "mixed: the mix; password: sign-ins with the password alone; tokens: client_credentials tokens with private_key_jwt; introspect: a resource server introspecting tokens it has not seen")
	fl.IntVar(&o.citizens, "citizens", 1, "the people the mix runs on, each with a browser, a single sign-on session and a standing consent of their own, each transaction picking one at random: 1 is the demo citizen alone; N > 1 adds the portal's generated citizens citizen00001 … (start the portal with -demo-citizens N-1 or more)")
	fl.IntVar(&o.tokens, "tokens", 50000, "-mode introspect: how many tokens to take beforehand, one for each introspection")
	rates := fl.String("rate", "", "transactions per second to start (open model), or several (200,400,800) run one after another; none: use -c")
	fl.IntVar(&o.workers, "c", 8, "workers each running one transaction after another (closed model), when -rate is 0")
	fl.IntVar(&o.maxInFlight, "max-in-flight", 2000, "open model: transactions under way at most; arrivals beyond are dropped and counted")
	fl.DurationVar(&o.duration, "duration", 30*time.Second, "how long to measure, after the warm-up")
	fl.DurationVar(&o.warmup, "warmup", 5*time.Second, "load before measuring")
	fl.DurationVar(&o.timeout, "timeout", 10*time.Second, "deadline of each HTTP request")
	fl.StringVar(&o.jsonOut, "json", "", "also write the report as JSON to this file")
	fl.Usage = func() {
		fmt.Fprint(fl.Output(), `Usage: loadgen [flags]

Puts the mixed national workload (sign-ins on a single sign-on session,
gateway calls under a standing consent, solemn declarations and
authorizations) on a portal in demo mode, and reports throughput and
latency percentiles per kind. -citizens N spreads it over the demo citizen
and the portal's generated citizens (portal -demo -demo-citizens N-1).

  loadgen -rate 500 -duration 30s
  loadgen -citizens 1000 -rate 500,1000 -duration 12s -warmup 3s
  loadgen -mode tokens -c 16 -duration 10s

`)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fl.Args())
	}
	for r := range strings.SplitSeq(*rates, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		n, err := strconv.ParseFloat(r, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("-rate: %q is not a positive number", r)
		}
		o.rates = append(o.rates, n)
	}
	switch {
	case len(o.rates) == 0 && o.workers < 1:
		return errors.New("give -rate N (N > 0) or -c N (N ≥ 1)")
	case o.duration <= 0, o.warmup < 0, o.timeout <= 0, o.maxInFlight < 1:
		return errors.New("-duration, -timeout and -max-in-flight must be positive, -warmup not negative")
	case o.citizens < 1 || o.citizens > maxCitizens:
		return fmt.Errorf("-citizens must be between 1 and %d (the demo citizen and the portal's 10,000 generated ones at most), not %d", maxCitizens, o.citizens)
	}
	m, err := parseMix(o.mix)
	if err != nil {
		return err
	}
	conns := max(o.workers, 256)
	p, err := newPortal(o.portal, o.admin, o.timeout, conns)
	if err != nil {
		return err
	}

	var tx func(context.Context, string) error
	mixName := o.mix
	switch o.mode {
	case "mixed":
		if p.citizens, err = p.newCitizens(o.citizens); err != nil {
			return err
		}
		if err := setup(ctx, p, m, stderr); err != nil {
			return err
		}
		tx = func(ctx context.Context, kind string) error {
			c := p.pick()
			switch kind {
			case kindSignIn:
				return p.signIn(ctx, c)
			case kindInterop:
				return p.call(ctx, c)
			case kindDeclaration:
				return p.document(ctx, c, false)
			default:
				return p.document(ctx, c, true)
			}
		}
	case "password":
		m, mixName = &mix{kinds: []string{kindSignIn}, cumul: []int{1}, total: 1}, "password sign-ins"
		tx = func(ctx context.Context, _ string) error { return p.passwordSignIn(ctx) }
	case "tokens":
		c, err := registerTokenClient(ctx, p)
		if err != nil {
			return err
		}
		m, mixName = &mix{kinds: []string{kindToken}, cumul: []int{1}, total: 1}, "client_credentials with private_key_jwt"
		tx = func(ctx context.Context, _ string) error { return c.take(ctx) }
	case "introspect":
		if o.tokens < 1 {
			return errors.New("-tokens must be at least 1")
		}
		c, err := registerTokenClient(ctx, p)
		if err != nil {
			return err
		}
		in, err := newIntrospector(ctx, p, c, o.tokens, stderr)
		if err != nil {
			return err
		}
		m, mixName = &mix{kinds: []string{kindIntrospect}, cumul: []int{1}, total: 1}, "introspection of tokens never seen before"
		tx = func(ctx context.Context, _ string) error { return in.ask(ctx) }
	default:
		return fmt.Errorf("-mode is mixed, password, tokens or introspect, not %q", o.mode)
	}

	steps := o.rates
	if len(steps) == 0 {
		steps = []float64{0} // the closed model
	}
	var reps []*Report
	for _, rate := range steps {
		if ctx.Err() != nil {
			break
		}
		rep := drive(ctx, o, rate, m, tx, stderr)
		rep.Portal, rep.Mix = p.base, mixName
		if len(p.citizens) > 0 {
			rep.Citizens, rep.CitizensDrawn = len(p.citizens), p.drawn()
		}
		rep.print(stdout)
		reps = append(reps, rep)
	}
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(reps, "", "  ")
		if err := os.WriteFile(o.jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// setupConcurrency bounds the citizens set up at once. Each first
// sign-in sends a code to the development outbox, which keeps the last
// 100 messages: with at most this many codes awaiting their reading, a
// code is still there when its citizen reads the outbox.
const setupConcurrency = 16

// setup prepares what the kinds in the mix need: the load's client, and
// for each citizen a first sign-in (password and SMS code, which opens the
// single sign-on session every later sign-in of theirs uses) and, for
// gateway calls, a standing consent they approved. The citizens are set
// up setupConcurrency at a time; those the portal sent a sign-in code
// less than a minute ago (one code a minute per person) are set up again
// a minute later.
func setup(ctx context.Context, p *portal, m *mix, stderr io.Writer) error {
	start := time.Now()
	if err := p.register(ctx); err != nil {
		return err
	}
	if len(p.citizens) > 1 {
		fmt.Fprintf(stderr, "setting up %d citizens, %d at a time…\n", len(p.citizens), setupConcurrency)
	}
	todo := p.citizens
	for round := 0; len(todo) > 0; round++ {
		later, err := setupCitizens(ctx, p, m, todo, round > 0)
		if err != nil {
			return err
		}
		if len(later) == 0 {
			break
		}
		if round > 0 {
			return fmt.Errorf("first sign-in of %s: no code even a minute later", later[0].username)
		}
		fmt.Fprintf(stderr, "waiting a minute: the portal sent %d of the citizens a sign-in code a moment ago\n", len(later))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(61 * time.Second):
		}
		todo = later
	}
	fmt.Fprintf(stderr, "setup done in %.1f s: client %s, %d citizen(s) each with a single sign-on session", time.Since(start).Seconds(), p.client, len(p.citizens))
	if m.has(kindInterop) {
		fmt.Fprint(stderr, " and a standing consent")
	}
	fmt.Fprintln(stderr)
	return nil
}

// setupCitizens sets up todo, setupConcurrency at a time, and returns the
// citizens to set up again in a minute: those whose first sign-in was
// refused as too soon after another code, or whose code the outbox did
// not hold (pushed out of it, when this run follows another within
// minutes), unless final.
func setupCitizens(ctx context.Context, p *portal, m *mix, todo []*citizen, final bool) ([]*citizen, error) {
	var (
		mu     sync.Mutex
		later  []*citizen
		failed error
		next   atomic.Int64
		wg     sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if failed == nil {
			failed = err
		}
	}
	for range min(setupConcurrency, len(todo)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				mu.Lock()
				stop := failed != nil
				mu.Unlock()
				i := int(next.Add(1) - 1)
				if stop || i >= len(todo) {
					return
				}
				c := todo[i]
				err := p.signIn(ctx, c)
				var se *statusError
				var na *noAccountError
				switch {
				case !final && (errors.As(err, &se) && se.status == http.StatusTooManyRequests || errors.Is(err, errNoCode)):
					mu.Lock()
					later = append(later, c)
					mu.Unlock()
					continue
				case errors.As(err, &na) && c.username != demoCitizen:
					fail(fmt.Errorf("first sign-in of %s: the portal holds no such citizen: start it with -demo -demo-citizens %d or more (-citizens counts the demo citizen)",
						c.username, len(p.citizens)-1))
					return
				case err != nil:
					fail(fmt.Errorf("first sign-in of %s: %w", c.username, err))
					return
				}
				if m.has(kindInterop) {
					if err := p.standingConsent(ctx, c); err != nil {
						fail(fmt.Errorf("standing consent of %s: %w", c.username, err))
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if failed != nil {
		return nil, failed
	}
	return later, ctx.Err()
}

// drive runs the load: warm-up, then the measured part, with a progress
// line a second on stderr.
func drive(ctx context.Context, o options, rate float64, m *mix, tx func(context.Context, string) error, stderr io.Writer) *Report {
	rec := newRecorder()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	end := start.Add(o.warmup + o.duration)
	var measureFrom time.Time
	var inFlight, dropped atomic.Int64
	var wg sync.WaitGroup

	go func() { // progress
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last, lastFailed := 0, 0
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				rec.mu.Lock()
				done, failed, measuring := rec.done, rec.failed, rec.measuring
				rec.mu.Unlock()
				phase := "warm-up"
				if measuring {
					phase = "measuring"
				}
				fmt.Fprintf(stderr, "%4.0fs %-9s %6d tx/s %5d failed/s %5d in flight %6d dropped\n",
					now.Sub(start).Seconds(), phase, done-last, failed-lastFailed, inFlight.Load(), dropped.Load())
				last, lastFailed = done, failed
			}
		}
	}()
	go func() { // the warm-up's end
		select {
		case <-ctx.Done():
		case <-time.After(o.warmup):
			rec.mu.Lock()
			rec.measuring = true
			measureFrom = time.Now()
			rec.mu.Unlock()
			dropped.Store(0)
		}
	}()

	one := func(kind string, from time.Time) {
		err := tx(ctx, kind)
		if ctx.Err() != nil && err != nil {
			return // cut by the end of the run, not a failure
		}
		rec.record(kind, time.Since(from), err)
	}
	model := ""
	if rate > 0 {
		model = fmt.Sprintf("open, %g/s", rate)
		interval := time.Duration(float64(time.Second) / rate)
		for i := int64(0); ; i++ {
			at := start.Add(time.Duration(i) * interval)
			if !at.Before(end) || ctx.Err() != nil {
				break
			}
			if d := time.Until(at); d > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(d):
				}
			}
			if inFlight.Load() >= int64(o.maxInFlight) {
				dropped.Add(1)
				continue
			}
			inFlight.Add(1)
			wg.Add(1)
			go func(kind string) {
				defer wg.Done()
				defer inFlight.Add(-1)
				one(kind, at)
			}(m.draw())
		}
	} else {
		model = fmt.Sprintf("closed, %d workers", o.workers)
		for range o.workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(end) && ctx.Err() == nil {
					inFlight.Add(1)
					one(m.draw(), time.Now())
					inFlight.Add(-1)
				}
			}()
		}
	}
	wg.Wait()
	finished := time.Now()
	cancel()
	rec.mu.Lock()
	from := measureFrom
	rec.mu.Unlock()
	seconds := o.duration.Seconds() // the drain after the end counts in the last second
	if from.IsZero() {
		from, seconds = finished, 0.001
	}
	rep := rec.report(seconds)
	rep.Model, rep.Dropped, rep.Started, rep.Finished = model, int(dropped.Load()), from, finished
	return rep
}
