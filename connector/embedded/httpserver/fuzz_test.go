package httpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// FuzzDecodeSend feeds arbitrary bodies to the send decoder: it never
// panics, fails only with a *jsonError or an *iggyproto.Error, and on
// success yields well-formed messages whose ids and headers survive the
// poll encoder and the decoder again.
func FuzzDecodeSend(f *testing.F) {
	for _, s := range []string{
		`{"partitioning":{"kind":"balanced","value":""},"messages":[{"payload":"eA=="}]}`,
		`{"partitioning":{"kind":"partition_id","value":"AAAAAA=="},"messages":[{"id":"340282366920938463463374607431768211455","payload":"eA==","user_headers":[{"key":{"kind":"string","value":"aw=="},"value":{"kind":"uint32","value":"BwAAAA=="}}]}]}`,
		`{"partitioning":{"kind":"messages_key","value":"a2V5"},"messages":[{"id":"af362865-042c-4000-0000-000000000000","payload":"eA==","user_headers":"AgEAAABrAgEAAAB2"}]}`,
		`{"partitioning":{"kind":"balanced","value":""},"messages":[]}`,
		`{"partitioning":`, `[]`, `null`, `{"messages":[{"id":-1}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeSend(body, 7)
		if err != nil {
			var je *jsonError
			var ie *iggyproto.Error
			if !errors.As(err, &je) && !errors.As(err, &ie) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		n := 0
		var views []iggyproto.MessageView
		if err := iggyproto.WalkMessages(req.messages, func(m iggyproto.MessageView) error {
			n++
			views = append(views, m)
			return nil
		}); err != nil || n != req.count || n == 0 {
			t.Fatalf("decoded batch walks %d of %d messages: %v", n, req.count, err)
		}
		out, err := appendPolledJSON(nil, broker.PollResult{Count: uint32(n), Messages: req.messages})
		if err != nil || !json.Valid(out) {
			t.Fatalf("poll JSON invalid: %v %s", err, out)
		}
		var back struct {
			Messages []struct {
				Header struct {
					ID json.RawMessage `json:"id"`
				} `json:"header"`
				UserHeaders json.RawMessage `json:"user_headers"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(out, &back); err != nil || len(back.Messages) != n {
			t.Fatalf("poll JSON does not decode: %v", err)
		}
		for i, m := range back.Messages {
			id, err := parseMessageID(json.RawMessage(`"` + string(m.Header.ID) + `"`))
			if err != nil || id != views[i].Header.ID {
				t.Fatalf("message %d id %s does not round-trip: %v", i, m.Header.ID, err)
			}
			hb, err := decodeHeadersJSON(m.UserHeaders)
			if err != nil || !bytes.Equal(hb, views[i].UserHeaders()) {
				t.Fatalf("message %d headers do not round-trip: %v", i, err)
			}
		}
	})
}

// FuzzHeaderBlock checks that any raw header block is written as JSON that
// reads back to the same bytes.
func FuzzHeaderBlock(f *testing.F) {
	f.Add([]byte{2, 1, 0, 0, 0, 'k', 2, 1, 0, 0, 0, 'v'})
	f.Add([]byte{})
	f.Add([]byte{0, 255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, block []byte) {
		out := appendHeadersJSON(nil, block)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON %s", out)
		}
		back, err := decodeHeadersJSON(out)
		if err != nil {
			t.Fatalf("%s does not decode: %v", out, err)
		}
		if !bytes.Equal(back, block) {
			t.Fatalf("round trip %x -> %s -> %x", block, out, back)
		}
	})
}
