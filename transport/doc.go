// Package transport is rustok-iggy's application layer. It talks to a broker
// only through the stream port core.Broker.
//
// # Flow
//
//	New(cfg, broker, codec, logger) -> Start (ensures stream "rustok" with
//	topics domain, system and dlq) -> Publish / PublishBatch / Subscribe /
//	Replay / DLQ / Health -> Shutdown
//
// Publish validates the envelope, encodes it, picks the topic by event type
// (TopicFor: "system.*" to TopicSystem, else TopicDomain) and the partition
// by tenant (Iggy messages-key partitioning, XXH32 of the tenant id string,
// so Go and Rust producers agree; see TenantPartition), and sends a message
// whose id is the event UUID (core.MessageIDFromUUID) with the string
// headers HeaderTenantID, HeaderEventType, HeaderSchemaVersion,
// HeaderContentType, HeaderCorrelationID, HeaderCausationID and
// HeaderTraceID.
//
// Subscribe joins a consumer group once per topic; that member's
// partitions (those the broker assigns it) are polled, by a dispatching
// goroutine and by each worker for the partition whose batch it just
// finished, and the batches handed to a pool of workers (evenly, one batch
// of a partition at a time), which decode with
// the codec the content_type header names, call the Handler serially per
// partition, store the offset after success, retry failures with
// backoff and finally write them to TopicDLQ with the HeaderDLQ* headers.
// The DLQ manager lists, counts and redrives entries; Replay re-reads a
// topic without moving any group.
//
// # Delivery guarantees
//
//   - Publish (sync) returns nil only after the broker stored the event.
//     In async mode Publish returns once the event is buffered, and
//     Acknowledge/Flush/Shutdown report whether it was stored; a full
//     buffer blocks Publish (backpressure), nothing is dropped silently.
//   - Events of one tenant are stored in the order they were published by
//     one goroutine (one partition per tenant, one flusher in async mode).
//   - Consumption is at least once: the group's offset is stored only for
//     events whose handler succeeded or that were written to the DLQ.
//     After a crash, or when the broker moves a partition between two
//     processes, events after the last stored offset are delivered again.
//   - Per-partition (so per-tenant) order: each member handles a partition
//     in offset order, one event at a time. A redelivered event comes again
//     before any later event is delivered for the first time.
package transport
