package iggyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// chunkReader returns at most n bytes per Read, to exercise split reads.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

// frameSeeds returns request frames: the SDK golden frames, the fact
// sheet's examples and every sample request.
func frameSeeds(tb testing.TB) [][]byte {
	var out [][]byte
	for _, f := range hexFiles(tb, "sdk/*.hex") {
		out = append(out, f)
	}
	out = append(out,
		AppendRequestFrame(nil, CmdCreatePersonalAccessToken, readHex(tb, "pat_create_abc_expiry1.hex")),
		AppendRequestFrame(nil, CmdUpdateUser, readHex(tb, "update_user_both.hex")),
		AppendRequestFrame(nil, CmdPollMessages, readHex(tb, "poll_messages_next.hex")),
		AppendRequestFrame(nil, CmdSendMessages, readHex(tb, "send_messages_hi_yo.hex")),
	)
	for _, r := range sampleRequests() {
		f, err := AppendRequest(nil, r)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

type readResult struct {
	cmd     Command
	payload []byte
	err     string
}

// readAll reads frames from r until an error, draining refused frames the
// way a server keeping the connection would.
func readAll(r io.Reader) []readResult {
	var out []readResult
	lim := Limits{MaxSendPayload: 1 << 16}
	for {
		f, err := ReadRequest(r, nil, lim)
		if err != nil {
			var fe *FrameError
			if errors.As(err, &fe) {
				out = append(out, readResult{cmd: fe.Header.Command, err: err.Error()})
				if fe.Desync || DiscardPayload(r, fe.Remaining) != nil {
					return out
				}
				continue
			}
			return append(out, readResult{err: err.Error()})
		}
		out = append(out, readResult{cmd: f.Command, payload: slices.Clone(f.Payload)})
		if _, derr := DecodeRequest(f.Command, f.Payload); derr != nil && CodeOf(derr) == CodeError {
			panic("decode error without a code: " + derr.Error())
		}
	}
}

func FuzzReadRequest(f *testing.F) {
	seeds := frameSeeds(f)
	f.Add(bytes.Join(seeds, nil), uint8(0))
	for i, s := range seeds {
		f.Add(s, uint8(i))
	}
	f.Add(rawHeader(2, CmdPing), uint8(1))
	f.Add(append(rawHeader(MaxControlPayload+5, CmdCreateStream), 1, 2, 3), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		whole := readAll(bytes.NewReader(data))
		parts := readAll(&chunkReader{r: bytes.NewReader(data), n: int(split%7) + 1})
		if !reflect.DeepEqual(whole, parts) {
			t.Fatalf("split reads differ:\n whole %+v\n split %+v", whole, parts)
		}
		// Frames read back re-encode to the bytes they came from.
		var re []byte
		for _, r := range whole {
			if r.err != "" {
				return
			}
			re = AppendRequestFrame(re, r.cmd, r.payload)
		}
		if !bytes.HasPrefix(data, re) {
			t.Fatal("frames do not re-encode to the input")
		}
	})
}

// FuzzDecodeRequest decodes a payload under a command code (any of the
// decoders); whatever decodes must re-encode to a canonical payload that
// decodes to the same value and re-encodes identically.
func FuzzDecodeRequest(f *testing.F) {
	for _, fr := range frameSeeds(f) {
		f.Add(binary.LittleEndian.Uint32(fr[4:8]), fr[8:])
	}
	f.Add(uint32(9999), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, cmd uint32, payload []byte) {
		req, err := DecodeRequest(Command(cmd), payload)
		if err != nil {
			if CodeOf(err) == CodeError {
				t.Fatalf("error without an Iggy code: %v", err)
			}
			if req != nil {
				t.Fatalf("non-nil request %#v with error", req)
			}
			return
		}
		if req.Command() != Command(cmd) {
			t.Fatalf("decoded %T for command %d", req, cmd)
		}
		enc, err := EncodeRequest(nil, req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeRequest(Command(cmd), enc)
		if err != nil {
			t.Fatalf("re-encoded %x does not decode: %v", enc, err)
		}
		if !reflect.DeepEqual(normalize(again), normalize(req)) {
			t.Fatalf("round trip:\n %#v\n %#v", req, again)
		}
		enc2, _ := EncodeRequest(nil, again)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not canonical:\n %x\n %x", enc, enc2)
		}
	})
}

func FuzzDecodeSendMessages(f *testing.F) {
	f.Add(readHex(f, "send_messages_hi_yo.hex"))
	for _, r := range sampleRequests() {
		if s, ok := r.(SendMessages); ok {
			f.Add(EncodeSendMessages(nil, s))
		}
	}
	p, _, _ := sendPayload(f)
	f.Add(p)
	f.Fuzz(func(t *testing.T, payload []byte) {
		s, err := DecodeSendMessages(payload)
		if err != nil {
			if CodeOf(err) == CodeError {
				t.Fatalf("error without an Iggy code: %v", err)
			}
			return
		}
		n, size := 0, 0
		if err := s.Walk(func(m MessageView) error {
			n++
			size += len(m.Raw)
			if m.Header.PayloadLength > MaxPayloadSize || m.Header.UserHeadersLength > MaxUserHeadersSize {
				t.Fatalf("message over the limits passed: %+v", m.Header)
			}
			return nil
		}); err != nil {
			t.Fatalf("validated batch does not walk: %v", err)
		}
		if uint32(n) != s.Count || size != len(s.Messages) {
			t.Fatalf("walked %d messages / %d bytes, count %d, area %d", n, size, s.Count, len(s.Messages))
		}
		if len(s.Messages) > 0 && (&s.Messages[len(s.Messages)-1] != &payload[len(payload)-1]) {
			t.Fatal("message area does not alias the payload's end")
		}
		again, err := DecodeSendMessages(EncodeSendMessages(nil, s))
		if err != nil || !bytes.Equal(again.Messages, s.Messages) || again.Count != s.Count {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzDecodePermissions(f *testing.F) {
	f.Add(AppendPermissions(nil, *samplePerms()))
	f.Add(AppendPermissions(nil, AllPermissions()))
	f.Add(AppendPermissions(nil, Permissions{Streams: []StreamPermissions{{StreamID: 1, Topics: []TopicPermissions{{}, {}}}, {}}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, n, err := DecodePermissions(b)
		if err != nil {
			if CodeOf(err) != CodeInvalidCommand {
				t.Fatalf("code %d", CodeOf(err))
			}
			return
		}
		enc := AppendPermissions(nil, p)
		if len(enc) != n || PermissionsSize(p) != n {
			t.Fatalf("decoded %d bytes, re-encoded %d", n, len(enc))
		}
		q, m, err := DecodePermissions(enc)
		if err != nil || m != n || !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzWalkMessages(f *testing.F) {
	f.Add(readHex(f, "send_messages_hi_yo.hex")[4+18+32:])
	f.Add(AppendMessage(nil, [16]byte{1}, 2, []byte("payload"), []byte("headers")))
	f.Add([]byte{})
	f.Add(make([]byte, 63))
	f.Fuzz(func(t *testing.T, buf []byte) {
		total := 0
		err := WalkMessages(buf, func(m MessageView) error {
			if len(m.Raw) != m.Header.Size() {
				t.Fatalf("raw %d bytes, header says %d", len(m.Raw), m.Header.Size())
			}
			if len(m.Payload()) != int(m.Header.PayloadLength) || len(m.UserHeaders()) != int(m.Header.UserHeadersLength) {
				t.Fatal("payload or user headers slice wrong")
			}
			total += len(m.Raw)
			return nil
		})
		if total > len(buf) || (err == nil && total != len(buf)) {
			t.Fatalf("walked %d of %d bytes, err %v", total, len(buf), err)
		}
	})
}

// FuzzDecodeResponse runs the response decoders (used by tests and tools)
// over arbitrary bytes: errors, never panics.
func FuzzDecodeResponse(f *testing.F) {
	names := make([]string, 0, len(responseDecoders))
	for n := range responseDecoders {
		names = append(names, n)
	}
	slices.Sort(names)
	for i, n := range names {
		switch {
		case strings.HasPrefix(n, "stat"):
			f.Add(uint8(i), AppendStats(nil, sampleStats()))
		case n == "cluster":
			f.Add(uint8(i), AppendClusterMetadata(nil, sampleCluster()))
		case n == "user details":
			f.Add(uint8(i), AppendUserDetails(nil, UserDetails{UserInfo: UserInfo{Status: UserActive, Username: "u"}, Permissions: samplePerms()}))
		default:
			f.Add(uint8(i), []byte{1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0})
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		_ = responseDecoders[names[int(which)%len(names)]](b)
	})
}
