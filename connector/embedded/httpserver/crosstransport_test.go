package httpserver

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/apache/iggy/foreign/go/client"
	"github.com/apache/iggy/foreign/go/client/tcp"
	iggcon "github.com/apache/iggy/foreign/go/contracts"

	"github.com/rustok/rustok-iggy/connector/embedded/server"
)

// tcpClient starts the TCP server over e's broker and returns an official
// Go SDK client logged in as root; both stop when the test ends.
func tcpClient(t *testing.T, e *env) iggcon.Client {
	t.Helper()
	srv, err := server.New(e.b, server.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve() }()
	cli, err := client.NewIggyClient(client.WithTcp(tcp.WithServerAddress(srv.Addr().String())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cli.Close()
		_ = srv.Close()
		<-done
	})
	if _, err := cli.LoginUser("iggy", "iggy"); err != nil {
		t.Fatal(err)
	}
	return cli
}

func id[T uint32 | string](t testing.TB, v T) iggcon.Identifier {
	t.Helper()
	i, err := iggcon.NewIdentifier(v)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func TestHTTPSendTCPPoll(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	cli := tcpClient(t, e)
	e.mkTopic(tok, "s", "t", 1)
	e.do("POST", "/streams/s/topics/t/messages", tok, `{"partitioning":{"kind":"partition_id","value":"AAAAAA=="},"messages":[
		{"id":42,"payload":"`+b64("over http")+`","user_headers":[{"key":{"kind":"string","value":"`+b64("k")+`"},"value":{"kind":"string","value":"`+b64("v")+`"}}]}]}`).expect(t, 201)
	p0 := uint32(0)
	got, err := cli.PollMessages(id(t, "s"), id(t, "t"), iggcon.DefaultConsumer(), iggcon.FirstPollingStrategy(), 10, false, &p0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 1 {
		t.Fatalf("TCP polled %d messages", len(got.Messages))
	}
	m := got.Messages[0]
	if string(m.Payload) != "over http" || m.Header.Id != (iggcon.MessageID{42}) {
		t.Fatalf("TCP saw %q id %x", m.Payload, m.Header.Id)
	}
	hs, err := iggcon.DeserializeHeaders(m.UserHeaders)
	if err != nil || len(hs) != 1 {
		t.Fatalf("headers %v %v", hs, err)
	}
	// An offset stored over HTTP is the TCP consumer's offset.
	e.do("PUT", "/streams/s/topics/t/consumer-offsets", tok, `{"consumer_id":"7","partition_id":0,"offset":0}`).expect(t, 204)
	off, err := cli.GetConsumerOffset(iggcon.NewSingleConsumer(id(t, uint32(7))), id(t, "s"), id(t, "t"), &p0)
	if err != nil || off == nil || off.StoredOffset != 0 || off.CurrentOffset != 0 {
		t.Fatalf("TCP offset %+v %v", off, err)
	}
}

func TestTCPSendHTTPPoll(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	cli := tcpClient(t, e)
	st, err := cli.CreateStream("s")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.CreateTopic(id(t, st.Id), "t", 1, iggcon.CompressionAlgorithmNone, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	k, _ := iggcon.NewHeaderKeyString("tenant_id")
	mid := iggcon.MessageID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	msg, err := iggcon.NewIggyMessage([]byte("over tcp"), iggcon.WithID(mid),
		iggcon.WithUserHeaders([]iggcon.HeaderEntry{{Key: k, Value: iggcon.HeaderValue{Kind: iggcon.String, Value: []byte("acme")}}}))
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.SendMessages(id(t, "s"), id(t, "t"), iggcon.PartitionId(0), []iggcon.IggyMessage{msg}); err != nil {
		t.Fatal(err)
	}
	p := decodePolled(t, e.do("GET", "/streams/s/topics/t/messages?partition_id=0&kind=first&count=5", tok, nil).expect(t, 200))
	if p.Count != 1 {
		t.Fatalf("HTTP polled %+v", p)
	}
	m := p.Messages[0]
	var want [16]byte
	copy(want[:], mid[:])
	if pl, _ := base64.StdEncoding.DecodeString(m.Payload); !bytes.Equal(pl, []byte("over tcp")) ||
		m.Header.ID.String() != string(appendMessageID(nil, want)) {
		t.Fatalf("HTTP saw %+v", m)
	}
	if len(m.UserHeaders) != 1 || m.UserHeaders[0].Key.Value != b64("tenant_id") || m.UserHeaders[0].Value.Value != b64("acme") {
		t.Fatalf("HTTP headers %+v", m.UserHeaders)
	}
	// The stream made over TCP lists over HTTP.
	if ss := decode[[]StreamJSON](t, e.do("GET", "/streams", tok, nil)); len(ss) != 1 || ss[0].MessagesCount != 1 {
		t.Fatalf("HTTP streams %+v", ss)
	}
}
