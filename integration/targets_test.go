package integration

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/connectortest"
	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/connector/remote"
	"github.com/rustok/rustok-iggy/core"
)

// target is one kind of broker the suite runs against.
type target struct {
	name string
	// newBroker returns a connector to the target for one test and closes
	// it when that test ends.
	newBroker func(t testing.TB) core.Broker
	// down stops the broker and up starts it again (and waits until b
	// answers); nil where the suite cannot stop the broker.
	down, up func(t testing.TB, b core.Broker)
	// remote is how another process reaches the broker with the remote
	// connector; nil for the embedded target, where a child process opens
	// the data directory itself.
	remote *remote.Config
	// features states the broker's conformance-suite features.
	features connectortest.Features
	// cooperative: the broker's consumer groups hand a partition over on a
	// join as Iggy 0.8.0 does (transporttest.Harness.CooperativeGroups).
	cooperative bool
}

// embeddedTarget is target 1: a fresh in-process embedded broker per test,
// which down closes and up reopens on the same data directory.
func embeddedTarget() target {
	return target{
		name: "embedded",
		// The embedded broker's groups follow Iggy 0.8.0's hand-over.
		cooperative: true,
		newBroker: func(t testing.TB) core.Broker {
			return openRestartable(t, embedded.Config{DataDir: t.TempDir()})
		},
		down: func(t testing.TB, b core.Broker) { b.(*restartable).stop(t) },
		up:   func(t testing.TB, b core.Broker) { b.(*restartable).restart(t) },
	}
}

// serveTarget is target 2: one `rustok-iggy serve` process for the test,
// reached with the remote connector; down kills it with SIGKILL and up
// restarts it on the same data directory and port.
func serveTarget(t *testing.T) target {
	p := startServe(t)
	cfg := remoteConfig(p.addr, "iggy", "iggy")
	return target{
		name:        "serve",
		cooperative: true, // the embedded broker behind `serve`
		newBroker:   func(t testing.TB) core.Broker { return newRemote(t, cfg) },
		down:        func(t testing.TB, b core.Broker) { p.kill() },
		up: func(t testing.TB, b core.Broker) {
			p.restart()
			awaitPing(t, b)
		},
		remote:   &cfg,
		features: connectortest.Features{SharedBroker: true},
	}
}

// envTarget is target 4: the Iggy server named by IGGY_ADDR, or a skip.
func envTarget(t *testing.T) target {
	addr := os.Getenv("IGGY_ADDR")
	if addr == "" {
		t.Skip("target iggy-addr: IGGY_ADDR is not set (host:port of an Iggy 0.8.x server; IGGY_USERNAME and IGGY_PASSWORD default to iggy)")
	}
	user, pass := os.Getenv("IGGY_USERNAME"), os.Getenv("IGGY_PASSWORD")
	if user == "" {
		user = "iggy"
	}
	if pass == "" {
		pass = "iggy"
	}
	cfg := remoteConfig(addr, user, pass)
	t.Logf("target iggy-addr: %s as %s", addr, user)
	return target{
		name: "iggy-addr",
		// IGGY_ADDR names an Iggy 0.8.x server.
		cooperative: true,
		newBroker:   func(t testing.TB) core.Broker { return newRemote(t, cfg) },
		remote:      &cfg,
		features:    connectortest.Features{SharedBroker: true},
	}
}

// remoteConfig is the remote connector's configuration the suite uses:
// quick reconnects, so that a restarted server is found again fast.
func remoteConfig(addr, user, pass string) remote.Config {
	return remote.Config{
		Addresses:      []string{addr},
		Username:       user,
		Password:       remote.Secret(pass),
		PoolSize:       4,
		ConnectTimeout: 5 * time.Second,
		RequestTimeout: 20 * time.Second,
		Reconnect:      remote.BackoffConfig{Min: 10 * time.Millisecond, Max: 200 * time.Millisecond},
	}
}

// newRemote connects a remote connector, retrying while the server is
// unavailable (a container may accept TCP before it serves), and closes
// it when t ends.
func newRemote(t testing.TB, cfg remote.Config) *remote.Broker {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		b, err := remote.New(ctx, cfg)
		cancel()
		if err == nil {
			t.Cleanup(func() {
				if err := b.Close(); err != nil {
					t.Errorf("close remote connector: %v", err)
				}
			})
			return b
		}
		if !errors.Is(err, core.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("remote.New(%v): %v", cfg.Addresses, err)
		}
		time.Sleep(100 * time.Millisecond) // nothing to wait on but the server
	}
}

// awaitPing waits until b answers a ping (after a restart).
func awaitPing(t testing.TB, b core.Broker) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = b.Ping(ctx)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond) // the connector reconnects in the background
	}
	t.Fatalf("broker did not answer within 60s of its restart: %v", err)
}
