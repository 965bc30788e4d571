package iggywm

import (
	"context"
	"errors"
	"fmt"
	"go.opentelemetry.io/otel/propagation"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/rustok/rustok-iggy/core"
)

// ErrSubscriberClosed is returned by Subscribe and SubscribeInitialize
// after Close.
var ErrSubscriberClosed = errors.New("iggywm: subscriber closed")

// Subscriber reads Watermill messages from Iggy topics through a
// core.Broker (the embedded or the remote connector). Create it with
// NewSubscriber. It is safe for concurrent use.
//
// Each Subscribe call starts a subscription: one goroutine, owned by the
// Subscriber, that polls the topic and hands messages to the returned
// channel one at a time. The next message comes only after the previous one
// was acknowledged: Ack stores its offset (for a consumer group) and moves
// on; Nack delivers the same message again, after
// SubscriberConfig.NackDelay. Messages of a partition are therefore
// delivered in order. A subscription ends, closing its channel, when the
// ctx given to Subscribe ends or Close is called, even while a message is
// out un-acknowledged (its ack is then lost and the message delivered
// again later). The member leaves its group before the channel closes. Each delivered message's Context carries the values of
// Subscribe's ctx and a Delivery (see DeliveryFromContext); it is
// cancelled when the message is acked or nacked and when the subscription
// ends.
//
// Delivery is at least once: after a crash, a rebalance of the group or a
// failed offset store, messages that were delivered but not yet stored are
// delivered again.
type Subscriber struct {
	b    core.Broker
	cfg  SubscriberConfig
	log  *slog.Logger
	topo *topology

	// life ends when Close is called; every subscription and every call in
	// progress derives from it.
	life   context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	topics map[string]bool // topics joined with the group; guarded by mu
	wg     sync.WaitGroup  // subscriptions and Subscribe calls in progress
}

var (
	_ message.Subscriber           = (*Subscriber)(nil)
	_ message.SubscribeInitializer = (*Subscriber)(nil)
)

// NewSubscriber returns a Subscriber over b configured by cfg (defaults
// applied to a copy). The Subscriber does not own b: closing it leaves b
// open. A bad configuration gives an error wrapping core.ErrInvalid.
func NewSubscriber(b core.Broker, cfg SubscriberConfig) (*Subscriber, error) {
	if b == nil {
		return nil, fmt.Errorf("iggywm: new subscriber: nil broker: %w", core.ErrInvalid)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("iggywm: new subscriber: %w", err)
	}
	cfg = cfg.withDefaults()
	life, cancel := context.WithCancel(context.Background())
	log := cfg.Logger.With("component", "iggywm.subscriber", "stream", cfg.Stream)
	if cfg.ConsumerGroup != "" {
		log = log.With("group", cfg.ConsumerGroup)
	}
	return &Subscriber{
		b: b, cfg: cfg, log: log,
		topo: newTopology(b, cfg.TopicConfig),
		life: life, cancel: cancel,
	}, nil
}

// enter registers a call that must finish before Close returns.
func (s *Subscriber) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// SubscribeInitialize implements message.SubscribeInitializer: it creates
// the stream, the topic and (with a consumer group) the group when they
// are missing, so that messages published from now on reach the group even
// before its first subscription. Close aborts it.
func (s *Subscriber) SubscribeInitialize(topic string) error {
	if !s.enter() {
		return ErrSubscriberClosed
	}
	defer s.wg.Done()
	var err error
	if s.cfg.ConsumerGroup != "" {
		err = s.topo.ensureGroup(s.life, topic, s.cfg.ConsumerGroup)
	} else {
		err = s.topo.ensureTopic(s.life, topic)
	}
	if err != nil {
		return fmt.Errorf("iggywm: subscribe initialize: %w", err)
	}
	return nil
}

// Subscribe implements message.Subscriber. It creates what is missing (see
// SubscribeInitialize), joins the consumer group (a new member per call)
// or, without a group, starts reading every partition from its first
// message, and returns the subscription's channel. Messages published
// before Subscribe are delivered. ctx bounds the subscription: when it
// ends, the member leaves the group (bounded by LeaveTimeout) and then the
// channel is closed, so a closed channel means the member is gone. After
// Close, Subscribe returns ErrSubscriberClosed.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if !s.enter() {
		return nil, ErrSubscriberClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.life, cancel)
	src, err := s.open(ctx, topic)
	if err != nil {
		stop()
		cancel()
		s.wg.Done()
		if s.life.Err() != nil {
			return nil, ErrSubscriberClosed
		}
		return nil, fmt.Errorf("iggywm: subscribe to %q: %w", topic, err)
	}
	sub := &subscription{
		s: s, topic: topic, src: src,
		out: make(chan *message.Message),
		log: s.log.With("topic", topic),
	}
	go func() {
		defer s.wg.Done()
		defer cancel()
		defer stop()
		sub.run(ctx)
	}()
	return sub.out, nil
}

// open makes the subscription's source: a group member, or a reader of
// every partition.
func (s *Subscriber) open(ctx context.Context, topic string) (source, error) {
	if s.cfg.ConsumerGroup == "" {
		if err := s.topo.ensureTopic(ctx, topic); err != nil {
			return nil, err
		}
		return &readerSource{b: s.b, stream: s.cfg.Stream, topic: topic}, nil
	}
	g := &groupSource{s: s, topic: topic}
	if err := g.join(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.topics == nil {
		s.topics = map[string]bool{}
	}
	s.topics[topic] = true
	s.mu.Unlock()
	return g, nil
}

// Close implements message.Subscriber: it ends every subscription, leaves
// their groups (each bounded by LeaveTimeout), closes their channels and
// waits for all of it. Offsets of acknowledged messages are already
// stored; an un-acknowledged message out at that moment is delivered again
// to the group's next subscriber. With DeleteGroupOnClose it then deletes
// the group from the topics it joined (each bounded by LeaveTimeout). It
// leaves the broker open. It is idempotent and always returns nil.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	if !already && s.cfg.DeleteGroupOnClose && s.cfg.ConsumerGroup != "" {
		s.deleteGroup()
	}
	return nil
}

// deleteGroup deletes the consumer group from the topics it was joined on;
// failures are logged.
func (s *Subscriber) deleteGroup() {
	s.mu.Lock()
	topics := make([]string, 0, len(s.topics))
	for t := range s.topics {
		topics = append(topics, t)
	}
	s.mu.Unlock()
	if len(topics) == 0 {
		return
	}
	d, ok := s.b.(core.Deleter)
	if !ok {
		s.log.LogAttrs(context.Background(), slog.LevelWarn, "cannot delete the consumer group: the broker has no core.Deleter")
		return
	}
	slices.Sort(topics)
	for _, t := range topics {
		ctx, cancel := context.WithTimeout(context.Background(), LeaveTimeout)
		err := d.DeleteGroup(ctx, s.cfg.Stream, t, s.cfg.ConsumerGroup)
		cancel()
		if err != nil && !errors.Is(err, core.ErrNotFound) {
			s.log.LogAttrs(context.Background(), slog.LevelWarn, "deleting the consumer group failed", slog.String("topic", t), slog.Any("error", err))
		}
	}
}

// Delivery describes where a delivered message was read. A message's
// Context carries it.
type Delivery struct {
	// Topic is the Watermill (and Iggy) topic.
	Topic string
	// Partition is the Iggy partition id.
	Partition uint32
	// Offset is the message's offset in the partition.
	Offset uint64
	// Timestamp is when the broker stored the message.
	Timestamp time.Time
}

type deliveryKey struct{}

// DeliveryFromContext returns the Delivery carried by the Context of a
// message a Subscriber delivered.
func DeliveryFromContext(ctx context.Context) (Delivery, bool) {
	d, ok := ctx.Value(deliveryKey{}).(Delivery)
	return d, ok
}

// source is what a subscription reads from. Its methods are called from
// the subscription's goroutine only.
type source interface {
	// poll returns up to count messages of one partition, or none when
	// nothing new is available now.
	poll(ctx context.Context, count uint32) (core.Polled, error)
	// commit records that the message at offset of partition was
	// acknowledged.
	commit(ctx context.Context, partition uint32, offset uint64) error
	// close releases the source (leaves the group).
	close()
}

// subscription is one Subscribe call's goroutine state.
type subscription struct {
	s     *Subscriber
	topic string
	src   source
	out   chan *message.Message
	log   *slog.Logger
}

// run polls and delivers until ctx ends or the broker is closed, then
// releases the source (leaves the group) and closes the channel.
func (r *subscription) run(ctx context.Context) {
	defer close(r.out)
	defer r.src.close()
	cfg := &r.s.cfg
	idle := time.Millisecond
	for ctx.Err() == nil {
		polled, err := r.src.poll(ctx, cfg.BatchSize)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, core.ErrClosed) {
				r.log.LogAttrs(ctx, slog.LevelError, "broker closed, subscription ends", slog.Any("error", err))
				return
			}
			r.log.LogAttrs(ctx, slog.LevelWarn, "poll failed", slog.Any("error", err), slog.Duration("retry_in", cfg.RetryDelay))
			if !sleep(ctx, cfg.RetryDelay) {
				return
			}
			continue
		}
		if len(polled.Messages) == 0 {
			if !sleep(ctx, idle) {
				return
			}
			idle = min(2*idle, cfg.PollInterval)
			continue
		}
		idle = time.Millisecond
		if !r.handleBatch(ctx, polled) {
			return
		}
	}
}

// handleBatch delivers a polled batch in order, committing each message
// on Ack. It returns false when the subscription must end; true to poll
// again, also after a failed commit (the rest of the batch is dropped: the
// partition may have moved to another member, which continues from the
// group's stored offset).
func (r *subscription) handleBatch(ctx context.Context, polled core.Polled) bool {
	for _, m := range polled.Messages {
		msg, err := r.s.cfg.Unmarshaler.Unmarshal(m)
		if err == nil && msg == nil {
			err = errors.New("the unmarshaler returned no message")
		}
		if err != nil {
			r.log.LogAttrs(ctx, slog.LevelError, "message does not unmarshal, skipped",
				slog.Uint64("partition", uint64(polled.Partition)), slog.Uint64("offset", m.Offset), slog.Any("error", err))
		} else {
			d := Delivery{Topic: r.topic, Partition: polled.Partition, Offset: m.Offset, Timestamp: m.Timestamp}
			if !r.deliver(ctx, msg, d) {
				return false
			}
		}
		if err := r.commit(ctx, polled.Partition, m.Offset); err != nil {
			r.log.LogAttrs(ctx, slog.LevelWarn, "storing the offset failed; polling again",
				slog.Uint64("partition", uint64(polled.Partition)), slog.Uint64("offset", m.Offset), slog.Any("error", err))
			return ctx.Err() == nil
		}
		if ctx.Err() != nil {
			return false
		}
	}
	return true
}

// commit stores an acknowledged offset. It runs to its end even when the
// subscription is ending (bounded by LeaveTimeout), so that an Ack given
// just before Close still counts.
func (r *subscription) commit(ctx context.Context, partition uint32, offset uint64) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), LeaveTimeout)
	defer cancel()
	return r.src.commit(cctx, partition, offset)
}

// deliver hands copies of tmpl to the channel until one is acked (true).
// It returns false when ctx ends first.
func (r *subscription) deliver(ctx context.Context, tmpl *message.Message, d Delivery) bool {
	base := context.WithValue(ctx, deliveryKey{}, d)
	base = r.s.cfg.Propagator.Extract(base, propagation.MapCarrier(tmpl.Metadata))
	for {
		msg := tmpl.Copy()
		mctx, cancel := context.WithCancel(base)
		msg.SetContext(mctx)
		select {
		case r.out <- msg:
		case <-ctx.Done():
			cancel()
			return false
		}
		select {
		case <-msg.Acked():
			cancel()
			return true
		case <-msg.Nacked():
			cancel()
			if !sleep(ctx, r.s.cfg.NackDelay) {
				return false
			}
		case <-ctx.Done():
			cancel()
			select {
			case <-msg.Acked(): // acked just as the subscription ended: still store it
				return true
			default:
				return false
			}
		}
	}
}

// sleep waits d, or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// groupSource reads as a member of the consumer group. If the broker says
// the member or group is gone, it joins again on the next poll.
type groupSource struct {
	s      *Subscriber
	topic  string
	member core.GroupMember // nil until joined
}

// join creates what is missing and joins the group.
func (g *groupSource) join(ctx context.Context) error {
	group := g.s.cfg.ConsumerGroup
	if err := g.s.topo.ensureGroup(ctx, g.topic, group); err != nil {
		return err
	}
	m, err := g.s.b.JoinGroup(ctx, g.s.cfg.Stream, g.topic, group)
	if errors.Is(err, core.ErrNotFound) { // deleted since we last looked
		g.s.topo.forget(g.topic)
		if err = g.s.topo.ensureGroup(ctx, g.topic, group); err == nil {
			m, err = g.s.b.JoinGroup(ctx, g.s.cfg.Stream, g.topic, group)
		}
	}
	if err != nil {
		return err
	}
	g.member = m
	return nil
}

func (g *groupSource) poll(ctx context.Context, count uint32) (core.Polled, error) {
	if g.member == nil {
		if err := g.join(ctx); err != nil {
			return core.Polled{}, err
		}
	}
	p, err := g.member.Poll(ctx, core.GroupPoll{Strategy: core.Next(), Count: count})
	if err != nil && (errors.Is(err, core.ErrNotMember) || errors.Is(err, core.ErrNotFound)) {
		g.close()
		if errors.Is(err, core.ErrNotFound) {
			g.s.topo.forget(g.topic)
		}
	}
	return p, err
}

func (g *groupSource) commit(ctx context.Context, partition uint32, offset uint64) error {
	if g.member == nil {
		return fmt.Errorf("not a member: %w", core.ErrNotMember)
	}
	return g.member.StoreOffset(ctx, partition, offset)
}

func (g *groupSource) close() {
	if g.member == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), LeaveTimeout)
	defer cancel()
	if err := g.member.Leave(ctx); err != nil && !errors.Is(err, core.ErrClosed) && !errors.Is(err, core.ErrNotMember) {
		g.s.log.LogAttrs(ctx, slog.LevelWarn, "leaving the consumer group failed", slog.String("topic", g.topic), slog.Any("error", err))
	}
	g.member = nil
}

// readerSource reads every partition of a topic without a group, from the
// first message, keeping its position in memory.
type readerSource struct {
	b             core.Broker
	stream, topic string
	next          []uint64  // per partition: the next offset to read
	cursor        int       // the partition to try first
	refreshed     time.Time // when the partition count was last read
}

// partitionRefresh is how often an idle reader without a group looks for
// partitions added to its topic.
const partitionRefresh = time.Second

func (r *readerSource) poll(ctx context.Context, count uint32) (core.Polled, error) {
	if len(r.next) == 0 {
		if err := r.refresh(ctx); err != nil {
			return core.Polled{}, err
		}
	}
	n := len(r.next)
	for i := range n {
		p := (r.cursor + i) % n
		res, err := r.b.Poll(ctx, core.PollRequest{
			Stream: r.stream, Topic: r.topic, Partition: uint32(p),
			Consumer: core.Consumer{Kind: core.SingleConsumer},
			Strategy: core.FromOffset(r.next[p]), Count: count,
		})
		if err != nil {
			return core.Polled{}, err
		}
		if len(res.Messages) > 0 {
			r.cursor = p + 1
			res.Partition = uint32(p)
			return res, nil
		}
	}
	// Nothing anywhere: look for partitions added since, now and then.
	if time.Since(r.refreshed) < partitionRefresh {
		return core.Polled{}, nil
	}
	return core.Polled{}, r.refresh(ctx)
}

// refresh grows next to the topic's partition count.
func (r *readerSource) refresh(ctx context.Context) error {
	info, err := r.b.Topic(ctx, r.stream, r.topic)
	if err != nil {
		return err
	}
	r.refreshed = time.Now()
	for uint32(len(r.next)) < info.PartitionsCount {
		r.next = append(r.next, 0)
	}
	return nil
}

func (r *readerSource) commit(_ context.Context, partition uint32, offset uint64) error {
	if int(partition) < len(r.next) {
		r.next[partition] = offset + 1
	}
	return nil
}

func (r *readerSource) close() {}
