package httpserver

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// sendBody1000 is a send of 1,000 messages of 1 KB.
func sendBody1000() []byte {
	var b bytes.Buffer
	b.WriteString(`{"partitioning":{"kind":"balanced","value":""},"messages":[`)
	p := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{'x'}, 1000))
	for i := range 1000 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"payload":"` + p + `"}`)
	}
	b.WriteString("]}")
	return b.Bytes()
}

func BenchmarkDecodeSend1000x1KB(b *testing.B) {
	body := sendBody1000()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := decodeSend(body, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPolledJSON1000x1KB(b *testing.B) {
	var msgs []byte
	for range 1000 {
		msgs = iggyproto.AppendMessage(msgs, [16]byte{1}, 1, bytes.Repeat([]byte{'x'}, 1000), nil)
	}
	res := broker.PollResult{Count: 1000, Messages: msgs}
	buf := make([]byte, 0, 2<<20)
	b.SetBytes(int64(len(msgs)))
	for b.Loop() {
		var err error
		if buf, err = appendPolledJSON(buf[:0], res); err != nil {
			b.Fatal(err)
		}
	}
}
