package broker

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// TestNameIndex drives random creates, renames and deletes of streams,
// topics and groups, and after each step (and after a reopen) checks that
// every name lookup agrees with a scan of the id maps.
func TestNameIndex(t *testing.T) {
	e := newEnv(t)
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(n int) string { return fmt.Sprintf("n%d", rng.IntN(n)) }
	for step := range 400 {
		sn, tn, gn := pick(4), pick(3), pick(3)
		var err error
		switch rng.IntN(8) {
		case 0:
			_, err = e.b.CreateStream(e.root, sn)
		case 1:
			err = e.b.UpdateStream(e.root, name(sn), pick(4))
		case 2:
			err = e.b.DeleteStream(e.root, name(sn))
		case 3:
			_, err = e.b.CreateTopic(e.root, name(sn), TopicConfig{Name: tn, PartitionsCount: 1, CompressionAlgorithm: CompressionNone})
		case 4:
			err = e.b.UpdateTopic(e.root, name(sn), name(tn), TopicUpdate{Name: pick(3), CompressionAlgorithm: CompressionNone})
		case 5:
			err = e.b.DeleteTopic(e.root, name(sn), name(tn))
		case 6:
			_, err = e.b.CreateConsumerGroup(e.root, name(sn), name(tn), gn)
		case 7:
			err = e.b.DeleteConsumerGroup(e.root, name(sn), name(tn), name(gn))
		}
		var ie *iggyproto.Error
		if err != nil && !asIggy(err, &ie) {
			t.Fatalf("step %d: %v", step, err)
		}
		checkNameIndex(t, e.b, step)
	}
	e.reopen()
	checkNameIndex(t, e.b, -1)
}

func asIggy(err error, ie **iggyproto.Error) bool {
	e, ok := err.(*iggyproto.Error)
	*ie = e
	return ok
}

func checkNameIndex(t *testing.T, b *Broker, step int) {
	t.Helper()
	b.mu.RLock()
	defer b.mu.RUnlock()
	if len(b.byName) != len(b.streams) {
		t.Fatalf("step %d: %d stream names for %d streams", step, len(b.byName), len(b.streams))
	}
	for _, st := range b.streams {
		if got := b.findStream(name(st.name)); got != st {
			t.Fatalf("step %d: stream %q found as %v", step, st.name, got)
		}
		if len(st.byName) != len(st.topics) {
			t.Fatalf("step %d: stream %q: %d topic names for %d topics", step, st.name, len(st.byName), len(st.topics))
		}
		for _, tp := range st.topics {
			if got := findTopic(st, name(tp.name)); got != tp {
				t.Fatalf("step %d: topic %q found as %v", step, tp.name, got)
			}
			if len(tp.byName) != len(tp.groups) {
				t.Fatalf("step %d: topic %q: %d group names for %d groups", step, tp.name, len(tp.byName), len(tp.groups))
			}
			for _, g := range tp.groups {
				if got := findGroup(tp, name(g.name)); got != g {
					t.Fatalf("step %d: group %q found as %v", step, g.name, got)
				}
			}
		}
	}
}

// BenchmarkFindStreamByName resolves a stream and topic by name among 8
// streams of 4 topics, as every poll and send by name does.
func BenchmarkFindStreamByName(b *testing.B) {
	cfg := Config{DataDir: b.TempDir()}
	br, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	root := br.NewSystemSession("127.0.0.1:1")
	for i := range 8 {
		sn := fmt.Sprintf("stream-%d", i)
		if _, err := br.CreateStream(root, sn); err != nil {
			b.Fatal(err)
		}
		for j := range 4 {
			if _, err := br.CreateTopic(root, name(sn), TopicConfig{Name: fmt.Sprintf("topic-%d", j), PartitionsCount: 1, CompressionAlgorithm: CompressionNone}); err != nil {
				b.Fatal(err)
			}
		}
	}
	sid, tid := name("stream-5"), name("topic-2")
	b.ReportAllocs()
	for b.Loop() {
		br.mu.RLock()
		tp, err := br.topicOf(sid, tid)
		br.mu.RUnlock()
		if err != nil || tp == nil {
			b.Fatal(err)
		}
	}
}
