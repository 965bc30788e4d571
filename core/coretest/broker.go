package coretest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustok/rustok-iggy/core"
)

// Options configures a new in-memory broker. The zero value behaves as the
// remote connector on Iggy 0.8.0 does.
type Options struct {
	// LongPoll makes the broker a core.LongPoller returning true: polls
	// with a positive MaxWait wait for an append, as the embedded
	// connector's do. Off, MaxWait is ignored and LongPoll returns false.
	LongPoll bool
	// FullRebalance makes every join rebalance the group fully
	// (partition i to member i mod n) instead of Iggy 0.8.0's cooperative
	// hand-over. Leaves and new partitions rebalance fully either way.
	FullRebalance bool
}

// Hooks inject faults and observe calls. Each field is optional.
type Hooks struct {
	// Send is called by every Send once its partition is chosen and
	// before anything is stored, outside every lock, so it may block.
	// A non-nil error fails the Send with that error, nothing stored.
	// It must not keep or modify SendCall.Messages.
	Send func(ctx context.Context, c SendCall) error
	// Poll is called at the start of every poll (Broker.Poll and
	// GroupMember.Poll), before anything is read, outside every lock, so
	// it may block. A non-nil error fails the poll with that error.
	Poll func(ctx context.Context, c PollCall) error
}

// SendCall describes a Send to the Send hook.
type SendCall struct {
	Stream, Topic string
	// Partition is the partition the messages go to.
	Partition uint32
	Messages  []core.Message
}

// PollCall describes a poll to the Poll hook.
type PollCall struct {
	Stream, Topic string
	// Group is the group of a member's poll; "" for Broker.Poll.
	Group string
	// Partition is the partition requested; nil for a member's poll
	// without one.
	Partition *uint32
	// MaxWait is the request's MaxWait.
	MaxWait time.Duration
}

// state is one in-memory broker, shared by its connections.
type state struct {
	opts         Options
	hooks        atomic.Pointer[Hooks]
	down         atomic.Bool
	reconnecting atomic.Bool

	mu      sync.Mutex
	streams map[string]*stream
	nextID  uint32
	// appended is closed and replaced by every append: long polls wait on
	// it.
	appended chan struct{}
}

type stream struct {
	id      uint32
	name    string
	created time.Time
	topics  map[string]*topic
	order   []string
	nextID  uint32
}

type topic struct {
	stream  string
	info    core.TopicInfo // ID, Name, CreatedAt, config
	parts   []*partition
	rr      uint32 // balanced sends
	groups  map[string]*group
	nextG   uint32
	deleted bool
}

type partition struct {
	id      uint32
	created time.Time
	msgs    []core.Message
	size    uint64
	lastTS  time.Time
	offsets map[string]uint64 // single consumers' stored offsets
}

// Broker is one connection to an in-memory broker. Its methods are safe
// for concurrent use.
type Broker struct {
	st *state
	// closed and members are guarded by st.mu.
	closed  bool
	members []*member
}

var (
	_ core.Broker     = (*Broker)(nil)
	_ core.LongPoller = (*Broker)(nil)
	_ core.Deleter    = (*Broker)(nil)
)

// New returns a connection to a new, empty in-memory broker.
func New(opts Options) *Broker {
	return &Broker{st: &state{opts: opts, streams: map[string]*stream{}, appended: make(chan struct{})}}
}

// Connect returns another connection to the same broker, as a second
// connector to one server: it sees the same streams, and its Close makes
// only its own group members leave.
func (b *Broker) Connect() *Broker { return &Broker{st: b.st} }

// SetHooks replaces the broker's hooks (for every connection); the zero
// Hooks removes them. Calls already past a hook are not affected.
func (b *Broker) SetHooks(h Hooks) { b.st.hooks.Store(&h) }

// SetDown makes every call of every connection fail with an error wrapping
// core.ErrUnavailable (down true), or work again (false). Stored data is
// kept.
func (b *Broker) SetDown(down bool) { b.st.down.Store(down) }

// SetReconnecting sets what Reconnecting reports.
func (b *Broker) SetReconnecting(r bool) { b.st.reconnecting.Store(r) }

// Reconnecting reports what SetReconnecting last set (false at first): the
// optional capability by which a connector says it is re-establishing its
// connection.
func (b *Broker) Reconnecting() bool { return b.st.reconnecting.Load() }

// LongPoll implements core.LongPoller: Options.LongPoll.
func (b *Broker) LongPoll() bool { return b.st.opts.LongPoll }

func (b *Broker) hooks() Hooks {
	if h := b.st.hooks.Load(); h != nil {
		return *h
	}
	return Hooks{}
}

// check reports why a call must fail now, if it must: ctx ended, the
// connection closed, the broker down. st.mu is held.
func (b *Broker) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("coretest: %w", err)
	}
	if b.closed {
		return core.ErrClosed
	}
	if b.st.down.Load() {
		return fmt.Errorf("coretest: broker down: %w", core.ErrUnavailable)
	}
	return nil
}

// lock takes st.mu and checks the call may proceed; on error the lock is
// not held.
func (b *Broker) lock(ctx context.Context) error {
	b.st.mu.Lock()
	if err := b.check(ctx); err != nil {
		b.st.mu.Unlock()
		return err
	}
	return nil
}

func validName(what, name string) error {
	if name == "" || len(name) > 255 {
		return fmt.Errorf("coretest: %s name of %d bytes (1 to 255): %w", what, len(name), core.ErrInvalid)
	}
	return nil
}

// lockTopic is lock followed by the lookup of a topic; on error the lock
// is not held.
func (b *Broker) lockTopic(ctx context.Context, streamName, topicName string) (*topic, error) {
	if err := b.lock(ctx); err != nil {
		return nil, err
	}
	t, err := b.st.topic(streamName, topicName)
	if err != nil {
		b.st.mu.Unlock()
		return nil, err
	}
	return t, nil
}

// topic resolves a live topic; st.mu is held.
func (st *state) topic(streamName, topicName string) (*topic, error) {
	s, ok := st.streams[streamName]
	if !ok {
		return nil, fmt.Errorf("coretest: stream %q: %w", streamName, core.ErrNotFound)
	}
	t, ok := s.topics[topicName]
	if !ok {
		return nil, fmt.Errorf("coretest: topic %q/%q: %w", streamName, topicName, core.ErrNotFound)
	}
	return t, nil
}

// partition resolves a partition of a live topic; st.mu is held.
func (st *state) partition(streamName, topicName string, id uint32) (*topic, *partition, error) {
	t, err := st.topic(streamName, topicName)
	if err != nil {
		return nil, nil, err
	}
	if id >= uint32(len(t.parts)) {
		return nil, nil, fmt.Errorf("coretest: partition %d of %q/%q: %w", id, streamName, topicName, core.ErrNotFound)
	}
	return t, t.parts[id], nil
}

// Ping implements core.Broker.
func (b *Broker) Ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if err := b.lock(ctx); err != nil {
		return 0, err
	}
	b.st.mu.Unlock()
	return time.Since(start), nil
}

// CreateStream implements core.Broker.
func (b *Broker) CreateStream(ctx context.Context, name string) (core.StreamInfo, error) {
	if err := b.lock(ctx); err != nil {
		return core.StreamInfo{}, err
	}
	defer b.st.mu.Unlock()
	if err := validName("stream", name); err != nil {
		return core.StreamInfo{}, err
	}
	if _, ok := b.st.streams[name]; ok {
		return core.StreamInfo{}, fmt.Errorf("coretest: stream %q: %w", name, core.ErrAlreadyExists)
	}
	s := &stream{id: b.st.nextID, name: name, created: time.Now(), topics: map[string]*topic{}}
	b.st.nextID++
	b.st.streams[name] = s
	return s.info(), nil
}

func (s *stream) info() core.StreamInfo {
	si := core.StreamInfo{ID: s.id, Name: s.name, CreatedAt: s.created}
	for _, n := range s.order {
		ti := s.topics[n].describe(false)
		si.Topics = append(si.Topics, ti)
		si.SizeBytes += ti.SizeBytes
		si.MessagesCount += ti.MessagesCount
	}
	return si
}

func (p *partition) current() uint64 {
	if len(p.msgs) == 0 {
		return 0
	}
	return uint64(len(p.msgs) - 1)
}

func (t *topic) describe(withParts bool) core.TopicInfo {
	ti := t.info
	ti.PartitionsCount = uint32(len(t.parts))
	if withParts {
		ti.Partitions = []core.PartitionInfo{}
	}
	for _, p := range t.parts {
		pi := core.PartitionInfo{ID: p.id, CreatedAt: p.created, SegmentsCount: 1, CurrentOffset: p.current(),
			SizeBytes: p.size, MessagesCount: uint64(len(p.msgs))}
		ti.SizeBytes += pi.SizeBytes
		ti.MessagesCount += pi.MessagesCount
		if withParts {
			ti.Partitions = append(ti.Partitions, pi)
		}
	}
	return ti
}

// Stream implements core.Broker.
func (b *Broker) Stream(ctx context.Context, name string) (core.StreamInfo, error) {
	if err := b.lock(ctx); err != nil {
		return core.StreamInfo{}, err
	}
	defer b.st.mu.Unlock()
	s, ok := b.st.streams[name]
	if !ok {
		return core.StreamInfo{}, fmt.Errorf("coretest: stream %q: %w", name, core.ErrNotFound)
	}
	return s.info(), nil
}

// CreateTopic implements core.Broker. As Iggy 0.8.0 it refuses more than
// 1000 partitions and a MaxSize below 1 GiB (its segment size) with
// core.ErrInvalid.
func (b *Broker) CreateTopic(ctx context.Context, streamName, name string, cfg core.TopicConfig) (core.TopicInfo, error) {
	if err := b.lock(ctx); err != nil {
		return core.TopicInfo{}, err
	}
	defer b.st.mu.Unlock()
	s, ok := b.st.streams[streamName]
	if !ok {
		return core.TopicInfo{}, fmt.Errorf("coretest: stream %q: %w", streamName, core.ErrNotFound)
	}
	if err := validName("topic", name); err != nil {
		return core.TopicInfo{}, err
	}
	if cfg.Partitions > 1000 {
		return core.TopicInfo{}, fmt.Errorf("coretest: %d partitions (at most 1000): %w", cfg.Partitions, core.ErrInvalid)
	}
	if cfg.MaxSize != 0 && cfg.MaxSize < 1<<30 {
		return core.TopicInfo{}, fmt.Errorf("coretest: max size %d below the 1 GiB segment size: %w", cfg.MaxSize, core.ErrInvalid)
	}
	if _, ok := s.topics[name]; ok {
		return core.TopicInfo{}, fmt.Errorf("coretest: topic %q/%q: %w", streamName, name, core.ErrAlreadyExists)
	}
	t := &topic{stream: streamName, info: core.TopicInfo{ID: s.nextID, Name: name, CreatedAt: time.Now(), MessageExpiry: cfg.MessageExpiry,
		MaxSize: cfg.MaxSize, ReplicationFactor: max(cfg.ReplicationFactor, 1)}, groups: map[string]*group{}}
	s.nextID++
	t.addPartitions(cfg.Partitions)
	s.topics[name] = t
	s.order = append(s.order, name)
	return t.describe(true), nil
}

func (t *topic) addPartitions(n uint32) {
	for range n {
		t.parts = append(t.parts, &partition{id: uint32(len(t.parts)), created: time.Now(), offsets: map[string]uint64{}})
	}
	for _, g := range t.groups {
		g.rebalance()
		clear(g.polled)
	}
}

// Topic implements core.Broker.
func (b *Broker) Topic(ctx context.Context, streamName, topicName string) (core.TopicInfo, error) {
	t, err := b.lockTopic(ctx, streamName, topicName)
	if err != nil {
		return core.TopicInfo{}, err
	}
	defer b.st.mu.Unlock()
	return t.describe(true), nil
}

// CreatePartitions implements core.Broker; every group of the topic is
// rebalanced fully.
func (b *Broker) CreatePartitions(ctx context.Context, streamName, topicName string, count uint32) error {
	t, err := b.lockTopic(ctx, streamName, topicName)
	if err != nil {
		return err
	}
	defer b.st.mu.Unlock()
	if count == 0 || uint32(len(t.parts))+count > 1000 {
		return fmt.Errorf("coretest: add %d partitions to %d (1 to 1000 in all): %w", count, len(t.parts), core.ErrInvalid)
	}
	t.addPartitions(count)
	return nil
}

// Close implements core.Broker: the connection's group members leave their
// groups, and its later calls return core.ErrClosed. Other connections to
// the broker are not affected.
func (b *Broker) Close() error {
	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	for _, m := range b.members {
		m.leaveLocked()
	}
	b.members = nil
	return nil
}

// DeleteStream implements core.Deleter.
func (b *Broker) DeleteStream(ctx context.Context, streamName string) error {
	if err := b.lock(ctx); err != nil {
		return err
	}
	defer b.st.mu.Unlock()
	s, ok := b.st.streams[streamName]
	if !ok {
		return fmt.Errorf("coretest: stream %q: %w", streamName, core.ErrNotFound)
	}
	for _, t := range s.topics {
		t.deleted = true
	}
	delete(b.st.streams, streamName)
	return nil
}

// DeleteTopic implements core.Deleter.
func (b *Broker) DeleteTopic(ctx context.Context, streamName, topicName string) error {
	t, err := b.lockTopic(ctx, streamName, topicName)
	if err != nil {
		return err
	}
	defer b.st.mu.Unlock()
	t.deleted = true
	s := b.st.streams[streamName]
	delete(s.topics, topicName)
	s.order = slices.DeleteFunc(s.order, func(n string) bool { return n == topicName })
	return nil
}

// DeleteGroup implements core.Deleter; the group's members' later calls
// fail with core.ErrNotFound.
func (b *Broker) DeleteGroup(ctx context.Context, streamName, topicName, groupName string) error {
	t, err := b.lockTopic(ctx, streamName, topicName)
	if err != nil {
		return err
	}
	defer b.st.mu.Unlock()
	g, ok := t.groups[groupName]
	if !ok {
		return fmt.Errorf("coretest: group %q: %w", groupName, core.ErrNotFound)
	}
	g.deleted = true
	delete(t.groups, groupName)
	return nil
}

// DeleteOffset implements core.Deleter.
func (b *Broker) DeleteOffset(ctx context.Context, c core.Consumer, streamName, topicName string, partitionID uint32) error {
	if err := b.lock(ctx); err != nil {
		return err
	}
	defer b.st.mu.Unlock()
	if c.Kind == core.GroupConsumer {
		return fmt.Errorf("coretest: a group's offsets go with DeleteGroup: %w", core.ErrInvalid)
	}
	_, p, err := b.st.partition(streamName, topicName, partitionID)
	if err != nil {
		return err
	}
	if _, ok := p.offsets[c.Name]; !ok {
		return fmt.Errorf("coretest: no offset of consumer %q on partition %d: %w", c.Name, partitionID, core.ErrNotFound)
	}
	delete(p.offsets, c.Name)
	return nil
}
