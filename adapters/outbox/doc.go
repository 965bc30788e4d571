// Package outbox is the transactional outbox: events written into the
// application's own database transaction, then relayed to Iggy in order.
//
//	Outbox.Write / WritePgx   validate (as transport.Publish does), encode with
//	                          the configured codec, insert one row per event in
//	                          the caller's transaction; a rollback leaves nothing
//	Transport                 the same, behind core.EventTransport
//	                          (ReliabilityLevel Outbox); the transaction travels
//	                          in the context (WithTx, WithPgxTx)
//	Relay                     one active relay per table (PostgreSQL advisory
//	                          lock, SQLite lock file); reads pending rows in
//	                          order, publishes them through a core.EventTransport
//	                          (message id = event id), marks them delivered,
//	                          dead-letters rows it cannot publish (DeadLetter,
//	                          NewBrokerDLQ), deletes delivered rows after a
//	                          retention period
//
// # Guarantees
//
//   - An event is in the outbox exactly when the caller's transaction commits.
//   - Delivery into Iggy is at least once: a relay that stops between the
//     publish and the mark publishes the batch again. The duplicate carries
//     the same Iggy message id (the event id), so a broker with message
//     deduplication enabled (the embedded broker's dedup_window, Iggy's
//     [system.message_deduplication]) stores it once; without it consumers see
//     the duplicate (the inbox package makes their effects exactly once).
//   - Per-tenant order is never broken. On PostgreSQL each Write takes a
//     transaction-scoped advisory lock per tenant, so a tenant's rows get
//     increasing seq numbers in commit order; only the relay holding the
//     table's session advisory lock publishes, the others stand by and take
//     over when its session ends (a killed process, a lost connection). On
//     SQLite writers are serial anyway, and the relay lock is a file lock,
//     so one relay process per database file.
//   - Through a publisher with PublishEncoded (*transport.Transport, see
//     EncodedPublisher) the stored bytes are published as they are, with the
//     row's columns as headers; a payload that does not decode then reaches
//     the consumers, whose subscription sends it to the DLQ with its
//     provenance. Through a plain core.EventTransport the relay decodes each
//     row.
//   - Dead rows: the relay gives up on a row that does not decode (plain
//     core.EventTransport only), whose columns are unusable, that the
//     publisher rejects as invalid (core.ErrInvalid), or whose publish failed
//     RelayConfig.MaxAttempts times (default 5) with a permanent error; a
//     broker that is unavailable or a timeout is never counted, the row
//     waits. With RelayConfig.DeadLetter (NewBrokerDLQ: the transport's dlq
//     topic, with the dlq_* headers of the consuming side, dlq_reason
//     DLQReasonRelay or "decode") the row is stored there and marked dead
//     and delivered; without it, only marked dead (dead_at, last_error;
//     Stats.Dead). Either way its tenant's later rows move on: a dead row
//     is the one exception to per-tenant order (a DLQ redrive publishes it
//     after them). If the DLQ cannot be written the row stays pending.
//   - Shutdown is graceful: the publish in flight finishes and its rows are
//     marked before the relay's session (and lock) is closed; when
//     Shutdown's context ends first the publish is cancelled and its rows
//     stay pending, to be published again by the next active relay.

// # Schema
//
// Migrate creates the table (default "rustok_outbox", settable), its indexes
// and a "<table>_version" table holding the schema version (SchemaVersion).
// Write never creates tables: run Migrate at start-up or from a migration
// tool (the DDL is in DDL). Columns: seq (order), event_id, tenant_id,
// event_type, schema_version, correlation_id, causation_id (the header
// fields), topic and partition_key (the target: transport.TopicFor and the
// tenant id, Iggy's messages-key), trace_id, content_type, payload (the
// encoded envelope), created_at, delivered_at, dead_at, last_error. A row
// is pending while delivered_at and dead_at are NULL; a dead-lettered row
// has both set (it is deleted with the delivered rows after the retention
// period), a row only marked dead has dead_at alone. Partial indexes on
// the pending and the dead rows keep Lag cheap; Migrate adds a missing
// index to an existing table (the statements are idempotent).
package outbox
