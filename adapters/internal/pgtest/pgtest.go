// Package pgtest gives tests a real PostgreSQL server: the one named by
// RUSTOK_TEST_POSTGRES_DSN (.ci/postgres.sh starts a throwaway cluster and
// sets it). Without it a test skips, saying why, unless RUSTOK_CI or CI is
// set: then it fails, so CI never silently skips PostgreSQL.
package pgtest

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// EnvDSN is the environment variable naming the test server.
const EnvDSN = "RUSTOK_TEST_POSTGRES_DSN"

// DSN returns the test server's DSN, or skips (fails in CI) without one.
func DSN(t testing.TB) string {
	t.Helper()
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return dsn
	}
	msg := EnvDSN + " is not set: no PostgreSQL server for this test (run `. .ci/postgres.sh && pg_throwaway_start` to start one)"
	if os.Getenv("RUSTOK_CI") != "" || os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

var seq atomic.Int64

// Table returns a table name unique to this test run and call, so tests
// share one database without seeing each other's rows.
func Table(t testing.TB) string {
	name := strings.ToLower(t.Name())
	var b strings.Builder
	for _, r := range name {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
		if b.Len() >= 20 {
			break
		}
	}
	return fmt.Sprintf("t_%s_%x_%d", b.String(), time.Now().UnixNano()&0xffffff, seq.Add(1))
}
