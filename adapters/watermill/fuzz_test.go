package iggywm_test

import (
	"strconv"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	iggywm "github.com/rustok/rustok-iggy/adapters/watermill"
	"github.com/rustok/rustok-iggy/core"
)

// FuzzUnmarshal feeds arbitrary extension blocks, cut into chunks at an
// arbitrary size, next to an arbitrary header: Unmarshal never panics, and
// what it accepts survives Marshal and Unmarshal unchanged.
func FuzzUnmarshal(f *testing.F) {
	for _, seed := range []string{
		"01030000000001000000010000006500000000",
		"01000000000000",
		"010205000000616263",
		"0100ffffffff",
		"01000100000001000000610100000062",
	} {
		f.Add(mustHex(f, seed), uint8(255), "k", "v")
	}
	for _, m := range trickyMessages() {
		im, err := iggywm.DefaultMarshaler{}.Marshal("t", m)
		if err != nil {
			f.Fatal(err)
		}
		var block []byte
		for _, h := range im.Headers {
			if len(h.Key) > len(iggywm.HeaderExtPrefix) && h.Key[:len(iggywm.HeaderExtPrefix)] == iggywm.HeaderExtPrefix {
				block = append(block, h.Value...)
			}
		}
		f.Add(block, uint8(100), iggywm.HeaderUUID, m.UUID)
	}
	f.Fuzz(func(t *testing.T, block []byte, chunk uint8, key, value string) {
		size := max(int(chunk), 1)
		var hs core.Headers
		if key != "" {
			hs = append(hs, core.Header{Key: key, Kind: core.HeaderString, Value: []byte(value)})
		}
		for i := 0; len(block) > 0; i++ {
			n := min(len(block), size)
			hs = append(hs, core.Header{Key: iggywm.HeaderExtPrefix + strconv.Itoa(i), Kind: core.HeaderRaw, Value: block[:n]})
			block = block[n:]
		}
		m := iggywm.DefaultMarshaler{}
		got, err := m.Unmarshal(core.Message{Payload: []byte{0}, Headers: hs})
		if err != nil {
			return
		}
		im, err := m.Marshal("t", got)
		if err != nil {
			t.Fatal(err)
		}
		again, err := m.Unmarshal(im)
		if err != nil {
			t.Fatalf("re-marshalled message does not unmarshal: %v", err)
		}
		if d := equalMessage(got, again); d != "" {
			t.Fatal(d)
		}
	})
}

// FuzzRoundTrip: any UUID, metadata entry and payload come back byte for
// byte, in headers Iggy accepts.
func FuzzRoundTrip(f *testing.F) {
	f.Add("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "k", "v", []byte("payload"))
	f.Add("", "", "", []byte{})
	f.Add("\xff", iggywm.HeaderUUID, "\x00", []byte{0})
	f.Add(string(make([]byte, 300)), iggywm.HeaderExtPrefix+"0", string(make([]byte, 256)), []byte(nil))
	f.Fuzz(func(t *testing.T, id, key, value string, payload []byte) {
		msg := message.NewMessage(id, payload)
		msg.Metadata.Set(key, value)
		msg.Metadata.Set("fixed", "x")
		m := iggywm.DefaultMarshaler{}
		im, err := m.Marshal("t", msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Payload) == 0 {
			t.Fatal("empty Iggy payload")
		}
		checkHeaders(t, im.Headers)
		got, err := m.Unmarshal(im)
		if err != nil {
			t.Fatal(err)
		}
		if d := equalMessage(msg, got); d != "" {
			t.Fatal(d)
		}
	})
}
