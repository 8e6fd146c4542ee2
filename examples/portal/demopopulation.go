package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/examples/registry/registry"
)

// The demo population (-demo-citizens N): generated citizens beside the two
// demo citizens, so that a load can spread over many people rather than
// fall on one. Everything about citizen i (1 ≤ i ≤ N) follows from i, so
// that examples/loadgen knows their user names, tax numbers and mobile
// numbers without asking:
//
//	user name      citizen00001 … (populationUsername)
//	password       citizen-password, the same for all, each hashed apart
//	tax number     2, i in seven digits, the check digit (populationAFM)
//	mobile number  +30697 and i in seven digits (populationMobile)
const (
	populationPassword = "citizen-password"
	// maxDemoCitizens bounds -demo-citizens: each costs an argon2id hash
	// at its creation, about 20 ms of a core here.
	maxDemoCitizens = 10000
)

// populationUsername is the user name of generated citizen i.
func populationUsername(i int) string { return fmt.Sprintf("citizen%05d", i) }

// populationMobile is the mobile number of generated citizen i in the
// contact registry; the demo accounts' numbers start +30691 and +30690.
func populationMobile(i int) string { return fmt.Sprintf("+30697%07d", i) }

// populationAFM is the tax number of generated citizen i: the digit 2, i
// in seven digits, and the check digit (the first eight weighted by 2⁸ down
// to 2¹, the sum modulo 11 then modulo 10), which no demo citizen's
// (123456783, 987654324) nor any other generated one's can equal.
func populationAFM(i int) string {
	d := fmt.Sprintf("2%07d", i)
	sum := 0
	for k := range 8 {
		sum += int(d[k]-'0') << (8 - k)
	}
	return d + string(rune('0'+sum%11%10))
}

var (
	populationGiven = []string{"Γεώργιος", "Μαρία", "Δημήτρης", "Ελένη", "Κωνσταντίνος", "Αικατερίνη", "Ιωάννης", "Βασιλική",
		"Νικόλαος", "Σοφία", "Παναγιώτης", "Αναστασία", "Χρήστος", "Δέσποινα", "Αθανάσιος", "Ευαγγελία"}
	populationFamily = []string{"Παπαδόπουλος", "Παπαδοπούλου", "Γεωργίου", "Γεωργίου", "Νικολάου", "Νικολάου", "Ιωάννου", "Ιωάννου",
		"Οικονόμου", "Οικονόμου", "Αθανασίου", "Αθανασίου", "Δημητρίου", "Δημητρίου", "Μακρής", "Μακρή"}
	populationFathers       = []string{"Αντώνιος", "Σπυρίδων", "Ευάγγελος", "Μιχαήλ", "Θεόδωρος", "Ηλίας", "Στέφανος"}
	populationMothers       = []string{"Ειρήνη", "Αγγελική", "Χρυσούλα", "Παρασκευή", "Θεοδώρα", "Καλλιόπη", "Ζωή", "Φωτεινή"}
	populationMunicipality  = []string{"Αθηναίων", "Θεσσαλονίκης", "Πατρέων", "Ηρακλείου", "Λαρισαίων", "Βόλου", "Ιωαννιτών", "Χανίων"}
	populationMarital       = []string{"single", "married", "married", "married", "divorced", "widowed"}
	populationChildrenNames = []string{"Άννα", "Νίκος", "Ελένη", "Γιώργος", "Κατερίνα", "Δημήτρης"}
)

// populationBirthDate is the date of birth of generated citizen i, between
// 1945 and 2005, spread by a step prime to the range.
func populationBirthDate(i int) time.Time {
	const days = 60 * 365
	return time.Date(1945, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (i*7919)%days)
}

// populationAMKA is the social security number of generated citizen i:
// the date of birth as DDMMYY, i in four digits, and the Luhn digit.
func populationAMKA(i int) string {
	d := populationBirthDate(i).Format("020106") + fmt.Sprintf("%04d", i%10000)
	sum, double := 0, true
	for k := len(d) - 1; k >= 0; k-- {
		v := int(d[k] - '0')
		if double {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum, double = sum+v, !double
	}
	return d + string(rune('0'+(10-sum%10)%10))
}

// populationCitizen is the account of generated citizen i.
func populationCitizen(i int) auth.Citizen {
	given := populationGiven[i%len(populationGiven)]
	return auth.Citizen{Username: populationUsername(i), AFM: populationAFM(i), AMKA: populationAMKA(i),
		GivenName: given, FamilyName: populationFamily[i%len(populationFamily)],
		FatherName: populationFathers[i%len(populationFathers)], MotherName: populationMothers[(i/7)%len(populationMothers)],
		BirthDate: populationBirthDate(i).Format(time.DateOnly)}
}

// populationRecord is what the demo registries hold about generated
// citizen i: a family status that follows from i.
func populationRecord(i int) registry.Citizen {
	c := populationCitizen(i)
	r := registry.Citizen{TaxNumber: c.AFM, GivenName: c.GivenName, FamilyName: c.FamilyName,
		MaritalStatus: populationMarital[i%len(populationMarital)], Municipality: populationMunicipality[(i/3)%len(populationMunicipality)],
		Children: []registry.Child{}}
	if r.MaritalStatus == "married" {
		r.Spouse = populationGiven[(i+1)%len(populationGiven)] + " " + c.FamilyName
	}
	born := populationBirthDate(i)
	for k := range i % 4 {
		child := born.AddDate(28+2*k, i%12, 0)
		if child.After(time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)) {
			break
		}
		r.Children = append(r.Children, registry.Child{Name: populationChildrenNames[(i+k)%len(populationChildrenNames)] + " " + c.FamilyName,
			BirthDate: child.Format(time.DateOnly)})
	}
	return r
}

// demoRecords are the registries' records in demo mode: the two demo
// citizens', then the first n generated citizens'.
func demoRecords(n int) []registry.Citizen {
	out := append(make([]registry.Citizen, 0, len(journeyCitizens)+n), journeyCitizens...)
	for i := 1; i <= n; i++ {
		out = append(out, populationRecord(i))
	}
	return out
}

// seedPopulation creates generated citizens 1 to n that the database does
// not hold yet, each with its mobile number in the contact registry: a
// later start with the same n creates none, a larger n the ones missing.
// Each password is hashed on its own at the accounts' configured cost, on
// as many goroutines as there are processors (the accounts' hashing
// slots), with the progress logged.
func (a *app) seedPopulation(ctx context.Context, n int) error {
	if n <= 0 {
		return nil
	}
	start := time.Now()
	var missing []int
	for i := 1; i <= n; i++ {
		c, err := a.accounts.CitizenByAFM(ctx, populationAFM(i))
		switch {
		case errors.Is(err, auth.ErrNoSuchAccount):
			missing = append(missing, i)
		case err != nil:
			return fmt.Errorf("demo citizen %s: %w", populationUsername(i), err)
		case c.Username != populationUsername(i):
			return fmt.Errorf("demo citizen %s: its tax number belongs to the account %s", populationUsername(i), c.Username)
		default:
			// Created before a stop that came before its mobile number.
			if err := a.populationMobile(ctx, c.ID, i, true); err != nil {
				return err
			}
		}
	}
	log := a.log.With(zap.Int("citizens", n), zap.String("first", populationUsername(1)), zap.String("last", populationUsername(n)),
		zap.String("password", populationPassword))
	if len(missing) == 0 {
		log.Info("demo citizens ready", zap.Int("created", 0), zap.Duration("took", time.Since(start)))
		return nil
	}
	workers := runtime.GOMAXPROCS(0)
	log.Info("creating demo citizens: one password hash each", zap.Int("missing", len(missing)), zap.Int("workers", workers))
	var (
		next, created atomic.Int64
		failed        atomic.Pointer[error]
		wg            sync.WaitGroup
	)
	hashing := time.Now()
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				log.Info("creating demo citizens", zap.Int64("created", created.Load()), zap.Int("missing", len(missing)))
			}
		}
	}()
	for range workers {
		wg.Go(func() {
			for failed.Load() == nil && ctx.Err() == nil {
				k := int(next.Add(1) - 1)
				if k >= len(missing) {
					return
				}
				if err := a.createPopulationCitizen(ctx, missing[k]); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				created.Add(1)
			}
		})
	}
	wg.Wait()
	close(stopProgress)
	<-progressDone
	if err := failed.Load(); err != nil {
		return *err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	took := time.Since(hashing)
	log.Info("demo citizens ready", zap.Int64("created", created.Load()), zap.Duration("took", time.Since(start)),
		zap.Duration("per_1000", took*1000/time.Duration(created.Load())),
		zap.String("mobiles", populationMobile(1)+" …"))
	return nil
}

// createPopulationCitizen creates generated citizen i with its mobile
// number. A citizen another instance created meanwhile counts as created;
// a moment when every hashing slot stayed busy is waited out.
func (a *app) createPopulationCitizen(ctx context.Context, i int) error {
	for attempt := 0; ; attempt++ {
		c, err := a.accounts.CreateCitizen(ctx, populationCitizen(i), populationPassword)
		switch {
		case errors.Is(err, auth.ErrPasswordBusy) && attempt < 10:
			continue
		case errors.Is(err, auth.ErrAccountExists):
			c, err = a.accounts.CitizenByAFM(ctx, populationAFM(i))
			switch {
			case errors.Is(err, auth.ErrNoSuchAccount) || err == nil && c.Username != populationUsername(i):
				return fmt.Errorf("demo citizen %s: another account holds its user name or tax number", populationUsername(i))
			case err != nil:
				return fmt.Errorf("demo citizen %s: %w", populationUsername(i), err)
			}
			return a.populationMobile(ctx, c.ID, i, true)
		case err != nil:
			return fmt.Errorf("demo citizen %s: %w", populationUsername(i), err)
		}
		return a.populationMobile(ctx, c.ID, i, false)
	}
}

// populationMobile records generated citizen i's mobile number for the
// account id; when onlyMissing, only if the account has none yet.
func (a *app) populationMobile(ctx context.Context, id string, i int, onlyMissing bool) error {
	if a.contacts == nil {
		return nil
	}
	if onlyMissing {
		_, err := a.contacts.Get(ctx, id)
		if err == nil {
			return nil
		}
		if !errors.Is(err, auth.ErrContactNotFound) {
			return fmt.Errorf("demo citizen %s: %w", populationUsername(i), err)
		}
	}
	if _, err := a.contacts.ImportMobile(ctx, id, populationMobile(i), "demonstration data"); err != nil {
		return fmt.Errorf("demo citizen %s: %w", populationUsername(i), err)
	}
	return nil
}
