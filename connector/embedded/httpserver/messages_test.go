package httpserver

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// polled is PolledMessages as a client decodes it; ids stay raw JSON
// numbers so u128 values survive.
type polled struct {
	PartitionID   uint32 `json:"partition_id"`
	CurrentOffset uint64 `json:"current_offset"`
	Count         uint32 `json:"count"`
	Messages      []struct {
		Header struct {
			Checksum          uint64      `json:"checksum"`
			ID                json.Number `json:"id"`
			Offset            uint64      `json:"offset"`
			Timestamp         uint64      `json:"timestamp"`
			OriginTimestamp   uint64      `json:"origin_timestamp"`
			UserHeadersLength uint32      `json:"user_headers_length"`
			PayloadLength     uint32      `json:"payload_length"`
		} `json:"header"`
		Payload     string            `json:"payload"`
		UserHeaders []headerEntryJSON `json:"user_headers"`
	} `json:"messages"`
}

func decodePolled(t testing.TB, r resp) polled {
	t.Helper()
	var p polled
	d := json.NewDecoder(strings.NewReader(string(r.body)))
	d.UseNumber()
	if err := d.Decode(&p); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return p
}

func TestSendPollRoundTrip(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	e.mkTopic(tok, "s", "t", 1)
	body := `{"partitioning":{"kind":"partition_id","value":"AAAAAA=="},"messages":[
		{"id":42,"payload":"` + b64("one") + `","user_headers":[
			{"key":{"kind":"string","value":"` + b64("tenant_id") + `"},"value":{"kind":"string","value":"` + b64("acme") + `"}},
			{"key":{"kind":"string","value":"` + b64("n") + `"},"value":{"kind":"uint32","value":"BwAAAA=="}}]},
		{"id":"340282366920938463463374607431768211455","payload":"` + b64("two") + `"},
		{"id":"af362865-042c-4000-0000-000000000000","payload":"` + b64("three") + `","user_headers":null},
		{"payload":"` + b64("four") + `"}]}`
	e.do("POST", "/streams/s/topics/t/messages", tok, body).expect(t, 201)
	p := decodePolled(t, e.do("GET", "/streams/s/topics/t/messages?consumer_id=1&partition_id=0&kind=offset&value=0&count=10", tok, nil).expect(t, 200))
	if p.Count != 4 || len(p.Messages) != 4 || p.CurrentOffset != 3 || p.PartitionID != 0 {
		t.Fatalf("polled %+v", p)
	}
	wantIDs := []string{"42", "340282366920938463463374607431768211455", fmt.Sprint(uuidDecimal(t, "af362865042c40000000000000000000"))}
	for i, want := range wantIDs {
		if got := p.Messages[i].Header.ID.String(); got != want {
			t.Errorf("message %d id %s, want %s", i, got, want)
		}
	}
	if p.Messages[3].Header.ID.String() == "0" {
		t.Error("an absent id was not assigned by the broker")
	}
	for i, want := range []string{"one", "two", "three", "four"} {
		m := p.Messages[i]
		if pl, _ := base64.StdEncoding.DecodeString(m.Payload); string(pl) != want || m.Header.Offset != uint64(i) ||
			m.Header.PayloadLength != uint32(len(want)) || m.Header.Timestamp == 0 || m.Header.Checksum == 0 {
			t.Errorf("message %d: %+v", i, m)
		}
	}
	hs := p.Messages[0].UserHeaders
	if len(hs) != 2 || hs[0].Key.Kind != "string" || hs[0].Key.Value != b64("tenant_id") || hs[0].Value.Value != b64("acme") ||
		hs[1].Value.Kind != "uint32" || hs[1].Value.Value != "BwAAAA==" {
		t.Fatalf("headers %+v", hs)
	}
	if p.Messages[1].UserHeaders == nil || len(p.Messages[1].UserHeaders) != 0 {
		t.Fatalf("no headers must be [], got %+v", p.Messages[1].UserHeaders)
	}
	// Defaults: partition 0, offset 0, count 10.
	if d := decodePolled(t, e.do("GET", "/streams/s/topics/t/messages", tok, nil).expect(t, 200)); d.Count != 4 {
		t.Fatalf("default poll %d", d.Count)
	}
	if d := decodePolled(t, e.do("GET", "/streams/s/topics/t/messages?kind=last&count=1", tok, nil)); d.Count != 1 || d.Messages[0].Header.Offset != 3 {
		t.Fatalf("last %+v", d)
	}
}

// uuidDecimal is the u128 a hex UUID denotes, in decimal.
func uuidDecimal(t testing.TB, hexs string) string {
	t.Helper()
	var id [16]byte
	raw, _ := json.Marshal(hexs)
	id, err := parseMessageID(raw)
	if err != nil {
		t.Fatal(err)
	}
	return string(appendMessageID(nil, id))
}

func TestPollNextAutoCommit(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	e.mkTopic(tok, "s", "t", 1)
	e.sendN(tok, "s", "t", 0, 5)
	q := "/streams/s/topics/t/messages?consumer_id=worker&partition_id=0&kind=next&count=2&auto_commit=true"
	for _, want := range []uint64{0, 2, 4} {
		p := decodePolled(t, e.do("GET", q, tok, nil).expect(t, 200))
		if len(p.Messages) == 0 || p.Messages[0].Header.Offset != want {
			t.Fatalf("next poll from %d: %+v", want, p)
		}
	}
	o := decode[OffsetJSON](t, e.do("GET", "/streams/s/topics/t/consumer-offsets?consumer_id=worker&partition_id=0", tok, nil).expect(t, 200))
	if o.StoredOffset != 4 {
		t.Fatalf("auto-committed offset %d, want 4", o.StoredOffset)
	}
}

func TestSendPartitioning(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	e.mkTopic(tok, "s", "t", 3)
	send := func(kind, value string) resp {
		return e.do("POST", "/streams/s/topics/t/messages", tok,
			`{"partitioning":{"kind":"`+kind+`","value":"`+value+`"},"messages":[{"payload":"`+b64("x")+`"}]}`)
	}
	for range 3 {
		send("balanced", "").expect(t, 201)
	}
	for pid := range uint32(3) {
		if p := decodePolled(t, e.do("GET", fmt.Sprintf("/streams/s/topics/t/messages?partition_id=%d", pid), tok, nil)); p.Count != 1 {
			t.Fatalf("balanced: partition %d holds %d", pid, p.Count)
		}
	}
	// A key always lands on the same partition.
	send("messages_key", b64("tenant-1")).expect(t, 201)
	send("messages_key", b64("tenant-1")).expect(t, 201)
	total := 0
	for pid := range uint32(3) {
		p := decodePolled(t, e.do("GET", fmt.Sprintf("/streams/s/topics/t/messages?partition_id=%d", pid), tok, nil))
		if p.Count == 3 {
			total++
		}
	}
	if total != 1 {
		t.Fatalf("keyed messages spread over partitions")
	}
	send("messages_key", "").iggyError(t, 400, 4028, "invalid_key_value_length")
	send("partition_id", b64("ab")).iggyError(t, 400, 3, "invalid_command")
	send("partition_id", "CQAAAA==").iggyError(t, 404, 3007, "partition_not_found")
	send("sideways", "").expect(t, 422)
}

func TestSendRejectsBadInputAtomically(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	e.mkTopic(tok, "s", "t", 1)
	good := `{"payload":"` + b64("ok") + `"}`
	for _, c := range []struct {
		name   string
		body   string
		status int
	}{
		{"not json", `{"partitioning":`, 400},
		{"no partitioning", `{"messages":[` + good + `]}`, 422},
		{"no messages", `{"partitioning":{"kind":"balanced","value":""}}`, 422},
		{"bad base64 payload", `{"partitioning":{"kind":"balanced","value":""},"messages":[` + good + `,{"payload":"***"}]}`, 422},
		{"empty payload", `{"partitioning":{"kind":"balanced","value":""},"messages":[` + good + `,{"payload":""}]}`, 422},
		{"bad id", `{"partitioning":{"kind":"balanced","value":""},"messages":[` + good + `,{"id":"zz","payload":"eA=="}]}`, 422},
		{"negative id", `{"partitioning":{"kind":"balanced","value":""},"messages":[{"id":-1,"payload":"eA=="}]}`, 422},
		{"id over u128", `{"partitioning":{"kind":"balanced","value":""},"messages":[{"id":"340282366920938463463374607431768211456","payload":"eA=="}]}`, 422},
		{"payload wrong type", `{"partitioning":{"kind":"balanced","value":""},"messages":[{"payload":7}]}`, 422},
		{"bad header kind", `{"partitioning":{"kind":"balanced","value":""},"messages":[{"payload":"eA==","user_headers":[{"key":{"kind":"nope","value":"eA=="},"value":{"kind":"string","value":"eA=="}}]}]}`, 422},
		{"header size", `{"partitioning":{"kind":"balanced","value":""},"messages":[{"payload":"eA==","user_headers":[{"key":{"kind":"string","value":"eA=="},"value":{"kind":"uint32","value":"eA=="}}]}]}`, 422},
		{"zero messages", `{"partitioning":{"kind":"balanced","value":""},"messages":[]}`, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.do("POST", "/streams/s/topics/t/messages", tok, c.body).expect(t, c.status)
		})
	}
	if p := decodePolled(t, e.do("GET", "/streams/s/topics/t/messages", tok, nil)); p.Count != 0 {
		t.Fatalf("a rejected send stored %d messages", p.Count)
	}
	small := newEnvCfg(t, Config{MaxSendBody: 1024})
	st := small.root()
	small.mkTopic(st, "s", "t", 1)
	small.do("POST", "/streams/s/topics/t/messages", st,
		`{"partitioning":{"kind":"balanced","value":""},"messages":[{"payload":"`+b64(strings.Repeat("x", 2000))+`"}]}`).expect(t, 413)
	e.do("GET", "/streams/s/topics/t/messages?count=x", tok, nil).expect(t, 400)
	e.do("GET", "/streams/s/topics/t/messages?kind=sideways", tok, nil).expect(t, 400)
	e.do("GET", "/streams/s/topics/t/messages?auto_commit=yes", tok, nil).expect(t, 400)
	e.do("GET", "/streams/s/topics/nope/messages", tok, nil).iggyError(t, 404, 2010, "topic_id_not_found")
}
