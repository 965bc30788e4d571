package httpserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// pathIDs parses the named path values as identifiers; on failure it
// answers and reports false.
func pathIDs(w http.ResponseWriter, r *http.Request, names ...string) ([]iggyproto.Identifier, bool) {
	out := make([]iggyproto.Identifier, len(names))
	for i, n := range names {
		id, err := parseIdentifier(r.PathValue(n))
		if err != nil {
			writeError(w, err)
			return nil, false
		}
		out[i] = id
	}
	return out, true
}

// pathOp answers a request that needs only its path ids (names): op runs
// with them; its error becomes Iggy's error body, nil a 204.
func pathOp(w http.ResponseWriter, r *http.Request, op func(ids []iggyproto.Identifier) error, names ...string) {
	ids, ok := pathIDs(w, r, names...)
	if !ok {
		return
	}
	if err := op(ids); err != nil {
		writeError(w, err)
		return
	}
	noContent(w)
}

// pathGet answers a read by path ids (names): get's error as Iggy's
// error body, a missing resource as Iggy's empty 404, else 200 with the
// JSON value get returns.
func pathGet(w http.ResponseWriter, r *http.Request, get func(ids []iggyproto.Identifier) (any, bool, error), names ...string) {
	ids, ok := pathIDs(w, r, names...)
	if !ok {
		return
	}
	v, found, err := get(ids)
	writeFound(w, v, found, err)
}

// writeFound answers a read: err as Iggy's error body, a missing resource
// (found false) as Iggy's empty 404, else 200 with the JSON of v.
func writeFound(w http.ResponseWriter, v any, found bool, err error) {
	switch {
	case err != nil:
		writeError(w, err)
	case !found:
		writeNotFound(w)
	default:
		writeJSON(w, http.StatusOK, v)
	}
}

// jsonOf converts what a broker read found to its JSON form (nil when
// nothing was found).
func jsonOf[V, J any](v V, found bool, toJSON func(V) J) any {
	if !found {
		return nil
	}
	return toJSON(v)
}

// jsonOfAll is jsonOf for a list; an empty list is [] in JSON, not null.
func jsonOfAll[V, J any](vs []V, found bool, toJSON func(V) J) any {
	if !found {
		return nil
	}
	out := make([]J, 0, len(vs))
	for _, v := range vs {
		out = append(out, toJSON(v))
	}
	return out
}

// pathBodyOp is pathOp for a request with a JSON body: once the path ids
// parse, the body (at most limit bytes) is read into body, which op may
// then use.
func pathBodyOp(w http.ResponseWriter, r *http.Request, limit int64, body any, op func(ids []iggyproto.Identifier) error, names ...string) {
	ids, ok := pathIDs(w, r, names...)
	if !ok {
		return
	}
	if !readJSON(w, r, limit, body) {
		return
	}
	if err := op(ids); err != nil {
		writeError(w, err)
		return
	}
	noContent(w)
}

// nameBody is {"name": "..."} (create/update stream, create group).
type nameBody struct {
	Name *string `json:"name"`
}

func (b *nameBody) validate() error {
	if b.Name == nil {
		return missing("name")
	}
	return nil
}

func (h *Handler) getStreams(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	sts, err := h.b.GetStreams(s)
	if err != nil {
		writeError(w, err)
		return
	}
	out := make([]StreamJSON, 0, len(sts))
	for _, st := range sts {
		out = append(out, streamJSON(st))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getStream(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	pathGet(w, r, func(ids []iggyproto.Identifier) (any, bool, error) {
		v, found, err := h.b.GetStream(s, ids[0])
		return jsonOf(v, found, streamDetailsJSON), found, err
	}, "stream_id")
}

func (h *Handler) createStream(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	var body nameBody
	if !readJSON(w, r, h.cfg.MaxRequestBody, &body) {
		return
	}
	st, err := h.b.CreateStream(s, *body.Name)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, streamDetailsJSON(st))
}

func (h *Handler) updateStream(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	var body nameBody
	pathBodyOp(w, r, h.cfg.MaxRequestBody, &body, func(ids []iggyproto.Identifier) error {
		return h.b.UpdateStream(s, ids[0], *body.Name)
	}, "stream_id")
}

func (h *Handler) deleteStream(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	pathOp(w, r, func(ids []iggyproto.Identifier) error { return h.b.DeleteStream(s, ids[0]) }, "stream_id")
}

func (h *Handler) purgeStream(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	pathOp(w, r, func(ids []iggyproto.Identifier) error { return h.b.PurgeStream(s, ids[0]) }, "stream_id")
}

// topicBody is CreateTopic / UpdateTopic. Every field but
// replication_factor (and partitions_count on update) is required.
type topicBody struct {
	Name                 *string         `json:"name"`
	PartitionsCount      *uint32         `json:"partitions_count"`
	CompressionAlgorithm *string         `json:"compression_algorithm"`
	MessageExpiry        *uint64         `json:"message_expiry"`
	MaxTopicSize         json.RawMessage `json:"max_topic_size"`
	ReplicationFactor    *uint8          `json:"replication_factor"`

	update bool
	// Decoded by validate.
	compression uint8
	maxSize     uint64
}

func (b *topicBody) validate() error {
	switch {
	case b.Name == nil:
		return missing("name")
	case b.PartitionsCount == nil && !b.update:
		return missing("partitions_count")
	case b.CompressionAlgorithm == nil:
		return missing("compression_algorithm")
	case b.MessageExpiry == nil:
		return missing("message_expiry")
	case b.MaxTopicSize == nil:
		return missing("max_topic_size")
	}
	c, err := compressionCode(*b.CompressionAlgorithm)
	if err != nil {
		return err
	}
	b.compression = c
	m, err := parseMaxTopicSize(b.MaxTopicSize)
	if err != nil {
		return err
	}
	b.maxSize = m
	return nil
}

// parseMaxTopicSize reads Iggy's MaxTopicSize: a u64 (0 server default,
// u64::MAX unlimited) or a string: "unlimited", "server_default", digits,
// or a size with a unit ("10 MB", "1GiB").
func parseMaxTopicSize(raw json.RawMessage) (uint64, error) {
	var n uint64
	if err := json.Unmarshal(raw, &n); err == nil {
		return n, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, errors.New("max_topic_size: invalid type, expected a u64 or a string")
	}
	switch s {
	case "unlimited", "Unlimited", "none":
		return u64Max, nil
	case "server_default", "0":
		return 0, nil
	}
	v, err := parseSize(s)
	if err != nil {
		return 0, fmt.Errorf("invalid MaxTopicSize: %w", err)
	}
	return v, nil
}

// parseSize reads a byte size: digits, optionally with a space and a
// decimal (KB, MB, ...) or binary (KiB, MiB, ...) unit.
func parseSize(s string) (uint64, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	n, err := strconv.ParseUint(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	unit := s[i:]
	for len(unit) > 0 && unit[0] == ' ' {
		unit = unit[1:]
	}
	mult := map[string]uint64{"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15,
		"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "PiB": 1 << 50}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("%q has an unknown unit", s)
	}
	if n > u64Max/mult {
		return 0, fmt.Errorf("%q overflows a u64", s)
	}
	return n * mult, nil
}

func (h *Handler) getTopics(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	pathGet(w, r, func(ids []iggyproto.Identifier) (any, bool, error) {
		vs, found, err := h.b.GetTopics(s, ids[0])
		return jsonOfAll(vs, found, topicJSON), found, err
	}, "stream_id")
}

func (h *Handler) getTopic(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	pathGet(w, r, func(ids []iggyproto.Identifier) (any, bool, error) {
		v, found, err := h.b.GetTopic(s, ids[0], ids[1])
		return jsonOf(v, found, topicDetailsJSON), found, err
	}, "stream_id", "topic_id")
}

func (h *Handler) createTopic(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	ids, ok := pathIDs(w, r, "stream_id")
	if !ok {
		return
	}
	var body topicBody
	if !readJSON(w, r, h.cfg.MaxRequestBody, &body) {
		return
	}
	cfg := broker.TopicConfig{Name: *body.Name, PartitionsCount: *body.PartitionsCount, CompressionAlgorithm: body.compression,
		MessageExpiry: *body.MessageExpiry, MaxTopicSize: body.maxSize}
	if body.ReplicationFactor != nil {
		cfg.ReplicationFactor = *body.ReplicationFactor
	}
	t, err := h.b.CreateTopic(s, ids[0], cfg)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, topicDetailsJSON(t))
}

func (h *Handler) updateTopic(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	ids, ok := pathIDs(w, r, "stream_id", "topic_id")
	if !ok {
		return
	}
	body := topicBody{update: true}
	if !readJSON(w, r, h.cfg.MaxRequestBody, &body) {
		return
	}
	u := broker.TopicUpdate{Name: *body.Name, CompressionAlgorithm: body.compression, MessageExpiry: *body.MessageExpiry,
		MaxTopicSize: body.maxSize}
	if body.ReplicationFactor != nil {
		u.ReplicationFactor = *body.ReplicationFactor
	}
	if err := h.b.UpdateTopic(s, ids[0], ids[1], u); err != nil {
		writeError(w, err)
		return
	}
	noContent(w)
}

func (h *Handler) deleteTopic(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	pathOp(w, r, func(ids []iggyproto.Identifier) error { return h.b.DeleteTopic(s, ids[0], ids[1]) }, "stream_id", "topic_id")
}

func (h *Handler) purgeTopic(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	pathOp(w, r, func(ids []iggyproto.Identifier) error { return h.b.PurgeTopic(s, ids[0], ids[1]) }, "stream_id", "topic_id")
}

// partitionsBody is CreatePartitions.
type partitionsBody struct {
	PartitionsCount *uint32 `json:"partitions_count"`
}

func (b *partitionsBody) validate() error {
	if b.PartitionsCount == nil {
		return missing("partitions_count")
	}
	return nil
}

func (h *Handler) createPartitions(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	ids, ok := pathIDs(w, r, "stream_id", "topic_id")
	if !ok {
		return
	}
	var body partitionsBody
	if !readJSON(w, r, h.cfg.MaxRequestBody, &body) {
		return
	}
	if err := h.b.CreatePartitions(s, ids[0], ids[1], *body.PartitionsCount); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func (h *Handler) deletePartitions(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	ids, ok := pathIDs(w, r, "stream_id", "topic_id")
	if !ok {
		return
	}
	n, present, err := queryU32(r, "partitions_count")
	if err == nil && !present {
		err = missing("partitions_count")
	}
	if err != nil {
		queryError(w, err)
		return
	}
	if err := h.b.DeletePartitions(s, ids[0], ids[1], n); err != nil {
		writeError(w, err)
		return
	}
	noContent(w)
}

func (h *Handler) getGroups(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	pathGet(w, r, func(ids []iggyproto.Identifier) (any, bool, error) {
		vs, found, err := h.b.GetConsumerGroups(s, ids[0], ids[1])
		return jsonOfAll(vs, found, groupJSON), found, err
	}, "stream_id", "topic_id")
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	pathGet(w, r, func(ids []iggyproto.Identifier) (any, bool, error) {
		v, found, err := h.b.GetConsumerGroup(s, ids[0], ids[1], ids[2])
		return jsonOf(v, found, groupDetailsJSON), found, err
	}, "stream_id", "topic_id", "group_id")
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	ids, ok := pathIDs(w, r, "stream_id", "topic_id")
	if !ok {
		return
	}
	var body nameBody
	if !readJSON(w, r, h.cfg.MaxRequestBody, &body) {
		return
	}
	g, err := h.b.CreateConsumerGroup(s, ids[0], ids[1], *body.Name)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, groupDetailsJSON(g))
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	pathOp(w, r, func(ids []iggyproto.Identifier) error { return h.b.DeleteConsumerGroup(s, ids[0], ids[1], ids[2]) }, "stream_id", "topic_id", "group_id")
}

// consumerOf is the single consumer an HTTP request names (Iggy's HTTP
// API always uses consumer kind "consumer"): a numeric id, or a name
// hashed as on TCP. An empty id is consumer 0, Iggy's default.
func consumerOf(id string) (broker.Consumer, error) {
	if id == "" {
		return broker.Consumer{Kind: broker.SingleConsumer}, nil
	}
	ident, err := parseIdentifier(id)
	if err != nil {
		return broker.Consumer{}, err
	}
	if ident.Kind == iggyproto.NumericKind {
		return broker.Consumer{Kind: broker.SingleConsumer, ID: ident.ID}, nil
	}
	return broker.Consumer{Kind: broker.SingleConsumer, ID: broker.ConsumerIDFromName(ident.Name)}, nil
}

// consumerIDJSON is a consumer_id in a JSON body: a string or a number.
func consumerIDJSON(raw json.RawMessage) (string, error) {
	if raw == nil {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n uint32
	if err := json.Unmarshal(raw, &n); err == nil {
		return strconv.FormatUint(uint64(n), 10), nil
	}
	return "", errors.New("consumer_id: expected a string or number representing an identifier")
}

func (h *Handler) getOffset(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	ids, ok := pathIDs(w, r, "stream_id", "topic_id")
	if !ok {
		return
	}
	pid, present, err := queryU32(r, "partition_id")
	if err != nil {
		queryError(w, err)
		return
	}
	c, err := consumerOf(r.URL.Query().Get("consumer_id"))
	if err != nil {
		writeError(w, err)
		return
	}
	var p *uint32
	if present {
		p = &pid
	}
	o, found, err := h.b.GetOffset(s, c, ids[0], ids[1], p)
	if err != nil {
		// Iggy checks the topic and the permission first, then answers
		// any failure of the lookup itself as not found.
		switch iggyproto.CodeOf(err) {
		case iggyproto.CodeStreamIDNotFound, iggyproto.CodeTopicIDNotFound, iggyproto.CodeUnauthorized,
			iggyproto.CodeUnauthenticated, iggyproto.CodeDisconnected:
			writeError(w, err)
		default:
			writeNotFound(w)
		}
		return
	}
	if !found {
		writeNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, OffsetJSON{PartitionID: o.PartitionID, CurrentOffset: o.CurrentOffset, StoredOffset: o.StoredOffset})
}

// offsetBody is StoreConsumerOffset.
type offsetBody struct {
	ConsumerID  json.RawMessage `json:"consumer_id"`
	PartitionID *uint32         `json:"partition_id"`
	Offset      *uint64         `json:"offset"`
	consumer    string
}

func (b *offsetBody) validate() error {
	if b.Offset == nil {
		return missing("offset")
	}
	c, err := consumerIDJSON(b.ConsumerID)
	b.consumer = c
	return err
}

func (h *Handler) storeOffset(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	ids, ok := pathIDs(w, r, "stream_id", "topic_id")
	if !ok {
		return
	}
	var body offsetBody
	if !readJSON(w, r, h.cfg.MaxRequestBody, &body) {
		return
	}
	c, err := consumerOf(body.consumer)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := h.b.StoreOffset(s, c, ids[0], ids[1], body.PartitionID, *body.Offset); err != nil {
		writeError(w, err)
		return
	}
	noContent(w)
}

func (h *Handler) deleteOffset(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	ids, ok := pathIDs(w, r, "stream_id", "topic_id")
	if !ok {
		return
	}
	pid, present, err := queryU32(r, "partition_id")
	if err != nil {
		queryError(w, err)
		return
	}
	c, err := consumerOf(r.PathValue("consumer_id"))
	if err != nil {
		writeError(w, err)
		return
	}
	var p *uint32
	if present {
		p = &pid
	}
	if err := h.b.DeleteOffset(s, c, ids[0], ids[1], p); err != nil {
		writeError(w, err)
		return
	}
	noContent(w)
}
