package procedures

import (
	"embed"
	"io/fs"
	"path"
	"sort"
)

//go:embed samples/*.json
var samples embed.FS

// Samples returns the sample procedures shipped with the package: real
// Greek procedures in Greek and English, each valid against the schema,
// by file name.
func Samples() map[string][]byte {
	out := map[string][]byte{}
	entries, _ := fs.ReadDir(samples, "samples")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := samples.ReadFile(path.Join("samples", n))
		if err == nil {
			out[n] = b
		}
	}
	return out
}
