package integration

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// envChild switches the test binary into a child role (see childMain)
// instead of running the tests: the crash test re-executes this binary
// as a consumer process.
const envChild = "RUSTOK_IT_CHILD"

// serveBinary is the rustok-iggy program built by TestMain, and
// serveBuildErr why it could not be built (target 2 then fails).
var (
	serveBinary   string
	serveBuildErr error
)

func TestMain(m *testing.M) {
	// The Iggy Go SDK logs each login to the standard library's global
	// logger; keep the output readable (IGGY_SDK_LOG=1 shows it).
	if os.Getenv("IGGY_SDK_LOG") == "" {
		log.SetOutput(io.Discard)
	}
	if role := os.Getenv(envChild); role != "" {
		os.Exit(childMain(role))
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	flag.Parse()
	dir, err := os.MkdirTemp("", "rustok-iggy-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	// The Ryuk reaper's image cannot be pulled here, and every container
	// is terminated by the test that started it (t.Cleanup).
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	serveBinary, serveBuildErr = buildServe(dir)
	code := m.Run()
	used := closeDocker()
	if code == 0 {
		var opts []goleak.Option
		if used {
			// The Docker client's idle HTTP connections may outlive
			// the containers; nothing else may.
			opts = append(opts,
				goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
				goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
			)
		}
		if err := goleak.Find(opts...); err != nil {
			fmt.Fprintln(os.Stderr, "integration: goroutines leaked:", err)
			return 1
		}
	}
	return code
}

// buildServe builds tools/cmd/rustok-iggy into dir, with the race
// detector when this test binary has it, so that the serve process is
// checked for races under the suite's load too.
func buildServe(dir string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("build rustok-iggy: no go tool: %w", err)
	}
	bin := filepath.Join(dir, "rustok-iggy")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/rustok/rustok-iggy/tools/cmd/rustok-iggy")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, args...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go %v: %w\n%s", args, err, out)
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "integration: built rustok-iggy in %s (race %v)\n", time.Since(start).Round(time.Millisecond), raceEnabled)
	}
	return bin, nil
}
