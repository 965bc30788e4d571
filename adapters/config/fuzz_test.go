package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics, and that a document it accepts
// gives a valid configuration that parses identically a second time.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"config.yaml", "remote.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("events:\n  iggy:\n    mode: remote\n    remote:\n      password: ${X:-y}\n"))
	f.Add([]byte("events: &a {iggy: {topology: {domain_partitions: 3}}}\n"))
	f.Add([]byte("events:\n  iggy:\n    <<: {mode: remote}\n"))
	f.Add([]byte("- [a, *b]\n"))
	f.Add([]byte("events:\n  iggy:\n    consumer:\n      max_backoff: 1h\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid config: %v", err)
		}
		c2, err := Parse(b)
		if err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("second parse differs: %v", err)
		}
	})
}
