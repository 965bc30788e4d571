package iggyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"
)

func rawHeader(length uint32, cmd Command) []byte {
	b := binary.LittleEndian.AppendUint32(nil, length)
	return binary.LittleEndian.AppendUint32(b, uint32(cmd))
}

func TestCommandNames(t *testing.T) {
	if CmdLeaveConsumerGroup.String() != "leave_consumer_group" || CmdPing.String() != "ping" {
		t.Fatal("names")
	}
	if Command(999).String() != "command_999" || Command(999).Known() || !CmdPurgeTopic.Known() {
		t.Fatal("unknown command handling")
	}
	if len(commandNames) != 47 {
		t.Fatalf("%d command codes, the fact sheet lists 47", len(commandNames))
	}
}

func TestReadRequestSequence(t *testing.T) {
	var stream []byte
	stream = AppendRequestFrame(stream, CmdPing, nil)
	stream = AppendRequestFrame(stream, CmdCreateStream, EncodeCreateStream(nil, CreateStream{Name: "orders"}))
	stream = AppendRequestFrame(stream, Command(7777), []byte{1, 2, 3})
	for _, name := range []string{"whole", "one byte", "half"} {
		t.Run(name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(stream)
			switch name {
			case "one byte":
				r = iotest.OneByteReader(r)
			case "half":
				r = iotest.HalfReader(r)
			}
			var buf []byte
			f := must(ReadRequest(r, buf, Limits{}))(t)
			if f.Command != CmdPing || len(f.Payload) != 0 {
				t.Fatalf("frame 1: %+v", f)
			}
			f = must(ReadRequest(r, f.Payload[:0], Limits{}))(t)
			eq(t, "frame 2", must(DecodeRequest(f.Command, f.Payload))(t), Request(CreateStream{Name: "orders"}))
			// Unknown commands are read whole; the decoder refuses them.
			f = must(ReadRequest(r, f.Payload[:0], Limits{}))(t)
			if f.Command != 7777 || !bytes.Equal(f.Payload, []byte{1, 2, 3}) {
				t.Fatalf("frame 3: %+v", f)
			}
			_, err := DecodeRequest(f.Command, f.Payload)
			wantCode(t, err, CodeInvalidCommand)
			if _, err := ReadRequest(r, nil, Limits{}); err != io.EOF {
				t.Fatalf("after the last frame: %v, want io.EOF", err)
			}
		})
	}
}

func TestReadRequestReusesBuffer(t *testing.T) {
	frame := AppendRequestFrame(nil, CmdGetStream, []byte{1, 4, 0, 0, 0, 0})
	buf := make([]byte, 0, 64)
	f := must(ReadRequest(bytes.NewReader(frame), buf, Limits{}))(t)
	if &f.Payload[0] != &buf[:1][0] {
		t.Fatal("payload not read into the given buffer")
	}
}

func TestReadRequestTruncated(t *testing.T) {
	frame := AppendRequestFrame(nil, CmdCreateStream, []byte{3, 'a', 'b', 'c'})
	for n := 1; n < len(frame); n++ {
		_, err := ReadRequest(bytes.NewReader(frame[:n]), nil, Limits{})
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%d of %d bytes: %v, want io.ErrUnexpectedEOF", n, len(frame), err)
		}
	}
}

func TestReadRequestShortLength(t *testing.T) {
	for l := uint32(0); l < 4; l++ {
		_, err := ReadRequest(bytes.NewReader(rawHeader(l, CmdPing)), nil, Limits{})
		var fe *FrameError
		if !errors.As(err, &fe) || !fe.Desync || fe.Remaining != 0 {
			t.Fatalf("length %d: %v", l, err)
		}
		wantCode(t, err, CodeInvalidCommand)
		if CodeOf(err) != CodeInvalidCommand {
			t.Fatal("CodeOf")
		}
	}
}

// An oversized control frame is refused before its payload is read; the
// server can discard the payload and go on with the next frame.
func TestReadRequestOversizeDrain(t *testing.T) {
	big := make([]byte, MaxControlPayload+1)
	stream := AppendRequestFrame(nil, CmdCreateStream, big)
	stream = AppendRequestFrame(stream, CmdPing, nil)
	r := bytes.NewReader(stream)
	_, err := ReadRequest(r, nil, Limits{})
	var fe *FrameError
	if !errors.As(err, &fe) || fe.Desync || fe.Remaining != MaxControlPayload+1 || fe.Header.Command != CmdCreateStream {
		t.Fatalf("oversize: %v (%+v)", err, fe)
	}
	wantCode(t, err, CodeInvalidCommand)
	if err := DiscardPayload(r, fe.Remaining); err != nil {
		t.Fatal(err)
	}
	if f := must(ReadRequest(r, nil, Limits{}))(t); f.Command != CmdPing {
		t.Fatalf("next frame %s", f.Command)
	}
	if err := DiscardPayload(bytes.NewReader(nil), 3); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("discard past the end: %v", err)
	}
}

func TestReadRequestLimits(t *testing.T) {
	// Exactly at the control cap is fine.
	at := AppendRequestFrame(nil, CmdCreateStream, make([]byte, MaxControlPayload))
	if _, err := ReadRequest(bytes.NewReader(at), nil, Limits{}); err != nil {
		t.Fatal(err)
	}
	// SendMessages is not held to the control cap, only to MaxSendPayload.
	send := AppendRequestFrame(nil, CmdSendMessages, make([]byte, MaxControlPayload+10))
	if _, err := ReadRequest(bytes.NewReader(send), nil, Limits{}); err != nil {
		t.Fatal(err)
	}
	_, err := ReadRequest(bytes.NewReader(send), nil, Limits{MaxSendPayload: MaxControlPayload})
	var fe *FrameError
	if !errors.As(err, &fe) || fe.Remaining != MaxControlPayload+10 {
		t.Fatalf("send over its cap: %v", err)
	}
	// A huge announced frame does not allocate ahead of the bytes sent.
	hdr := append(rawHeader(DefaultMaxSendPayload+4, CmdSendMessages), 1, 2, 3)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = ReadRequest(bytes.NewReader(hdr), nil, Limits{})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatal(err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 4*readChunk {
		t.Fatalf("allocated %d bytes for a frame that sent 3", n)
	}
}

func TestAppendResponse(t *testing.T) {
	ok := must(AppendResponse(nil, 0, []byte{1, 2, 3, 4}))(t)
	eq(t, "ok", ok, []byte{0, 0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 4})
	empty := must(AppendResponse(nil, 0, nil))(t)
	eq(t, "empty", empty, []byte{0, 0, 0, 0, 0, 0, 0, 0})
	// Errors never carry a payload.
	e := must(AppendResponse(nil, CodeStreamIDNotFound, []byte{9, 9}))(t)
	eq(t, "error", e, []byte{0xf1, 0x03, 0, 0, 0, 0, 0, 0})
	eq(t, "AppendError", AppendError(nil, CodeStreamIDNotFound), e)
	if _, err := AppendResponse([]byte{7}, 0, []byte{1}); !errors.Is(err, ErrOneBytePayload) {
		t.Fatalf("1-byte payload: %v", err)
	}
	if err := WriteResponse(io.Discard, 0, []byte{1}); !errors.Is(err, ErrOneBytePayload) {
		t.Fatalf("WriteResponse 1-byte payload: %v", err)
	}
	var w bytes.Buffer
	if err := WriteResponse(&w, 0, []byte{5, 6}); err != nil || !bytes.Equal(w.Bytes(), []byte{0, 0, 0, 0, 2, 0, 0, 0, 5, 6}) {
		t.Fatalf("WriteResponse: %x, %v", w.Bytes(), err)
	}
}

func TestBeginFinishResponse(t *testing.T) {
	prefix := []byte{0xaa}
	b, start := BeginResponse(prefix)
	b = AppendPollHead(b, PollHead{PartitionID: 1, CurrentOffset: 2, Count: 0})
	b = must(FinishResponse(b, start))(t)
	h, p, err := ReadResponse(bytes.NewReader(b[1:]), 0)
	if err != nil || h.Status != 0 || h.Length != 16 || len(p) != 16 {
		t.Fatalf("%+v %x %v", h, p, err)
	}
	b, start = BeginResponse(nil)
	if _, err := FinishResponse(append(b, 1), start); !errors.Is(err, ErrOneBytePayload) {
		t.Fatalf("1 byte: %v", err)
	}
	if _, err := FinishResponse(nil, 0); err == nil {
		t.Fatal("no header: no error")
	}
}

// ReadResponse reads like the Go SDK: errors and 0/1-byte payloads leave
// the payload unread.
func TestReadResponseSDKQuirks(t *testing.T) {
	var s []byte
	s = AppendError(s, CodeUnauthenticated)
	s = append(s, 0, 0, 0, 0, 1, 0, 0, 0, 0x42) // OK with length 1: the byte is not read
	s = must(AppendResponse(s, 0, []byte{1, 2}))(t)
	r := bytes.NewReader(s)
	h, p, err := ReadResponse(r, 0)
	if err != nil || h.Status != CodeUnauthenticated || p != nil {
		t.Fatalf("error frame: %+v %v", h, err)
	}
	h, p, err = ReadResponse(r, 0)
	if err != nil || h.Length != 1 || len(p) != 0 {
		t.Fatalf("1-byte frame: %+v %v", h, err)
	}
	// The next read is now misaligned, which is why servers must never send 1 byte.
	if h, _, _ = ReadResponse(r, 0); h.Status == 0 {
		t.Fatalf("expected a desynchronised read, got %+v", h)
	}
	if _, _, err := ReadResponse(bytes.NewReader(must(AppendResponse(nil, 0, make([]byte, 10)))(t)), 5); err == nil {
		t.Fatal("oversized response accepted")
	}
}
