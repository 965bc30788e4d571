package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/apache/iggy/foreign/go/client/tcp"
	iggcon "github.com/apache/iggy/foreign/go/contracts"
	"github.com/rustok/rustok-iggy/core"
)

// Broker is the stream port (core.Broker) served by an Apache Iggy server
// over the official Go SDK. It is safe for concurrent use; requests run on
// a pool of Config.PoolSize connections, so callers wait for each other
// only when every connection is busy.
//
// Every request is bounded by the earlier of ctx's deadline and
// Config.RequestTimeout. When ctx ends first the call returns ctx's error
// at once and the request finishes in the background; one that outlives
// RequestTimeout has its connection closed and replaced. A connection that
// breaks (I/O error, timeout, server closing it) is replaced in the
// background with exponential backoff and jitter, trying every address in
// order and logging in again; while no connection is up, calls fail at once
// with core.ErrUnavailable wrapping the cause.
type Broker struct {
	cfg  Config
	log  *slog.Logger
	tls  *tls.Config
	pool *pool

	ctx    context.Context // the broker's lifetime
	cancel context.CancelFunc
	wg     sync.WaitGroup // requests, reconnect loops, heartbeat
	sdkWG  sync.WaitGroup // SDK connects, which cannot be cancelled

	mu      sync.Mutex
	closed  bool
	members map[*Member]struct{}

	closeOnce sync.Once
}

var _ core.Broker = (*Broker)(nil)

// New validates cfg, connects Config.PoolSize connections (the first
// address that answers, in order) and logs them in. It fails within
// ConnectTimeout per address: core.ErrUnauthenticated when the server
// refuses the credentials, core.ErrUnavailable when no address answers,
// core.ErrInvalid for a bad configuration. Connections after the first
// that fail are re-established in the background.
func New(ctx context.Context, cfg Config) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", core.ErrInvalid, err)
	}
	cfg = cfg.withDefaults()
	tlsCfg, err := loadTLS(cfg.TLS)
	if err != nil {
		return nil, err
	}
	bctx, cancel := context.WithCancel(context.Background())
	b := &Broker{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "remote"),
		tls:     tlsCfg,
		pool:    newPool(),
		ctx:     bctx,
		cancel:  cancel,
		members: make(map[*Member]struct{}),
	}
	first, err := b.dial(ctx)
	if err != nil {
		b.shutdown()
		return nil, fmt.Errorf("remote: connect: %w", err)
	}
	b.pool.add(newLink(b, "pool-0", first, nil, b.pool.notify))
	for i := 1; i < cfg.PoolSize; i++ {
		name := fmt.Sprintf("pool-%d", i)
		s, err := b.dial(ctx)
		if err != nil && (errors.Is(err, core.ErrUnauthenticated) || ctx.Err() != nil) {
			b.shutdown()
			return nil, fmt.Errorf("remote: connect %s: %w", name, err)
		}
		l := newLink(b, name, s, nil, b.pool.notify)
		b.pool.add(l)
		if err != nil {
			l.startDown(err)
		}
	}
	if cfg.Heartbeat > 0 {
		b.wg.Go(b.heartbeat)
	}
	b.log.LogAttrs(ctx, slog.LevelInfo, "connected", slog.Any("config", cfg))
	return b, nil
}

// Reconnecting reports whether any of the broker's connections (the pool's
// or a group member's) is down and being re-established.
func (b *Broker) Reconnecting() bool {
	if b.pool.reconnecting() {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for m := range b.members {
		if m.link.isReconnecting() {
			return true
		}
	}
	return false
}

// do runs fn on a pooled connection.
func (b *Broker) do(ctx context.Context, fn func(c *tcp.IggyTcpClient) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l, err := b.pool.get(ctx)
	if err != nil {
		return err
	}
	return l.exec(ctx, func() { b.pool.put(l) }, fn)
}

// query runs call on a pooled connection and, when it succeeds, converts
// its result with conv inside the request. On error it returns the zero T.
func query[R, T any](ctx context.Context, b *Broker, call func(c *tcp.IggyTcpClient) (R, error), conv func(R) T) (T, error) {
	var out T
	err := b.do(ctx, func(c *tcp.IggyTcpClient) error {
		r, err := call(c)
		if err == nil {
			out = conv(r)
		}
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// heartbeat pings idle connections, so that one that died is replaced
// before a caller needs it.
func (b *Broker) heartbeat() {
	t := time.NewTicker(b.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
		for _, l := range b.pool.all() {
			if b.pool.tryTake(l) {
				_ = l.exec(b.ctx, func() { b.pool.put(l) }, func(c *tcp.IggyTcpClient) error { return c.Ping() })
			}
		}
		b.mu.Lock()
		members := make([]*Member, 0, len(b.members))
		for m := range b.members {
			members = append(members, m)
		}
		b.mu.Unlock()
		for _, m := range members {
			m.ping()
		}
	}
}

// Ping implements core.Broker.
func (b *Broker) Ping(ctx context.Context) (time.Duration, error) {
	var rtt time.Duration
	err := b.do(ctx, func(c *tcp.IggyTcpClient) error {
		start := time.Now()
		err := c.Ping()
		rtt = time.Since(start)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("remote: ping: %w", err)
	}
	return rtt, nil
}

// CreateStream implements core.Broker.
func (b *Broker) CreateStream(ctx context.Context, name string) (core.StreamInfo, error) {
	if n := len(name); n == 0 || n > 255 {
		return core.StreamInfo{}, fmt.Errorf("remote: create stream %q: %w: name is %d bytes, want 1 to 255", name, core.ErrInvalid, n)
	}
	info, err := query(ctx, b, func(c *tcp.IggyTcpClient) (*iggcon.StreamDetails, error) { return c.CreateStream(name) }, streamInfo)
	if err != nil {
		return core.StreamInfo{}, fmt.Errorf("remote: create stream %q: %w", name, err)
	}
	return info, nil
}

// Stream implements core.Broker.
func (b *Broker) Stream(ctx context.Context, name string) (core.StreamInfo, error) {
	sid, err := ident("stream", name)
	if err != nil {
		return core.StreamInfo{}, fmt.Errorf("remote: get stream %q: %w", name, err)
	}
	info, err := query(ctx, b, func(c *tcp.IggyTcpClient) (*iggcon.StreamDetails, error) { return c.GetStream(sid) }, streamInfo)
	if err != nil {
		return core.StreamInfo{}, fmt.Errorf("remote: get stream %q: %w", name, err)
	}
	return info, nil
}

// CreateTopic implements core.Broker. The topic is created without
// compression; MessageExpiry 0 and MaxSize 0 ask for the server's defaults
// (never and unlimited in the stock configuration). Iggy 0.8.0 refuses a
// MaxSize below its segment size (1 GiB by default) with core.ErrInvalid.
func (b *Broker) CreateTopic(ctx context.Context, stream, name string, cfg core.TopicConfig) (core.TopicInfo, error) {
	wrap := func(err error) error { return fmt.Errorf("remote: create topic %q/%q: %w", stream, name, err) }
	sid, err := ident("stream", stream)
	if err != nil {
		return core.TopicInfo{}, wrap(err)
	}
	if n := len(name); n == 0 || n > 255 {
		return core.TopicInfo{}, wrap(fmt.Errorf("%w: topic name is %d bytes, want 1 to 255", core.ErrInvalid, n))
	}
	if cfg.Partitions > 1000 {
		return core.TopicInfo{}, wrap(fmt.Errorf("%w: %d partitions, at most 1000", core.ErrInvalid, cfg.Partitions))
	}
	expiry, err := expiryToSDK(cfg.MessageExpiry)
	if err != nil {
		return core.TopicInfo{}, wrap(err)
	}
	var rf *uint8
	if cfg.ReplicationFactor > 0 {
		rf = &cfg.ReplicationFactor
	}
	info, err := query(ctx, b, func(c *tcp.IggyTcpClient) (*iggcon.TopicDetails, error) {
		return c.CreateTopic(sid, name, cfg.Partitions, iggcon.CompressionAlgorithmNone, expiry, cfg.MaxSize, rf)
	}, func(t *iggcon.TopicDetails) core.TopicInfo { return topicInfo(&t.Topic, t.Partitions) })
	if err != nil {
		return core.TopicInfo{}, wrap(err)
	}
	return info, nil
}

// Topic implements core.Broker.
func (b *Broker) Topic(ctx context.Context, stream, topic string) (core.TopicInfo, error) {
	wrap := func(err error) error { return fmt.Errorf("remote: get topic %q/%q: %w", stream, topic, err) }
	sid, tid, err := ids(stream, topic)
	if err != nil {
		return core.TopicInfo{}, wrap(err)
	}
	info, err := query(ctx, b, func(c *tcp.IggyTcpClient) (*iggcon.TopicDetails, error) {
		return c.GetTopic(sid, tid)
	}, func(t *iggcon.TopicDetails) core.TopicInfo {
		info := topicInfo(&t.Topic, t.Partitions)
		if info.Partitions == nil {
			info.Partitions = []core.PartitionInfo{}
		}
		return info
	})
	if err != nil {
		return core.TopicInfo{}, wrap(err)
	}
	return info, nil
}

// CreatePartitions implements core.Broker.
func (b *Broker) CreatePartitions(ctx context.Context, stream, topic string, count uint32) error {
	wrap := func(err error) error {
		return fmt.Errorf("remote: create %d partitions in %q/%q: %w", count, stream, topic, err)
	}
	sid, tid, err := ids(stream, topic)
	if err != nil {
		return wrap(err)
	}
	if err := b.do(ctx, func(c *tcp.IggyTcpClient) error { return c.CreatePartitions(sid, tid, count) }); err != nil {
		return wrap(err)
	}
	return nil
}

// Send implements core.Broker. Payloads are copied before the request
// starts, so msgs may be reused as soon as Send returns, even when ctx
// ended first. Iggy does not return the offsets it assigned. An empty
// payload is refused (core.ErrInvalid): the SDK's poll decoder would drop
// such a message.
func (b *Broker) Send(ctx context.Context, stream, topic string, p core.Partitioning, msgs []core.Message) error {
	wrap := func(err error) error {
		return fmt.Errorf("remote: send %d messages to %q/%q: %w", len(msgs), stream, topic, err)
	}
	sid, tid, err := ids(stream, topic)
	if err != nil {
		return wrap(err)
	}
	part, err := partitioning(p)
	if err != nil {
		return wrap(err)
	}
	out, err := toSDKMessages(msgs, time.Now())
	if err != nil {
		return wrap(err)
	}
	if err := b.do(ctx, func(c *tcp.IggyTcpClient) error { return c.SendMessages(sid, tid, part, out) }); err != nil {
		return wrap(err)
	}
	return nil
}

// Poll implements core.Broker. The consumer is addressed by name (Iggy
// hashes it with XXH32); an empty name is consumer id 0. It ignores
// req.MaxWait and never waits for messages: Iggy 0.8.0 has no long poll
// (and the connector is not a core.LongPoller).
func (b *Broker) Poll(ctx context.Context, req core.PollRequest) (core.Polled, error) {
	wrap := func(err error) error {
		return fmt.Errorf("remote: poll %q/%q partition %d: %w", req.Stream, req.Topic, req.Partition, err)
	}
	sid, tid, err := ids(req.Stream, req.Topic)
	if err != nil {
		return core.Polled{}, wrap(err)
	}
	if req.Consumer.Kind == core.GroupConsumer {
		return core.Polled{}, wrap(fmt.Errorf("%w: groups poll through JoinGroup's member", core.ErrInvalid))
	}
	cons, err := consumer(req.Consumer)
	if err != nil {
		return core.Polled{}, wrap(err)
	}
	strategy, err := pollingStrategy(req.Strategy)
	if err != nil {
		return core.Polled{}, wrap(err)
	}
	partition := req.Partition
	polled, err := pollVia(ctx, b.do, sid, tid, cons, strategy, req.Count, req.AutoCommit, &partition)
	if err != nil {
		return core.Polled{}, wrap(err)
	}
	return polled, nil
}

// pollVia polls through do (the connector's pool or a member's own
// connection) and converts the answer.
func pollVia(ctx context.Context, do func(context.Context, func(*tcp.IggyTcpClient) error) error, sid, tid iggcon.Identifier,
	cons iggcon.Consumer, strategy iggcon.PollingStrategy, count uint32, autoCommit bool, partition *uint32) (core.Polled, error) {
	var polled core.Polled
	err := do(ctx, func(c *tcp.IggyTcpClient) error {
		pm, err := c.PollMessages(sid, tid, cons, strategy, count, autoCommit, partition)
		if err != nil {
			return err
		}
		polled, err = fromPolled(pm)
		return err
	})
	return polled, err
}

// fromPolled converts a poll response.
func fromPolled(pm *iggcon.PolledMessage) (core.Polled, error) {
	out := core.Polled{Partition: pm.PartitionId, CurrentOffset: pm.CurrentOffset}
	if len(pm.Messages) > 0 {
		out.Messages = make([]core.Message, len(pm.Messages))
		for i := range pm.Messages {
			m, err := fromSDKMessage(&pm.Messages[i])
			if err != nil {
				return core.Polled{}, err
			}
			out.Messages[i] = m
		}
	}
	return out, nil
}

// StoreOffset implements core.Broker. A group's offset can only be stored
// by a member (use the member's StoreOffset).
func (b *Broker) StoreOffset(ctx context.Context, c core.Consumer, stream, topic string, partition uint32, offset uint64) error {
	wrap := func(err error) error {
		return fmt.Errorf("remote: store offset %d of %q on %q/%q partition %d: %w", offset, c.Name, stream, topic, partition, err)
	}
	sid, tid, err := ids(stream, topic)
	if err != nil {
		return wrap(err)
	}
	cons, err := consumer(c)
	if err != nil {
		return wrap(err)
	}
	if err := b.do(ctx, func(cl *tcp.IggyTcpClient) error {
		return cl.StoreConsumerOffset(cons, sid, tid, offset, &partition)
	}); err != nil {
		return wrap(err)
	}
	return nil
}

// Offset implements core.Broker. Iggy answers "nothing stored" and "no such
// stream, topic or partition" alike, so both are core.ErrNotFound.
func (b *Broker) Offset(ctx context.Context, c core.Consumer, stream, topic string, partition uint32) (core.OffsetInfo, error) {
	wrap := func(err error) error {
		return fmt.Errorf("remote: get offset of %q on %q/%q partition %d: %w", c.Name, stream, topic, partition, err)
	}
	sid, tid, err := ids(stream, topic)
	if err != nil {
		return core.OffsetInfo{}, wrap(err)
	}
	cons, err := consumer(c)
	if err != nil {
		return core.OffsetInfo{}, wrap(err)
	}
	var info *iggcon.ConsumerOffsetInfo
	err = b.do(ctx, func(cl *tcp.IggyTcpClient) error {
		var err error
		info, err = cl.GetConsumerOffset(cons, sid, tid, &partition)
		return err
	})
	if err != nil {
		return core.OffsetInfo{}, wrap(err)
	}
	if info == nil {
		return core.OffsetInfo{}, wrap(fmt.Errorf("%w: no offset stored", core.ErrNotFound))
	}
	return core.OffsetInfo{Partition: info.PartitionId, CurrentOffset: info.CurrentOffset, StoredOffset: info.StoredOffset}, nil
}

// CreateGroup implements core.Broker.
func (b *Broker) CreateGroup(ctx context.Context, stream, topic, group string) (core.GroupInfo, error) {
	wrap := func(err error) error {
		return fmt.Errorf("remote: create group %q on %q/%q: %w", group, stream, topic, err)
	}
	sid, tid, err := ids(stream, topic)
	if err != nil {
		return core.GroupInfo{}, wrap(err)
	}
	if n := len(group); n == 0 || n > 255 {
		return core.GroupInfo{}, wrap(fmt.Errorf("%w: group name is %d bytes, want 1 to 255", core.ErrInvalid, n))
	}
	info, err := query(ctx, b, func(c *tcp.IggyTcpClient) (*iggcon.ConsumerGroupDetails, error) {
		return c.CreateConsumerGroup(sid, tid, group)
	}, groupInfo)
	if err != nil {
		return core.GroupInfo{}, wrap(err)
	}
	return info, nil
}

// Group implements core.Broker.
func (b *Broker) Group(ctx context.Context, stream, topic, group string) (core.GroupInfo, error) {
	wrap := func(err error) error {
		return fmt.Errorf("remote: get group %q on %q/%q: %w", group, stream, topic, err)
	}
	sid, tid, err := ids(stream, topic)
	if err != nil {
		return core.GroupInfo{}, wrap(err)
	}
	gid, err := ident("group", group)
	if err != nil {
		return core.GroupInfo{}, wrap(err)
	}
	info, err := query(ctx, b, func(c *tcp.IggyTcpClient) (*iggcon.ConsumerGroupDetails, error) {
		return c.GetConsumerGroup(sid, tid, gid)
	}, groupInfo)
	if err != nil {
		return core.GroupInfo{}, wrap(err)
	}
	return info, nil
}

// Close implements core.Broker: it closes every connection (a request in
// flight fails), which makes the server drop this client's group
// memberships, stops reconnecting and waits for its goroutines. It returns
// nil and is safe to call more than once.
func (b *Broker) Close() error {
	b.shutdown()
	return nil
}

func (b *Broker) shutdown() {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		members := make([]*Member, 0, len(b.members))
		for m := range b.members {
			members = append(members, m)
		}
		b.members = nil
		b.mu.Unlock()
		b.pool.close()
		for _, m := range members {
			m.close()
		}
		b.cancel()
		b.wg.Wait()
		// The SDK's own connect cannot be interrupted; it ends as soon as
		// its dial returns. Wait a bounded time for it.
		done := make(chan struct{})
		go func() { b.sdkWG.Wait(); close(done) }()
		t := time.NewTimer(b.cfg.ConnectTimeout)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			b.log.LogAttrs(context.Background(), slog.LevelWarn, "an SDK connect is still running after Close; it ends when its dial returns")
		}
	})
}

// ids makes the identifiers of a stream and a topic.
func ids(stream, topic string) (iggcon.Identifier, iggcon.Identifier, error) {
	sid, err := ident("stream", stream)
	if err != nil {
		return sid, sid, err
	}
	tid, err := ident("topic", topic)
	return sid, tid, err
}
