package server

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	iggcon "github.com/apache/iggy/foreign/go/contracts"
	"github.com/klauspost/compress/zstd"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// Commands of Iggy 0.8.0 the Go SDK never sends (snapshot, flush, delete
// segments), client ids and heartbeats.

// newEnvWith is newEnv with the broker configuration edited by mod.
func newEnvWith(t testing.TB, mod func(*broker.Config)) *testEnv {
	t.Helper()
	e := &testEnv{t: t, dir: t.TempDir(), brokerCfg: mod}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func rawID(v uint32) []byte { return iggyproto.AppendIdentifier(nil, iggyproto.NumericID(v)) }

// openZip reads a snapshot answer, with zstd entries readable too.
func openZip(t *testing.T, p []byte) *zip.Reader {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(p), int64(len(p)))
	if err != nil {
		t.Fatalf("snapshot is no zip: %v (%d bytes)", err, len(p))
	}
	zr.RegisterDecompressor(zstd.ZipMethodWinZip, zstd.ZipDecompressor())
	return zr
}

func zipEntries(t *testing.T, zr *zip.Reader) (names []string, methods []uint16, bodies map[string]string) {
	t.Helper()
	bodies = map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("open %s: %v", f.Name, err)
		}
		b, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", f.Name, err)
		}
		names = append(names, f.Name)
		methods = append(methods, f.Method)
		bodies[f.Name] = string(b)
	}
	return names, methods, bodies
}

func TestRawSnapshot(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)
	mkTopic(t, cli, "orders", "created", 2)
	c := dial(t, e.addr)
	snap := func(compression uint8, types ...uint8) (uint32, []byte) {
		return roundTrip(t, c, frame(11, append([]byte{compression, byte(len(types))}, types...)))
	}
	// Before login: 40, as for every command but ping and login.
	if st, _ := snap(2, 4); st != uint32(iggyproto.CodeUnauthenticated) {
		t.Fatalf("snapshot before login: %d", st)
	}
	rawLogin(t, c)

	st, p := snap(2, 4)
	if st != 0 {
		t.Fatalf("test snapshot: status %d", st)
	}
	names, methods, bodies := zipEntries(t, openZip(t, p))
	if len(names) != 1 || names[0] != "test.txt" || methods[0] != zip.Deflate || bodies["test.txt"] != "test\n" {
		t.Fatalf("test snapshot: %v %v %q", names, methods, bodies)
	}

	st, p = snap(1, 100)
	if st != 0 {
		t.Fatalf("all snapshot: status %d", st)
	}
	names, methods, bodies = zipEntries(t, openZip(t, p))
	want := []string{"filesystem_overview.txt", "process_list.txt", "resource_usage.txt", "server_logs.txt", "server_config.txt"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("all snapshot entries %v, want %v", names, want)
	}
	for i, m := range methods {
		if m != zip.Store {
			t.Fatalf("entry %s method %d, want stored", names[i], m)
		}
	}
	cfg := bodies["server_config.txt"]
	for _, s := range []string{`root_password = "REDACTED"`, "[heartbeat]", "enabled = false", `bound_address = "` + e.addr + `"`, strconv.Quote(e.dir)} {
		if !strings.Contains(cfg, s) {
			t.Fatalf("server_config.txt lacks %q:\n%s", s, cfg)
		}
	}
	if ru := bodies["resource_usage.txt"]; !strings.Contains(ru, `stream 0 "orders"`) || !strings.Contains(ru, `topic 0 "created": 2 partitions`) ||
		!strings.Contains(ru, "partitions = 2") || !strings.Contains(ru, "goroutines = ") {
		t.Fatalf("resource_usage.txt:\n%s", ru)
	}
	if fo := bodies["filesystem_overview.txt"]; !strings.Contains(fo, "Data directory "+e.dir) || !strings.Contains(fo, "streams") {
		t.Fatalf("filesystem_overview.txt:\n%s", fo)
	}
	if _, err := os.Stat("/proc/self/status"); err == nil {
		pl := bodies["process_list.txt"]
		if !strings.Contains(pl, strconv.Itoa(os.Getpid())+" ") || !strings.Contains(pl, "=== This process") {
			t.Fatalf("process_list.txt lacks this process:\n%.2000s", pl)
		}
	}

	// Zstd as Iggy's zip writer stores it (method 93); bzip2, lzma and xz
	// are deflated. Types come in request order, duplicates kept.
	st, p = snap(4, 6, 4)
	if st != 0 {
		t.Fatalf("zstd snapshot: %d", st)
	}
	names, methods, bodies = zipEntries(t, openZip(t, p))
	if len(names) != 2 || names[0] != "server_config.txt" || names[1] != "test.txt" || methods[0] != zstd.ZipMethodWinZip || bodies["test.txt"] != "test\n" {
		t.Fatalf("zstd snapshot: %v %v", names, methods)
	}
	for _, comp := range []uint8{3, 5, 6} {
		st, p = snap(comp, 4)
		if st != 0 {
			t.Fatalf("compression %d: %d", comp, st)
		}
		if _, methods, _ = zipEntries(t, openZip(t, p)); methods[0] != zip.Deflate {
			t.Fatalf("compression %d: method %d", comp, methods[0])
		}
	}
	// No types: an empty zip.
	st, p = snap(2)
	if names, _, _ := zipEntries(t, openZip(t, p)); st != 0 || len(names) != 0 {
		t.Fatalf("empty snapshot: %d %v", st, names)
	}

	// Bad requests: InvalidCommand (3), the connection stays usable.
	for _, bad := range [][]byte{
		{0, 1, 4},       // compression 0
		{7, 1, 4},       // compression 7
		{2, 1, 7},       // type 7
		{2, 1, 0},       // type 0
		{2, 2, 100, 4},  // all with another type
		{2, 2, 4, 100},  // the same, other order
		{2, 3, 4},       // truncated types
		{2},             // no count
		{},              // empty
		{2, 255, 4, 4},  // count beyond the payload
		{2, 2, 1, 2, 9}, // trailing byte after valid types: ignored
	} {
		st, _ := roundTrip(t, c, frame(11, bad))
		wantSt := uint32(iggyproto.CodeInvalidCommand)
		if len(bad) == 5 {
			wantSt = 0
		}
		if st != wantSt {
			t.Fatalf("snapshot %v: status %d, want %d", bad, st, wantSt)
		}
	}
	rawLogin(t, c) // still in step
}

// TestSnapshotNeedsNoPermission: any logged-in user gets a snapshot, as
// from Iggy; the stream listing only shows what the user may read.
func TestSnapshotNeedsNoPermission(t *testing.T) {
	e := newEnv(t)
	root := e.root(t)
	mkTopic(t, root, "secret", "t", 1)
	must(root.CreateUser("nobody", "nobody-pass", iggcon.Active, nil))(t)
	c := dial(t, e.addr)
	st, _ := roundTrip(t, c, frame(38, loginPayload("nobody", "nobody-pass")))
	if st != 0 {
		t.Fatalf("login: %d", st)
	}
	st, p := roundTrip(t, c, frame(11, []byte{2, 1, 3}))
	if st != 0 {
		t.Fatalf("snapshot: %d", st)
	}
	_, _, bodies := zipEntries(t, openZip(t, p))
	ru := bodies["resource_usage.txt"]
	if strings.Contains(ru, "secret") || !strings.Contains(ru, "lacks the read_streams permission") {
		t.Fatalf("resource_usage.txt for a user without permissions:\n%s", ru)
	}
}

func TestRawFlushUnsavedBuffer(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)
	s, tp := mkTopic(t, cli, "s", "t", 2)
	ok(t, cli.SendMessages(nid(s), nid(tp), iggcon.PartitionId(1), msgs(t, "m", 3)))
	c := dial(t, e.addr)
	flush := func(stream, topic []byte, partition uint32, fsync byte) uint32 {
		p := append(append(append([]byte{}, stream...), topic...), binary.LittleEndian.AppendUint32(nil, partition)...)
		st, body := roundTrip(t, c, frame(102, append(p, fsync)))
		if len(body) != 0 {
			t.Fatalf("flush answered %d bytes", len(body))
		}
		return st
	}
	if st := flush(rawID(s), rawID(tp), 0, 1); st != uint32(iggyproto.CodeUnauthenticated) {
		t.Fatalf("flush before login: %d", st)
	}
	rawLogin(t, c)
	for _, tc := range []struct {
		stream, topic []byte
		partition     uint32
		fsync         byte
		want          iggyproto.Code
	}{
		{rawID(s), rawID(tp), 1, 1, 0},
		{rawID(s), rawID(tp), 0, 0, 0},
		{rawID(s), rawID(tp), 1, 7, 0}, // any non-zero fsync byte is true
		{rawID(s), rawID(tp), 2, 1, iggyproto.CodePartitionNotFound},
		{rawID(s), rawID(9), 0, 1, iggyproto.CodeTopicIDNotFound},
		{rawID(9), rawID(tp), 0, 1, iggyproto.CodeStreamIDNotFound},
	} {
		if st := flush(tc.stream, tc.topic, tc.partition, tc.fsync); st != uint32(tc.want) {
			t.Fatalf("flush %v: status %d, want %d", tc, st, tc.want)
		}
	}
	// Truncated: no fsync byte.
	p := append(append(rawID(s), rawID(tp)...), 0, 0, 0, 0)
	if st, _ := roundTrip(t, c, frame(102, p)); st != uint32(iggyproto.CodeInvalidCommand) {
		t.Fatalf("truncated flush: %d", st)
	}
	// The messages are still there.
	if got := must(cli.GetTopic(nid(s), nid(tp)))(t); got.MessagesCount != 3 {
		t.Fatalf("%d messages after flush", got.MessagesCount)
	}
}

func TestRawDeleteSegments(t *testing.T) {
	e := newEnvWith(t, func(c *broker.Config) { c.SegmentSize = 4096 })
	cli := e.root(t)
	s, tp := mkTopic(t, cli, "s", "t", 1)
	big := make([]iggcon.IggyMessage, 0, 40)
	for i := range 40 {
		m, err := iggcon.NewIggyMessage([]byte(strings.Repeat("x", 400) + strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		big = append(big, m)
	}
	for i := 0; i < len(big); i += 4 { // a batch is never split over segments
		ok(t, cli.SendMessages(nid(s), nid(tp), iggcon.PartitionId(0), big[i:i+4]))
	}
	segments := func() (uint32, uint64) {
		got := must(cli.GetTopic(nid(s), nid(tp)))(t)
		return got.Partitions[0].SegmentsCount, got.MessagesCount
	}
	before, msgsBefore := segments()
	if before < 4 {
		t.Fatalf("only %d segments", before)
	}
	c := dial(t, e.addr)
	rawLogin(t, c)
	del := func(stream, topic []byte, partition, count uint32) uint32 {
		p := append(append(append([]byte{}, stream...), topic...), binary.LittleEndian.AppendUint32(nil, partition)...)
		st, body := roundTrip(t, c, frame(503, binary.LittleEndian.AppendUint32(p, count)))
		if len(body) != 0 {
			t.Fatalf("delete segments answered %d bytes", len(body))
		}
		return st
	}
	if st := del(rawID(s), rawID(tp), 0, 2); st != 0 {
		t.Fatalf("delete segments: %d", st)
	}
	after, msgsAfter := segments()
	if after != before-2 || msgsAfter >= msgsBefore {
		t.Fatalf("segments %d -> %d, messages %d -> %d", before, after, msgsBefore, msgsAfter)
	}
	// Polls start at the first offset left.
	polled := must(cli.PollMessages(nid(s), nid(tp), iggcon.DefaultConsumer(), iggcon.FirstPollingStrategy(), 1, false, ptr(uint32(0))))(t)
	if len(polled.Messages) != 1 || polled.Messages[0].Header.Offset != msgsBefore-msgsAfter {
		t.Fatalf("first message after delete: %+v", polled.Messages)
	}
	// Never the active segment.
	if st := del(rawID(s), rawID(tp), 0, 1000); st != 0 {
		t.Fatalf("delete all: %d", st)
	}
	if n, m := segments(); n != 1 || m == 0 {
		t.Fatalf("after deleting all: %d segments, %d messages", n, m)
	}
	for _, tc := range []struct {
		stream, topic []byte
		partition     uint32
		want          iggyproto.Code
	}{
		{rawID(s), rawID(tp), 1, iggyproto.CodePartitionNotFound},
		{rawID(s), rawID(9), 0, iggyproto.CodeTopicIDNotFound},
		{rawID(9), rawID(tp), 0, iggyproto.CodeStreamIDNotFound},
	} {
		if st := del(tc.stream, tc.topic, tc.partition, 1); st != uint32(tc.want) {
			t.Fatalf("delete segments %v: %d, want %d", tc, st, tc.want)
		}
	}
	if st, _ := roundTrip(t, c, frame(503, append(append(rawID(s), rawID(tp)...), 0, 0, 0, 0, 1))); st != uint32(iggyproto.CodeInvalidCommand) {
		t.Fatalf("truncated delete segments: %d", st)
	}
}

// TestSDKClientIDsAreIggyHashes: every client id the SDK sees is the XXH32
// of the client's address, as Iggy 0.8.0 computes it.
func TestSDKClientIDsAreIggyHashes(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)
	other := e.root(t)
	c := dial(t, e.addr)
	rawLogin(t, c)
	cs := must(cli.GetClients())(t)
	if len(cs) != 3 {
		t.Fatalf("%d clients, want 3", len(cs))
	}
	for _, ci := range cs {
		if ci.ID != broker.ClientID(ci.Address) || ci.ID == 0 {
			t.Fatalf("client %d at %s: want XXH32 %d", ci.ID, ci.Address, broker.ClientID(ci.Address))
		}
		d := must(other.GetClient(ci.ID))(t)
		if d.ID != ci.ID || d.Address != ci.Address {
			t.Fatalf("GetClient(%d): %+v", ci.ID, d)
		}
	}
	// GetMe on the raw connection: the hash of its local address.
	st, p := roundTrip(t, c, frame(20, nil))
	me, err := iggyproto.DecodeClientDetails(p)
	if st != 0 || err != nil {
		t.Fatalf("GetMe: %d %v", st, err)
	}
	if local := c.LocalAddr().String(); me.ClientID != broker.ClientID(local) || me.Address != local {
		t.Fatalf("GetMe: id %d address %s, want %d %s", me.ClientID, me.Address, broker.ClientID(local), local)
	}
}

// fakeClock is a settable broker clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestSDKStaleClientIsDisconnected: with heartbeats on, a connection that
// sent no ping for more than 1.2 intervals is removed; its next command
// answers StaleClient (30) and the connection is closed. A client that
// pinged stays.
func TestSDKStaleClientIsDisconnected(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := newEnvWith(t, func(c *broker.Config) {
		c.Now = clk.now
		c.HeartbeatInterval = 5 * time.Second // enabled stays off: the test drives the verifier
	})
	cli := e.root(t)
	s, tp := mkTopic(t, cli, "s", "t", 2)
	g := must(cli.CreateConsumerGroup(nid(s), nid(tp), "g"))(t)

	c := dial(t, e.addr)
	rawLogin(t, c)
	join := append(append(rawID(s), rawID(tp)...), rawID(g.Id)...)
	if st, _ := roundTrip(t, c, frame(604, join)); st != 0 {
		t.Fatalf("join: %d", st)
	}
	if gd := must(cli.GetConsumerGroup(nid(s), nid(tp), nid(g.Id)))(t); gd.MembersCount != 1 {
		t.Fatalf("group %+v", gd)
	}

	clk.advance(6 * time.Second) // 1.2 intervals exactly: not stale
	if n := e.b.VerifyHeartbeats(); n != 0 {
		t.Fatalf("%d removed at the threshold", n)
	}
	clk.advance(time.Second)
	ok(t, cli.Ping())
	if n := e.b.VerifyHeartbeats(); n != 1 {
		t.Fatalf("%d sessions removed, want 1", n)
	}
	if st, _ := roundTrip(t, c, frame(201, nil)); st != uint32(iggyproto.CodeStaleClient) {
		t.Fatalf("command on a stale session: %d", st)
	}
	expectClosed(t, c)

	// The stale member left the group; the pinging client is fine.
	if gd := must(cli.GetConsumerGroup(nid(s), nid(tp), nid(g.Id)))(t); gd.MembersCount != 0 {
		t.Fatalf("group after the stale member went: %+v", gd)
	}
	if cs := must(cli.GetClients())(t); len(cs) != 1 {
		t.Fatalf("clients %+v", cs)
	}
}

// TestRawAdminSeedSequence plays the last fuzz seed (flush, delete
// segments, snapshot, purge) over TCP: every command of it succeeds.
func TestRawAdminSeedSequence(t *testing.T) {
	e := newEnv(t)
	c := dial(t, e.addr)
	seeds := fuzzSeeds(t, "")
	admin := seeds[len(seeds)-1]
	if _, err := c.Write(admin); err != nil {
		t.Fatal(err)
	}
	n := 0
	for rest := admin; len(rest) > 0; n++ {
		size := int(binary.LittleEndian.Uint32(rest)) + 4
		cmd := binary.LittleEndian.Uint32(rest[4:])
		rest = rest[size:]
		st, p, err := readResponse(c)
		if err != nil || st != 0 {
			t.Fatalf("request %d (command %d): status %d, %v", n, cmd, st, err)
		}
		if cmd == uint32(iggyproto.CmdGetSnapshotFile) {
			if names, _, _ := zipEntries(t, openZip(t, p)); len(names) != 1 || names[0] != "test.txt" {
				t.Fatalf("snapshot entries %v", names)
			}
		}
	}
	if n != 8 {
		t.Fatalf("%d requests", n)
	}
}
