package server

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	iggcon "github.com/apache/iggy/foreign/go/contracts"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// Raw-socket tests: frames the SDK never sends.

func loginPayload(user, pass string) []byte {
	b := append([]byte{byte(len(user))}, user...)
	b = append(b, byte(len(pass)))
	b = append(b, pass...)
	b = binary.LittleEndian.AppendUint32(b, 5)
	b = append(b, "0.8.0"...)
	return binary.LittleEndian.AppendUint32(b, 0)
}

func rawLogin(t *testing.T, c net.Conn) {
	t.Helper()
	st, p := roundTrip(t, c, frame(38, loginPayload(rootUser, rootPass)))
	if st != 0 || len(p) != 4 {
		t.Fatalf("login: %d %x", st, p)
	}
}

func TestRawBadFrames(t *testing.T) {
	e := newEnv(t)
	c := dial(t, e.addr)
	code := func(want iggyproto.Code, raw []byte) {
		t.Helper()
		st, p := roundTrip(t, c, raw)
		if st != uint32(want) || (st != 0 && len(p) != 0) {
			t.Fatalf("status %d payload %x, want %d", st, p, want)
		}
	}
	// Before login: everything but ping and login is 40, with the frame
	// consumed whole (a send with a body keeps the stream in step).
	code(iggyproto.CodeUnauthenticated, frame(201, nil))
	code(iggyproto.CodeUnauthenticated, frame(101, make([]byte, 300)))
	code(0, frame(1, nil))
	rawLogin(t, c)

	code(iggyproto.CodeInvalidCommand, frame(9999, []byte("unknown command")))
	code(iggyproto.CodeInvalidCommand, frame(11, nil))             // GetSnapshotFile: truncated
	code(iggyproto.CodeInvalidCommand, frame(202, []byte{9, 'a'})) // truncated name
	code(iggyproto.CodeInvalidFormat, frame(202, []byte{0}))       // empty name
	code(iggyproto.CodeInvalidCommand, frame(200, []byte{3, 4, 0, 0, 0, 0}))
	code(iggyproto.CodeInvalidFormat, frame(200, []byte{1, 2, 0, 0})) // numeric id of 2 bytes
	code(iggyproto.CodeInvalidCommand, frame(21, []byte{1, 2}))       // truncated u32
	// GetClient of an unknown client: empty OK, as Iggy 0.8.0.
	code(0, frame(21, binary.LittleEndian.AppendUint32(nil, 123456)))
	code(iggyproto.CodeInvalidClientID, frame(21, binary.LittleEndian.AppendUint32(nil, 0)))
	// SendMessages with an empty batch / broken metadata.
	code(iggyproto.CodeInvalidCommand, frame(101, []byte{200, 0, 0, 0}))
	// Trailing bytes after a valid request are ignored.
	st, p := roundTrip(t, c, frame(202, append([]byte{2, 'o', 'k'}, 1, 2, 3)))
	if st != 0 || len(p) < 33 {
		t.Fatalf("create with trailing bytes: %d %d", st, len(p))
	}
	// length < 4: answered 3, then closed.
	raw := binary.LittleEndian.AppendUint32(nil, 2)
	raw = binary.LittleEndian.AppendUint32(raw, 1)
	code(iggyproto.CodeInvalidCommand, raw)
	expectClosed(t, c)

	// Oversized control frame: answered 3 from its header, then closed.
	c = dial(t, e.addr)
	rawLogin(t, c)
	code(iggyproto.CodeInvalidCommand, frame(202, make([]byte, MaxControlFrame+10))[:8])
	expectClosed(t, c)
}

// TestRawGarbage sends random bytes on many connections: the server
// answers or closes, never hangs, and keeps serving others.
func TestRawGarbage(t *testing.T) {
	e := newEnv(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 30 {
		c := dial(t, e.addr)
		n := rng.IntN(200) + 1
		buf := make([]byte, n)
		for j := range buf {
			buf[j] = byte(rng.Uint32())
		}
		if i%2 == 0 && n >= 8 {
			// A plausible length so the frame is parsed as a command.
			binary.LittleEndian.PutUint32(buf, uint32(n-4))
			binary.LittleEndian.PutUint32(buf[4:], uint32(rng.IntN(700)))
		}
		if _, err := c.Write(buf); err != nil {
			t.Fatal(err)
		}
		_ = c.(*net.TCPConn).CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Fatalf("connection %d: %v (server hung?)", i, err)
		}
		_ = c.Close()
	}
	cli := e.root(t)
	ok(t, cli.Ping())
	waitFor(t, func() bool { return e.srv.connCount() == 1 })
}

// TestRawSeedSequence plays the fuzz seed "full" over TCP: every command
// of it succeeds, so the fuzzer starts from requests that reach the broker.
// It also covers GetMe (20), which the Go SDK never sends.
func TestRawSeedSequence(t *testing.T) {
	e := newEnv(t)
	c := dial(t, e.addr)
	full := fuzzSeeds(t, "")[6]
	if _, err := c.Write(full); err != nil {
		t.Fatal(err)
	}
	n := 0
	for rest := full; len(rest) > 0; n++ {
		size := int(binary.LittleEndian.Uint32(rest)) + 4
		cmd := binary.LittleEndian.Uint32(rest[4:])
		rest = rest[size:]
		st, p, err := readResponse(c)
		if err != nil || st != 0 {
			t.Fatalf("request %d (command %d): status %d, %v", n, cmd, st, err)
		}
		if cmd == uint32(iggyproto.CmdGetMe) {
			me, err := iggyproto.DecodeClientDetails(p)
			if err != nil || me.UserID != 0 || len(me.ConsumerGroups) != 1 || me.Transport != iggyproto.TransportTCP {
				t.Fatalf("GetMe: %+v %v", me, err)
			}
		}
	}
	if n != 15 {
		t.Fatalf("%d requests", n)
	}
}

// TestRawPurge covers PurgeStream (205) and PurgeTopic (305), which Iggy
// serves but the Go SDK never sends.
func TestRawPurge(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)
	s, tp := mkTopic(t, cli, "s", "t", 1)
	send := func() {
		ok(t, cli.SendMessages(nid(s), nid(tp), iggcon.PartitionId(0), msgs(t, "m", 3)))
	}
	count := func() uint64 { return must(cli.GetTopic(nid(s), nid(tp)))(t).MessagesCount }
	c := dial(t, e.addr)
	rawLogin(t, c)
	id := func(v uint32) []byte { return iggyproto.AppendIdentifier(nil, iggyproto.NumericID(v)) }

	send()
	if st, _ := roundTrip(t, c, frame(305, append(id(s), id(tp)...))); st != 0 || count() != 0 {
		t.Fatalf("purge topic: %d, %d messages left", st, count())
	}
	send()
	if st, _ := roundTrip(t, c, frame(205, id(s))); st != 0 || count() != 0 {
		t.Fatalf("purge stream: %d, %d messages left", st, count())
	}
	if st, _ := roundTrip(t, c, frame(205, id(9))); st != uint32(iggyproto.CodeStreamIDNotFound) {
		t.Fatalf("purge missing stream: %d", st)
	}
	if st, _ := roundTrip(t, c, frame(305, append(id(s), id(9)...))); st != uint32(iggyproto.CodeTopicIDNotFound) {
		t.Fatalf("purge missing topic: %d", st)
	}
	if st, _ := roundTrip(t, c, frame(305, id(s))); st != uint32(iggyproto.CodeInvalidCommand) {
		t.Fatalf("purge topic without topic id: %d", st)
	}
	// The topic and its partitions survive.
	if got := must(cli.GetTopic(nid(s), nid(tp)))(t); got.PartitionsCount != 1 {
		t.Fatalf("topic after purge %+v", got)
	}
}
