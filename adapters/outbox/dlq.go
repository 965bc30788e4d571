package outbox

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// DLQReasonRelay is the dlq_reason (transport.HeaderDLQReason) of an
// outbox row the relay gave up on because it could not be published: the
// publisher rejected it as invalid, its id columns are unusable, or it
// failed RelayConfig.MaxAttempts times. A row whose payload does not
// decode gets transport.DLQReasonDecode, as on the consuming side.
const DLQReasonRelay = "outbox"

// User headers the relay adds to a DLQ entry of an outbox row, besides the
// transport's (transport.HeaderDLQ*).
const (
	// HeaderOutboxTable is the outbox table the row was in.
	HeaderOutboxTable = "outbox_table"
	// HeaderOutboxSeq is the row's seq.
	HeaderOutboxSeq = "outbox_seq"
)

// DeadRow is an outbox row the relay gave up on, as handed to a
// DeadLetterer: its columns, why, and its failure history.
type DeadRow struct {
	// Table and Seq locate the row.
	Table string
	Seq   int64
	// The row's columns, as text (EventID, TenantID and CorrelationID are
	// UUIDs unless the row is corrupt; CausationID and TraceID may be "").
	EventID, TenantID, CorrelationID, CausationID string
	EventType, TraceID, ContentType               string
	SchemaVersion                                 int32
	// Topic is the topic the event was meant for (transport.TopicFor).
	Topic   string
	Payload []byte
	// Reason is DLQReasonRelay or transport.DLQReasonDecode; Error the
	// last error.
	Reason, Error string
	// Attempts is how often the relay tried to publish it (1 for a row
	// given up on at once); FirstFailure and LastFailure are when.
	Attempts                  int
	FirstFailure, LastFailure time.Time
}

func deadRow(table string, p *pending, reason string, err error) DeadRow {
	return DeadRow{
		Table: table, Seq: p.seq,
		EventID: p.id, TenantID: p.tenant, CorrelationID: p.correlation, CausationID: p.causation.String,
		EventType: p.eventType, TraceID: p.trace.String, ContentType: p.contentType, SchemaVersion: p.schema,
		Topic: transport.TopicFor(p.eventType), Payload: p.payload,
		Reason: reason, Error: err.Error(),
	}
}

// DeadLetterer stores the rows a relay gives up on. The relay calls it from
// its goroutine only (serially) with one batch's dead rows, in seq order,
// and may block it until ctx ends. nil means every row is stored; the relay
// then marks them dead and delivered. An error leaves them all pending: the
// relay backs off and gives them up again in a later batch, so an
// implementation must tolerate a row it stored before (the broker's
// message deduplication drops a repeated DLQ entry with the same id).
type DeadLetterer interface {
	DeadLetter(ctx context.Context, rows []DeadRow) error
}

// BrokerDLQ is the DeadLetterer into the transport's dead letter queue:
// the topic transport.TopicDLQ of a stream, where consumers' failed events
// go, readable with Transport.DLQ and `rustok-iggy dlq list`. Each entry is
// the row's payload with the event id as message id, the event's headers
// (tenant_id, event_type, ...; as a publish gives them) and the DLQ
// headers of the consuming side: dlq_error, dlq_reason (DLQReasonRelay or
// "decode"), dlq_attempts, dlq_source_topic (the topic the event was meant
// for), dlq_source_partition (its tenant's partition there),
// dlq_source_offset (the row's seq: the event has no offset, it never
// reached the topic), dlq_group (RelayAppName), dlq_first_failure_at and
// dlq_last_failure_at, plus HeaderOutboxTable and HeaderOutboxSeq. Entries
// go to their tenant's dlq partition (messages-key, the tenant id), as
// the transport puts its own. A redrive (Transport.DLQ().Redrive)
// publishes such an entry to its topic like any other: after the tenant's
// later events. Safe for concurrent use.
type BrokerDLQ struct {
	b      core.Broker
	stream string

	mu    sync.Mutex
	parts map[string]uint32 // topic -> partition count, guarded by mu
}

var _ DeadLetterer = (*BrokerDLQ)(nil)

// NewBrokerDLQ returns the DeadLetterer into the dlq topic of stream
// (the transport's topology, which must exist) through b.
func NewBrokerDLQ(b core.Broker, stream string) *BrokerDLQ {
	return &BrokerDLQ{b: b, stream: stream, parts: map[string]uint32{}}
}

// DeadLetter appends rows to the dlq topic, one send per run of rows of one
// tenant, in order.
func (d *BrokerDLQ) DeadLetter(ctx context.Context, rows []DeadRow) error {
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].TenantID == rows[i].TenantID {
			j++
		}
		msgs := make([]core.Message, 0, j-i)
		for k := i; k < j; k++ {
			m, err := d.message(ctx, &rows[k])
			if err != nil {
				return err
			}
			msgs = append(msgs, m)
		}
		part := core.ToPartition(0)
		if t := rows[i].TenantID; t != "" && len(t) <= 255 {
			part = core.ByKey([]byte(t))
		}
		if err := d.b.Send(ctx, d.stream, transport.TopicDLQ, part, msgs); err != nil {
			return fmt.Errorf("outbox dlq: send %d row(s) from seq %d to %s/%s: %w", len(msgs), rows[i].Seq, d.stream, transport.TopicDLQ, err)
		}
		i = j
	}
	return nil
}

// partitions returns the partition count of topic (cached).
func (d *BrokerDLQ) partitions(ctx context.Context, topic string) (uint32, error) {
	d.mu.Lock()
	n, ok := d.parts[topic]
	d.mu.Unlock()
	if ok {
		return n, nil
	}
	info, err := d.b.Topic(ctx, d.stream, topic)
	if err != nil {
		return 0, fmt.Errorf("outbox dlq: topic %s/%s: %w", d.stream, topic, err)
	}
	d.mu.Lock()
	d.parts[topic] = info.PartitionsCount
	d.mu.Unlock()
	return info.PartitionsCount, nil
}

const dlqTime = time.RFC3339Nano

func (d *BrokerDLQ) message(ctx context.Context, r *DeadRow) (core.Message, error) {
	var m core.Message
	id, idErr := uuid.Parse(r.EventID)
	if idErr == nil {
		m.ID = core.MessageIDFromUUID(id) // else zero: the broker assigns one
	}
	source := uint32(0)
	if tenant, err := uuid.Parse(r.TenantID); err == nil {
		n, err := d.partitions(ctx, r.Topic)
		if err != nil {
			return m, err
		}
		source = transport.TenantPartition(tenant, n)
	}
	hs := make(core.Headers, 0, 18)
	add := func(k, v string) {
		if v != "" {
			hs = append(hs, core.StringHeader(k, truncate(v, 255)))
		}
	}
	add(transport.HeaderTenantID, r.TenantID)
	add(transport.HeaderEventType, r.EventType)
	add(transport.HeaderSchemaVersion, strconv.FormatInt(int64(r.SchemaVersion), 10))
	add(transport.HeaderContentType, r.ContentType)
	add(transport.HeaderCorrelationID, r.CorrelationID)
	add(transport.HeaderCausationID, r.CausationID)
	add(transport.HeaderTraceID, r.TraceID)
	errText := r.Error
	if errText == "" {
		errText = "<nil>"
	}
	first, last := r.FirstFailure, r.LastFailure
	if first.IsZero() {
		first = time.Now()
	}
	if last.IsZero() {
		last = first
	}
	add(transport.HeaderDLQError, errText)
	add(transport.HeaderDLQReason, r.Reason)
	add(transport.HeaderDLQAttempts, strconv.Itoa(max(r.Attempts, 1)))
	add(transport.HeaderDLQSourceTopic, r.Topic)
	add(transport.HeaderDLQSourcePartition, strconv.FormatUint(uint64(source), 10))
	add(transport.HeaderDLQSourceOffset, strconv.FormatInt(r.Seq, 10))
	add(transport.HeaderDLQGroup, RelayAppName)
	add(transport.HeaderDLQFirstFailure, first.UTC().Format(dlqTime))
	add(transport.HeaderDLQLastFailure, last.UTC().Format(dlqTime))
	add(HeaderOutboxTable, r.Table)
	add(HeaderOutboxSeq, strconv.FormatInt(r.Seq, 10))
	m.Headers = hs
	m.Payload = r.Payload
	if len(m.Payload) == 0 {
		m.Payload = []byte{0} // Iggy refuses an empty payload; the entry stays readable
	}
	return m, nil
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i]
}
