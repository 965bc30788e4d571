package deprule

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWorkspace enforces the dependency rule on the real workspace.
func TestWorkspace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := WorkspaceRoot(ctx, wd)
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := Load(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	modules := map[string]bool{}
	for _, p := range pkgs {
		if name := moduleName(p.modulePath()); name != "" {
			modules[name] = true
		}
	}
	for _, m := range []string{"core", "tools"} {
		if !modules[m] {
			t.Fatalf("go list found no package of module %s under %s; the check would prove nothing", m, root)
		}
	}
	for _, v := range Check(pkgs) {
		t.Error(v)
	}
}

// TestWorkspaceViolationIsCaught adds, through a go list overlay (nothing
// is written to the tree), a file to transport that imports a connector
// package, and checks that the real pipeline reports it.
func TestWorkspaceViolationIsCaught(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wd, _ := os.Getwd()
	root, err := WorkspaceRoot(ctx, wd)
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := Load(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	var target string
	for _, p := range pkgs {
		if moduleName(p.modulePath()) == "connector" && !strings.Contains(p.ImportPath, " [") && !strings.HasSuffix(p.ImportPath, ".test") {
			target = p.ImportPath
			break
		}
	}
	if target == "" {
		t.Skip("the connector module has no package yet to import")
	}
	fake := filepath.Join(root, "transport", "zz_deprule_violation.go")
	src := filepath.Join(t.TempDir(), "violation.go")
	code := "package transport\n\nimport _ \"" + target + "\"\n"
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {fake: src}})
	overlayFile := filepath.Join(t.TempDir(), "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	pkgs, err = Load(ctx, root, "-overlay="+overlayFile)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, v := range Check(pkgs) {
		if strings.Contains(v.String(), "imports "+target+": module transport may not import module connector") {
			found = true
			t.Logf("caught as expected: %s", v)
		}
	}
	if !found {
		t.Fatalf("a transport file importing %s was not reported", target)
	}
}

// pkg fabricates a go list entry.
func pkg(importPath, module string, std bool, imports ...string) Package {
	p := Package{ImportPath: importPath, Standard: std, Imports: imports}
	if module != "" {
		p.Module = &struct{ Path string }{module}
	}
	return p
}

const (
	core      = RepoPrefix + "core"
	connector = RepoPrefix + "connector"
	transport = RepoPrefix + "transport"
	adapters  = RepoPrefix + "adapters"
	tools     = RepoPrefix + "tools"
)

// clean is a workspace that keeps the rule.
func clean() []Package {
	return []Package{
		pkg("fmt", "", true),
		pkg("github.com/google/uuid", "github.com/google/uuid", false, "fmt"),
		pkg("go.uber.org/fx", "go.uber.org/fx", false, "fmt"),
		pkg(core, core, false, "fmt", "github.com/google/uuid"),
		pkg(connector+"/embedded", connector, false, core, "fmt"),
		pkg(transport, transport, false, core),
		pkg(adapters+"/fxmodule", adapters, false, core, connector+"/embedded", transport, "go.uber.org/fx"),
		pkg(tools+"/cmd/x", tools, false, adapters+"/fxmodule", connector+"/embedded", transport, core),
	}
}

func TestCheckClean(t *testing.T) {
	if v := Check(clean()); len(v) != 0 {
		t.Fatalf("violations in a clean workspace: %v", v)
	}
}

func TestCheckFails(t *testing.T) {
	tests := []struct {
		name  string
		extra []Package
		want  []string
	}{
		{
			"transport imports connector",
			[]Package{pkg(transport+"/publish", transport, false, core, connector+"/embedded")},
			[]string{transport + "/publish imports " + connector + "/embedded: module transport may not import module connector (allowed: core)"},
		},
		{
			"connector imports transport in a test",
			[]Package{pkg(connector+"/embedded ["+connector+"/embedded.test]", connector, false, core, transport)},
			[]string{connector + "/embedded imports " + transport + ": module connector may not import module transport"},
		},
		{
			"core imports a repo module",
			[]Package{pkg(core+"/x", core, false, transport)},
			[]string{"module core may not import module transport (allowed: nothing from this repo)"},
		},
		{
			"adapters imports tools",
			[]Package{pkg(adapters+"/y", adapters, false, tools+"/cmd/x")},
			[]string{"module adapters may not import module tools"},
		},
		{
			"core imports a third-party module",
			[]Package{pkg(core+"/z", core, false, "go.uber.org/fx")},
			[]string{core + "/z imports go.uber.org/fx: core may depend only on the standard library"},
		},
		{
			"core reaches a third-party module transitively",
			[]Package{
				pkg("github.com/google/uuid", "github.com/google/uuid", false, "fmt", "example.com/evil"),
				pkg("example.com/evil", "example.com/evil", false),
			},
			[]string{core + " imports example.com/evil: core may depend only on the standard library and github.com/google/uuid (reached through github.com/google/uuid)"},
		},
		{
			"core uses a test-support module outside its test-support packages",
			[]Package{pkg(core+"/y", core, false, "github.com/OneOfOne/xxhash"), pkg("github.com/OneOfOne/xxhash", "github.com/OneOfOne/xxhash", false, "hash")},
			[]string{core + "/y imports github.com/OneOfOne/xxhash: core may depend only on the standard library and github.com/google/uuid"},
		},
		{
			"a core test-support package uses a module outside its list",
			[]Package{pkg(core+"/coretest", core, false, "go.uber.org/fx")},
			[]string{core + "/coretest imports go.uber.org/fx: core may depend only on the standard library and github.com/google/uuid, github.com/OneOfOne/xxhash"},
		},
		{
			"a module missing from the table",
			[]Package{pkg(RepoPrefix+"newmod", RepoPrefix+"newmod", false)},
			[]string{`module "newmod" is not in the dependency table`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkgs := append(clean(), tt.extra...)
			// Replace entries with the same import path (the transitive case).
			byPath := map[string]int{}
			var merged []Package
			for _, p := range pkgs {
				if i, ok := byPath[p.ImportPath]; ok {
					merged[i] = p
					continue
				}
				byPath[p.ImportPath] = len(merged)
				merged = append(merged, p)
			}
			got := Check(merged)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d violations, want %d: %v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i].String(), w) {
					t.Errorf("violation %q does not contain %q", got[i], w)
				}
			}
		})
	}
}

func TestCoreTestSupportMayUseXXH32(t *testing.T) {
	pkgs := append(clean(), pkg(core+"/coretest", core, false, core, "github.com/OneOfOne/xxhash"),
		pkg("github.com/OneOfOne/xxhash", "github.com/OneOfOne/xxhash", false, "hash"))
	if v := Check(pkgs); len(v) != 0 {
		t.Fatalf("violations: %v", v)
	}
}

func TestCoreTestsMayUseTheirOwnModules(t *testing.T) {
	// The stdlib-only rule is for what users compile; a core test variant
	// is still bound by the repo table (checked above) but not by it.
	pkgs := append(clean(), pkg(core+" ["+core+".test]", core, false, "go.uber.org/fx"))
	pkgs[len(pkgs)-1].ForTest = core
	if v := Check(pkgs); len(v) != 0 {
		t.Fatalf("violations: %v", v)
	}
}
