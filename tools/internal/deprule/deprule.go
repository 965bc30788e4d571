// Package deprule enforces the dependency rule of rustok-iggy's
// ARCHITECTURE.md: which module of the workspace may import which.
//
//	module       may import from this repo
//	core         nothing
//	connector    core
//	transport    core
//	adapters     core, connector, transport
//	integration  everything
//	tools        everything
//
// and core, outside its tests, imports nothing but the standard library and
// github.com/google/uuid, transitively; core's test-support packages (an
// import path ending in "test", such as core/coretest, the in-memory stream
// port every module's tests use) may also use the modules of
// [CoreTestSupportExternal].
//
// [Load] lists the workspace's packages with their test variants through
// `go list -deps -test -json`; [Check] applies the rules to such a list and
// returns every violation. The test of this package runs both against the
// real workspace, so `go test ./...` fails as soon as a forbidden import
// appears, and against a fabricated violation, to show it can fail.
package deprule

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// RepoPrefix is the common prefix of the workspace's module paths.
const RepoPrefix = "github.com/rustok/rustok-iggy/"

// Allowed maps each module (its directory name) to the repo modules it may
// import, as in ARCHITECTURE.md. "*" allows every module. A module that is
// missing from this table is itself a violation, so adding a module forces
// a decision here.
var Allowed = map[string][]string{
	"core":        {},
	"connector":   {"core"},
	"transport":   {"core"},
	"adapters":    {"core", "connector", "transport"},
	"integration": {"*"},
	"tools":       {"*"},
}

// CoreExternal lists the modules outside the standard library that core's
// non-test packages may depend on.
var CoreExternal = []string{"github.com/google/uuid"}

// CoreTestSupportExternal lists the further modules that core's
// test-support packages (import paths under core ending in "test") may
// depend on: only tests import them, so they add nothing to what a user
// of core compiles. github.com/OneOfOne/xxhash is the XXH32 the broker
// partitions with, which core/coretest must partition with too.
var CoreTestSupportExternal = []string{"github.com/OneOfOne/xxhash"}

// testSupport reports whether a core package is test support.
func testSupport(importPath string) bool {
	return strings.HasSuffix(path.Base(importPath), "test")
}

// Package is one entry of `go list -deps -test -json`.
type Package struct {
	// ImportPath may carry a test-variant suffix: "p [q.test]".
	ImportPath string
	// ForTest names the package whose test this variant belongs to.
	ForTest string
	// Module is the package's module; nil for the standard library.
	Module *struct{ Path string }
	// Standard is true for standard-library packages.
	Standard bool
	// Imports are the package's imports, test imports included for test
	// variants; entries may carry a test-variant suffix.
	Imports []string
}

func (p Package) modulePath() string {
	if p.Module == nil {
		return ""
	}
	return p.Module.Path
}

// Violation is one forbidden import.
type Violation struct {
	// Package is the importing package (import path as go list gives it).
	Package string
	// Import is the imported package.
	Import string
	// Reason explains the rule broken.
	Reason string
}

// String returns "<package> imports <import>: <reason>".
func (v Violation) String() string { return v.Package + " imports " + v.Import + ": " + v.Reason }

// basePath strips a test-variant suffix: "p [q.test]" -> "p".
func basePath(ip string) string {
	if i := strings.Index(ip, " ["); i >= 0 {
		return ip[:i]
	}
	return ip
}

// moduleName returns the workspace module's short name ("core") for a module
// path, or "" for a module outside the repo.
func moduleName(modPath string) string {
	if !strings.HasPrefix(modPath, RepoPrefix) {
		return ""
	}
	name := strings.TrimPrefix(modPath, RepoPrefix)
	if i := strings.IndexByte(name, '/'); i >= 0 {
		name = name[:i]
	}
	return name
}

func allowed(from, to string) bool {
	if from == to {
		return true
	}
	list := Allowed[from]
	return slices.Contains(list, "*") || slices.Contains(list, to)
}

// Check applies the dependency rule to pkgs (which must include every
// package the workspace's packages import, as go list -deps gives) and
// returns every violation, sorted.
func Check(pkgs []Package) []Violation {
	byPath := make(map[string]Package, len(pkgs))
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
		if _, ok := byPath[basePath(p.ImportPath)]; !ok {
			byPath[basePath(p.ImportPath)] = p
		}
	}
	lookup := func(ip string) (Package, bool) {
		if p, ok := byPath[ip]; ok {
			return p, true
		}
		p, ok := byPath[basePath(ip)]
		return p, ok
	}

	seen := make(map[string]bool)
	var out []Violation
	add := func(v Violation) {
		if k := v.String(); !seen[k] {
			seen[k] = true
			out = append(out, v)
		}
	}
	for _, p := range pkgs {
		from := moduleName(p.modulePath())
		if from == "" {
			continue
		}
		if _, known := Allowed[from]; !known {
			add(Violation{Package: p.ImportPath, Import: "-", Reason: fmt.Sprintf("module %q is not in the dependency table", from)})
			continue
		}
		for _, imp := range p.Imports {
			dep, ok := lookup(imp)
			if !ok {
				continue // unresolved import: go list reports it itself
			}
			to := moduleName(dep.modulePath())
			if to == "" || allowed(from, to) {
				continue
			}
			add(Violation{
				Package: basePath(p.ImportPath),
				Import:  basePath(imp),
				Reason:  fmt.Sprintf("module %s may not import module %s (allowed: %s)", from, to, describe(from)),
			})
		}
	}

	// core, outside tests: standard library and CoreExternal only,
	// transitively.
	for _, p := range pkgs {
		if moduleName(p.modulePath()) != "core" || p.ForTest != "" || strings.Contains(p.ImportPath, " [") || strings.HasSuffix(p.ImportPath, ".test") {
			continue
		}
		external := CoreExternal
		if testSupport(p.ImportPath) {
			external = append(slices.Clone(CoreExternal), CoreTestSupportExternal...)
		}
		visited := map[string]bool{}
		var walk func(Package, string)
		walk = func(q Package, via string) {
			for _, imp := range q.Imports {
				if visited[imp] {
					continue
				}
				visited[imp] = true
				dep, ok := lookup(imp)
				if !ok {
					continue
				}
				mod := dep.modulePath()
				switch {
				case dep.Standard, moduleName(mod) == "core":
				case moduleName(mod) != "":
					continue // another repo module: reported by the table rule
				case slices.Contains(external, mod):
				default:
					reason := "core may depend only on the standard library and " + strings.Join(external, ", ")
					if via != "" {
						reason += " (reached through " + via + ")"
					}
					add(Violation{Package: p.ImportPath, Import: basePath(imp), Reason: reason})
					continue
				}
				walk(dep, basePath(imp))
			}
		}
		walk(p, "")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func describe(from string) string {
	list := Allowed[from]
	if len(list) == 0 {
		return "nothing from this repo"
	}
	return strings.Join(list, ", ")
}

// WorkspaceRoot returns the directory of the go.work file in effect for
// dir, from `go env GOWORK`.
func WorkspaceRoot(ctx context.Context, dir string) (string, error) {
	out, err := goCmd(ctx, dir, "env", "GOWORK")
	if err != nil {
		return "", err
	}
	gowork := strings.TrimSpace(string(out))
	if gowork == "" || gowork == "off" {
		return "", errors.New("deprule: not inside a Go workspace (go env GOWORK is empty)")
	}
	return filepath.Dir(gowork), nil
}

// Load lists every package of every module of the workspace rooted at root,
// with test variants and all dependencies. flags are extra go list flags,
// for example "-overlay=file.json".
func Load(ctx context.Context, root string, flags ...string) ([]Package, error) {
	out, err := goCmd(ctx, root, "list", "-m", "-f", "{{.Dir}}")
	if err != nil {
		return nil, err
	}
	args := []string{"list", "-e", "-deps", "-test", "-json=ImportPath,ForTest,Module,Standard,Imports"}
	args = append(args, flags...)
	for _, dir := range strings.Fields(string(out)) {
		args = append(args, dir+"/...")
	}
	out, err = goCmd(ctx, root, args...)
	if err != nil {
		return nil, err
	}
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p Package
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("deprule: parse go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

func goCmd(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("deprule: go %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}
