package connectortest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"hash/fnv"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/core"
)

// memBroker is a small in-memory model of an Iggy 0.8.0 broker, used only
// to check that the suite itself passes on a correct broker and fails on
// broken ones.
type memState struct {
	mu      sync.Mutex
	streams map[string]*memStream
	nextID  uint32
	// faults injected by the self-tests
	wrongKeyHash bool
	dupOnSend    bool
	nextRereads  bool
	dropHeaders  bool
	claimsLong   bool // claims core.LongPoller but ignores MaxWait
	fullJoin     bool // a join rebalances the whole group (not Iggy's hand-over)
}

// LongPoll implements core.LongPoller: the model never waits, and says so
// unless the claimsLong fault is set.
func (c *memConn) LongPoll() bool { return c.st.claimsLong }

type memStream struct {
	id      uint32
	created time.Time
	topics  map[string]*memTopic
	nextID  uint32
}

type memTopic struct {
	info   core.TopicInfo
	parts  []*memPartition
	rr     uint32
	groups map[string]*memGroup
	nextG  uint32
}

type memPartition struct {
	id      uint32
	created time.Time
	msgs    []core.Message
	offsets map[string]uint64
}

type memGroup struct {
	id      uint32
	name    string
	members []*memMember
	offsets map[uint32]uint64
	nextM   uint32
	// polled is the offset of the last message a member's poll returned,
	// per partition (Iggy's last polled marker).
	polled map[uint32]uint64
}

type memMember struct {
	conn  *memConn
	t     *memTopic
	g     *memGroup
	id    uint32
	parts []uint32
	// revoking maps a partition being handed over to the member it goes to.
	revoking map[uint32]*memMember
	rr       int
	left     bool
}

type memConn struct {
	st      *memState
	closed  bool
	members []*memMember
}

var _ core.Broker = (*memConn)(nil)

func (c *memConn) lock() error {
	c.st.mu.Lock()
	if c.closed {
		c.st.mu.Unlock()
		return core.ErrClosed
	}
	return nil
}

func (c *memConn) Ping(ctx context.Context) (time.Duration, error) {
	if err := c.lock(); err != nil {
		return 0, err
	}
	defer c.st.mu.Unlock()
	return time.Microsecond, nil
}

func (c *memConn) CreateStream(ctx context.Context, name string) (core.StreamInfo, error) {
	if err := c.lock(); err != nil {
		return core.StreamInfo{}, err
	}
	defer c.st.mu.Unlock()
	if name == "" || len(name) > 255 {
		return core.StreamInfo{}, core.ErrInvalid
	}
	if _, ok := c.st.streams[name]; ok {
		return core.StreamInfo{}, core.ErrAlreadyExists
	}
	s := &memStream{id: c.st.nextID, created: time.Now(), topics: map[string]*memTopic{}}
	c.st.nextID++
	c.st.streams[name] = s
	return core.StreamInfo{ID: s.id, Name: name, CreatedAt: s.created}, nil
}

func (c *memConn) Stream(ctx context.Context, name string) (core.StreamInfo, error) {
	if err := c.lock(); err != nil {
		return core.StreamInfo{}, err
	}
	defer c.st.mu.Unlock()
	s, ok := c.st.streams[name]
	if !ok {
		return core.StreamInfo{}, core.ErrNotFound
	}
	info := core.StreamInfo{ID: s.id, Name: name, CreatedAt: s.created}
	for _, t := range s.topics {
		ti := c.topicInfo(t)
		ti.Partitions = nil
		info.Topics = append(info.Topics, ti)
		info.MessagesCount += ti.MessagesCount
	}
	return info, nil
}

func (c *memConn) topicInfo(t *memTopic) core.TopicInfo {
	info := t.info
	info.PartitionsCount = uint32(len(t.parts))
	info.Partitions = []core.PartitionInfo{}
	info.MessagesCount = 0
	for _, p := range t.parts {
		pi := core.PartitionInfo{ID: p.id, CreatedAt: p.created, MessagesCount: uint64(len(p.msgs))}
		if len(p.msgs) > 0 {
			pi.CurrentOffset = uint64(len(p.msgs) - 1)
		}
		info.MessagesCount += pi.MessagesCount
		info.Partitions = append(info.Partitions, pi)
	}
	return info
}

func (c *memConn) topic(stream, topic string) (*memTopic, error) {
	s, ok := c.st.streams[stream]
	if !ok {
		return nil, fmt.Errorf("stream %q: %w", stream, core.ErrNotFound)
	}
	t, ok := s.topics[topic]
	if !ok {
		return nil, fmt.Errorf("topic %q: %w", topic, core.ErrNotFound)
	}
	return t, nil
}

func (c *memConn) CreateTopic(ctx context.Context, stream, name string, cfg core.TopicConfig) (core.TopicInfo, error) {
	if err := c.lock(); err != nil {
		return core.TopicInfo{}, err
	}
	defer c.st.mu.Unlock()
	s, ok := c.st.streams[stream]
	if !ok {
		return core.TopicInfo{}, core.ErrNotFound
	}
	if cfg.Partitions > 1000 || (cfg.MaxSize != 0 && cfg.MaxSize < 1<<30) {
		return core.TopicInfo{}, core.ErrInvalid
	}
	if _, ok := s.topics[name]; ok {
		return core.TopicInfo{}, core.ErrAlreadyExists
	}
	rf := cfg.ReplicationFactor
	if rf == 0 {
		rf = 1
	}
	t := &memTopic{info: core.TopicInfo{ID: s.nextID, Name: name, CreatedAt: time.Now(), MessageExpiry: cfg.MessageExpiry,
		MaxSize: cfg.MaxSize, ReplicationFactor: rf}, groups: map[string]*memGroup{}}
	s.nextID++
	t.addPartitions(cfg.Partitions)
	s.topics[name] = t
	return c.topicInfo(t), nil
}

func (t *memTopic) addPartitions(n uint32) {
	for range n {
		t.parts = append(t.parts, &memPartition{id: uint32(len(t.parts)), created: time.Now(), offsets: map[string]uint64{}})
	}
	for _, g := range t.groups {
		g.rebalance(t)
		clear(g.polled)
	}
}

// rebalance is the full rebalance (leave, partitions added); it clears
// the hand-overs (the caller clears polled markers).
func (g *memGroup) rebalance(t *memTopic) {
	for _, m := range g.members {
		m.parts, m.revoking = nil, nil
	}
	if len(g.members) == 0 {
		return
	}
	for i := range t.parts {
		m := g.members[i%len(g.members)]
		m.parts = append(m.parts, uint32(i))
	}
}

func (c *memConn) Topic(ctx context.Context, stream, topic string) (core.TopicInfo, error) {
	if err := c.lock(); err != nil {
		return core.TopicInfo{}, err
	}
	defer c.st.mu.Unlock()
	t, err := c.topic(stream, topic)
	if err != nil {
		return core.TopicInfo{}, err
	}
	return c.topicInfo(t), nil
}

func (c *memConn) CreatePartitions(ctx context.Context, stream, topic string, count uint32) error {
	if err := c.lock(); err != nil {
		return err
	}
	defer c.st.mu.Unlock()
	t, err := c.topic(stream, topic)
	if err != nil {
		return err
	}
	if count == 0 || count > 1000 {
		return core.ErrInvalid
	}
	t.addPartitions(count)
	return nil
}

func (c *memConn) Send(ctx context.Context, stream, topic string, p core.Partitioning, msgs []core.Message) error {
	if err := c.lock(); err != nil {
		return err
	}
	defer c.st.mu.Unlock()
	t, err := c.topic(stream, topic)
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		return core.ErrInvalid
	}
	var part *memPartition
	switch p.Kind {
	case core.PartitionBalanced:
		if len(t.parts) == 0 {
			return core.ErrNotFound
		}
		part = t.parts[t.rr%uint32(len(t.parts))]
		t.rr++
	case core.PartitionByID:
		if p.Partition >= uint32(len(t.parts)) {
			return core.ErrNotFound
		}
		part = t.parts[p.Partition]
	case core.PartitionByKey:
		if len(t.parts) == 0 || len(p.Key) == 0 {
			return core.ErrInvalid
		}
		h := iggyproto.KeyHash(p.Key)
		if c.st.wrongKeyHash {
			h = fnv32(p.Key)
		}
		part = t.parts[h%uint32(len(t.parts))]
	default:
		return core.ErrInvalid
	}
	now := time.Now().Truncate(time.Microsecond)
	for _, m := range msgs {
		m.Offset = uint64(len(part.msgs))
		m.Timestamp = now
		if m.OriginTimestamp.IsZero() {
			m.OriginTimestamp = now
		}
		if m.ID == ([16]byte{}) {
			_, _ = rand.Read(m.ID[:])
		}
		m.Payload = slices.Clone(m.Payload)
		m.Headers = slices.Clone(m.Headers)
		if c.st.dropHeaders {
			m.Headers = nil
		}
		m.Checksum = uint64(fnv32(m.Payload)) | 1
		part.msgs = append(part.msgs, m)
		if c.st.dupOnSend {
			m.Offset++
			part.msgs = append(part.msgs, m)
		}
	}
	return nil
}

func fnv32(b []byte) uint32 {
	h := fnv.New32a()
	_, _ = h.Write(b)
	return h.Sum32()
}

// read applies a strategy to a partition; stored is the consumer's
// offset, if any.
func read(p *memPartition, s core.PollStrategy, count uint32, stored *uint64, rereads bool) []core.Message {
	n := uint64(len(p.msgs))
	var start uint64
	switch s.Kind {
	case core.PollOffset:
		start = s.Value
	case core.PollTimestamp:
		start = n
		for i, m := range p.msgs {
			if uint64(m.Timestamp.UnixMicro()) >= s.Value {
				start = uint64(i)
				break
			}
		}
	case core.PollFirst:
	case core.PollLast:
		start = n - min(uint64(count), n)
	case core.PollNext:
		if stored != nil {
			start = *stored + 1
			if rereads {
				start--
			}
		}
	}
	if start >= n {
		return nil
	}
	end := min(n, start+uint64(count))
	return slices.Clone(p.msgs[start:end])
}

func (c *memConn) Poll(ctx context.Context, req core.PollRequest) (core.Polled, error) {
	if err := c.lock(); err != nil {
		return core.Polled{}, err
	}
	defer c.st.mu.Unlock()
	t, err := c.topic(req.Stream, req.Topic)
	if err != nil {
		return core.Polled{}, err
	}
	if req.Partition >= uint32(len(t.parts)) {
		return core.Polled{}, core.ErrNotFound
	}
	p := t.parts[req.Partition]
	var stored *uint64
	if o, ok := p.offsets[req.Consumer.Name]; ok {
		stored = &o
	}
	out := core.Polled{Partition: p.id, Messages: read(p, req.Strategy, req.Count, stored, c.st.nextRereads)}
	if len(p.msgs) > 0 {
		out.CurrentOffset = uint64(len(p.msgs) - 1)
	}
	if req.AutoCommit && len(out.Messages) > 0 {
		p.offsets[req.Consumer.Name] = out.Messages[len(out.Messages)-1].Offset
	}
	return out, nil
}

func (c *memConn) StoreOffset(ctx context.Context, cons core.Consumer, stream, topic string, partition uint32, offset uint64) error {
	if err := c.lock(); err != nil {
		return err
	}
	defer c.st.mu.Unlock()
	t, err := c.topic(stream, topic)
	if err != nil {
		return err
	}
	if cons.Kind == core.GroupConsumer {
		return core.ErrNotMember
	}
	if partition >= uint32(len(t.parts)) {
		return core.ErrNotFound
	}
	p := t.parts[partition]
	if len(p.msgs) == 0 || offset >= uint64(len(p.msgs)) {
		return core.ErrInvalid
	}
	p.offsets[cons.Name] = offset
	return nil
}

func (c *memConn) Offset(ctx context.Context, cons core.Consumer, stream, topic string, partition uint32) (core.OffsetInfo, error) {
	if err := c.lock(); err != nil {
		return core.OffsetInfo{}, err
	}
	defer c.st.mu.Unlock()
	t, err := c.topic(stream, topic)
	if err != nil {
		return core.OffsetInfo{}, err
	}
	if partition >= uint32(len(t.parts)) {
		return core.OffsetInfo{}, core.ErrNotFound
	}
	p := t.parts[partition]
	var o uint64
	var ok bool
	if cons.Kind == core.GroupConsumer {
		g, found := t.groups[cons.Name]
		if !found {
			return core.OffsetInfo{}, core.ErrNotFound
		}
		o, ok = g.offsets[partition]
	} else {
		o, ok = p.offsets[cons.Name]
	}
	if !ok {
		return core.OffsetInfo{}, core.ErrNotFound
	}
	return core.OffsetInfo{Partition: partition, CurrentOffset: uint64(len(p.msgs) - 1), StoredOffset: o}, nil
}

func (c *memConn) CreateGroup(ctx context.Context, stream, topic, group string) (core.GroupInfo, error) {
	if err := c.lock(); err != nil {
		return core.GroupInfo{}, err
	}
	defer c.st.mu.Unlock()
	t, err := c.topic(stream, topic)
	if err != nil {
		return core.GroupInfo{}, err
	}
	if _, ok := t.groups[group]; ok {
		return core.GroupInfo{}, core.ErrAlreadyExists
	}
	g := &memGroup{id: t.nextG, name: group, offsets: map[uint32]uint64{}}
	t.nextG++
	t.groups[group] = g
	return groupInfo(t, g), nil
}

func groupInfo(t *memTopic, g *memGroup) core.GroupInfo {
	info := core.GroupInfo{ID: g.id, Name: g.name, PartitionsCount: uint32(len(t.parts))}
	for _, m := range g.members {
		info.Members = append(info.Members, core.GroupMemberInfo{ID: m.id, Partitions: slices.Clone(m.parts)})
	}
	return info
}

func (c *memConn) Group(ctx context.Context, stream, topic, group string) (core.GroupInfo, error) {
	if err := c.lock(); err != nil {
		return core.GroupInfo{}, err
	}
	defer c.st.mu.Unlock()
	t, err := c.topic(stream, topic)
	if err != nil {
		return core.GroupInfo{}, err
	}
	g, ok := t.groups[group]
	if !ok {
		return core.GroupInfo{}, core.ErrNotFound
	}
	return groupInfo(t, g), nil
}

func (c *memConn) JoinGroup(ctx context.Context, stream, topic, group string) (core.GroupMember, error) {
	if err := c.lock(); err != nil {
		return nil, err
	}
	defer c.st.mu.Unlock()
	t, err := c.topic(stream, topic)
	if err != nil {
		return nil, err
	}
	g, ok := t.groups[group]
	if !ok {
		return nil, core.ErrNotFound
	}
	m := &memMember{conn: c, t: t, g: g, id: g.nextM}
	g.nextM++
	g.members = append(g.members, m)
	if c.st.fullJoin {
		g.rebalance(t)
	} else {
		g.join(t, m)
	}
	c.members = append(c.members, m)
	return m, nil
}

// join hands m partitions as Iggy 0.8.0 does (a model of it, for a
// partition count the suite uses): all of them to the first member, else
// the last unrevoked partition of the first member over its fair share,
// moved at once if its last poll is committed or it was never polled.
func (g *memGroup) join(t *memTopic, m *memMember) {
	if len(g.members) == 1 {
		for i := range t.parts {
			m.parts = append(m.parts, uint32(i))
		}
		return
	}
	fair, extra := len(t.parts)/len(g.members), len(t.parts)%len(g.members)
	for _, o := range g.members {
		kept := o.kept()
		allowed := fair
		if extra > 0 {
			allowed++
		}
		if len(kept) > fair && extra > 0 {
			extra--
		}
		if len(kept) <= allowed {
			continue
		}
		p := kept[len(kept)-1]
		if o.revoking == nil {
			o.revoking = map[uint32]*memMember{}
		}
		o.revoking[p] = m
		o.completeLocked(p)
		return
	}
}

// kept returns the partitions m is not handing over.
func (m *memMember) kept() []uint32 {
	return slices.DeleteFunc(slices.Clone(m.parts), func(p uint32) bool { return m.revoking[p] != nil })
}

// completeLocked moves p to its new owner if the group committed its last
// poll there.
func (m *memMember) completeLocked(p uint32) {
	to := m.revoking[p]
	if to == nil {
		return
	}
	if polled, ok := m.g.polled[p]; ok {
		if c, ok := m.g.offsets[p]; !ok || c < polled {
			return
		}
	}
	delete(m.revoking, p)
	m.parts = slices.DeleteFunc(m.parts, func(q uint32) bool { return q == p })
	to.parts = append(to.parts, p)
}

func (c *memConn) Close() error {
	c.st.mu.Lock()
	defer c.st.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	for _, m := range c.members {
		m.leaveLocked()
	}
	return nil
}

func (m *memMember) leaveLocked() {
	if m.left {
		return
	}
	m.left = true
	m.g.members = slices.DeleteFunc(m.g.members, func(x *memMember) bool { return x == m })
	for _, p := range m.parts {
		delete(m.g.polled, p)
	}
	m.g.rebalance(m.t)
}

func (m *memMember) lock() error {
	m.conn.st.mu.Lock()
	if m.left || m.conn.closed {
		m.conn.st.mu.Unlock()
		return core.ErrClosed
	}
	return nil
}

func (m *memMember) Poll(ctx context.Context, req core.GroupPoll) (core.Polled, error) {
	if err := m.lock(); err != nil {
		return core.Polled{}, err
	}
	defer m.conn.st.mu.Unlock()
	var pid uint32
	switch {
	case req.Partition != nil:
		pid = *req.Partition
		if pid >= uint32(len(m.t.parts)) {
			return core.Polled{}, core.ErrNotFound
		}
		if !slices.Contains(m.parts, pid) {
			return core.Polled{}, nil
		}
	case len(m.kept()) == 0:
		return core.Polled{}, nil
	default:
		kept := m.kept()
		pid = kept[m.rr%len(kept)]
		m.rr = (m.rr + 1) % len(kept)
	}
	p := m.t.parts[pid]
	var stored *uint64
	if o, ok := m.g.offsets[pid]; ok {
		stored = &o
	}
	out := core.Polled{Partition: pid, Messages: read(p, req.Strategy, req.Count, stored, m.conn.st.nextRereads)}
	if len(p.msgs) > 0 {
		out.CurrentOffset = uint64(len(p.msgs) - 1)
	}
	if len(out.Messages) > 0 {
		last := out.Messages[len(out.Messages)-1].Offset
		if req.AutoCommit {
			m.g.offsets[pid] = last
			m.completeLocked(pid)
		}
		if m.g.polled == nil {
			m.g.polled = map[uint32]uint64{}
		}
		m.g.polled[pid] = last
	}
	return out, nil
}

func (m *memMember) StoreOffset(ctx context.Context, partition uint32, offset uint64) error {
	if err := m.lock(); err != nil {
		return err
	}
	defer m.conn.st.mu.Unlock()
	if partition >= uint32(len(m.t.parts)) {
		return core.ErrNotFound
	}
	if !slices.Contains(m.parts, partition) {
		return core.ErrNotMember
	}
	if offset >= uint64(len(m.t.parts[partition].msgs)) {
		return core.ErrInvalid
	}
	m.g.offsets[partition] = offset
	m.completeLocked(partition)
	return nil
}

func (m *memMember) Leave(ctx context.Context) error {
	m.conn.st.mu.Lock()
	defer m.conn.st.mu.Unlock()
	m.leaveLocked()
	return nil
}

func newMemFactory(st *memState) func(t *testing.T) core.Broker {
	return func(t *testing.T) core.Broker {
		c := &memConn{st: st}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
}

func newMemState() *memState { return &memState{streams: map[string]*memStream{}} }

// TestSuiteOnModel runs the suite against the in-memory model: a correct
// broker passes it.
func TestSuiteOnModel(t *testing.T) {
	Run(t, newMemFactory(newMemState()), Features{NotMemberOnUnownedPartition: true, SharedBroker: true, LargeBatch: 2000})
}

// faults are broken variants of the model, each of which a subtest must
// reject.
var faults = map[string]struct {
	fault func(*memState)
	fn    func(s *suite) func(*testing.T, core.Broker)
}{
	"wrong-key-hash":  {func(st *memState) { st.wrongKeyHash = true }, func(s *suite) func(*testing.T, core.Broker) { return s.sendByKey }},
	"duplicates":      {func(st *memState) { st.dupOnSend = true }, func(s *suite) func(*testing.T, core.Broker) { return s.concurrentSenders }},
	"next-rereads":    {func(st *memState) { st.nextRereads = true }, func(s *suite) func(*testing.T, core.Broker) { return s.autoCommit }},
	"drops-headers":   {func(st *memState) { st.dropHeaders = true }, func(s *suite) func(*testing.T, core.Broker) { return s.headers }},
	"false-long-poll": {func(st *memState) { st.claimsLong = true }, func(s *suite) func(*testing.T, core.Broker) { return s.longPoll }},
	"full-join":       {func(st *memState) { st.fullJoin = true }, func(s *suite) func(*testing.T, core.Broker) { return s.groups }},
	"full-join-8":     {func(st *memState) { st.fullJoin = true }, func(s *suite) func(*testing.T, core.Broker) { return s.joinTakesOne }},
}

// TestSuiteCatchesFaults runs single subtests against broken models, each
// in a child process (a failure is the expected outcome), and expects them
// to fail.
func TestSuiteCatchesFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for name := range faults {
		t.Run(name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestFaultyModel$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), "CONNECTORTEST_FAULT="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a broker with fault %q:\n%s", name, out)
			}
			if !bytes.Contains(out, []byte("--- FAIL: TestFaultyModel")) {
				t.Fatalf("child failed for another reason: %v\n%s", err, out)
			}
		})
	}
}

// TestFaultyModel runs one subtest on a broken model; only
// TestSuiteCatchesFaults starts it.
func TestFaultyModel(t *testing.T) {
	name := os.Getenv("CONNECTORTEST_FAULT")
	if name == "" {
		t.Skip("run by TestSuiteCatchesFaults")
	}
	f, ok := faults[name]
	if !ok {
		t.Fatalf("unknown fault %q", name)
	}
	st := newMemState()
	f.fault(st)
	s := &suite{newBroker: newMemFactory(st), f: Features{Timeout: 10 * time.Second, LargeBatch: 10}}
	f.fn(s)(t, s.newBroker(t))
}
