package server

import (
	"log/slog"

	"os"
	"testing"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/embedded/logstore"
)

// testLogger logs to stderr when IGGY_TEST_LOG is set, else discards.
func testLogger() *slog.Logger {
	if os.Getenv("IGGY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// start opens the broker on e.dir and starts a server on 127.0.0.1:0.
func (e *testEnv) start() {
	e.t.Helper()
	fsync := e.fsync
	if fsync == "" {
		fsync = logstore.FsyncNever
	}
	cfg := broker.Config{DataDir: e.dir, Fsync: fsync, Logger: testLogger()}
	if e.brokerCfg != nil {
		e.brokerCfg(&cfg)
	}
	b, err := broker.Open(cfg)
	if err != nil {
		e.t.Fatalf("open broker: %v", err)
	}
	srv, err := New(b, Config{Addr: "127.0.0.1:0", Logger: testLogger()})
	if err != nil {
		_ = b.Close()
		e.t.Fatal(err)
	}
	addr, err := srv.Start()
	if err != nil {
		_ = b.Close()
		e.t.Fatal(err)
	}
	e.srv, e.addr, e.b = srv, addr.String(), b
	e.stopBroker = func() {
		if err := b.Close(); err != nil {
			e.t.Errorf("close broker: %v", err)
		}
	}
}

var _ testing.TB = (*testing.T)(nil)
