package metrics

import (
	"encoding/json"
	"testing"
)

// FuzzLabelAt checks the fast cut of a stored label set against decoding
// it, for every position.
func FuzzLabelAt(f *testing.F) {
	f.Add("gsis", "taxisnet", "digital")
	f.Add(OverflowLabel, "", "")
	f.Add(`a","b`, `\`, "δήμος <&>")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		for n := 0; n <= 3; n++ {
			labels := []string{a, b, c}[:n]
			raw, err := json.Marshal(labels)
			if err != nil {
				t.Fatal(err)
			}
			for idx := 0; idx <= 3; idx++ {
				want := OverflowLabel
				if idx < len(labels) && !(len(labels) == 1 && labels[0] == OverflowLabel) {
					want = labels[idx]
				}
				var decoded []string
				_ = json.Unmarshal(raw, &decoded)
				if idx < len(decoded) && !(len(decoded) == 1 && decoded[0] == OverflowLabel) {
					want = decoded[idx] // invalid UTF-8 comes back replaced
				}
				got, err := labelAt(string(raw), idx)
				if err != nil || got != want {
					t.Fatalf("labelAt(%s, %d) = %q, %v; want %q", raw, idx, got, err, want)
				}
			}
		}
	})
}
