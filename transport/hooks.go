package transport

import "time"

// Hooks receives the transport's instrumentation: counters and latencies
// an OpenTelemetry or Prometheus adapter turns into metrics. Methods are
// called concurrently from publishing callers, the async flusher and
// subscription members, on hot paths: they must be safe for concurrent use,
// must not block, and should not allocate. Topic arguments are the
// package's topic constants.
type Hooks interface {
	// Published reports one broker send of n events to a topic and how long
	// it took; err is nil when they were stored.
	Published(topic string, n int, d time.Duration, err error)
	// Handled reports one handler call and its duration; err is the
	// handler's result.
	Handled(group, topic string, partition uint32, d time.Duration, err error)
	// Retried reports that an event is about to be handled again; attempt
	// is the attempt about to start (2 for the first retry).
	Retried(group, topic string, partition uint32, attempt int)
	// DeadLettered reports that an event went to the DLQ; reason is
	// DLQReasonHandler or DLQReasonDecode.
	DeadLettered(group, topic string, partition uint32, reason string)
	// Replayed reports n events delivered by a replay of a topic.
	Replayed(topic string, n int)
	// Lag reports a group's lag on a partition, in messages, whenever a
	// member polls it.
	Lag(group, topic string, partition uint32, lag uint64)
}

// NopHooks is the default Hooks: every method does nothing.
type NopHooks struct{}

var _ Hooks = NopHooks{}

// Published does nothing.
func (NopHooks) Published(string, int, time.Duration, error) {}

// Handled does nothing.
func (NopHooks) Handled(string, string, uint32, time.Duration, error) {}

// Retried does nothing.
func (NopHooks) Retried(string, string, uint32, int) {}

// DeadLettered does nothing.
func (NopHooks) DeadLettered(string, string, uint32, string) {}

// Replayed does nothing.
func (NopHooks) Replayed(string, int) {}

// Lag does nothing.
func (NopHooks) Lag(string, string, uint32, uint64) {}
