package connectortest

import (
	"bytes"
	"context"
	"hash/fnv"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/core/coretest"
)

// connect returns a factory of connections to one in-memory broker, each
// closed at the end of its subtest.
func connect(b *coretest.Broker, wrap func(*coretest.Broker) core.Broker) func(t *testing.T) core.Broker {
	return func(t *testing.T) core.Broker {
		c := b.Connect()
		t.Cleanup(func() { _ = c.Close() })
		if wrap != nil {
			return wrap(c)
		}
		return c
	}
}

// TestCoretest runs the suite against core/coretest, the in-memory stream
// port the other modules' tests use: as the remote connector (no long
// poll) and as the embedded one (long poll), both on a broker shared by
// the subtests' connectors.
func TestCoretest(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts coretest.Options
	}{
		{"remote-like", coretest.Options{}},
		{"embedded-like", coretest.Options{LongPoll: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			Run(t, connect(coretest.New(tc.opts), nil), Features{
				NotMemberOnUnownedPartition: true,
				SharedBroker:                true,
				LongPoll:                    tc.opts.LongPoll,
				LargeBatch:                  2000,
			})
		})
	}
}

// The faults below are broken brokers: coretest's broker behind a wrapper
// that gets one thing wrong, or with Options.FullRebalance. Each must fail
// the subtest named with it.

// wrongKeyHash partitions by FNV-1a instead of XXH32.
type wrongKeyHash struct{ core.Broker }

func (b wrongKeyHash) Send(ctx context.Context, s, tp string, p core.Partitioning, msgs []core.Message) error {
	if p.Kind == core.PartitionByKey {
		info, err := b.Topic(ctx, s, tp)
		if err != nil {
			return err
		}
		h := fnv.New32a()
		_, _ = h.Write(p.Key)
		p = core.ToPartition(h.Sum32() % info.PartitionsCount)
	}
	return b.Broker.Send(ctx, s, tp, p, msgs)
}

// duplicates stores every message twice.
type duplicates struct{ core.Broker }

func (b duplicates) Send(ctx context.Context, s, tp string, p core.Partitioning, msgs []core.Message) error {
	twice := make([]core.Message, 0, 2*len(msgs))
	for _, m := range msgs {
		twice = append(twice, m, m)
	}
	return b.Broker.Send(ctx, s, tp, p, twice)
}

// dropsHeaders stores messages without their headers.
type dropsHeaders struct{ core.Broker }

func (b dropsHeaders) Send(ctx context.Context, s, tp string, p core.Partitioning, msgs []core.Message) error {
	bare := make([]core.Message, len(msgs))
	for i, m := range msgs {
		m.Headers = nil
		bare[i] = m
	}
	return b.Broker.Send(ctx, s, tp, p, bare)
}

// nextRereads starts a Next poll at the stored offset instead of after it.
type nextRereads struct{ core.Broker }

func (b nextRereads) Poll(ctx context.Context, req core.PollRequest) (core.Polled, error) {
	if req.Strategy.Kind == core.PollNext {
		if o, err := b.Offset(ctx, req.Consumer, req.Stream, req.Topic, req.Partition); err == nil {
			req.Strategy = core.FromOffset(o.StoredOffset)
		}
	}
	return b.Broker.Poll(ctx, req)
}

// falseLongPoll claims core.LongPoller but ignores MaxWait.
type falseLongPoll struct{ core.Broker }

func (falseLongPoll) LongPoll() bool { return true }

var faults = map[string]struct {
	opts coretest.Options
	wrap func(*coretest.Broker) core.Broker
	fn   func(s *suite) func(*testing.T, core.Broker)
}{
	"wrong-key-hash":  {wrap: func(b *coretest.Broker) core.Broker { return wrongKeyHash{b} }, fn: func(s *suite) func(*testing.T, core.Broker) { return s.sendByKey }},
	"duplicates":      {wrap: func(b *coretest.Broker) core.Broker { return duplicates{b} }, fn: func(s *suite) func(*testing.T, core.Broker) { return s.concurrentSenders }},
	"next-rereads":    {wrap: func(b *coretest.Broker) core.Broker { return nextRereads{b} }, fn: func(s *suite) func(*testing.T, core.Broker) { return s.autoCommit }},
	"drops-headers":   {wrap: func(b *coretest.Broker) core.Broker { return dropsHeaders{b} }, fn: func(s *suite) func(*testing.T, core.Broker) { return s.headers }},
	"false-long-poll": {wrap: func(b *coretest.Broker) core.Broker { return falseLongPoll{b} }, fn: func(s *suite) func(*testing.T, core.Broker) { return s.longPoll }},
	"full-join":       {opts: coretest.Options{FullRebalance: true}, fn: func(s *suite) func(*testing.T, core.Broker) { return s.groups }},
	"full-join-8":     {opts: coretest.Options{FullRebalance: true}, fn: func(s *suite) func(*testing.T, core.Broker) { return s.joinTakesOne }},
}

// TestSuiteCatchesFaults runs single subtests against broken brokers, each
// in a child process (a failure is the expected outcome), and expects them
// to fail.
func TestSuiteCatchesFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for name := range faults {
		t.Run(name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestFaultyBroker$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), "CONNECTORTEST_FAULT="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a broker with fault %q:\n%s", name, out)
			}
			if !bytes.Contains(out, []byte("--- FAIL: TestFaultyBroker")) {
				t.Fatalf("child failed for another reason: %v\n%s", err, out)
			}
		})
	}
}

// TestFaultyBroker runs one subtest on a broken broker; only
// TestSuiteCatchesFaults starts it.
func TestFaultyBroker(t *testing.T) {
	name := os.Getenv("CONNECTORTEST_FAULT")
	if name == "" {
		t.Skip("run by TestSuiteCatchesFaults")
	}
	f, ok := faults[name]
	if !ok {
		t.Fatalf("unknown fault %q", name)
	}
	s := &suite{newBroker: connect(coretest.New(f.opts), f.wrap), f: Features{Timeout: 10 * time.Second, LargeBatch: 10}}
	f.fn(s)(t, s.newBroker(t))
}
