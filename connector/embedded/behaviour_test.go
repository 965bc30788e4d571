package embedded_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

// setup creates stream "s" with topic "t" of n partitions.
func setup(t *testing.T, b core.Broker, n uint32) {
	t.Helper()
	ctx := context.Background()
	if _, err := b.CreateStream(ctx, "s"); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	if _, err := b.CreateTopic(ctx, "s", "t", core.TopicConfig{Partitions: n}); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
}

func payloads(ms []core.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m.Payload)
	}
	return out
}

func TestReopenKeepsAcknowledgedData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b1, err := embedded.Open(ctx, embedded.Config{DataDir: dir, Fsync: "always"})
	if err != nil {
		t.Fatal(err)
	}
	setup(t, b1, 2)
	if _, err := b1.CreateGroup(ctx, "s", "t", "g"); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 5 {
		batch := []core.Message{{Payload: fmt.Appendf(nil, "m%d", i), Headers: core.Headers{core.StringHeader("tenant_id", "x")}}}
		want = append(want, string(batch[0].Payload))
		if err := b1.Send(ctx, "s", "t", core.ToPartition(1), batch); err != nil {
			t.Fatal(err)
		}
	}
	cons := core.Consumer{Kind: core.SingleConsumer, Name: "c"}
	if err := b1.StoreOffset(ctx, cons, "s", "t", 1, 2); err != nil {
		t.Fatal(err)
	}
	m, err := b1.JoinGroup(ctx, "s", "t", "g")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.StoreOffset(ctx, 1, 3); err != nil {
		t.Fatal(err)
	}
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}

	b2 := open(t, embedded.Config{DataDir: dir})
	p, err := b2.Poll(ctx, core.PollRequest{Stream: "s", Topic: "t", Partition: 1, Strategy: core.First(), Count: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := payloads(p.Messages); strings.Join(got, ",") != strings.Join(want, ",") || p.Messages[4].Headers.Value("tenant_id") != "x" {
		t.Errorf("after reopen: %v, want %v", got, want)
	}
	if off, err := b2.Offset(ctx, cons, "s", "t", 1); err != nil || off.StoredOffset != 2 || off.CurrentOffset != 4 {
		t.Errorf("consumer offset after reopen = %+v, %v", off, err)
	}
	if off, err := b2.Offset(ctx, core.Consumer{Kind: core.GroupConsumer, Name: "g"}, "s", "t", 1); err != nil || off.StoredOffset != 3 {
		t.Errorf("group offset after reopen = %+v, %v", off, err)
	}
	// Memberships are not persisted: the group is there, empty.
	if g, err := b2.Group(ctx, "s", "t", "g"); err != nil || len(g.Members) != 0 {
		t.Errorf("group after reopen = %+v, %v", g, err)
	}
}

func TestTCPListenerLifecycle(t *testing.T) {
	b, err := embedded.Open(context.Background(), embedded.Config{DataDir: t.TempDir(), TCPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	addr := b.TCPAddr()
	if host, port, err := net.SplitHostPort(addr); err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("TCPAddr = %q", addr)
	}
	if code := rawLogin(t, addr, "iggy", "iggy"); code != 0 {
		t.Errorf("login: status %d", code)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("the listener still accepts after Close")
	}
	if nb := open(t, embedded.Config{}); nb.TCPAddr() != "" {
		t.Errorf("TCPAddr without a listener = %q", nb.TCPAddr())
	}
}

func TestOpenListenerAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	_, err = embedded.Open(context.Background(), embedded.Config{DataDir: dir, TCPAddr: ln.Addr().String()})
	if !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("Open on a taken port = %v, want core.ErrUnavailable", err)
	}
	// Nothing stayed open: the directory opens again (goleak checks the
	// goroutines).
	b := open(t, embedded.Config{DataDir: dir})
	if _, err := b.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestOpenCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := filepath.Join(t.TempDir(), "d")
	if _, err := embedded.Open(ctx, embedded.Config{DataDir: dir}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a canceled ctx = %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open with a canceled ctx created the data dir")
	}
}

func TestOpenBadTLSFiles(t *testing.T) {
	dir := t.TempDir()
	_, err := embedded.Open(context.Background(), embedded.Config{DataDir: dir, TCPAddr: "127.0.0.1:0",
		TLSCertFile: filepath.Join(dir, "missing.pem"), TLSKeyFile: filepath.Join(dir, "missing.key")})
	if !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("Open with missing TLS files = %v, want core.ErrInvalid", err)
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "embedded-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestTLSListener(t *testing.T) {
	certFile, keyFile := writeCert(t)
	b := open(t, embedded.Config{TCPAddr: "127.0.0.1:0", TLSCertFile: certFile, TLSKeyFile: keyFile})
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemBytes)
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", b.TCPAddr(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	frame := iggyproto.AppendRequestFrame(nil, iggyproto.CmdLoginUser, iggyproto.EncodeLoginUser(nil, iggyproto.LoginUser{Username: "iggy", Password: "iggy"}))
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	h, _, err := iggyproto.ReadResponse(c, 1<<20)
	if err != nil || h.Status != 0 {
		t.Fatalf("login over TLS: %+v, %v", h, err)
	}
}

func TestCanceledContext(t *testing.T) {
	b := open(t, embedded.Config{})
	setup(t, b, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	one := []core.Message{{Payload: []byte("x")}}
	_, err := b.Ping(ctx)
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled ctx = %v", what, err)
		}
	}
	check("Ping", err)
	check("Send", b.Send(ctx, "s", "t", core.ToPartition(0), one))
	_, err = b.Poll(ctx, core.PollRequest{Stream: "s", Topic: "t", Strategy: core.First(), Count: 1})
	check("Poll", err)
	_, err = b.CreateStream(ctx, "other")
	check("CreateStream", err)
	_, err = b.JoinGroup(ctx, "s", "t", "g")
	check("JoinGroup", err)
	// Nothing was sent.
	p, err := b.Poll(context.Background(), core.PollRequest{Stream: "s", Topic: "t", Strategy: core.First(), Count: 1})
	if err != nil || len(p.Messages) != 0 {
		t.Errorf("a send with a canceled ctx stored %+v, %v", p, err)
	}
}

func TestCallsAfterCloseReturnErrClosed(t *testing.T) {
	ctx := context.Background()
	b, err := embedded.Open(ctx, embedded.Config{DataDir: t.TempDir(), TCPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	setup(t, b, 2)
	if _, err := b.CreateGroup(ctx, "s", "t", "g"); err != nil {
		t.Fatal(err)
	}
	m, err := b.JoinGroup(ctx, "s", "t", "g")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	cons := core.Consumer{Kind: core.SingleConsumer, Name: "c"}
	calls := map[string]error{}
	_, calls["Ping"] = b.Ping(ctx)
	_, calls["CreateStream"] = b.CreateStream(ctx, "x")
	_, calls["Stream"] = b.Stream(ctx, "s")
	_, calls["CreateTopic"] = b.CreateTopic(ctx, "s", "u", core.TopicConfig{})
	_, calls["Topic"] = b.Topic(ctx, "s", "t")
	calls["CreatePartitions"] = b.CreatePartitions(ctx, "s", "t", 1)
	calls["Send"] = b.Send(ctx, "s", "t", core.ToPartition(0), []core.Message{{Payload: []byte("x")}})
	_, calls["Poll"] = b.Poll(ctx, core.PollRequest{Stream: "s", Topic: "t", Strategy: core.First(), Count: 1})
	calls["StoreOffset"] = b.StoreOffset(ctx, cons, "s", "t", 0, 0)
	_, calls["Offset"] = b.Offset(ctx, cons, "s", "t", 0)
	_, calls["CreateGroup"] = b.CreateGroup(ctx, "s", "t", "h")
	_, calls["Group"] = b.Group(ctx, "s", "t", "g")
	_, calls["JoinGroup"] = b.JoinGroup(ctx, "s", "t", "g")
	_, calls["member Poll"] = m.Poll(ctx, core.GroupPoll{Strategy: core.Next(), Count: 1})
	calls["member StoreOffset"] = m.StoreOffset(ctx, 0, 0)
	for name, err := range calls {
		if !errors.Is(err, core.ErrClosed) {
			t.Errorf("%s after Close = %v, want core.ErrClosed", name, err)
		}
	}
	if err := m.Leave(ctx); err != nil {
		t.Errorf("member Leave after Close = %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close twice = %v", err)
	}
}

// TestCloseWhileSending closes the connector under concurrent senders:
// every send either succeeds or fails with core.ErrClosed, and every
// acknowledged message is there after reopening.
func TestCloseWhileSending(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := embedded.Open(ctx, embedded.Config{DataDir: dir, Fsync: "never"})
	if err != nil {
		t.Fatal(err)
	}
	setup(t, b, 1)
	const senders = 4
	var wg sync.WaitGroup
	acked := make([]int, senders)
	errs := make(chan error, senders)
	started := make(chan struct{}, senders)
	for w := range senders {
		wg.Go(func() {
			for i := 0; ; i++ {
				err := b.Send(ctx, "s", "t", core.ToPartition(0), []core.Message{{Payload: fmt.Appendf(nil, "%d/%d", w, i)}})
				if err != nil {
					if !errors.Is(err, core.ErrClosed) {
						errs <- err
					}
					return
				}
				acked[w] = i + 1
				if i == 10 {
					started <- struct{}{}
				}
			}
		})
	}
	for range senders {
		<-started
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("send during Close: %v, want core.ErrClosed", err)
	}
	b2 := open(t, embedded.Config{DataDir: dir})
	got := map[string]bool{}
	for next := uint64(0); ; {
		p, err := b2.Poll(ctx, core.PollRequest{Stream: "s", Topic: "t", Strategy: core.FromOffset(next), Count: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Messages) == 0 {
			break
		}
		for _, m := range p.Messages {
			got[string(m.Payload)] = true
		}
		next = p.Messages[len(p.Messages)-1].Offset + 1
	}
	for w, n := range acked {
		for i := range n {
			if !got[fmt.Sprintf("%d/%d", w, i)] {
				t.Fatalf("acknowledged message %d/%d lost", w, i)
			}
		}
	}
}

func TestSendDoesNotRetainAndPollDoesNotAlias(t *testing.T) {
	ctx := context.Background()
	b := open(t, embedded.Config{})
	setup(t, b, 1)
	payload := []byte("original")
	msgs := []core.Message{{Payload: payload, Headers: core.Headers{core.StringHeader("k", "v")}}}
	if err := b.Send(ctx, "s", "t", core.ToPartition(0), msgs); err != nil {
		t.Fatal(err)
	}
	copy(payload, "XXXXXXXX")
	msgs[0].Headers[0].Value[0] = 'Z'
	req := core.PollRequest{Stream: "s", Topic: "t", Strategy: core.First(), Count: 1}
	p1, err := b.Poll(ctx, req)
	if err != nil || len(p1.Messages) != 1 {
		t.Fatal(p1, err)
	}
	if string(p1.Messages[0].Payload) != "original" || p1.Messages[0].Headers.Value("k") != "v" {
		t.Fatalf("stored message changed with the caller's slices: %q %+v", p1.Messages[0].Payload, p1.Messages[0].Headers)
	}
	copy(p1.Messages[0].Payload, "YYYYYYYY")
	p2, err := b.Poll(ctx, req)
	if err != nil || !bytes.Equal(p2.Messages[0].Payload, []byte("original")) {
		t.Fatalf("a polled payload aliases broker memory: %q, %v", p2.Messages[0].Payload, err)
	}
}

func TestErrorsCarryCodeAndNames(t *testing.T) {
	ctx := context.Background()
	b := open(t, embedded.Config{})
	setup(t, b, 1)
	err := b.Send(ctx, "nope", "t", core.ToPartition(0), []core.Message{{Payload: []byte("x")}})
	var ie *iggyproto.Error
	if !errors.Is(err, core.ErrNotFound) || !errors.As(err, &ie) || ie.Code != iggyproto.CodeStreamIDNotFound {
		t.Fatalf("Send to a missing stream = %v", err)
	}
	if !strings.Contains(err.Error(), `"nope"/"t"`) || !strings.Contains(err.Error(), "send") {
		t.Errorf("error %q does not name the operation and the stream", err)
	}
	_, err = b.CreateStream(ctx, "s")
	if !errors.Is(err, core.ErrAlreadyExists) || !errors.As(err, &ie) || ie.Code != iggyproto.CodeStreamNameAlreadyExists {
		t.Errorf("CreateStream twice = %v", err)
	}
	_, err = b.Stream(ctx, "nope")
	if !errors.Is(err, core.ErrNotFound) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("Stream missing = %v", err)
	}
}

func TestInvalidArguments(t *testing.T) {
	ctx := context.Background()
	b := open(t, embedded.Config{})
	setup(t, b, 1)
	one := []core.Message{{Payload: []byte("x")}}
	big := make(core.Headers, 0, 250) // about 116 kB encoded, over Iggy's 100 kB
	for i := range 250 {
		big = append(big, core.StringHeader(fmt.Sprintf("%0200d", i), strings.Repeat("v", 255)))
	}
	for name, err := range map[string]error{
		"empty key":         b.Send(ctx, "s", "t", core.ByKey(nil), one),
		"256-byte key":      b.Send(ctx, "s", "t", core.ByKey(make([]byte, 256)), one),
		"unknown kind":      b.Send(ctx, "s", "t", core.Partitioning{Kind: 9}, one),
		"oversized headers": b.Send(ctx, "s", "t", core.ToPartition(0), []core.Message{{Payload: []byte("x"), Headers: big}}),
		"empty batch":       b.Send(ctx, "s", "t", core.ToPartition(0), nil),
		"group consumer poll": func() error {
			_, err := b.Poll(ctx, core.PollRequest{Stream: "s", Topic: "t", Consumer: core.Consumer{Kind: core.GroupConsumer, Name: "g"}, Strategy: core.First(), Count: 1})
			return err
		}(),
		"unknown strategy": func() error {
			_, err := b.Poll(ctx, core.PollRequest{Stream: "s", Topic: "t", Strategy: core.PollStrategy{Kind: 9}, Count: 1})
			return err
		}(),
		"negative expiry": func() error {
			_, err := b.CreateTopic(ctx, "s", "u", core.TopicConfig{MessageExpiry: -time.Second})
			return err
		}(),
		"zero partitions added": b.CreatePartitions(ctx, "s", "t", 0),
	} {
		if !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%s: %v, want core.ErrInvalid", name, err)
		}
	}
	p, err := b.Poll(ctx, core.PollRequest{Stream: "s", Topic: "t", Strategy: core.First(), Count: 1})
	if err != nil || len(p.Messages) != 0 {
		t.Errorf("a refused send stored %d messages, %v", len(p.Messages), err)
	}
}

// TestEmptyPayload: the embedded broker stores a message without payload
// (the remote connector refuses one, as Iggy's Go SDK cannot read it back).
func TestEmptyPayload(t *testing.T) {
	ctx := context.Background()
	b := open(t, embedded.Config{})
	setup(t, b, 1)
	if err := b.Send(ctx, "s", "t", core.ToPartition(0), []core.Message{{}, {Payload: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	p, err := b.Poll(ctx, core.PollRequest{Stream: "s", Topic: "t", Strategy: core.First(), Count: 10})
	if err != nil || len(p.Messages) != 2 || len(p.Messages[0].Payload) != 0 || string(p.Messages[1].Payload) != "x" {
		t.Fatalf("poll = %+v, %v", p, err)
	}
}

func TestTopicConfigRoundTrip(t *testing.T) {
	ctx := context.Background()
	b := open(t, embedded.Config{SegmentSize: 1 << 20})
	if _, err := b.CreateStream(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	cfg := core.TopicConfig{Partitions: 3, MessageExpiry: 1500 * time.Microsecond, MaxSize: 4 << 20, ReplicationFactor: 2}
	created, err := b.CreateTopic(ctx, "s", "t", cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Topic(ctx, "s", "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range []core.TopicInfo{created, got} {
		if ti.MessageExpiry != cfg.MessageExpiry || ti.MaxSize != cfg.MaxSize || ti.ReplicationFactor != 2 || ti.PartitionsCount != 3 || len(ti.Partitions) != 3 {
			t.Errorf("topic = %+v, want %+v", ti, cfg)
		}
	}
	// With 1 MiB segments a 1 MiB cap is accepted; below it is not.
	if _, err := b.CreateTopic(ctx, "s", "small", core.TopicConfig{MaxSize: 1 << 19}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("max size below the segment size = %v", err)
	}
	si, err := b.Stream(ctx, "s")
	if err != nil || len(si.Topics) != 1 || si.Topics[0].Partitions != nil || si.Topics[0].MessageExpiry != cfg.MessageExpiry {
		t.Errorf("Stream = %+v, %v", si, err)
	}
}

func TestDedupWindow(t *testing.T) {
	ctx := context.Background()
	open := func(window time.Duration) core.Broker {
		b, err := embedded.Open(ctx, embedded.Config{DataDir: t.TempDir(), DedupWindow: window})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		setup(t, b, 1)
		return b
	}
	id := [16]byte{1, 2, 3}
	msg := core.Message{ID: id, Payload: []byte("once")}
	for _, tc := range []struct {
		window time.Duration
		want   int
	}{{0, 2}, {time.Minute, 1}} {
		b := open(tc.window)
		for range 2 {
			if err := b.Send(ctx, "s", "t", core.ToPartition(0), []core.Message{msg}); err != nil {
				t.Fatalf("window %s: Send: %v", tc.window, err)
			}
		}
		got, err := b.Poll(ctx, core.PollRequest{Stream: "s", Topic: "t", Consumer: core.Consumer{Kind: core.SingleConsumer, Name: "c"}, Strategy: core.First(), Count: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Messages) != tc.want {
			t.Errorf("window %s: %d messages stored after sending one id twice, want %d", tc.window, len(got.Messages), tc.want)
		}
	}
	if err := (embedded.Config{DataDir: "x", DedupWindow: -time.Second}).Validate(); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("negative dedup_window: Validate() = %v, want ErrInvalid", err)
	}
	err := (embedded.Config{DataDir: "x", RebalancingTimeout: -time.Second}).Validate()
	if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "embedded.rebalancing_timeout") {
		t.Errorf("negative rebalancing_timeout: Validate() = %v, want ErrInvalid naming the key", err)
	}
}
