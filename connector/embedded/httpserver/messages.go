package httpserver

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// sendBody is Iggy's SendMessages JSON:
//
//	{"partitioning": {"kind": "balanced"|"partition_id"|"messages_key", "value": "<base64>"},
//	 "messages": [{"id": <u128>, "payload": "<base64>", "user_headers": <headers>}]}
//
// An id is a JSON number (up to u64), a decimal string (up to u128) or a
// UUID in hex (with or without dashes); absent means 0, which lets the
// broker assign one. Headers are null, a base64 string of the raw block,
// or a list of {"key": {"kind", "value"}, "value": {"kind", "value"}} with
// base64 values.
type sendBody struct {
	Partitioning *struct {
		Kind  *string `json:"kind"`
		Value *string `json:"value"`
	} `json:"partitioning"`
	Messages *[]struct {
		ID          json.RawMessage `json:"id"`
		Payload     *string         `json:"payload"`
		UserHeaders json.RawMessage `json:"user_headers"`
	} `json:"messages"`
}

// sendRequest is a decoded send: where to, and the messages in the Iggy
// layout, back to back, ready for broker.Send.
type sendRequest struct {
	partitioning broker.Partitioning
	messages     []byte
	count        int
}

// decodeSend decodes and validates a send body. A failure is a
// *jsonError (400 or 422, nothing sent) or an *iggyproto.Error with the
// code Iggy answers (4028 bad key length, 4009 no messages, 3 bad
// partition id). originTimestamp (µs) stamps every message, as Iggy's
// message builder does.
func decodeSend(b []byte, originTimestamp uint64) (sendRequest, error) {
	var req sendRequest
	var body sendBody
	if err := decodeJSON(b, &body); err != nil {
		return req, err
	}
	shape := func(err error) (sendRequest, error) { return sendRequest{}, &jsonError{err: err} }
	if body.Partitioning == nil {
		return shape(missing("partitioning"))
	}
	if body.Messages == nil {
		return shape(missing("messages"))
	}
	if body.Partitioning.Kind == nil {
		return shape(missing("kind"))
	}
	if body.Partitioning.Value == nil {
		return shape(missing("value"))
	}
	key, err := base64.StdEncoding.DecodeString(*body.Partitioning.Value)
	if err != nil {
		return shape(fmt.Errorf("partitioning.value: invalid base64: %w", err))
	}
	p := broker.Partitioning{Key: key}
	switch *body.Partitioning.Kind {
	case "balanced":
		p.Kind = broker.PartitionBalanced
	case "partition_id":
		p.Kind = broker.PartitionByID
	case "messages_key":
		p.Kind = broker.PartitionByKey
	default:
		return shape(fmt.Errorf("partitioning.kind: unknown variant `%s`, expected one of `balanced`, `partition_id`, `messages_key`", *body.Partitioning.Kind))
	}
	for i, m := range *body.Messages {
		if m.Payload == nil {
			return shape(fmt.Errorf("messages[%d]: %w", i, missing("payload")))
		}
		if len(*m.Payload) > base64.StdEncoding.EncodedLen(iggyproto.MaxPayloadSize) {
			return shape(fmt.Errorf("messages[%d]: payload over %d bytes", i, iggyproto.MaxPayloadSize))
		}
	}
	if len(key) > 255 || (p.Kind != broker.PartitionBalanced && len(key) == 0) {
		return sendRequest{}, iggyErr(codeInvalidKeyLength, fmt.Sprintf("partitioning value of %d bytes", len(key)))
	}
	if p.Kind == broker.PartitionByID {
		if len(key) != 4 {
			return sendRequest{}, iggyErr(iggyproto.CodeInvalidCommand, "partition_id partitioning needs a 4-byte value")
		}
		p.PartitionID = binary.LittleEndian.Uint32(key)
		p.Key = nil
	}
	if p.Kind == broker.PartitionBalanced {
		p.Key = nil
	}
	var out []byte
	for i, m := range *body.Messages {
		id, err := parseMessageID(m.ID)
		if err != nil {
			return shape(fmt.Errorf("messages[%d]: invalid message ID: %w", i, err))
		}
		payload, err := base64.StdEncoding.DecodeString(*m.Payload)
		if err != nil {
			return shape(fmt.Errorf("messages[%d]: invalid base64 payload", i))
		}
		if len(payload) == 0 {
			return shape(fmt.Errorf("messages[%d]: failed to create message: empty payload", i))
		}
		headers, err := decodeHeadersJSON(m.UserHeaders)
		if err != nil {
			return shape(fmt.Errorf("messages[%d]: %w", i, err))
		}
		if len(headers) > iggyproto.MaxUserHeadersSize {
			return shape(fmt.Errorf("messages[%d]: user headers of %d bytes, at most %d", i, len(headers), iggyproto.MaxUserHeadersSize))
		}
		out = iggyproto.AppendMessage(out, id, originTimestamp, payload, headers)
	}
	if len(*body.Messages) == 0 {
		return sendRequest{}, iggyErr(iggyproto.CodeInvalidMessagesCount, "no messages")
	}
	return sendRequest{partitioning: p, messages: out, count: len(*body.Messages)}, nil
}

var maxU128 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))

// parseMessageID reads an id as Iggy does (see sendBody) into its
// little-endian wire form.
func parseMessageID(raw json.RawMessage) ([16]byte, error) {
	var id [16]byte
	if raw == nil || string(raw) == "null" {
		return id, nil
	}
	var n big.Int
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return id, err
		}
		if _, ok := n.SetString(s, 10); ok && n.Sign() >= 0 && n.Cmp(maxU128) <= 0 && isDigits(s) {
			break
		}
		h := strings.ReplaceAll(s, "-", "")
		if len(h) != 32 {
			return id, fmt.Errorf("invalid ID string: '%s' - must be a decimal number or UUID hex format", s)
		}
		be, err := hex.DecodeString(h)
		if err != nil {
			return id, fmt.Errorf("invalid ID string: '%s' - must be a decimal number or UUID hex format", s)
		}
		n.SetBytes(be)
	default:
		u, err := strconv.ParseUint(string(raw), 10, 64)
		if err != nil {
			return id, errors.New("ID must be a positive integer")
		}
		n.SetUint64(u)
	}
	be := n.FillBytes(make([]byte, 16))
	for i := range 16 {
		id[i] = be[15-i]
	}
	return id, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// formatMessageID writes a little-endian u128 id as decimal digits.
func appendMessageID(dst []byte, id [16]byte) []byte {
	lo := binary.LittleEndian.Uint64(id[0:8])
	hi := binary.LittleEndian.Uint64(id[8:16])
	if hi == 0 {
		return strconv.AppendUint(dst, lo, 10)
	}
	var n big.Int
	be := make([]byte, 16)
	for i := range 16 {
		be[i] = id[15-i]
	}
	return n.SetBytes(be).Append(dst, 10)
}

// headerKinds are Iggy's header kinds by JSON name, with the value size
// a fixed-size kind requires (0: 1..255 bytes).
var headerKinds = map[string]struct {
	code uint8
	size int
}{
	"raw": {1, 0}, "string": {2, 0}, "bool": {3, 1}, "int8": {4, 1}, "int16": {5, 2}, "int32": {6, 4},
	"int64": {7, 8}, "int128": {8, 16}, "uint8": {9, 1}, "uint16": {10, 2}, "uint32": {11, 4},
	"uint64": {12, 8}, "uint128": {13, 16}, "float32": {14, 4}, "float64": {15, 8},
}

var headerKindNames = func() [16]string {
	var n [16]string
	for k, v := range headerKinds {
		n[v.code] = k
	}
	return n
}()

type headerFieldJSON struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

type headerEntryJSON struct {
	Key   headerFieldJSON `json:"key"`
	Value headerFieldJSON `json:"value"`
}

// decodeHeadersJSON turns a message's user_headers into the raw block.
func decodeHeadersJSON(raw json.RawMessage) ([]byte, error) {
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("invalid base64 headers: %w", err)
		}
		return b, nil
	}
	var entries []headerEntryJSON
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("invalid headers format: %w", err)
	}
	var out []byte
	for i, e := range entries {
		var err error
		if out, err = appendHeaderField(out, e.Key); err != nil {
			return nil, fmt.Errorf("user_headers[%d].key: %w", i, err)
		}
		if out, err = appendHeaderField(out, e.Value); err != nil {
			return nil, fmt.Errorf("user_headers[%d].value: %w", i, err)
		}
	}
	return out, nil
}

func appendHeaderField(dst []byte, f headerFieldJSON) ([]byte, error) {
	k, ok := headerKinds[f.Kind]
	if !ok {
		return dst, fmt.Errorf("unknown header kind `%s`", f.Kind)
	}
	v, err := base64.StdEncoding.DecodeString(f.Value)
	if err != nil {
		return dst, fmt.Errorf("invalid base64 value: %w", err)
	}
	if k.size != 0 && len(v) != k.size {
		return dst, fmt.Errorf("%s value of %d bytes, want %d", f.Kind, len(v), k.size)
	}
	if len(v) == 0 || len(v) > iggyproto.MaxHeaderLen {
		return dst, fmt.Errorf("value of %d bytes, want 1..%d", len(v), iggyproto.MaxHeaderLen)
	}
	dst = append(dst, k.code)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(v)))
	return append(dst, v...), nil
}

// appendHeadersJSON writes a stored raw header block as Iggy does: a list
// of entries when it parses, its base64 otherwise, [] when empty.
func appendHeadersJSON(dst, block []byte) []byte {
	if len(block) == 0 {
		return append(dst, "[]"...)
	}
	entries, ok := parseHeaderBlock(block)
	if !ok {
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, block)
		return append(dst, '"')
	}
	b, _ := json.Marshal(entries) // strings only: cannot fail
	return append(dst, b...)
}

// parseHeaderBlock splits a raw block into entries; false when it is not
// well formed (lengths 1..255, fixed-size kinds of their size), so what
// it returns always encodes back to the same block.
func parseHeaderBlock(b []byte) ([]headerEntryJSON, bool) {
	var out []headerEntryJSON
	field := func() (headerFieldJSON, bool) {
		if len(b) < 5 {
			return headerFieldJSON{}, false
		}
		kind, n := b[0], binary.LittleEndian.Uint32(b[1:5])
		if kind == 0 || int(kind) >= len(headerKindNames) || uint64(n) > uint64(len(b)-5) || n == 0 || n > iggyproto.MaxHeaderLen {
			return headerFieldJSON{}, false
		}
		if size := headerKinds[headerKindNames[kind]].size; size != 0 && int(n) != size {
			return headerFieldJSON{}, false
		}
		f := headerFieldJSON{Kind: headerKindNames[kind], Value: base64.StdEncoding.EncodeToString(b[5 : 5+n])}
		b = b[5+n:]
		return f, true
	}
	for len(b) > 0 {
		k, ok := field()
		if !ok {
			return nil, false
		}
		v, ok := field()
		if !ok {
			return nil, false
		}
		out = append(out, headerEntryJSON{Key: k, Value: v})
	}
	return out, true
}

// appendPolledJSON writes Iggy's PolledMessages for a poll result.
func appendPolledJSON(dst []byte, res broker.PollResult) ([]byte, error) {
	dst = append(dst, `{"partition_id":`...)
	dst = strconv.AppendUint(dst, uint64(res.PartitionID), 10)
	dst = append(dst, `,"current_offset":`...)
	dst = strconv.AppendUint(dst, res.CurrentOffset, 10)
	dst = append(dst, `,"count":`...)
	dst = strconv.AppendUint(dst, uint64(res.Count), 10)
	dst = append(dst, `,"messages":[`...)
	first := true
	err := iggyproto.WalkMessages(res.Messages, func(m iggyproto.MessageView) error {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		h := m.Header
		dst = append(dst, `{"header":{"checksum":`...)
		dst = strconv.AppendUint(dst, h.Checksum, 10)
		dst = append(dst, `,"id":`...)
		dst = appendMessageID(dst, h.ID)
		dst = append(dst, `,"offset":`...)
		dst = strconv.AppendUint(dst, h.Offset, 10)
		dst = append(dst, `,"timestamp":`...)
		dst = strconv.AppendUint(dst, h.Timestamp, 10)
		dst = append(dst, `,"origin_timestamp":`...)
		dst = strconv.AppendUint(dst, h.OriginTimestamp, 10)
		dst = append(dst, `,"user_headers_length":`...)
		dst = strconv.AppendUint(dst, uint64(h.UserHeadersLength), 10)
		dst = append(dst, `,"payload_length":`...)
		dst = strconv.AppendUint(dst, uint64(h.PayloadLength), 10)
		dst = append(dst, `,"reserved":`...)
		dst = strconv.AppendUint(dst, h.Reserved, 10)
		dst = append(dst, `},"payload":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, m.Payload())
		dst = append(dst, `","user_headers":`...)
		dst = appendHeadersJSON(dst, m.UserHeaders())
		dst = append(dst, '}')
		return nil
	})
	if err != nil {
		return nil, err
	}
	return append(dst, "]}"...), nil
}
