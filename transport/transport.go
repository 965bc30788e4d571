package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"go.opentelemetry.io/otel/metric"
)

// Errors of this package. Each wraps a core sentinel where one fits.
var (
	// ErrConfig wraps every Config.Validate error (and core.ErrInvalid).
	ErrConfig = fmt.Errorf("%w: config", core.ErrInvalid)
	// ErrNotStarted is returned by calls that need the topology before
	// Start succeeded.
	ErrNotStarted = errors.New("transport not started")
	// ErrUnknownContentType is returned (wrapped) when a message's
	// content_type header names no registered codec.
	ErrUnknownContentType = errors.New("unknown content type")
)

// Transport is rustok-iggy's application layer: it lays out the topology,
// publishes envelopes partitioned by tenant, runs consumer-group
// subscriptions with retries and a dead letter queue, replays topics and
// reports health. It reaches the broker only through core.Broker.
//
// A Transport is safe for concurrent use. Create it with New, call Start,
// and end it with Shutdown.
type Transport struct {
	cfg    Config
	broker core.Broker
	codec  core.Codec
	codecs map[string]core.Codec
	log    *slog.Logger
	hooks  Hooks
	tel    telemetry
	// meterProvider is WithMeterProvider's (nil: the otel global).
	meterProvider metric.MeterProvider
	ownsConn      bool
	// skipData skips the JSON check of event.data in Publish.
	skipData bool

	started atomic.Bool
	closed  atomic.Bool // Shutdown began: no new subscriptions
	// pubClosed is set once Shutdown stopped the subscriptions: handlers
	// may publish while they drain.
	pubClosed atomic.Bool
	parts     [3]atomic.Uint32 // domain, system, dlq partition counts

	mu        sync.Mutex
	conflicts []string
	subs      map[*Subscription]struct{}

	async   *asyncPublisher
	scratch sync.Pool // *sendScratch
	health  healthState

	shutdownOnce sync.Once
	shutdownErr  error
}

var _ core.EventTransport = (*Transport)(nil)

// Option adjusts a Transport at construction.
type Option func(*Transport)

// WithCodecs registers extra codecs by their ContentType, used to decode
// messages whose content_type header names them. The transport's own codec
// is always registered.
func WithCodecs(codecs ...core.Codec) Option {
	return func(t *Transport) {
		for _, c := range codecs {
			if c != nil {
				t.codecs[c.ContentType()] = c
			}
		}
	}
}

// WithHooks sets the instrumentation hooks (default NopHooks).
func WithHooks(h Hooks) Option {
	return func(t *Transport) {
		if h != nil {
			t.hooks = h
		}
	}
}

// WithOwnedBroker makes Shutdown close the broker. By default the broker
// belongs to the caller and is left open.
func WithOwnedBroker() Option { return func(t *Transport) { t.ownsConn = true } }

// WithoutDataValidation makes Publish and PublishBatch skip checking that
// event.data is valid JSON; every other envelope check still runs. Use it
// when the codec rejects invalid data itself (the JSON codec compacts, and
// so checks, the data): the check is most of the transport's own CPU cost
// per event.
func WithoutDataValidation() Option { return func(t *Transport) { t.skipData = true } }

// validate checks e as core.Envelope.Validate does, without the data check
// when the transport was built WithoutDataValidation.
func (t *Transport) validate(e *core.Envelope) error {
	if t.skipData && len(e.Event.Data) > 0 {
		c := *e
		c.Event.Data = nil
		return c.Validate()
	}
	return e.Validate()
}

// New returns a Transport over broker that encodes with codec. It validates
// cfg and applies defaults to a copy; it does not contact the broker (see
// Start). A nil logger discards logs.
func New(cfg Config, broker core.Broker, codec core.Codec, logger *slog.Logger, opts ...Option) (*Transport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if broker == nil {
		return nil, fmt.Errorf("%w: transport: nil broker", core.ErrInvalid)
	}
	if codec == nil {
		return nil, fmt.Errorf("%w: transport: nil codec", core.ErrInvalid)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t := &Transport{
		cfg:    cfg.WithDefaults(),
		broker: broker,
		codec:  codec,
		codecs: map[string]core.Codec{},
		log:    slog.New(NewTraceLogHandler(logger.Handler())).With("component", "transport"),
		hooks:  NopHooks{},
		subs:   map[*Subscription]struct{}{},
	}
	for _, o := range opts {
		o(t)
	}
	t.tel.init()
	mh, err := newMeterHooks(t.meterProvider)
	if err != nil {
		return nil, fmt.Errorf("transport: metrics: %w", err)
	}
	if mh != nil {
		if _, nop := t.hooks.(NopHooks); nop {
			t.hooks = mh
		} else {
			t.hooks = teeHooks{t.hooks, mh}
		}
	}
	t.codecs[codec.ContentType()] = codec
	t.scratch.New = func() any { return new(sendScratch) }
	if t.cfg.Publisher.Mode == ModeAsync {
		t.async = newAsyncPublisher(t)
	}
	return t, nil
}

// Config returns the effective configuration (defaults applied).
func (t *Transport) Config() Config { return t.cfg }

// Broker returns the broker the transport was given.
func (t *Transport) Broker() core.Broker { return t.broker }

// ReliabilityLevel returns core.Streaming.
func (t *Transport) ReliabilityLevel() core.ReliabilityLevel { return core.Streaming }

// Start ensures the topology (see EnsureTopology) and, in async mode,
// starts the flusher. It may be called again after a failure; once it
// succeeded further calls only re-check the topology.
func (t *Transport) Start(ctx context.Context) error {
	if t.closed.Load() {
		return fmt.Errorf("transport start: %w", core.ErrClosed)
	}
	if _, err := t.EnsureTopology(ctx); err != nil {
		return err
	}
	if t.started.CompareAndSwap(false, true) && t.async != nil {
		t.async.start()
	}
	return nil
}

// Shutdown stops every subscription (handlers in flight finish, up to ctx's
// deadline, and may still publish), then delivers every event pending in the async buffer, and closes
// the broker if the transport owns it (WithOwnedBroker). Later calls return
// the first call's result. After Shutdown, Publish returns core.ErrClosed.
func (t *Transport) Shutdown(ctx context.Context) error {
	t.shutdownOnce.Do(func() {
		t.mu.Lock()
		t.closed.Store(true) // under mu: addSub sees it or Shutdown sees the sub
		var errs []error
		subs := make([]*Subscription, 0, len(t.subs))
		for s := range t.subs {
			subs = append(subs, s)
		}
		t.mu.Unlock()
		for _, s := range subs {
			if err := s.Stop(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		t.pubClosed.Store(true)
		if t.async != nil {
			if err := t.async.close(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		if t.ownsConn {
			if err := t.broker.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close broker: %w", err))
			}
		}
		if len(errs) > 0 {
			t.shutdownErr = fmt.Errorf("transport shutdown: %w", errors.Join(errs...))
		}
	})
	return t.shutdownErr
}

// partitions returns the partition count of a topic as last seen by Start.
func (t *Transport) partitions(topic string) uint32 {
	switch topic {
	case TopicDomain:
		return t.parts[0].Load()
	case TopicSystem:
		return t.parts[1].Load()
	case TopicDLQ:
		return t.parts[2].Load()
	}
	return 0
}

func (t *Transport) setPartitions(topic string, n uint32) {
	switch topic {
	case TopicDomain:
		t.parts[0].Store(n)
	case TopicSystem:
		t.parts[1].Store(n)
	case TopicDLQ:
		t.parts[2].Store(n)
	}
}

// codecFor returns the codec registered for a content type; an empty
// content type means the transport's codec.
func (t *Transport) codecFor(contentType string) (core.Codec, error) {
	if contentType == "" {
		return t.codec, nil
	}
	if c, ok := t.codecs[contentType]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownContentType, contentType)
}

// decode decodes a message with the codec its content_type header names.
func (t *Transport) decode(m *core.Message) (core.Envelope, error) {
	c, err := t.codecFor(m.Headers.Value(HeaderContentType))
	if err != nil {
		return core.Envelope{}, err
	}
	return c.Decode(m.Payload)
}

// addSub registers a running subscription for Shutdown and Health; it
// refuses (false) once Shutdown began.
func (t *Transport) addSub(s *Subscription) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed.Load() {
		return false
	}
	t.subs[s] = struct{}{}
	return true
}

func (t *Transport) removeSub(s *Subscription) {
	t.mu.Lock()
	delete(t.subs, s)
	t.mu.Unlock()
}

func (t *Transport) subscriptions() []*Subscription {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*Subscription, 0, len(t.subs))
	for s := range t.subs {
		out = append(out, s)
	}
	return out
}

// uuidString formats an id for logs and errors.
func uuidString(id [16]byte) string { return uuid.UUID(id).String() }
