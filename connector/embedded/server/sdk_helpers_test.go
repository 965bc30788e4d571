package server

import (
	"context"

	"errors"
	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/embedded/logstore"
	"testing"
	"time"

	"github.com/apache/iggy/foreign/go/client"
	"github.com/apache/iggy/foreign/go/client/tcp"
	iggcon "github.com/apache/iggy/foreign/go/contracts"
	ierror "github.com/apache/iggy/foreign/go/errors"
)

// Root credentials of the test broker (Iggy's defaults).
const (
	rootUser = "iggy"
	rootPass = "iggy"
)

// testEnv is a broker on a temp dir with the server in front of it.
type testEnv struct {
	t          testing.TB
	dir        string
	srv        *Server
	addr       string
	stopBroker func()
	// fsync is the broker's fsync policy; "" means never (tests).
	fsync logstore.FsyncPolicy
	// brokerCfg, when set, edits the broker's configuration before Open.
	brokerCfg func(*broker.Config)
	// b is the running broker.
	b *broker.Broker
}

// newEnv starts a broker and a server on 127.0.0.1:0; both stop at the
// end of the test (after the test's clients, which close first).
func newEnv(t testing.TB) *testEnv {
	t.Helper()
	return newEnvFsync(t, "")
}

// newEnvFsync is newEnv with a broker fsync policy.
func newEnvFsync(t testing.TB, fsync logstore.FsyncPolicy) *testEnv {
	t.Helper()
	e := &testEnv{t: t, dir: t.TempDir(), fsync: fsync}
	e.start()
	t.Cleanup(e.stop)
	return e
}

// stop shuts the server down gracefully and closes the broker. It is
// idempotent.
func (e *testEnv) stop() {
	if e.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		e.t.Errorf("shutdown: %v", err)
	}
	e.stopBroker()
	e.srv = nil
}

// restart stops the server and broker and starts them again on the same
// data directory (and a new port).
func (e *testEnv) restart() {
	e.stop()
	e.start()
}

// connect returns an SDK client that is connected but not logged in. It is
// closed when the test ends.
func (e *testEnv) connect(t testing.TB) iggcon.Client {
	t.Helper()
	cli, err := client.NewIggyClient(client.WithTcp(tcp.WithServerAddress(e.addr)))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// login returns a client logged in as user.
func (e *testEnv) login(t testing.TB, user, pass string) iggcon.Client {
	t.Helper()
	cli := e.connect(t)
	if _, err := cli.LoginUser(user, pass); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return cli
}

// root returns a client logged in as the root user.
func (e *testEnv) root(t testing.TB) iggcon.Client { return e.login(t, rootUser, rootPass) }

func nid(v uint32) iggcon.Identifier {
	id, err := iggcon.NewIdentifier(v)
	if err != nil {
		panic(err)
	}
	return id
}

func sid(v string) iggcon.Identifier {
	id, err := iggcon.NewIdentifier(v)
	if err != nil {
		panic(err)
	}
	return id
}

func ptr[T any](v T) *T { return &v }

// must turns a (value, error) result into a value, failing the test on
// error: must(cli.GetStreams())(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr asserts err is the SDK error want (errors.Is), and so carries
// want's code.
func wantErr(t testing.TB, err error, want ierror.IggyError) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %T (code %d)", want, want.Code())
	}
	if !errors.Is(err, want) {
		var ie ierror.IggyError
		code := ierror.Code(0)
		if errors.As(err, &ie) {
			code = ie.Code()
		}
		t.Fatalf("error %v (code %d), want %T (code %d)", err, code, want, want.Code())
	}
}

// mkTopic creates a stream and a topic with n partitions and returns their ids.
func mkTopic(t testing.TB, cli iggcon.Client, stream, topic string, n uint32) (uint32, uint32) {
	t.Helper()
	s := must(cli.CreateStream(stream))(t)
	tp := must(cli.CreateTopic(nid(s.Id), topic, n, iggcon.CompressionAlgorithmNone, 0, 0, nil))(t)
	return s.Id, tp.Id
}

// msgs builds n messages with payloads prefix-0, prefix-1, ...
func msgs(t testing.TB, prefix string, n int) []iggcon.IggyMessage {
	t.Helper()
	out := make([]iggcon.IggyMessage, n)
	for i := range out {
		out[i] = must(iggcon.NewIggyMessage([]byte(prefix + "-" + itoa(i))))(t)
	}
	return out
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for i > 0 {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
	}
	return string(b)
}
