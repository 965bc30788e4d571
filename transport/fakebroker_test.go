package transport_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// fakeBroker is an in-memory core.Broker following the port's documented
// semantics and Iggy 0.8.0's: partitions from 0, offsets from 0, ByKey =
// XXH32(key) mod count, Balanced round robin, groups with a full rebalance
// on every join and leave (partition i to member i mod n; see cooperative
// for joins as Iggy 0.8.0 does them), group polls
// round robin over the member's partitions, Next = stored + 1.
type fakeBroker struct {
	mu      sync.Mutex
	streams map[string]*fStream
	closed  bool
	ids     uint32

	// cooperative makes joins follow Iggy 0.8.0's cooperative rebalance:
	// a joining member takes at most one partition from the member with
	// the most, handed over once the group's stored offset reaches the
	// last offset polled there (until then the old owner keeps it, and
	// its polls without a partition skip it). Leaves rebalance fully.
	cooperative bool

	down         atomic.Bool // every call fails with ErrUnavailable
	reconnecting atomic.Bool
	sends        atomic.Int64
	// sendGate, when set, is called before each Send outside the lock; an
	// error fails the Send. It may block.
	sendGate atomic.Pointer[func(ctx context.Context, topic string, p uint32, n int) error]
	// pollHook, when set, is called after each member poll that named a
	// partition, outside the lock.
	pollHook atomic.Pointer[func(p uint32)]
}

type fStream struct {
	id      uint32
	name    string
	created time.Time
	topics  map[string]*fTopic
	order   []string
}

type fTopic struct {
	id      uint32
	name    string
	created time.Time
	cfg     core.TopicConfig
	parts   []*fPart
	rr      uint32
	groups  map[string]*fGroup
	offsets map[string]map[uint32]uint64 // single consumer name -> partition -> offset
}

type fPart struct {
	created time.Time
	msgs    []core.Message
	size    uint64
	lastTS  time.Time
}

type fGroup struct {
	id      uint32
	name    string
	t       *fTopic
	members []*fMember
	offsets map[uint32]uint64
	// cooperative mode: partition -> member it goes to once revoked, and
	// partition -> last offset a poll returned.
	pending    map[uint32]*fMember
	lastPolled map[uint32]uint64
}

type fMember struct {
	b        *fakeBroker
	id       uint32
	g        *fGroup
	assigned []uint32
	rr       int
	left     bool
}

var (
	_ core.Broker            = (*fakeBroker)(nil)
	_ transport.Reconnecting = (*fakeBroker)(nil)
	_ core.GroupMember       = (*fMember)(nil)
)

func newFakeBroker() *fakeBroker { return &fakeBroker{streams: map[string]*fStream{}} }

func (b *fakeBroker) Reconnecting() bool { return b.reconnecting.Load() }

func (b *fakeBroker) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.closed {
		return core.ErrClosed
	}
	if b.down.Load() {
		return fmt.Errorf("fake: %w", core.ErrUnavailable)
	}
	return nil
}

func (b *fakeBroker) lock(ctx context.Context) error {
	b.mu.Lock()
	if err := b.check(ctx); err != nil {
		b.mu.Unlock()
		return err
	}
	return nil
}

func (b *fakeBroker) nextID() uint32 { b.ids++; return b.ids }

func (b *fakeBroker) Ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if err := b.lock(ctx); err != nil {
		return 0, err
	}
	b.mu.Unlock()
	return time.Since(start), nil
}

func (b *fakeBroker) CreateStream(ctx context.Context, name string) (core.StreamInfo, error) {
	if err := b.lock(ctx); err != nil {
		return core.StreamInfo{}, err
	}
	defer b.mu.Unlock()
	if name == "" {
		return core.StreamInfo{}, core.ErrInvalid
	}
	if _, ok := b.streams[name]; ok {
		return core.StreamInfo{}, fmt.Errorf("stream %q: %w", name, core.ErrAlreadyExists)
	}
	s := &fStream{id: b.nextID(), name: name, created: time.Now(), topics: map[string]*fTopic{}}
	b.streams[name] = s
	return s.info(), nil
}

func (s *fStream) info() core.StreamInfo {
	si := core.StreamInfo{ID: s.id, Name: s.name, CreatedAt: s.created}
	for _, n := range s.order {
		ti := s.topics[n].info(false)
		si.Topics = append(si.Topics, ti)
		si.SizeBytes += ti.SizeBytes
		si.MessagesCount += ti.MessagesCount
	}
	return si
}

func (t *fTopic) info(withParts bool) core.TopicInfo {
	ti := core.TopicInfo{ID: t.id, Name: t.name, CreatedAt: t.created, PartitionsCount: uint32(len(t.parts)),
		MessageExpiry: t.cfg.MessageExpiry, MaxSize: t.cfg.MaxSize, ReplicationFactor: max(t.cfg.ReplicationFactor, 1)}
	for i, p := range t.parts {
		pi := core.PartitionInfo{ID: uint32(i), CreatedAt: p.created, SegmentsCount: 1, SizeBytes: p.size, MessagesCount: uint64(len(p.msgs))}
		if len(p.msgs) > 0 {
			pi.CurrentOffset = uint64(len(p.msgs) - 1)
		}
		ti.SizeBytes += p.size
		ti.MessagesCount += pi.MessagesCount
		if withParts {
			ti.Partitions = append(ti.Partitions, pi)
		}
	}
	return ti
}

func (b *fakeBroker) Stream(ctx context.Context, name string) (core.StreamInfo, error) {
	if err := b.lock(ctx); err != nil {
		return core.StreamInfo{}, err
	}
	defer b.mu.Unlock()
	s, ok := b.streams[name]
	if !ok {
		return core.StreamInfo{}, fmt.Errorf("stream %q: %w", name, core.ErrNotFound)
	}
	return s.info(), nil
}

func (b *fakeBroker) topic(stream, topic string) (*fTopic, error) {
	s, ok := b.streams[stream]
	if !ok {
		return nil, fmt.Errorf("stream %q: %w", stream, core.ErrNotFound)
	}
	t, ok := s.topics[topic]
	if !ok {
		return nil, fmt.Errorf("topic %q: %w", topic, core.ErrNotFound)
	}
	return t, nil
}

func (b *fakeBroker) CreateTopic(ctx context.Context, stream, name string, cfg core.TopicConfig) (core.TopicInfo, error) {
	if err := b.lock(ctx); err != nil {
		return core.TopicInfo{}, err
	}
	defer b.mu.Unlock()
	s, ok := b.streams[stream]
	if !ok {
		return core.TopicInfo{}, fmt.Errorf("stream %q: %w", stream, core.ErrNotFound)
	}
	if _, ok := s.topics[name]; ok {
		return core.TopicInfo{}, fmt.Errorf("topic %q: %w", name, core.ErrAlreadyExists)
	}
	if cfg.Partitions > 1000 {
		return core.TopicInfo{}, core.ErrInvalid
	}
	t := &fTopic{id: b.nextID(), name: name, created: time.Now(), cfg: cfg, groups: map[string]*fGroup{}, offsets: map[string]map[uint32]uint64{}}
	for range cfg.Partitions {
		t.parts = append(t.parts, &fPart{created: time.Now()})
	}
	s.topics[name] = t
	s.order = append(s.order, name)
	return t.info(true), nil
}

func (b *fakeBroker) Topic(ctx context.Context, stream, topic string) (core.TopicInfo, error) {
	if err := b.lock(ctx); err != nil {
		return core.TopicInfo{}, err
	}
	defer b.mu.Unlock()
	t, err := b.topic(stream, topic)
	if err != nil {
		return core.TopicInfo{}, err
	}
	return t.info(true), nil
}

func (b *fakeBroker) CreatePartitions(ctx context.Context, stream, topic string, count uint32) error {
	if err := b.lock(ctx); err != nil {
		return err
	}
	defer b.mu.Unlock()
	t, err := b.topic(stream, topic)
	if err != nil {
		return err
	}
	if count == 0 || count > 1000 {
		return core.ErrInvalid
	}
	for range count {
		t.parts = append(t.parts, &fPart{created: time.Now()})
	}
	for _, g := range t.groups {
		g.rebalance()
	}
	return nil
}

func (b *fakeBroker) Send(ctx context.Context, stream, topic string, p core.Partitioning, msgs []core.Message) error {
	if len(msgs) == 0 {
		return core.ErrInvalid
	}
	b.mu.Lock()
	if err := b.check(ctx); err != nil {
		b.mu.Unlock()
		return err
	}
	t, err := b.topic(stream, topic)
	if err != nil {
		b.mu.Unlock()
		return err
	}
	n := uint32(len(t.parts))
	if n == 0 {
		b.mu.Unlock()
		return core.ErrInvalid
	}
	var pid uint32
	switch p.Kind {
	case core.PartitionBalanced:
		pid = t.rr % n
		t.rr++
	case core.PartitionByID:
		pid = p.Partition
		if pid >= n {
			b.mu.Unlock()
			return fmt.Errorf("partition %d: %w", pid, core.ErrNotFound)
		}
	case core.PartitionByKey:
		if len(p.Key) == 0 || len(p.Key) > 255 {
			b.mu.Unlock()
			return core.ErrInvalid
		}
		pid = transport.XXH32(p.Key) % n
	default:
		b.mu.Unlock()
		return core.ErrInvalid
	}
	b.mu.Unlock()
	if g := b.sendGate.Load(); g != nil {
		if err := (*g)(ctx, topic, pid, len(msgs)); err != nil {
			return err
		}
	}
	// Copy everything: Send does not retain msgs.
	size := 0
	nh := 0
	for i := range msgs {
		size += len(msgs[i].Payload)
		nh += len(msgs[i].Headers)
		for _, h := range msgs[i].Headers {
			size += len(h.Value)
		}
	}
	arena := make([]byte, 0, size)
	hs := make(core.Headers, 0, nh)
	cp := make([]core.Message, len(msgs))
	for i := range msgs {
		m := msgs[i]
		start := len(arena)
		arena = append(arena, m.Payload...)
		m.Payload = arena[start:len(arena):len(arena)]
		hstart := len(hs)
		for _, h := range m.Headers {
			vs := len(arena)
			arena = append(arena, h.Value...)
			hs = append(hs, core.Header{Key: h.Key, Kind: h.Kind, Value: arena[vs:len(arena):len(arena)]})
		}
		m.Headers = hs[hstart:len(hs):len(hs)]
		cp[i] = m
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return err
	}
	part := t.parts[pid]
	now := time.Now().Truncate(time.Microsecond)
	if !now.After(part.lastTS) {
		now = part.lastTS.Add(time.Microsecond)
	}
	part.lastTS = now
	for i := range cp {
		cp[i].Offset = uint64(len(part.msgs))
		cp[i].Timestamp = now
		if cp[i].OriginTimestamp.IsZero() {
			cp[i].OriginTimestamp = now
		}
		part.size += uint64(64 + len(cp[i].Payload))
		part.msgs = append(part.msgs, cp[i])
	}
	b.sends.Add(1)
	return nil
}

// read returns up to count messages of part from strategy s, given the
// consumer's stored offset (-1 none).
func read(part *fPart, s core.PollStrategy, count uint32, stored int64) []core.Message {
	n := uint64(len(part.msgs))
	if n == 0 || count == 0 {
		return nil
	}
	var start uint64
	switch s.Kind {
	case core.PollOffset:
		start = s.Value
	case core.PollTimestamp:
		start = n
		for i, m := range part.msgs {
			if uint64(m.Timestamp.UnixMicro()) >= s.Value {
				start = uint64(i)
				break
			}
		}
	case core.PollFirst:
		start = 0
	case core.PollLast:
		start = n - min(uint64(count), n)
	case core.PollNext:
		start = uint64(stored + 1)
	}
	if start >= n {
		return nil
	}
	end := min(n, start+uint64(count))
	out := make([]core.Message, end-start)
	copy(out, part.msgs[start:end])
	return out
}

func (b *fakeBroker) Poll(ctx context.Context, req core.PollRequest) (core.Polled, error) {
	if err := b.lock(ctx); err != nil {
		return core.Polled{}, err
	}
	defer b.mu.Unlock()
	t, err := b.topic(req.Stream, req.Topic)
	if err != nil {
		return core.Polled{}, err
	}
	if req.Consumer.Kind != core.SingleConsumer {
		return core.Polled{}, core.ErrInvalid
	}
	if int(req.Partition) >= len(t.parts) {
		return core.Polled{}, fmt.Errorf("partition %d: %w", req.Partition, core.ErrNotFound)
	}
	part := t.parts[req.Partition]
	stored := int64(-1)
	if o, ok := t.offsets[req.Consumer.Name][req.Partition]; ok {
		stored = int64(o)
	}
	msgs := read(part, req.Strategy, req.Count, stored)
	if req.AutoCommit && len(msgs) > 0 {
		t.setOffset(req.Consumer.Name, req.Partition, msgs[len(msgs)-1].Offset)
	}
	return core.Polled{Partition: req.Partition, CurrentOffset: cur(part), Messages: msgs}, nil
}

func cur(p *fPart) uint64 {
	if len(p.msgs) == 0 {
		return 0
	}
	return uint64(len(p.msgs) - 1)
}

func (t *fTopic) setOffset(name string, p uint32, o uint64) {
	m := t.offsets[name]
	if m == nil {
		m = map[uint32]uint64{}
		t.offsets[name] = m
	}
	m[p] = o
}

func (b *fakeBroker) StoreOffset(ctx context.Context, c core.Consumer, stream, topic string, partition uint32, offset uint64) error {
	if err := b.lock(ctx); err != nil {
		return err
	}
	defer b.mu.Unlock()
	t, err := b.topic(stream, topic)
	if err != nil {
		return err
	}
	if int(partition) >= len(t.parts) {
		return core.ErrNotFound
	}
	p := t.parts[partition]
	if len(p.msgs) == 0 || offset > cur(p) {
		return core.ErrInvalid
	}
	if c.Kind == core.GroupConsumer {
		return fmt.Errorf("fake: group offsets are stored through a member: %w", core.ErrNotMember)
	}
	t.setOffset(c.Name, partition, offset)
	return nil
}

func (b *fakeBroker) Offset(ctx context.Context, c core.Consumer, stream, topic string, partition uint32) (core.OffsetInfo, error) {
	if err := b.lock(ctx); err != nil {
		return core.OffsetInfo{}, err
	}
	defer b.mu.Unlock()
	t, err := b.topic(stream, topic)
	if err != nil {
		return core.OffsetInfo{}, err
	}
	if int(partition) >= len(t.parts) {
		return core.OffsetInfo{}, core.ErrNotFound
	}
	var o uint64
	var ok bool
	if c.Kind == core.GroupConsumer {
		g := t.groups[c.Name]
		if g == nil {
			return core.OffsetInfo{}, core.ErrNotFound
		}
		o, ok = g.offsets[partition]
	} else {
		o, ok = t.offsets[c.Name][partition]
	}
	if !ok {
		return core.OffsetInfo{}, core.ErrNotFound
	}
	return core.OffsetInfo{Partition: partition, CurrentOffset: cur(t.parts[partition]), StoredOffset: o}, nil
}

func (b *fakeBroker) CreateGroup(ctx context.Context, stream, topic, group string) (core.GroupInfo, error) {
	if err := b.lock(ctx); err != nil {
		return core.GroupInfo{}, err
	}
	defer b.mu.Unlock()
	t, err := b.topic(stream, topic)
	if err != nil {
		return core.GroupInfo{}, err
	}
	if _, ok := t.groups[group]; ok {
		return core.GroupInfo{}, core.ErrAlreadyExists
	}
	g := &fGroup{id: b.nextID(), name: group, t: t, offsets: map[uint32]uint64{},
		pending: map[uint32]*fMember{}, lastPolled: map[uint32]uint64{}}
	t.groups[group] = g
	return g.info(), nil
}

func (g *fGroup) info() core.GroupInfo {
	gi := core.GroupInfo{ID: g.id, Name: g.name, PartitionsCount: uint32(len(g.t.parts))}
	for _, m := range g.members {
		gi.Members = append(gi.Members, core.GroupMemberInfo{ID: m.id, Partitions: slices.Clone(m.assigned)})
	}
	return gi
}

// join adds m cooperatively (see fakeBroker.cooperative).
func (g *fGroup) join(m *fMember) {
	g.members = append(g.members, m)
	if len(g.members) == 1 {
		g.rebalance()
		return
	}
	var donor *fMember
	effective := func(x *fMember) int {
		n := 0
		for _, p := range x.assigned {
			if g.pending[p] == nil {
				n++
			}
		}
		return n
	}
	for _, x := range g.members[:len(g.members)-1] {
		if donor == nil || effective(x) > effective(donor) {
			donor = x
		}
	}
	if effective(donor) > 1 {
		for i := len(donor.assigned) - 1; i >= 0; i-- {
			if p := donor.assigned[i]; g.pending[p] == nil {
				g.pending[p] = m
				break
			}
		}
	}
	g.completeRevocations()
}

// completeRevocations hands over each pending partition that was never
// polled or whose last polled offset is stored.
func (g *fGroup) completeRevocations() {
	for p, to := range g.pending {
		if last, polled := g.lastPolled[p]; polled {
			if stored, ok := g.offsets[p]; !ok || stored < last {
				continue
			}
		}
		delete(g.pending, p)
		for _, x := range g.members {
			x.assigned = slices.DeleteFunc(x.assigned, func(q uint32) bool { return q == p })
		}
		to.assigned = append(to.assigned, p)
		slices.Sort(to.assigned)
	}
}

func (g *fGroup) rebalance() {
	clear(g.pending)
	for _, m := range g.members {
		m.assigned = m.assigned[:0]
		m.rr = 0
	}
	if len(g.members) == 0 {
		return
	}
	for i := range g.t.parts {
		m := g.members[i%len(g.members)]
		m.assigned = append(m.assigned, uint32(i))
	}
}

func (b *fakeBroker) Group(ctx context.Context, stream, topic, group string) (core.GroupInfo, error) {
	if err := b.lock(ctx); err != nil {
		return core.GroupInfo{}, err
	}
	defer b.mu.Unlock()
	t, err := b.topic(stream, topic)
	if err != nil {
		return core.GroupInfo{}, err
	}
	g, ok := t.groups[group]
	if !ok {
		return core.GroupInfo{}, core.ErrNotFound
	}
	return g.info(), nil
}

func (b *fakeBroker) JoinGroup(ctx context.Context, stream, topic, group string) (core.GroupMember, error) {
	if err := b.lock(ctx); err != nil {
		return nil, err
	}
	defer b.mu.Unlock()
	t, err := b.topic(stream, topic)
	if err != nil {
		return nil, err
	}
	g, ok := t.groups[group]
	if !ok {
		return nil, core.ErrNotFound
	}
	m := &fMember{b: b, id: b.nextID(), g: g}
	if b.cooperative {
		g.join(m)
		return m, nil
	}
	g.members = append(g.members, m)
	g.rebalance()
	return m, nil
}

func (b *fakeBroker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}

func (m *fMember) Poll(ctx context.Context, req core.GroupPoll) (core.Polled, error) {
	b := m.b
	if h := b.pollHook.Load(); h != nil && req.Partition != nil {
		defer (*h)(*req.Partition)
	}
	if err := b.lock(ctx); err != nil {
		return core.Polled{}, err
	}
	defer b.mu.Unlock()
	if m.left {
		return core.Polled{}, core.ErrClosed
	}
	var p uint32
	if req.Partition != nil {
		p = *req.Partition
		if !slices.Contains(m.assigned, p) {
			return core.Polled{}, nil
		}
	} else {
		own := slices.DeleteFunc(slices.Clone(m.assigned), func(q uint32) bool { return m.g.pending[q] != nil })
		if len(own) == 0 {
			return core.Polled{}, nil
		}
		p = own[m.rr%len(own)]
		m.rr++
	}
	part := m.g.t.parts[p]
	stored := int64(-1)
	if o, ok := m.g.offsets[p]; ok {
		stored = int64(o)
	}
	msgs := read(part, req.Strategy, req.Count, stored)
	if len(msgs) > 0 {
		m.g.lastPolled[p] = msgs[len(msgs)-1].Offset
	}
	if req.AutoCommit && len(msgs) > 0 {
		m.g.offsets[p] = msgs[len(msgs)-1].Offset
	}
	m.g.completeRevocations()
	return core.Polled{Partition: p, CurrentOffset: cur(part), Messages: msgs}, nil
}

func (m *fMember) StoreOffset(ctx context.Context, partition uint32, offset uint64) error {
	b := m.b
	if err := b.lock(ctx); err != nil {
		return err
	}
	defer b.mu.Unlock()
	if m.left {
		return core.ErrClosed
	}
	if !slices.Contains(m.assigned, partition) {
		return fmt.Errorf("fake: partition %d not assigned to member %d: %w", partition, m.id, core.ErrInvalid)
	}
	part := m.g.t.parts[partition]
	if len(part.msgs) == 0 || offset > cur(part) {
		return core.ErrInvalid
	}
	m.g.offsets[partition] = offset
	m.g.completeRevocations()
	return nil
}

func (m *fMember) Leave(ctx context.Context) error {
	b := m.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if m.left {
		return nil
	}
	m.left = true
	m.g.members = slices.DeleteFunc(m.g.members, func(x *fMember) bool { return x == m })
	m.g.rebalance()
	return nil
}
