package transport_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports enforces the dependency rule: transport imports the standard
// library, core, uuid, xxhash (the XXH32 the embedded broker uses too) and
// the OpenTelemetry API (goleak, the OpenTelemetry SDK and core/coretest,
// the in-memory stream port, in tests and in transporttest), never
// connector or adapters.
func TestImports(t *testing.T) {
	allowed := func(path string, test bool) bool {
		if strings.HasPrefix(path, "go.opentelemetry.io/otel/sdk") || path == "github.com/rustok/rustok-iggy/core/coretest" {
			return test
		}
		switch {
		case !strings.Contains(strings.SplitN(path, "/", 2)[0], "."):
			return true // standard library
		case path == "github.com/rustok/rustok-iggy/core", path == "github.com/google/uuid", path == "github.com/OneOfOne/xxhash",
			strings.HasPrefix(path, "github.com/rustok/rustok-iggy/transport"):
			return true
		case path == "go.opentelemetry.io/otel" || strings.HasPrefix(path, "go.opentelemetry.io/otel/"):
			return true // the API only: the SDK is handled above
		case path == "go.uber.org/goleak":
			return test
		}
		return false
	}
	fset := token.NewFileSet()
	n := 0
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			n++
			if !allowed(path, strings.HasSuffix(p, "_test.go") || strings.HasPrefix(p, "transporttest/")) {
				t.Errorf("%s imports %s", p, path)
			}
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("walk: %v (%d imports)", err, n)
	}
}
