package iggyproto

import (
	"bytes"
	"testing"
)

// The hex examples of the fact sheet, kept in testdata/*.hex.

func TestGoldenPATCreate(t *testing.T) {
	b := readHex(t, "pat_create_abc_expiry1.hex")
	want := CreatePersonalAccessToken{Name: "abc", Expiry: 1 << 32}
	eq(t, "decoded", must(DecodeCreatePersonalAccessToken(b))(t), want)
	if enc := EncodeCreatePersonalAccessToken(nil, want); !bytes.Equal(enc, b) {
		t.Fatalf("encoded %x, want %x", enc, b)
	}
}

func TestGoldenUpdateUserBoth(t *testing.T) {
	b := readHex(t, "update_user_both.hex")
	want := UpdateUser{User: NumericID(1), Username: ptr("bob"), Status: ptr(UserActive)}
	eq(t, "decoded", must(DecodeUpdateUser(b))(t), want)
	// Our canonical encoding is the SDK's without its extra trailing byte.
	if enc := EncodeUpdateUser(nil, want); !bytes.Equal(enc, b[:len(b)-1]) {
		t.Fatalf("encoded %x, want %x", enc, b[:len(b)-1])
	}
}

func TestGoldenPollMessages(t *testing.T) {
	b := readHex(t, "poll_messages_next.hex")
	want := PollMessages{Consumer: Consumer{ConsumerSingle, NumericID(0)}, Stream: NumericID(0), Topic: NumericID(0),
		Partition: SomePartition(3), Strategy: PollingStrategy{Kind: PollNext}, Count: 10, AutoCommit: true}
	eq(t, "decoded", must(DecodePollMessages(b))(t), want)
	if enc := EncodePollMessages(nil, want); !bytes.Equal(enc, b) {
		t.Fatalf("encoded %x, want %x", enc, b)
	}
}

func TestGoldenSendMessages(t *testing.T) {
	b := readHex(t, "send_messages_hi_yo.hex")
	if len(b) != 187 {
		t.Fatalf("golden payload is %d bytes, the fact sheet says 187", len(b))
	}
	s := must(DecodeSendMessages(b))(t)
	area := AppendMessage(AppendMessage(nil, [16]byte{}, 0, []byte("hi"), nil), [16]byte{}, 0, []byte("yo!"), nil)
	if s.Stream != NumericID(0) || s.Topic != NumericID(0) || s.Partitioning.Kind != PartitionBalanced || s.Count != 2 ||
		!bytes.Equal(s.Messages, area) || len(s.Indexes) != 32 {
		t.Fatalf("decoded %+v", s)
	}
	// Zero copy: the message area aliases the payload.
	if &s.Messages[0] != &b[len(b)-len(area)] {
		t.Fatal("Messages does not alias the payload")
	}
	var payloads []string
	if err := s.Walk(func(m MessageView) error { payloads = append(payloads, string(m.Payload())); return nil }); err != nil {
		t.Fatal(err)
	}
	eq(t, "payloads", payloads, []string{"hi", "yo!"})
	if enc := EncodeSendMessages(nil, SendMessages{Stream: NumericID(0), Topic: NumericID(0), Partitioning: BalancedPartitioning(),
		Count: 2, Messages: area}); !bytes.Equal(enc, b) {
		t.Fatalf("encoded\n %x\nwant\n %x", enc, b)
	}
}

// Every golden SDK frame reads back with ReadRequest and decodes.
func TestGoldenSDKFramesDecode(t *testing.T) {
	files := hexFiles(t, "sdk/*.hex")
	if len(files) < 40 {
		t.Fatalf("only %d SDK golden frames", len(files))
	}
	for name, frame := range files {
		fr, err := ReadRequest(bytes.NewReader(frame), nil, Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := DecodeRequest(fr.Command, fr.Payload); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}
