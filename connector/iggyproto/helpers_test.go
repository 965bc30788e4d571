package iggyproto

import (
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite testdata/sdk golden frames from the Go SDK")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// parseHex decodes the testdata hex format: '#' starts a comment line;
// whitespace and '|' separate groups and are ignored.
func parseHex(s string) ([]byte, error) {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, r := range line {
			if r == ' ' || r == '\t' || r == '|' || r == '\r' {
				continue
			}
			b.WriteRune(r)
		}
	}
	return hex.DecodeString(b.String())
}

func readHex(tb testing.TB, name string) []byte {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	b, err := parseHex(string(raw))
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return b
}

// formatHex writes b in the testdata format, 32 bytes a line.
func formatHex(comment string, b []byte) string {
	var s strings.Builder
	s.WriteString("# " + comment + "\n")
	for i := 0; i < len(b); i += 32 {
		s.WriteString(hex.EncodeToString(b[i:min(i+32, len(b))]) + "\n")
	}
	return s.String()
}

// hexFiles returns the decoded contents of every testdata file matching
// pattern (for fuzz seeds).
func hexFiles(tb testing.TB, pattern string) map[string][]byte {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][]byte{}
	for _, n := range names {
		rel, _ := filepath.Rel("testdata", n)
		out[rel] = readHex(tb, rel)
	}
	return out
}

// wantCode fails unless err carries code.
func wantCode(tb testing.TB, err error, code Code) {
	tb.Helper()
	var e *Error
	if !errors.As(err, &e) {
		tb.Fatalf("error %v: want *Error with code %d", err, code)
	}
	if e.Code != code {
		tb.Fatalf("error %v: code %d, want %d", err, e.Code, code)
	}
}

func ptr[T any](v T) *T { return &v }
