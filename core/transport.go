package core

import (
	"context"

	"github.com/google/uuid"
)

// ReliabilityLevel says what a transport guarantees about a published event.
type ReliabilityLevel uint8

const (
	// InMemory transports lose events when the process stops.
	InMemory ReliabilityLevel = iota + 1
	// Outbox transports store events in the application's database and
	// forward them later.
	Outbox
	// Streaming transports store events durably in a log that consumers
	// read, replay and re-read. rustok-iggy is a Streaming transport.
	Streaming
)

// String returns the level's lower-case name.
func (l ReliabilityLevel) String() string {
	switch l {
	case InMemory:
		return "in_memory"
	case Outbox:
		return "outbox"
	case Streaming:
		return "streaming"
	default:
		return "unknown"
	}
}

// EventTransport is what an application calls to publish events.
//
// Implementations are safe for concurrent use.
type EventTransport interface {
	// Publish validates e and hands it to the broker. When it returns nil
	// the event is stored (synchronous mode) or accepted for storage
	// (asynchronous mode, see Acknowledge). It blocks while the transport
	// applies backpressure and returns ctx's error if ctx ends first.
	Publish(ctx context.Context, e Envelope) error

	// PublishBatch publishes events in as few broker round trips as the
	// transport can, keeping the order of events of one tenant. The batch
	// is not atomic: on failure the error says which events were not
	// stored.
	PublishBatch(ctx context.Context, events []Envelope) error

	// Acknowledge waits until the event with the given id, published
	// earlier through this transport, is stored, and returns nil, or
	// returns the error that prevented storing it.
	Acknowledge(ctx context.Context, id uuid.UUID) error

	// ReliabilityLevel reports what the transport guarantees.
	ReliabilityLevel() ReliabilityLevel
}
