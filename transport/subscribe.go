package transport

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustok/rustok-iggy/core"
	"go.opentelemetry.io/otel/trace"
)

// ErrHandlerPanic wraps the value of a handler panic, which counts as a
// handler error (retried, then dead-lettered).
var ErrHandlerPanic = errors.New("handler panicked")

// Delivery is one event handed to a Handler.
type Delivery struct {
	// Envelope is the decoded event.
	Envelope core.Envelope
	// Message is the Iggy message as read: id, offset, timestamps, headers
	// and the encoded payload. Handlers must not modify it.
	Message core.Message
	// Topic and Partition say where the message was read.
	Topic     string
	Partition uint32
	// Group is the consumer group ("" in a replay).
	Group string
	// Attempt counts the handler calls for this event, from 1 (0 in a
	// replay).
	Attempt int
	// Worker is the index (from 0, below SubscribeOptions.Concurrency) of
	// the subscription's worker on Topic that handles the event (0 in a
	// replay).
	Worker int
	// DecodeErr is set only in a replay, when the payload could not be
	// decoded; Envelope is then zero.
	DecodeErr error
}

// Handler handles one event of a subscription.
//
// It is called serially for the events of one partition, in offset order
// (so in order for each tenant), never for two events of one partition at
// once; different partitions are handled concurrently, by up to
// SubscribeOptions.Concurrency workers per topic.
// It may block; it should return when ctx ends (ctx ends when Stop's
// deadline passes). A nil result marks the event done: its offset is then
// stored. An error (or a panic, see ErrHandlerPanic) means: call again
// after an exponential backoff with jitter, up to consumer.max_attempts
// calls in all, then send the event to the DLQ and go on. A handler must
// therefore be idempotent: an event can be delivered more than once.
type Handler func(ctx context.Context, d Delivery) error

// SubscribeOptions tunes one subscription.
type SubscribeOptions struct {
	// Concurrency is the number of workers per topic: goroutines that
	// handle polled batches, one batch at a time. The subscription joins
	// the group once per topic (one member, one broker session) and hands
	// each batch of that member's partitions to an idle worker given the
	// fewest events so far (any worker given the fewest when none is
	// idle, or when every idle one is more than four batches ahead of it),
	// so the workers share the events evenly
	// whatever the broker assigned, while one partition's batches are
	// handled one after the other. 0 means min(partitions of the topic, 4).
	Concurrency int
	// IncludeSystem also subscribes the group to the system topic.
	IncludeSystem bool
	// StartFrom overrides consumer.start_from ("earliest" or "latest") for
	// partitions on which the group has no stored offset.
	StartFrom string
	// MaxAttempts overrides consumer.max_attempts when > 0.
	MaxAttempts int
	// OnError, if set, receives errors the subscription recovers from
	// (failed polls, offset stores, DLQ sends). It is called from member
	// goroutines, possibly concurrently, and must not block.
	OnError func(error)
}

// Subscription is a running consumer-group subscription. Its methods are
// safe for concurrent use.
type Subscription struct {
	t           *Transport
	group       string
	handler     Handler
	opts        SubscribeOptions
	maxAttempts int
	topics      []string

	ctx      context.Context // polling lifetime; cancelled by Stop
	cancel   context.CancelFunc
	hctx     context.Context // handler lifetime; cancelled when Stop's ctx ends
	hcancel  context.CancelFunc
	draining atomic.Bool

	mu    sync.Mutex
	parts map[partKey]*partState

	processed, failed, retried, deadLettered, decodeErrors atomic.Uint64

	runs []*topicRun // one per topic, set before the goroutines start

	wg       sync.WaitGroup
	done     chan struct{}
	errMu    sync.Mutex
	err      error
	stopOnce sync.Once
}

type partKey struct {
	topic     string
	partition uint32
}

// partState is this process's view of one partition of the group. mu is
// held by the worker processing a batch of the partition; the dispatcher
// gives a partition no second turn before the first finished, so mu is
// never contended, and guards the counters if a batch were ever handed
// out twice.
type partState struct {
	mu sync.Mutex
	// handled is the last offset handled (or dead-lettered) here, -1 for
	// none; stored the last offset known stored for the group, -1 for
	// none. Both are written only with mu held and read atomically.
	handled atomic.Int64
	stored  atomic.Int64
	lag     atomic.Uint64
	current atomic.Uint64
}

// Subscribe joins group on the domain topic (and the system topic with
// IncludeSystem), creating the group if it does not exist, and starts
// handling events. See Handler for the calling contract.
//
// The subscription is one group member per topic (one broker session):
// several processes subscribing with the same group share the topic's
// partitions as the broker assigns them. It polls its partitions and
// spreads the batches over SubscribeOptions.Concurrency workers (see
// there). A partition is polled again only after its previous batch was
// handled and its offset stored, so a broker's hand-over of the partition
// to another process (Iggy 0.8.0 completes one once the offset polled has
// been stored) sees every event handled here as done.
//
// Delivery is at least once: a partition's offset is stored (after each
// polled batch, and before a retry's backoff) only up to events whose
// handler succeeded or that went to the DLQ, never past one that has not.
// After a crash or a rebalance between processes, events after the stored
// offset are delivered again. Within this process, one partition is never
// handled concurrently and an event already handled here is never handled
// again.
func (t *Transport) Subscribe(ctx context.Context, group string, h Handler, opts SubscribeOptions) (*Subscription, error) {
	if t.closed.Load() {
		return nil, fmt.Errorf("subscribe %q: %w", group, core.ErrClosed)
	}
	if !t.started.Load() {
		return nil, fmt.Errorf("subscribe %q: %w", group, ErrNotStarted)
	}
	if group == "" || h == nil {
		return nil, fmt.Errorf("%w: subscribe: group name and handler are required", core.ErrInvalid)
	}
	start := opts.StartFrom
	if start == "" {
		start = t.cfg.Consumer.StartFrom
	}
	if start != StartEarliest && start != StartLatest {
		return nil, fmt.Errorf("%w: subscribe %q: start_from %q", core.ErrInvalid, group, start)
	}
	s := &Subscription{
		t:           t,
		group:       group,
		handler:     h,
		opts:        opts,
		maxAttempts: t.cfg.Consumer.MaxAttempts,
		topics:      []string{TopicDomain},
		parts:       map[partKey]*partState{},
		done:        make(chan struct{}),
	}
	if opts.MaxAttempts > 0 {
		s.maxAttempts = opts.MaxAttempts
	}
	if opts.IncludeSystem {
		s.topics = append(s.topics, TopicSystem)
	}
	stream := t.cfg.Topology.StreamName
	var runs []*topicRun
	leaveAll := func() {
		for _, r := range runs {
			_ = r.member.Leave(context.WithoutCancel(ctx))
		}
	}
	for _, topic := range s.topics {
		if _, err := t.broker.CreateGroup(ctx, stream, topic, group); err != nil && !errors.Is(err, core.ErrAlreadyExists) {
			leaveAll()
			return nil, fmt.Errorf("subscribe %q: create group on %s: %w", group, topic, err)
		}
		info, err := t.broker.Topic(ctx, stream, topic)
		if err != nil {
			leaveAll()
			return nil, fmt.Errorf("subscribe %q: topic %s: %w", group, topic, err)
		}
		for _, p := range info.Partitions {
			ps := newPartState()
			ps.current.Store(p.CurrentOffset)
			off, err := t.broker.Offset(ctx, core.Consumer{Kind: core.GroupConsumer, Name: group}, stream, topic, p.ID)
			switch {
			case err == nil:
				ps.stored.Store(int64(off.StoredOffset))
				ps.handled.Store(int64(off.StoredOffset))
			case errors.Is(err, core.ErrNotFound):
				if start == StartLatest && p.MessagesCount > 0 {
					ps.handled.Store(int64(p.CurrentOffset)) // skip what is there now; stored on first poll
				}
			default:
				leaveAll()
				return nil, fmt.Errorf("subscribe %q: offset of %s/%d: %w", group, topic, p.ID, err)
			}
			s.parts[partKey{topic, p.ID}] = ps
		}
		n := opts.Concurrency
		if n <= 0 {
			n = int(min(max(info.PartitionsCount, 1), 4))
		}
		m, err := t.broker.JoinGroup(ctx, stream, topic, group)
		if err != nil {
			leaveAll()
			return nil, fmt.Errorf("subscribe %q: join group on %s: %w", group, topic, err)
		}
		runs = append(runs, newTopicRun(s, topic, m, n))
	}
	s.runs = runs
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.hctx, s.hcancel = context.WithCancel(context.Background())
	// Members leave only after every worker has finished its last batch
	// and stored its offsets: a member that left could no longer commit,
	// and the events it handled would be delivered again.
	last := make([]core.GroupMember, len(runs))
	for i, r := range runs {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			last[i] = r.run()
		}()
	}
	registered := t.addSub(s)
	go func() {
		s.wg.Wait()
		for _, m := range last {
			lctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = m.Leave(lctx)
			cancel()
		}
		s.cancel()
		s.hcancel()
		t.removeSub(s)
		close(s.done)
	}()
	if !registered { // Shutdown began meanwhile
		_ = s.Stop(ctx)
		return nil, fmt.Errorf("subscribe %q: %w", group, core.ErrClosed)
	}
	t.log.LogAttrs(ctx, slogInfo, "subscribed", strAttr("group", group), u64Attr("members", uint64(len(runs))))
	return s, nil
}

// Group returns the subscription's consumer group.
func (s *Subscription) Group() string { return s.group }

// Done is closed when every member has stopped (after Stop, or when the
// broker was closed).
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err returns the error that ended the subscription, or nil while it runs
// and after a Stop.
func (s *Subscription) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

// Stop stops polling, lets each handler call in flight finish, stores the
// offsets of the events handled, and leaves the group. An event waiting
// for a retry is not retried: it stays unstored and is delivered again
// later. If ctx ends first, the handlers' ctx is cancelled and Stop waits
// for them to return, then returns ctx's error. Stop is idempotent.
func (s *Subscription) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		s.draining.Store(true)
		s.cancel()
	})
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		s.hcancel()
		<-s.done
		return fmt.Errorf("stop subscription %q: %w", s.group, context.Cause(ctx))
	}
}

func (s *Subscription) report(err error) { s.reportCtx(context.Background(), err) }

// reportCtx logs err with ctx (so with its trace ids) and hands it to
// OnError.
func (s *Subscription) reportCtx(ctx context.Context, err error) {
	s.t.log.LogAttrs(ctx, slogWarn, "subscription", strAttr("group", s.group), errAttr(err))
	if s.opts.OnError != nil {
		s.opts.OnError(err)
	}
}

func (s *Subscription) setErr(err error) {
	s.errMu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.errMu.Unlock()
}

func (s *Subscription) part(topic string, p uint32) *partState {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := partKey{topic, p}
	ps := s.parts[k]
	if ps == nil { // a partition added after Subscribe
		ps = newPartState()
		s.parts[k] = ps
	}
	return ps
}

func newPartState() *partState {
	ps := &partState{}
	ps.handled.Store(-1)
	ps.stored.Store(-1)
	return ps
}

// processBatch handles one polled batch on worker w: each event not
// handled here yet, in order, then the offset of the last one done.
func (s *Subscription) processBatch(r *topicRun, w *worker, ps *partState, polled *core.Polled) {
	topic := r.topic
	p := polled.Partition
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.current.Store(polled.CurrentOffset)
	msgs := polled.Messages
	i := 0
	for i < len(msgs) && int64(msgs[i].Offset) <= ps.handled.Load() {
		i++
	}
	commit := func() {
		h := ps.handled.Load()
		if h <= ps.stored.Load() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.currentMember().StoreOffset(ctx, p, uint64(h)); err != nil {
			s.report(fmt.Errorf("group %q: store offset %d on %s/%d: %w", s.group, h, topic, p, err))
			return
		}
		ps.stored.Store(h)
	}
	for ; i < len(msgs); i++ {
		if s.draining.Load() {
			break
		}
		if !s.handle(topic, p, w.index, &msgs[i], commit, &w.processed) {
			break
		}
		ps.handled.Store(int64(msgs[i].Offset))
	}
	commit()
	var lag uint64
	if h := ps.handled.Load(); h < 0 {
		lag = polled.CurrentOffset + 1
	} else if int64(polled.CurrentOffset) > h {
		lag = polled.CurrentOffset - uint64(h)
	}
	ps.lag.Store(lag)
	s.t.hooks.Lag(s.group, topic, p, lag)
}

// handle runs the handler for one message with retries, then dead-letters
// it. It returns false when the event was left unfinished (stopping, or the
// DLQ could not be written): its offset must not be stored.
//
// When tracing is on, each attempt is a CONSUMER span "process <topic>"
// whose parent is the trace context extracted from the message headers (a
// new root when there is none); a retry's span links to the attempt before
// it, and the DLQ send is a child of the same context linked to the last
// attempt.
func (s *Subscription) handle(topic string, p uint32, worker int, msg *core.Message, commit func(), processed *atomic.Uint64) bool {
	tr := s.t.tel.tracer()
	pctx := s.hctx // parent of the attempts: the producer's context when traced
	if tr != nil {
		pctx = s.t.tel.extract(s.hctx, msg.Headers)
	}
	env, err := s.t.decode(msg)
	if err != nil {
		s.decodeErrors.Add(1)
		now := time.Now()
		return s.deadLetter(pctx, trace.SpanContext{}, topic, p, msg, DLQReasonDecode, err, 0, now, now)
	}
	var first, last time.Time
	var prev trace.SpanContext // the previous attempt's span
	for attempt := 1; ; attempt++ {
		d := Delivery{Envelope: env, Message: *msg, Topic: topic, Partition: p, Group: s.group, Attempt: attempt, Worker: worker}
		hctx := s.hctx
		var span trace.Span
		if tr != nil {
			attrs := messageAttrs(baseAttrs(topic, operationTypeProcess, operationNameProcess), msg, p)
			attrs = append(attrs, AttrConsumerGroup.String(s.group), AttrAttempt.Int(attempt))
			opts := append(linkTo(prev), trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
			hctx, span = tr.Start(pctx, spanName(operationTypeProcess, topic), opts...)
			prev = span.SpanContext()
		}
		start := time.Now()
		err := s.call(hctx, d)
		s.t.hooks.Handled(s.group, topic, p, time.Since(start), err)
		endSpan(span, err)
		if err == nil {
			s.processed.Add(1)
			processed.Add(1)
			return true
		}
		if s.hctx.Err() != nil { // hard stop: the failure may be the cancellation
			return false
		}
		s.failed.Add(1)
		last = time.Now()
		if first.IsZero() {
			first = last
		}
		if attempt >= s.maxAttempts {
			return s.deadLetter(pctx, prev, topic, p, msg, DLQReasonHandler, err, attempt, first, last)
		}
		if s.draining.Load() {
			return false
		}
		commit() // keep the progress made before this event
		s.retried.Add(1)
		s.t.hooks.Retried(s.group, topic, p, attempt+1)
		if !sleepCtx(s.ctx, s.backoff(attempt)) {
			return false
		}
	}
}

func (s *Subscription) call(ctx context.Context, d Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrHandlerPanic, r)
		}
	}()
	return s.handler(ctx, d)
}

// backoff returns the pause before retry n (n = 1 for the first retry):
// initial_backoff * 2^(n-1), capped at max_backoff, with "equal jitter"
// (between half and all of it).
func (s *Subscription) backoff(n int) time.Duration {
	c := s.t.cfg.Consumer
	d := c.InitialBackoff
	for i := 1; i < n && d < c.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.MaxBackoff)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// deadLetter writes msg's original bytes and headers, plus the DLQ headers,
// to the dlq topic on the tenant's partition. It retries a failing send
// until it succeeds or the subscription stops.
//
// When tracing is on, the send is a PRODUCER span "send dlq", child of
// pctx's trace context and linked to the last attempt's span (lastTry),
// and the entry carries that span's context in place of the original
// traceparent, so a redrive continues the same trace.
func (s *Subscription) deadLetter(pctx context.Context, lastTry trace.SpanContext, topic string, p uint32, msg *core.Message, reason string, cause error, attempts int, first, last time.Time) bool {
	dm := s.t.dlqMessage(msg, reason, cause, attempts, topic, p, s.group, first, last)
	part := s.t.dlqPartitioning(msg, p)
	ctx := context.WithoutCancel(s.ctx)
	if tr := s.t.tel.tracer(); tr != nil {
		ctx = trace.ContextWithSpanContext(ctx, trace.SpanContextFromContext(pctx))
		attrs := messageAttrs(baseAttrs(TopicDLQ, operationTypeSend, operationNameDLQ), msg, p)
		attrs = append(attrs, AttrConsumerGroup.String(s.group), AttrDLQReason.String(reason), AttrAttempt.Int(attempts))
		opts := append(linkTo(lastTry), trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
		var span trace.Span
		ctx, span = tr.Start(ctx, spanName(operationTypeSend, TopicDLQ), opts...)
		defer span.End()
		s.t.tel.inject(ctx, &dm.Headers)
	}
	pause := s.t.cfg.Consumer.InitialBackoff
	for {
		start := time.Now()
		err := s.t.broker.Send(ctx, s.t.cfg.Topology.StreamName, TopicDLQ, part, []core.Message{dm})
		s.t.hooks.Published(TopicDLQ, 1, time.Since(start), err)
		if err == nil {
			break
		}
		s.reportCtx(ctx, fmt.Errorf("group %q: dead-letter %s/%d@%d: %w", s.group, topic, p, msg.Offset, err))
		if !sleepCtx(s.ctx, pause) {
			return false
		}
		pause = min(pause*2, s.t.cfg.Consumer.MaxBackoff)
	}
	s.deadLettered.Add(1)
	s.t.hooks.DeadLettered(s.group, topic, p, reason)
	s.t.log.LogAttrs(ctx, slogWarn, "event dead-lettered",
		strAttr("group", s.group), strAttr("topic", topic), u64Attr("partition", uint64(p)),
		u64Attr("offset", msg.Offset), strAttr("id", uuidString(core.UUIDFromMessageID(msg.ID))),
		strAttr("reason", reason), errAttr(cause))
	return true
}

// Stats is a snapshot of a subscription's counters.
type Stats struct {
	// Processed counts events whose handler succeeded.
	Processed uint64
	// Failed counts failed handler calls (each attempt).
	Failed uint64
	// Retried counts handler calls that were retries.
	Retried uint64
	// DeadLettered counts events sent to the DLQ (decode failures too).
	DeadLettered uint64
	// DecodeErrors counts messages that could not be decoded.
	DecodeErrors uint64
	// Partitions is each partition's state, by topic then partition.
	Partitions []PartitionStats
	// Workers is each worker's share, by topic (in subscription order)
	// then worker index.
	Workers []WorkerStats
}

// WorkerStats is one worker's share of a subscription's events.
type WorkerStats struct {
	Topic  string
	Worker int
	// Processed counts the events whose handler succeeded on this worker.
	Processed uint64
}

// PartitionStats is the subscription's view of one partition.
type PartitionStats struct {
	Topic     string
	Partition uint32
	// Handled is the last offset handled in this process (-1 none).
	Handled int64
	// Stored is the last offset this process stored or found stored (-1
	// none).
	Stored int64
	// Current is the partition's last offset as of Subscribe or the last
	// poll here.
	Current uint64
	// Lag is the partition's current offset minus Handled, as of the last
	// poll of the partition here (0 for partitions never polled here).
	Lag uint64
}

// Stats returns the counters and the per-partition lag seen by the last
// polls. It does not contact the broker; see Lag for exact figures.
func (s *Subscription) Stats() Stats {
	st := Stats{
		Processed:    s.processed.Load(),
		Failed:       s.failed.Load(),
		Retried:      s.retried.Load(),
		DeadLettered: s.deadLettered.Load(),
		DecodeErrors: s.decodeErrors.Load(),
	}
	s.mu.Lock()
	keys := make([]partKey, 0, len(s.parts))
	for k := range s.parts {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	slices.SortFunc(keys, func(a, b partKey) int {
		if a.topic != b.topic {
			if a.topic < b.topic {
				return -1
			}
			return 1
		}
		return int(a.partition) - int(b.partition)
	})
	for _, r := range s.runs {
		for _, w := range r.workers {
			st.Workers = append(st.Workers, WorkerStats{Topic: r.topic, Worker: w.index, Processed: w.processed.Load()})
		}
	}
	for _, k := range keys {
		ps := s.part(k.topic, k.partition)
		st.Partitions = append(st.Partitions, PartitionStats{Topic: k.topic, Partition: k.partition,
			Handled: ps.handled.Load(), Stored: ps.stored.Load(), Current: ps.current.Load(), Lag: ps.lag.Load()})
	}
	return st
}

// PartitionLag is a group's exact lag on one partition.
type PartitionLag struct {
	Topic     string
	Partition uint32
	// CurrentOffset is the partition's last offset; Messages its count.
	CurrentOffset uint64
	Messages      uint64
	// Stored is the group's stored offset, or -1 when none is stored.
	Stored int64
	// Lag is the number of messages after the stored offset (every
	// message when none is stored).
	Lag uint64
}

// GroupLag asks the broker for a group's lag on every partition of a
// topic: the partition's current offset minus the group's stored offset.
func (t *Transport) GroupLag(ctx context.Context, topic, group string) ([]PartitionLag, error) {
	stream := t.cfg.Topology.StreamName
	info, err := t.broker.Topic(ctx, stream, topic)
	if err != nil {
		return nil, fmt.Errorf("group lag %q on %s: %w", group, topic, err)
	}
	out := make([]PartitionLag, 0, len(info.Partitions))
	for _, p := range info.Partitions {
		pl := PartitionLag{Topic: topic, Partition: p.ID, CurrentOffset: p.CurrentOffset, Messages: p.MessagesCount, Stored: -1}
		off, err := t.broker.Offset(ctx, core.Consumer{Kind: core.GroupConsumer, Name: group}, stream, topic, p.ID)
		switch {
		case err == nil:
			pl.Stored = int64(off.StoredOffset)
			if p.CurrentOffset > off.StoredOffset {
				pl.Lag = p.CurrentOffset - off.StoredOffset
			}
		case errors.Is(err, core.ErrNotFound):
			pl.Lag = p.MessagesCount
		default:
			return nil, fmt.Errorf("group lag %q on %s/%d: %w", group, topic, p.ID, err)
		}
		out = append(out, pl)
	}
	return out, nil
}

// Lag returns the group's exact lag on every partition of the
// subscription's topics, from the broker.
func (s *Subscription) Lag(ctx context.Context) ([]PartitionLag, error) {
	var out []PartitionLag
	for _, topic := range s.topics {
		l, err := s.t.GroupLag(ctx, topic, s.group)
		if err != nil {
			return nil, err
		}
		out = append(out, l...)
	}
	return out, nil
}

// sleepCtx waits d or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
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
