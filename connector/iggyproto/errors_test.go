package iggyproto

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/rustok/rustok-iggy/core"
)

func TestErrorMapping(t *testing.T) {
	err := fmt.Errorf("get stream 7: %w", Errorf(CodeStreamIDNotFound, "stream %d", 7))
	if !errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrAlreadyExists) {
		t.Fatal("errors.Is through wrapping")
	}
	if CodeOf(err) != CodeStreamIDNotFound || CodeOf(errors.New("x")) != CodeError {
		t.Fatal("CodeOf")
	}
	if !errors.Is(&Error{Code: CodeUnauthenticated}, core.ErrUnauthenticated) || errors.Is(&Error{Code: CodeError}, core.ErrInvalid) {
		t.Fatal("sentinels")
	}
	if CodeInvalidCommand.String() != "invalid_command" || Code(77777).String() != "code_77777" {
		t.Fatal("names")
	}
	if (&Error{Code: CodeInvalidFormat}).Error() != "iggy error 4 (invalid_format)" {
		t.Fatal((&Error{Code: CodeInvalidFormat}).Error())
	}
	// A FrameError carries its code for CodeOf and errors.Is.
	fe := CheckRequestHeader(RequestHeader{Length: 2}, Limits{})
	if CodeOf(fe) != CodeInvalidCommand || !errors.Is(fe, core.ErrInvalid) || fe.Error() == "" {
		t.Fatal("frame error")
	}
	if (RequestHeader{Length: 3}).PayloadSize() != 0 || (RequestHeader{Length: 10}).PayloadSize() != 6 {
		t.Fatal("PayloadSize")
	}
}

func TestIdentifierString(t *testing.T) {
	if NumericID(7).String() != "7" || NamedID("a b").String() != `"a b"` {
		t.Fatal("String")
	}
}

// Checksum vectors of the fact sheet (6.2): the checksum covers bytes
// [8, end) of a message.
func TestChecksumVectors(t *testing.T) {
	if got := Checksum(make([]byte, 8)); got != 0x2D06800538D394C2 {
		t.Fatalf("XXH3(\"\") = %#x", got)
	}
	if got := Checksum(append(make([]byte, 8), "abc"...)); got != 0x78AF5F94892F3950 {
		t.Fatalf("XXH3(\"abc\") = %#x", got)
	}
	m := AppendMessage(nil, [16]byte{}, 5, []byte("x"), nil)
	Stamp(m, 3, 4, func() [16]byte { return [16]byte{9} })
	h := must(DecodeMessageHeader(m))(t)
	if h.ID != [16]byte{9} || h.Offset != 3 || h.Timestamp != 4 || h.Checksum != Checksum(m) {
		t.Fatalf("%+v", h)
	}
}

func TestWalkMessagesErrors(t *testing.T) {
	good := AppendMessage(nil, [16]byte{}, 0, []byte("ok"), nil)
	if err := WalkMessages(append(bytes.Clone(good), 1, 2), func(MessageView) error { return nil }); err == nil {
		t.Fatal("trailing partial header accepted")
	}
	big := set32(good, 52, MaxPayloadSize+1)
	if err := WalkMessages(big, func(MessageView) error { return nil }); err == nil {
		t.Fatal("oversized payload accepted")
	}
	if err := WalkMessages(set32(good, 52, 3), func(MessageView) error { return nil }); err == nil {
		t.Fatal("message longer than the buffer accepted")
	}
	stop := errors.New("stop")
	if err := WalkMessages(bytes.Repeat(good, 3), func(MessageView) error { return stop }); err != stop {
		t.Fatalf("callback error: %v", err)
	}
}

// Over-long names, keys and type lists are cut so the frame stays well
// formed (callers validate lengths first).
func TestEncodersCapLengths(t *testing.T) {
	long := string(bytes.Repeat([]byte("x"), 300))
	s := must(DecodeCreateStream(EncodeCreateStream(nil, CreateStream{Name: long})))(t)
	if len(s.Name) != 255 {
		t.Fatalf("name of %d bytes", len(s.Name))
	}
	p, n, err := DecodePartitioning(AppendPartitioning(nil, MessageKeyPartitioning(bytes.Repeat([]byte{1}, 300))))
	if err != nil || len(p.Key) != 255 || n != 257 {
		t.Fatalf("key %d bytes, %v", len(p.Key), err)
	}
	g := must(DecodeGetSnapshotFile(EncodeGetSnapshotFile(nil, GetSnapshotFile{Types: make([]uint8, 300)})))(t)
	if len(g.Types) != 255 {
		t.Fatalf("%d types", len(g.Types))
	}
	if _, _, err := DecodePartitioning(AppendPartitioning(nil, Partitioning{Kind: 7})); err == nil {
		t.Fatal("unknown partitioning kind decoded")
	}
	if _, _, err := DecodeIdentifier(AppendIdentifier(nil, Identifier{Kind: 5})); err == nil {
		t.Fatal("unknown identifier kind decoded")
	}
}
