package outbox_test

import (
	"bufio"
	"context"
	"io"
	"log"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/adapters/codec"
	"github.com/rustok/rustok-iggy/adapters/outbox"
	"github.com/rustok/rustok-iggy/connector/remote"
	"github.com/rustok/rustok-iggy/transport"
)

// Environment of the crash child (TestCrashChild).
const (
	envChild   = "RUSTOK_OUTBOX_CRASH_CHILD" // dialect
	envBroker  = "RUSTOK_OUTBOX_CRASH_BROKER"
	envDir     = "RUSTOK_OUTBOX_CRASH_DIR"
	envTable   = "RUSTOK_OUTBOX_CRASH_TABLE"
	publishedM = "PUBLISHED"
)

// A relay process killed with SIGKILL after its first batch is in Iggy and
// before it is marked: a relay started afterwards republishes the batch,
// deduplication drops the copies, and every committed event is in Iggy
// once, in per-tenant order.
func TestRelayKilled(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		k := newBroker(t, time.Minute)
		ids := writeMany(t, h, 0, 10, 10)
		dir := ""
		if h.dialect == outbox.SQLite {
			dir = strings.TrimSuffix(h.lockPath, "/app.db-relay.lock")
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envChild+"="+string(h.dialect), envBroker+"="+k.b.TCPAddr(), envDir+"="+dir, envTable+"="+h.o.Table())
		cmd.Stderr = t.Output()
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		published := false
		for sc.Scan() {
			if sc.Text() == publishedM {
				published = true
				break
			}
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if !published {
			t.Fatal("the child relay never published")
		}
		if n := h.count(t, "delivered_at IS NOT NULL"); n != 0 {
			t.Fatalf("%d rows marked before the kill", n)
		}
		if got := len(k.all(t)); got == 0 {
			t.Fatal("the child's batch is not in the broker")
		}
		w := newWatch(k.tr, ids)
		r := h.relay(t, w, outbox.RelayConfig{PollInterval: 10 * time.Millisecond, BatchSize: 30})
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		w.wait(t)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		checkExactlyOnceInOrder(t, k.all(t), ids)
	})
}

// TestCrashChild is the relay process of TestRelayKilled: it publishes one
// batch over TCP, says so, and blocks until it is killed.
func TestCrashChild(t *testing.T) {
	d := os.Getenv(envChild)
	if d == "" {
		t.Skip("the child process of TestRelayKilled")
	}
	log.SetOutput(io.Discard) // the Iggy SDK logs each connection there
	ctx := context.Background()
	var h *harness
	if outbox.Dialect(d) == outbox.SQLite {
		h = sqliteHarness(t, os.Getenv(envDir))
		o, err := outbox.New(outbox.Config{Dialect: outbox.SQLite, Table: os.Getenv(envTable)})
		if err != nil {
			t.Fatal(err)
		}
		h.o = o
	} else {
		h = pgHarness(t, os.Getenv(envTable))
	}
	rb, err := remote.New(ctx, remote.Config{Addresses: []string{os.Getenv(envBroker)}, Username: "iggy", Password: "iggy"})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transport.New(transport.Config{Topology: transport.TopologyConfig{DomainPartitions: partitions}}, rb, codec.JSON{}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	w := newWatch(tr, nil)
	block := make(chan struct{})
	w.after = func(_ int, err error) error {
		if err != nil {
			t.Error(err)
			return err
		}
		os.Stdout.WriteString(publishedM + "\n")
		<-block // until SIGKILL
		return nil
	}
	r := h.relay(t, w, outbox.RelayConfig{PollInterval: 10 * time.Millisecond, BatchSize: 40})
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	<-block
}
