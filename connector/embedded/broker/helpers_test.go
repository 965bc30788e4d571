package broker

import (
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rustok/rustok-iggy/connector/embedded/logstore"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

func TestMain(m *testing.M) {
	// Cheap password hashing keeps the tests fast.
	argonTime, argonMemory, argonThreads = 1, 64, 1
	goleak.VerifyTestMain(m)
}

// clock is an injectable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t    *testing.T
	b    *Broker
	root *Session
	clk  *clock
	cfg  Config
}

func newEnv(t *testing.T, mods ...func(*Config)) *env {
	t.Helper()
	clk := newClock()
	cfg := Config{DataDir: t.TempDir(), Fsync: logstore.FsyncNever, SegmentSize: 1 << 20, Now: clk.Now}
	for _, m := range mods {
		m(&cfg)
	}
	b, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	e := &env{t: t, b: b, clk: clk, cfg: cfg}
	b.sleep = func(d time.Duration) bool { clk.Advance(d); return true }
	e.root = b.NewSystemSession("127.0.0.1:1")
	t.Cleanup(func() {
		if e.b != nil {
			if err := e.b.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
	})
	return e
}

// reopen closes the broker and opens it again on the same directory.
func (e *env) reopen() {
	e.t.Helper()
	if err := e.b.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	b, err := Open(e.cfg)
	if err != nil {
		e.b = nil
		e.t.Fatalf("reopen: %v", err)
	}
	e.b = b
	e.root = b.NewSystemSession("127.0.0.1:1")
}

func wantCode(t *testing.T, err error, code iggyproto.Code) {
	t.Helper()
	if code == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var ie *iggyproto.Error
	if !errors.As(err, &ie) {
		t.Fatalf("want code %d (%s), got %v", code, code, err)
	}
	if ie.Code != code {
		t.Fatalf("want code %d (%s), got %d: %v", code, code, ie.Code, err)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

var (
	num  = iggyproto.NumericID
	name = iggyproto.NamedID
)

// batch builds n messages with payloads "<prefix><i>".
func batch(prefix string, n int) []byte {
	var buf []byte
	for i := range n {
		p := []byte(prefix + string(rune('a'+i%26)))
		buf = iggyproto.AppendMessageHeader(buf, iggyproto.MessageHeader{PayloadLength: uint32(len(p))})
		buf = append(buf, p...)
	}
	return buf
}

func decode(t *testing.T, data []byte) []iggyproto.MessageHeader {
	t.Helper()
	var hs []iggyproto.MessageHeader
	if err := iggyproto.WalkMessages(data, func(m iggyproto.MessageView) error {
		hs = append(hs, m.Header)
		return nil
	}); err != nil {
		t.Fatalf("walk: %v", err)
	}
	return hs
}

func offsetsOf(t *testing.T, r PollResult) []uint64 {
	t.Helper()
	var out []uint64
	for _, h := range decode(t, r.Messages) {
		out = append(out, h.Offset)
	}
	if len(out) != int(r.Count) {
		t.Fatalf("count %d but %d messages", r.Count, len(out))
	}
	return out
}

func (e *env) stream(n string) StreamInfo {
	e.t.Helper()
	return must[StreamInfo](e.t)(e.b.CreateStream(e.root, n))
}

func (e *env) topic(stream, n string, parts uint32) TopicInfo {
	e.t.Helper()
	return must[TopicInfo](e.t)(e.b.CreateTopic(e.root, name(stream), TopicConfig{Name: n, PartitionsCount: parts, CompressionAlgorithm: CompressionNone}))
}

func (e *env) send(s *Session, stream, topic string, p Partitioning, n int) SendResult {
	e.t.Helper()
	return must[SendResult](e.t)(e.b.Send(s, name(stream), name(topic), p, batch("m", n)))
}

func ptr[T any](v T) *T { return &v }
