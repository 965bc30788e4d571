package integration

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/core"
)

// restartable is a core.Broker over an in-process embedded broker that the
// test can stop (Close) and start again (Open on the same data directory),
// as an application restarting its embedded broker would. While stopped,
// every call fails as the closed broker's do (core.ErrClosed).
type restartable struct {
	cfg embedded.Config
	mu  sync.RWMutex
	b   *embedded.Broker
}

var _ core.Broker = (*restartable)(nil)

// openRestartable opens an embedded broker with cfg and closes it when t
// ends.
func openRestartable(t testing.TB, cfg embedded.Config) *restartable {
	t.Helper()
	r := &restartable{cfg: cfg}
	r.b = openEmbedded(t, cfg)
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("close embedded broker: %v", err)
		}
	})
	return r
}

func openEmbedded(t testing.TB, cfg embedded.Config) *embedded.Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := embedded.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("embedded.Open(%s): %v", cfg.DataDir, err)
	}
	return b
}

func (r *restartable) cur() *embedded.Broker {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.b
}

// stop closes the broker.
func (r *restartable) stop(t testing.TB) {
	t.Helper()
	if err := r.cur().Close(); err != nil {
		t.Fatalf("stop embedded broker: %v", err)
	}
}

// restart opens the broker again on the same data directory.
func (r *restartable) restart(t testing.TB) {
	t.Helper()
	nb := openEmbedded(t, r.cfg)
	r.mu.Lock()
	r.b = nb
	r.mu.Unlock()
}

func (r *restartable) Ping(ctx context.Context) (time.Duration, error) { return r.cur().Ping(ctx) }

func (r *restartable) CreateStream(ctx context.Context, name string) (core.StreamInfo, error) {
	return r.cur().CreateStream(ctx, name)
}

func (r *restartable) Stream(ctx context.Context, name string) (core.StreamInfo, error) {
	return r.cur().Stream(ctx, name)
}

func (r *restartable) CreateTopic(ctx context.Context, stream, name string, cfg core.TopicConfig) (core.TopicInfo, error) {
	return r.cur().CreateTopic(ctx, stream, name, cfg)
}

func (r *restartable) Topic(ctx context.Context, stream, topic string) (core.TopicInfo, error) {
	return r.cur().Topic(ctx, stream, topic)
}

func (r *restartable) CreatePartitions(ctx context.Context, stream, topic string, count uint32) error {
	return r.cur().CreatePartitions(ctx, stream, topic, count)
}

func (r *restartable) Send(ctx context.Context, stream, topic string, p core.Partitioning, msgs []core.Message) error {
	return r.cur().Send(ctx, stream, topic, p, msgs)
}

func (r *restartable) Poll(ctx context.Context, req core.PollRequest) (core.Polled, error) {
	return r.cur().Poll(ctx, req)
}

func (r *restartable) StoreOffset(ctx context.Context, c core.Consumer, stream, topic string, partition uint32, offset uint64) error {
	return r.cur().StoreOffset(ctx, c, stream, topic, partition, offset)
}

func (r *restartable) Offset(ctx context.Context, c core.Consumer, stream, topic string, partition uint32) (core.OffsetInfo, error) {
	return r.cur().Offset(ctx, c, stream, topic, partition)
}

func (r *restartable) CreateGroup(ctx context.Context, stream, topic, group string) (core.GroupInfo, error) {
	return r.cur().CreateGroup(ctx, stream, topic, group)
}

func (r *restartable) Group(ctx context.Context, stream, topic, group string) (core.GroupInfo, error) {
	return r.cur().Group(ctx, stream, topic, group)
}

func (r *restartable) JoinGroup(ctx context.Context, stream, topic, group string) (core.GroupMember, error) {
	return r.cur().JoinGroup(ctx, stream, topic, group)
}

// Close closes the current broker (idempotent).
func (r *restartable) Close() error { return r.cur().Close() }
