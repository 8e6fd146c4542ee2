package procedures

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
)

// Synthetic returns n procedure documents made up from Greek and English
// building blocks, all valid against the schema, for load tests and
// benchmarks: the registry keeps thousands of procedures, and measuring
// against twenty would say little. The same seed gives the same documents.
func Synthetic(n int, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	type pair struct{ el, en string }
	actions := []pair{
		{"Έκδοση πιστοποιητικού", "Issue of a certificate of"}, {"Άδεια", "Licence for"}, {"Έγκριση", "Approval of"},
		{"Εγγραφή στο μητρώο", "Registration of"}, {"Αίτηση για", "Application for"}, {"Επίδομα", "Allowance for"},
		{"Ανανέωση", "Renewal of"}, {"Μεταβολή στοιχείων", "Change in the details of"}, {"Βεβαίωση", "Confirmation of"},
		{"Χορήγηση", "Grant of"}, {"Αντίγραφο", "Copy of"}, {"Διαγραφή από το μητρώο", "Removal from the register of"},
	}
	objects := []pair{
		{"οικογενειακής κατάστασης", "family status"}, {"γέννησης", "birth"}, {"λειτουργίας καταστήματος", "a shop's operation"},
		{"οδήγησης", "driving"}, {"άσκησης επαγγέλματος", "practising a profession"}, {"στρατολογικής κατάστασης", "military status"},
		{"ιθαγένειας", "citizenship"}, {"αναπηρίας", "disability"}, {"ανεργίας", "unemployment"}, {"μητρότητας", "maternity"},
		{"σύνταξης γήρατος", "old-age pension"}, {"αγροτικής δραστηριότητας", "farming activity"}, {"αλιευτικού σκάφους", "a fishing boat"},
		{"κατοικίδιου ζώου", "a pet"}, {"φορολογικής ενημερότητας", "tax clearance"}, {"ασφαλιστικής ενημερότητας", "social security clearance"},
		{"οικοδομικής εργασίας", "building work"}, {"εκπαιδευτικού τίτλου", "an educational qualification"}, {"μαθητικής εστίας", "a student residence"},
		{"πολιτικού γάμου", "a civil marriage"}, {"θανάτου", "death"}, {"υιοθεσίας", "adoption"}, {"επιμέλειας τέκνου", "child custody"},
	}
	authorities := []pair{{"Δήμοι", "Municipalities"}, {"ΑΑΔΕ", "Independent Authority for Public Revenue"}, {"e-ΕΦΚΑ", "e-EFKA"},
		{"ΔΥΠΑ", "Public Employment Service"}, {"Περιφέρειες", "Regions"}, {"Υπουργείο Εσωτερικών", "Ministry of the Interior"}}
	authorityIDs := []string{"municipalities", "aade", "efka", "dypa", "regions", "ministry-interior"}
	categories := []string{"family", "work", "business", "health", "education", "residence", "vehicles", "agriculture", "documents", "benefits"}
	events := []string{"having-a-child", "starting-a-business", "moving-and-changing-address", "retiring", "losing-a-job", "getting-married"}
	channels := []string{ChannelDigital, ChannelInPerson, ChannelVideoCall, ChannelPhone, ChannelPost}
	types := []string{"certificate", "permit", "registration", "benefit", "document", "obligation"}
	out := make([][]byte, 0, n)
	for i := range n {
		a, o, au := actions[rng.IntN(len(actions))], objects[rng.IntN(len(objects))], rng.IntN(len(authorities))
		p := Procedure{
			ID:          fmt.Sprintf("synthetic-%05d", i+1),
			Title:       Text{EL: a.el + " " + o.el, EN: a.en + " " + o.en},
			Description: Text{EL: fmt.Sprintf("%s %s από %s. Η διαδικασία αφορά πολίτες και επιχειρήσεις και ολοκληρώνεται σε λίγα βήματα.", a.el, o.el, authorities[au].el), EN: fmt.Sprintf("%s %s by %s. The procedure concerns citizens and businesses and takes a few steps.", a.en, o.en, authorities[au].en)},
			Authority:   Authority{ID: authorityIDs[au], Name: Text{EL: authorities[au].el, EN: authorities[au].en}},
			Type:        types[rng.IntN(len(types))],
			Categories:  []string{categories[rng.IntN(len(categories))]},
			LifeEvents:  []string{"http://data.europa.eu/cpsv-ap/lifeevent/" + events[rng.IntN(len(events))]},
		}
		for s := range 2 + rng.IntN(5) {
			st := Step{Title: Text{EL: fmt.Sprintf("Βήμα %d: %s", s+1, []string{"υποβολή αίτησης", "έλεγχος δικαιολογητικών", "πληρωμή παραβόλου", "έκδοση απόφασης", "παραλαβή"}[s%5]),
				EN: fmt.Sprintf("Step %d: %s", s+1, []string{"submit the application", "documents checked", "pay the fee", "decision issued", "collection"}[s%5])},
				Actor: []string{"applicant", "authority"}[s%2], Channel: channels[rng.IntN(3)], MaxDuration: fmt.Sprintf("P%dD", 1+rng.IntN(20))}
			if st.Channel == ChannelDigital && st.Actor == "applicant" {
				st.URL = "https://www.gov.gr/ipiresies/" + p.ID
			}
			p.Steps = append(p.Steps, st)
		}
		for e := range rng.IntN(5) {
			ev := Evidence{ID: fmt.Sprintf("doc-%d", e+1), Title: Text{EL: "Δικαιολογητικό " + o.el, EN: "Supporting document on " + o.en}, Submission: []string{"upload", "in_person"}}
			if rng.IntN(3) == 0 {
				ev.InteropService = authorityIDs[rng.IntN(len(authorityIDs))] + "/record"
			}
			p.Evidence = append(p.Evidence, ev)
		}
		fee := float64(rng.IntN(100))
		p.Costs = []Cost{{Title: Text{EL: "Παράβολο", EN: "Fee"}, Min: fee, Max: fee + float64(rng.IntN(50)), Currency: "EUR"}}
		p.Channels = []Channel{{Type: channels[rng.IntN(len(channels))]}}
		p.ProcessingTime = fmt.Sprintf("P%dD", 1+rng.IntN(60))
		b, err := json.Marshal(p)
		if err != nil {
			panic(err) // a fixed structure always encodes
		}
		out = append(out, b)
	}
	return out
}
