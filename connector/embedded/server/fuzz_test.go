package server

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// fuzzSeeds are whole request streams: a login followed by typical
// commands, so mutations reach the decoders and the broker behind them.
// With a token the seeds log in with it (cheap), else with the root
// password (an argon2id hash per run).
func fuzzSeeds(t testing.TB, token string) [][]byte {
	req := func(dst []byte, r iggyproto.Request) []byte {
		out, err := iggyproto.AppendRequest(dst, r)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	login := req(nil, iggyproto.LoginUser{Username: rootUser, Password: rootPass, Version: "0.8.0"})
	if token != "" {
		login = req(nil, iggyproto.LoginWithPersonalAccessToken{Token: token})
	}
	s0, t0 := iggyproto.NumericID(0), iggyproto.NumericID(0)
	batch := iggyproto.AppendMessage(nil, [16]byte{}, 1, []byte("hello"), nil)
	batch = iggyproto.AppendMessage(batch, [16]byte{1}, 2, []byte("world"), []byte{2, 1, 0, 0, 0, 'k', 2, 1, 0, 0, 0, 'v'})

	full := append([]byte(nil), login...)
	full = req(full, iggyproto.CreateStream{Name: "fuzz"})
	full = req(full, iggyproto.CreateTopic{Stream: s0, PartitionsCount: 2, Compression: iggyproto.CompressionNone, Name: "t"})
	full = req(full, iggyproto.SendMessages{Stream: s0, Topic: t0, Partitioning: iggyproto.BalancedPartitioning(), Count: 2, Messages: batch})
	full = req(full, iggyproto.PollMessages{Consumer: iggyproto.Consumer{Kind: iggyproto.ConsumerSingle, ID: iggyproto.NamedID("c")},
		Stream: s0, Topic: t0, Partition: iggyproto.SomePartition(0), Strategy: iggyproto.PollingStrategy{Kind: iggyproto.PollFirst}, Count: 10, AutoCommit: true})
	full = req(full, iggyproto.CreateConsumerGroup{Stream: s0, Topic: t0, Name: "g"})
	full = req(full, iggyproto.JoinConsumerGroup{GroupPath: iggyproto.GroupPath{Stream: s0, Topic: t0, Group: iggyproto.NumericID(0)}})
	full = req(full, iggyproto.GetStats{})
	full = req(full, iggyproto.GetClients{})
	full = req(full, iggyproto.GetMe{})
	full = req(full, iggyproto.GetStream{Stream: s0})
	full = req(full, iggyproto.GetTopic{Stream: s0, Topic: t0})
	full = req(full, iggyproto.CreateUser{Username: "fuzzer", Password: "fuzzer", Status: iggyproto.UserActive})
	full = req(full, iggyproto.CreatePersonalAccessToken{Name: "tok", Expiry: 0})
	full = req(full, iggyproto.DeleteStream{Stream: s0})

	admin := append([]byte(nil), login...)
	admin = req(admin, iggyproto.CreateStream{Name: "fuzz"})
	admin = req(admin, iggyproto.CreateTopic{Stream: s0, PartitionsCount: 1, Compression: iggyproto.CompressionNone, Name: "t"})
	admin = req(admin, iggyproto.FlushUnsavedBuffer{Stream: s0, Topic: t0, PartitionID: 0, Fsync: true})
	admin = req(admin, iggyproto.DeleteSegments{Stream: s0, Topic: t0, PartitionID: 0, SegmentsCount: 1})
	admin = req(admin, iggyproto.GetSnapshotFile{Compression: SnapshotStored, Types: []uint8{SnapshotTest}})
	admin = req(admin, iggyproto.PurgeTopic{Stream: s0, Topic: t0})
	admin = req(admin, iggyproto.DeleteStream{Stream: s0})

	return [][]byte{
		nil,
		{0, 0, 0, 0, 1, 0, 0, 0},
		{2, 0, 0, 0, 1, 0, 0, 0},
		iggyproto.AppendRequestFrame(nil, iggyproto.CmdPing, nil),
		iggyproto.AppendRequestFrame(nil, iggyproto.CmdSendMessages, []byte{0xff, 0xff, 0, 0}),
		login,
		full,
		append(append([]byte(nil), login...), 0xff, 0xff, 0xff, 0xff, 0x65, 0, 0, 0, 1, 2, 3),
		admin,
	}
}

// FuzzParseSnapshotRequest: any GetSnapshotFile payload either fails with
// InvalidCommand or gives a plan of known types (All expanded, never
// beside another type) whose zip builds and reads back entry by entry.
func FuzzParseSnapshotRequest(f *testing.F) {
	f.Add([]byte{2, 1, 4})
	f.Add([]byte{1, 1, 100})
	f.Add([]byte{4, 2, 6, 4})
	f.Add([]byte{2, 2, 100, 4})
	f.Add([]byte{9, 0})
	f.Add([]byte{})
	src := snapshotSource{
		diag:    broker.Diagnostics{Config: broker.Config{DataDir: f.TempDir()}},
		streams: func() (string, bool) { return "no streams\n", true },
		now:     time.Unix(0, 0),
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		req, err := iggyproto.DecodeGetSnapshotFile(payload)
		if err != nil {
			if iggyproto.CodeOf(err) != iggyproto.CodeInvalidCommand {
				t.Fatalf("decode error %v", err)
			}
			return
		}
		plan, err := parseSnapshotRequest(req)
		if err != nil {
			if iggyproto.CodeOf(err) != iggyproto.CodeInvalidCommand {
				t.Fatalf("parse error %v", err)
			}
			return
		}
		hasAll := bytes.IndexByte(req.Types, SnapshotAll) >= 0
		if hasAll && len(req.Types) != 1 {
			t.Fatalf("all accepted beside other types: %v", req.Types)
		}
		if !hasAll && !bytes.Equal(plan.types, req.Types) {
			t.Fatalf("plan types %v for %v", plan.types, req.Types)
		}
		if hasAll && len(plan.types) != 5 {
			t.Fatalf("all expanded to %v", plan.types)
		}
		// Building touches /proc and the data dir: keep it to small plans.
		if len(plan.types) > 3 {
			return
		}
		z, err := buildSnapshot(plan, src)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
		if err != nil {
			t.Fatal(err)
		}
		zr.RegisterDecompressor(zstd.ZipMethodWinZip, zstd.ZipDecompressor())
		if len(zr.File) != len(plan.types) {
			t.Fatalf("%d entries for %v", len(zr.File), plan.types)
		}
		for i, zf := range zr.File {
			if zf.Name != snapshotNames[plan.types[i]]+".txt" || zf.Method != plan.method {
				t.Fatalf("entry %d: %s method %d", i, zf.Name, zf.Method)
			}
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, rc); err != nil {
				t.Fatalf("entry %s: %v", zf.Name, err)
			}
			_ = rc.Close()
		}
	})
}

// FuzzServeConn feeds arbitrary bytes to one connection (in memory, the
// client hanging up after its bytes) of a server in front of a real
// broker: no panic, no hang, the connection always ends, and every answer
// is a well-formed response frame.
func FuzzServeConn(f *testing.F) {
	// Login throttling off: it is tested on its own, and here its waits
	// would accumulate across inputs (one source address).
	b, err := broker.Open(broker.Config{DataDir: f.TempDir(), Fsync: "never", LoginThrottleBase: -1})
	if err != nil {
		f.Fatal(err)
	}
	sys := b.NewSystemSession("fuzz")
	token, err := b.CreatePersonalAccessToken(sys, "fuzz", 0)
	b.CloseSession(sys)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range fuzzSeeds(f, token) {
		f.Add(s)
	}
	srv, err := New(b, Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		_ = srv.Close()
		_ = b.Close()
	})
	f.Fuzz(func(t *testing.T, in []byte) {
		if createsManyPartitions(in) {
			t.Skip("creating hundreds of partitions is disk work measured in seconds, not a hang")
		}
		mc := &memConn{in: bytes.NewReader(in)}
		srv.accept(mc)
		deadline := time.Now().Add(5 * time.Second)
		for srv.connCount() > 0 {
			if time.Now().After(deadline) {
				t.Fatal("connection did not end: a request hung")
			}
			time.Sleep(100 * time.Microsecond)
		}
		checkResponses(t, mc.out.Bytes())
	})
}

// createsManyPartitions reports whether a request stream creates a topic
// or partitions by more than 16 at a time.
func createsManyPartitions(in []byte) bool {
	for len(in) >= 8 {
		n := int64(binary.LittleEndian.Uint32(in)) - 4
		cmd := iggyproto.Command(binary.LittleEndian.Uint32(in[4:]))
		if n < 0 || n > int64(len(in)-8) {
			return false
		}
		req, err := iggyproto.DecodeRequest(cmd, in[8:8+n])
		if err == nil {
			switch r := req.(type) {
			case iggyproto.CreateTopic:
				if r.PartitionsCount > 16 {
					return true
				}
			case iggyproto.CreatePartitions:
				if r.Count > 16 {
					return true
				}
			}
		}
		in = in[8+n:]
	}
	return false
}

// checkResponses verifies that out is a sequence of well-formed response
// frames: errors carry no payload and no payload is 1 byte long.
func checkResponses(t *testing.T, out []byte) {
	t.Helper()
	for len(out) > 0 {
		if len(out) < 8 {
			t.Fatalf("truncated response header: %x", out)
		}
		status := binary.LittleEndian.Uint32(out)
		n := int(binary.LittleEndian.Uint32(out[4:]))
		if status != 0 && n != 0 {
			t.Fatalf("error %d with a %d-byte payload", status, n)
		}
		if n == 1 {
			t.Fatal("1-byte payload")
		}
		if n > len(out)-8 {
			t.Fatalf("payload of %d bytes, %d written", n, len(out)-8)
		}
		out = out[8+n:]
	}
}

// memConn is an in-memory connection: reads come from in, then io.EOF (the
// client hung up after sending in); writes are kept in out.
type memConn struct {
	in  *bytes.Reader
	mu  sync.Mutex
	out bytes.Buffer
}

func (m *memConn) Read(p []byte) (int, error) { return m.in.Read(p) }
func (m *memConn) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.out.Write(p)
}
func (m *memConn) Close() error                     { return nil }
func (m *memConn) LocalAddr() net.Addr              { return memAddr{} }
func (m *memConn) RemoteAddr() net.Addr             { return memAddr{} }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "127.0.0.1:1" }
