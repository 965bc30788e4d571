package iggyproto_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// A server connection loop: read a frame, decode it, answer exactly once.
// Refused frames are drained (or the connection closed) after the answer.
func Example_serverLoop() {
	// Two requests as the Go SDK sends them, then an oversized one.
	var in bytes.Buffer
	in.Write(iggyproto.AppendRequestFrame(nil, iggyproto.CmdPing, nil))
	req, _ := iggyproto.AppendRequest(nil, iggyproto.CreateStream{Name: "orders"})
	in.Write(req)
	in.Write(iggyproto.AppendRequestFrame(nil, iggyproto.CmdGetStreams, make([]byte, iggyproto.MaxControlPayload+1)))

	var out []byte
	var buf []byte
	for {
		frame, err := iggyproto.ReadRequest(&in, buf, iggyproto.Limits{})
		var fe *iggyproto.FrameError
		if errors.As(err, &fe) {
			out = iggyproto.AppendError(out, iggyproto.CodeOf(err))
			if fe.Desync || iggyproto.DiscardPayload(&in, fe.Remaining) != nil {
				break // close the connection
			}
			continue
		}
		if err == io.EOF {
			break
		}
		buf = frame.Payload[:0]
		r, err := iggyproto.DecodeRequest(frame.Command, frame.Payload)
		if err != nil {
			out = iggyproto.AppendError(out, iggyproto.CodeOf(err))
			continue
		}
		switch r := r.(type) {
		case iggyproto.Ping:
			out, _ = iggyproto.AppendResponse(out, 0, nil)
		case iggyproto.CreateStream:
			var start int
			out, start = iggyproto.BeginResponse(out)
			out = iggyproto.AppendStreamHeader(out, iggyproto.StreamHeader{ID: 0, Name: r.Name})
			out, _ = iggyproto.FinishResponse(out, start)
		default:
			out = iggyproto.AppendError(out, iggyproto.CodeFeatureUnavailable)
		}
	}
	resp := bytes.NewReader(out)
	for {
		h, payload, err := iggyproto.ReadResponse(resp, 0)
		if err != nil {
			break
		}
		fmt.Printf("status %d, %d payload bytes\n", h.Status, len(payload))
	}
	// Output:
	// status 0, 0 payload bytes
	// status 0, 39 payload bytes
	// status 3, 0 payload bytes
}

// Deciding a message's partition from its key, as Iggy (and the Rust
// producer) does.
func ExamplePartitionForKey() {
	p, _ := iggyproto.PartitionForKey([]byte("abc"), 3)
	fmt.Println(p)
	// Output: 0
}
