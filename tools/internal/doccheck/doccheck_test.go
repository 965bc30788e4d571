package doccheck

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// pathRE matches a repository path: a top-level directory of the repository
// followed by at least one path element, not preceded by a word character,
// a slash or a dot (so module import paths and URLs do not match).
var pathRE = regexp.MustCompile(`(?:^|[^\w/.-])((?:core|connector|transport|adapters|integration|tools|docs|examples)(?:/[A-Za-z0-9_.-]*[A-Za-z0-9_])+)`)

// paths returns the distinct repository paths named in text, in order of
// first appearance.
func paths(text string) []string {
	var out []string
	for _, m := range pathRE.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

func TestPathsFound(t *testing.T) {
	got := paths("see `transport/publish.go` and connector/embedded/broker (x) github.com/a/core/x https://h/docs/y core.Broker tools/internal/deprule.")
	want := []string{"transport/publish.go", "connector/embedded/broker", "tools/internal/deprule"}
	if !slices.Equal(got, want) {
		t.Fatalf("paths = %q, want %q", got, want)
	}
}

// TestArchitecturePathsExist checks every path docs/architecture.md names.
func TestArchitecturePathsExist(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	b, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	ps := paths(string(b))
	if len(ps) < 30 {
		t.Fatalf("only %d paths found in docs/architecture.md; the parser is broken", len(ps))
	}
	for _, p := range ps {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(p))); err != nil {
			t.Errorf("docs/architecture.md names %s, which does not exist: %v", p, err)
		}
	}
}
