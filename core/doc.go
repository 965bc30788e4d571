// Package core holds rustok-iggy's domain model and its ports.
//
// It depends on nothing in this repository and on nothing outside the
// standard library except github.com/google/uuid.
//
// # Model
//
// An [Envelope] is one domain event with its metadata. Its JSON form is
// field-for-field the Rust RusToK EventEnvelope, so Go and Rust services can
// share one stream. A [Codec] turns an envelope into bytes and back.
//
// # Ports
//
//   - [EventTransport] is what an application calls to publish.
//   - [Broker] is what a broker must offer the transport: streams, topics,
//     partitions, sending, polling, consumer offsets and consumer groups. The
//     embedded and remote connectors implement it; the transport uses nothing
//     else to reach a broker.
//
// # Errors
//
// Every implementation of a port maps its failures onto the sentinel errors
// of this package ([ErrNotFound], [ErrAlreadyExists], [ErrUnavailable], ...)
// and wraps the original error, so callers match with [errors.Is] and still
// see the broker's own message and code.
package core
