package fold

import "testing"

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"Δηλώσεις": "δηλωσεισ", "ΔΗΛΩΣΗ": "δηλωση", "δήλωση": "δηλωση", "Προϊστάμενος": "προισταμενοσ",
		"Müller": "muller", "Passport": "passport", "": "",
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}
