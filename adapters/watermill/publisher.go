package iggywm

import (
	"errors"
	"fmt"
	"go.opentelemetry.io/otel/trace"
	"log/slog"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/rustok/rustok-iggy/core"
)

// ErrPublisherClosed is returned by Publish after Close.
var ErrPublisherClosed = errors.New("iggywm: publisher closed")

// Publisher publishes Watermill messages to Iggy topics through a
// core.Broker (the embedded or the remote connector). Publish is
// synchronous: when it returns nil every message is stored by the broker.
// It is safe for concurrent use. Create it with NewPublisher.
type Publisher struct {
	b    core.Broker
	cfg  PublisherConfig
	log  *slog.Logger
	topo *topology

	mu      sync.Mutex
	closed  bool
	pending sync.WaitGroup // Publish calls in progress
}

var _ message.Publisher = (*Publisher)(nil)

// NewPublisher returns a Publisher over b configured by cfg (defaults
// applied to a copy). The Publisher does not own b: closing it leaves b
// open. A bad configuration gives an error wrapping core.ErrInvalid.
func NewPublisher(b core.Broker, cfg PublisherConfig) (*Publisher, error) {
	if b == nil {
		return nil, fmt.Errorf("iggywm: new publisher: nil broker: %w", core.ErrInvalid)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("iggywm: new publisher: %w", err)
	}
	cfg = cfg.withDefaults()
	return &Publisher{
		b:    b,
		cfg:  cfg,
		log:  cfg.Logger.With("component", "iggywm.publisher", "stream", cfg.Stream),
		topo: newTopology(b, cfg.TopicConfig),
	}, nil
}

// Publish implements message.Publisher. It creates the stream and topic
// when missing, marshals every message, picks their partitions, and sends
// each run of consecutive messages with the same partition as one batch, in
// order. The Context of the first message of a run bounds its send. When
// Publish returns nil every message is stored; on error, the runs before
// the failing one are stored and later ones are not sent (a run may be
// partly stored). After Close it returns ErrPublisherClosed.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrPublisherClosed
	}
	p.pending.Add(1)
	p.mu.Unlock()
	defer p.pending.Done()
	if len(msgs) == 0 {
		return nil
	}
	out := make([]core.Message, len(msgs))
	parts := make([]core.Partitioning, len(msgs))
	for i, msg := range msgs {
		m, err := p.cfg.Marshaler.Marshal(topic, msg)
		if err != nil {
			return fmt.Errorf("iggywm: publish to %q: marshal message %q: %w", topic, msg.UUID, err)
		}
		if trace.SpanContextFromContext(msg.Context()).IsValid() {
			p.cfg.Propagator.Inject(msg.Context(), missingHeaders{&m.Headers})
		}
		part, err := p.cfg.Partitioner(topic, msg)
		if err != nil {
			return fmt.Errorf("iggywm: publish to %q: partition message %q: %w", topic, msg.UUID, err)
		}
		out[i], parts[i] = m, part
	}
	ctx := msgs[0].Context()
	if err := p.topo.ensureTopic(ctx, topic); err != nil {
		return fmt.Errorf("iggywm: publish: %w", err)
	}
	for start := 0; start < len(out); {
		end := start + 1
		for end < len(out) && samePartitioning(parts[end], parts[start]) {
			end++
		}
		if err := p.send(topic, parts[start], out[start:end], msgs[start]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// send sends one run; if the broker says the topic is gone, it creates the
// topic again and retries once.
func (p *Publisher) send(topic string, part core.Partitioning, run []core.Message, first *message.Message) error {
	ctx := first.Context()
	err := p.b.Send(ctx, p.cfg.Stream, topic, part, run)
	if errors.Is(err, core.ErrNotFound) {
		p.topo.forget(topic)
		if err = p.topo.ensureTopic(ctx, topic); err == nil {
			err = p.b.Send(ctx, p.cfg.Stream, topic, part, run)
		}
	}
	if err != nil {
		p.log.LogAttrs(ctx, slog.LevelDebug, "publish failed", slog.String("topic", topic), slog.Int("messages", len(run)), slog.Any("error", err))
		return fmt.Errorf("iggywm: publish %d messages (first %q) to %q: %w", len(run), first.UUID, topic, err)
	}
	return nil
}

// Close implements message.Publisher: later Publish calls fail with
// ErrPublisherClosed, and Close waits for the calls in progress (Publish
// is synchronous, so nothing is left to flush). It leaves the broker open.
// It is idempotent and always returns nil.
func (p *Publisher) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.pending.Wait()
	return nil
}

// missingHeaders is a propagation carrier that adds a string header for
// each key the headers do not have yet (metadata set by the caller wins)
// and whose value fits Iggy's 255-byte limit.
type missingHeaders struct{ hs *core.Headers }

func (c missingHeaders) Get(key string) string { return c.hs.Value(key) }

func (c missingHeaders) Set(key, value string) {
	if _, ok := c.hs.Get(key); ok || !fitsHeader(key, value) {
		return
	}
	*c.hs = append(*c.hs, core.StringHeader(key, value))
}

func (c missingHeaders) Keys() []string {
	out := make([]string, 0, len(*c.hs))
	for _, h := range *c.hs {
		out = append(out, h.Key)
	}
	return out
}
