package integration

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
	"github.com/rustok/rustok-iggy/transport/transporttest"
)

// Sizes of the crash scenario.
const (
	crashTenants    = 20
	crashPerTenant  = 100
	crashPartitions = 8
	// crashGate is how many events the first consumer handles before it
	// holds a batch open (see runConsumer) and is killed.
	crashGate = 600
)

// logEntry is a line of a consumer child's log.
type logEntry struct {
	stored  bool // "S": a group offset stored
	blocked bool // "B": a handler blocked with unstored events before it
	// else "H": an event handled
	partition uint32
	offset    uint64
	id        uuid.UUID
}

// crashAtLeastOnce: a consumer process handling a multi-tenant stream is
// killed with SIGKILL mid-batch and started again. Nothing is missing;
// the events delivered twice are exactly those handled after the last
// offset the broker stored; no offset the broker confirmed is lost; first
// deliveries keep per-tenant order; a graceful stop (SIGTERM) stores the
// final offsets and exits 0.
func crashAtLeastOnce(t *testing.T, tg target) {
	dir := t.TempDir()
	stream := transporttest.StreamName(t)
	group := "crash"
	var childEnv []string
	var dataDir string
	if tg.remote != nil {
		childEnv = []string{envMode + "=remote", envAddr + "=" + tg.remote.Addresses[0],
			envUsername + "=" + tg.remote.Username, envPassword + "=" + string(tg.remote.Password)}
	} else {
		dataDir = filepath.Join(dir, "broker")
		childEnv = []string{envMode + "=embedded", envDataDir + "=" + dataDir}
	}
	childEnv = append(childEnv, envStream+"="+stream, envGroup+"="+group,
		envPartitions+"="+strconv.Itoa(crashPartitions))

	// broker gives the parent a connector; for the embedded target it is
	// opened only while no child holds the data directory.
	broker := func() (core.Broker, func()) {
		if tg.remote != nil {
			b := tg.newBroker(t)
			return b, func() {}
		}
		b := openEmbedded(t, embedded.Config{DataDir: dataDir})
		return b, func() {
			if err := b.Close(); err != nil {
				t.Fatalf("close embedded broker: %v", err)
			}
		}
	}

	// Publish 20 tenants x 100 events, interleaved.
	type info struct {
		tenant uuid.UUID
		seq    int
	}
	events := map[uuid.UUID]info{}
	b, closeB := broker()
	cfg := transport.Config{}
	cfg.Topology.StreamName = stream
	cfg.Topology.DomainPartitions = crashPartitions
	tr, err := transport.New(cfg, b, mustCodec(t, "json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := tr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	tenants := transporttest.Tenants(crashTenants)
	var batch []core.Envelope
	for s := range crashPerTenant {
		for _, tn := range tenants {
			e := transporttest.Event(tn, "order.placed", s)
			events[e.ID] = info{tn, s}
			batch = append(batch, e)
		}
	}
	for i := 0; i < len(batch); i += 500 {
		if err := tr.PublishBatch(ctx, batch[i:min(i+500, len(batch))]); err != nil {
			t.Fatalf("PublishBatch: %v", err)
		}
	}
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	closeB()

	// Run 1: killed mid-stream.
	log1 := filepath.Join(dir, "run1.log")
	c1 := startChild(t, slices.Concat(childEnv, []string{envLog + "=" + log1, envGate + "=" + strconv.Itoa(crashGate)}))
	awaitLog(t, c1, log1, fmt.Sprintf("%d events handled and a batch held open", crashGate), func(es []logEntry) bool {
		return slices.ContainsFunc(es, func(e logEntry) bool { return e.blocked })
	})
	c1.kill()
	if !exitedBySignal(c1.waitErr, syscall.SIGKILL) {
		t.Fatalf("first consumer: %v, want killed by SIGKILL", c1.waitErr)
	}
	run1 := readLog(t, log1)

	b, closeB = broker()
	storedAfterCrash := groupOffsets(t, ctx, b, stream, group)
	closeB()

	lastLogged := map[uint32]int64{} // S1: last offset the child saw stored
	seen1 := map[uuid.UUID]logEntry{}
	handledAt := map[uint32]map[uint64]bool{}
	for _, e := range run1 {
		if e.stored {
			lastLogged[e.partition] = max(lastLogged[e.partition], int64(e.offset))
			continue
		}
		if e.blocked {
			continue
		}
		if _, dup := seen1[e.id]; dup {
			t.Errorf("run 1 handled event %s twice within one process", e.id)
		}
		seen1[e.id] = e
		if handledAt[e.partition] == nil {
			handledAt[e.partition] = map[uint64]bool{}
		}
		handledAt[e.partition][e.offset] = true
	}
	if len(lastLogged) == 0 {
		t.Fatalf("no offset was stored before the crash (%d events handled): the scenario tests nothing", len(seen1))
	}
	for p, s1 := range lastLogged {
		if storedAfterCrash[p] < s1 {
			t.Errorf("partition %d: the broker confirmed storing offset %d, after the crash it holds %d", p, s1, storedAfterCrash[p])
		}
	}
	for p, b := range storedAfterCrash {
		for off := int64(0); off <= b; off++ {
			if !handledAt[p][uint64(off)] {
				t.Errorf("partition %d: offset %d is stored for the group but was never handled", p, off)
			}
		}
	}

	// Run 2: restarted, runs until every event was handled, then SIGTERM.
	log2 := filepath.Join(dir, "run2.log")
	c2 := startChild(t, slices.Concat(childEnv, []string{envLog + "=" + log2}))
	awaitLog(t, c2, log2, "every event handled", func(es []logEntry) bool {
		n := 0
		for _, e := range es {
			if _, ok := seen1[e.id]; !e.stored && !e.blocked && !ok {
				n++
			}
		}
		return len(seen1)+n >= len(events) // duplicates within run 2 are checked below
	})
	c2.stop()
	run2 := readLog(t, log2)

	seen2 := map[uuid.UUID]bool{}
	var dups []logEntry
	for _, e := range run2 {
		if e.stored || e.blocked {
			continue
		}
		if seen2[e.id] {
			t.Errorf("run 2 handled event %s twice within one process", e.id)
		}
		seen2[e.id] = true
		if int64(e.offset) <= storedAfterCrash[e.partition] {
			t.Errorf("run 2 delivered %d/%d, at or below the stored offset %d", e.partition, e.offset, storedAfterCrash[e.partition])
		}
		if _, ok := seen1[e.id]; ok {
			dups = append(dups, e)
		}
	}
	// Exactly the events handled in run 1 above the stored offset come
	// again.
	wantDups := 0
	for _, e := range seen1 {
		if int64(e.offset) > storedAfterCrash[e.partition] {
			wantDups++
			if !seen2[e.id] {
				t.Errorf("event %s (%d/%d) handled but not stored before the crash was not delivered again", e.id, e.partition, e.offset)
			}
		}
	}
	if wantDups == 0 {
		t.Errorf("no handled event was left unstored by the crash: the scenario missed its point")
	}
	if len(dups) != wantDups {
		t.Errorf("%d events delivered twice, want %d (those handled after the last stored offset)", len(dups), wantDups)
	}
	for id := range events {
		if _, ok := seen1[id]; !ok && !seen2[id] {
			t.Errorf("event %s (tenant %s seq %d) was never handled", id, events[id].tenant, events[id].seq)
		}
	}
	// First deliveries, run 1 then run 2, keep each tenant's order.
	next := map[uuid.UUID]int{}
	first := map[uuid.UUID]bool{}
	for _, e := range append(run1, run2...) {
		if e.stored || e.blocked || first[e.id] {
			continue
		}
		first[e.id] = true
		in := events[e.id]
		if in.seq != next[in.tenant] {
			t.Errorf("tenant %s: seq %d first delivered where %d was due", in.tenant, in.seq, next[in.tenant])
		}
		next[in.tenant] = in.seq + 1
	}

	// The graceful stop stored every handled offset.
	b, closeB = broker()
	defer closeB()
	final := groupOffsets(t, ctx, b, stream, group)
	ti, err := b.Topic(ctx, stream, transport.TopicDomain)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ti.Partitions {
		if p.MessagesCount > 0 && final[p.ID] != int64(p.CurrentOffset) {
			t.Errorf("partition %d: group offset %d after a graceful stop, want %d (the last offset)", p.ID, final[p.ID], p.CurrentOffset)
		}
	}
	t.Logf("crash: run 1 handled %d events (%d partitions had offsets stored), run 2 handled %d, %d delivered twice",
		len(seen1), len(lastLogged), len(seen2), len(dups))
}

// groupOffsets returns the group's stored offset per domain partition, -1
// where none is stored.
func groupOffsets(t *testing.T, ctx context.Context, b core.Broker, stream, group string) map[uint32]int64 {
	t.Helper()
	out := map[uint32]int64{}
	for p := range uint32(crashPartitions) {
		off, err := b.Offset(ctx, core.Consumer{Kind: core.GroupConsumer, Name: group}, stream, transport.TopicDomain, p)
		switch {
		case err == nil:
			out[p] = int64(off.StoredOffset)
		case errors.Is(err, core.ErrNotFound):
			out[p] = -1
		default:
			t.Fatalf("group offset of partition %d: %v", p, err)
		}
	}
	return out
}

// readLog parses a consumer child's log; a torn last line (impossible
// with one write per line, but a crash test must not assume) is ignored.
func readLog(t *testing.T, path string) []logEntry {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	es, err := parseLog(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return es
}

func parseLog(b []byte) ([]logEntry, error) {
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		b = nil
	}
	var out []logEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			return nil, fmt.Errorf("bad line %q", sc.Text())
		}
		p, err1 := strconv.ParseUint(f[1], 10, 32)
		off, err2 := strconv.ParseUint(f[2], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("line %q: %w", sc.Text(), err)
		}
		e := logEntry{partition: uint32(p), offset: off}
		switch {
		case f[0] == "S" && len(f) == 3:
			e.stored = true
		case f[0] == "B" && len(f) == 3:
			e.blocked = true
		case f[0] == "H" && len(f) == 4:
			id, err := uuid.Parse(f[3])
			if err != nil {
				return nil, fmt.Errorf("line %q: %w", sc.Text(), err)
			}
			e.id = id
		default:
			return nil, fmt.Errorf("bad line %q", sc.Text())
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// awaitLog polls a child's log until cond holds, failing if the child exits
// first or the deadline passes (the child's progress has no other signal).
func awaitLog(t *testing.T, c *childProc, path, what string, cond func([]logEntry) bool) {
	t.Helper()
	deadline := time.Now().Add(scenarioTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		b, _ := os.ReadFile(path)
		es, err := parseLog(b)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if cond(es) {
			return
		}
		select {
		case <-c.done:
			t.Fatalf("consumer exited (%v) before %s\n%s", c.waitErr, what, c.out)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			c.kill()
			t.Fatalf("timed out waiting for %s (%d log lines)\n%s", what, len(es), c.out)
		}
	}
}

// childProc is this test binary re-executed as a consumer process.
type childProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	out     *tailBuffer
	done    chan struct{}
	waitErr error // set before done is closed
}

func startChild(t *testing.T, env []string) *childProc {
	t.Helper()
	return startChildRole(t, roleConsumer, env)
}

// startChildRole re-executes this binary in a child role (see childMain).
func startChildRole(t *testing.T, role string, env []string) *childProc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &childProc{t: t, out: newTailBuffer(64 << 10), done: make(chan struct{})}
	c.cmd = exec.Command(exe, "-test.run=^$")
	c.cmd.Env = append(append(os.Environ(), envChild+"="+role), env...)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	c.cmd.WaitDelay = 5 * time.Second
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start %s child: %v", role, err)
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		c.kill()
		if c.out.raced() {
			t.Errorf("child reported a data race:\n%s", c.out)
		}
	})
	return c
}

// kill ends the child with SIGKILL and waits for it.
func (c *childProc) kill() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// stop sends SIGTERM and requires exit status 0.
func (c *childProc) stop() {
	c.t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(60 * time.Second)
	defer timer.Stop()
	select {
	case <-c.done:
	case <-timer.C:
		c.kill()
		c.t.Fatalf("child did not exit within 60s of SIGTERM\n%s", c.out)
	}
	if c.waitErr != nil {
		c.t.Fatalf("child after SIGTERM: %v, want exit status 0\n%s", c.waitErr, c.out)
	}
}
