package remote

import (
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeServer speaks just enough of the Iggy TCP protocol for connection
// tests: ping, login (password or token), cluster metadata, join/leave
// group; other commands go to handle (default: status 3). It is not a
// stream port (that is core/coretest) but a wire-level fault injector for
// the SDK client under the remote connector: it hangs, drops connections,
// restarts, and answers with any status or malformed body, which neither
// the in-memory port nor the embedded broker's server can be made to do.
type fakeServer struct {
	t        *testing.T
	addr     string
	password string
	token    string
	// handle answers a command; hang leaves the request unanswered.
	handle func(code uint32, payload []byte) (status uint32, resp []byte, hang bool)

	tls *tls.Config // when set, the server speaks TLS

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
	logins atomic.Int32
	joins  atomic.Int32
	hangs  atomic.Int32
	// joinStatus, when not 0, is the answer to JoinConsumerGroup.
	joinStatus atomic.Uint32
}

func newFakeServer(t *testing.T) *fakeServer { return newFakeServerTLS(t, nil) }

func newFakeServerTLS(t *testing.T, cfg *tls.Config) *fakeServer {
	t.Helper()
	f := &fakeServer{t: t, password: "secret", token: "tok", conns: map[net.Conn]struct{}{}, tls: cfg}
	f.listen("127.0.0.1:0")
	t.Cleanup(f.stop)
	return f
}

func (f *fakeServer) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		f.t.Fatalf("listen %s: %v", addr, err)
	}
	if f.tls != nil {
		ln = tls.NewListener(ln, f.tls)
	}
	f.mu.Lock()
	f.ln = ln
	f.addr = ln.Addr().String()
	f.mu.Unlock()
	f.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.conns[c] = struct{}{}
			f.mu.Unlock()
			f.wg.Go(func() { f.serve(c) })
		}
	})
}

// stop closes the listener and every connection, and waits.
func (f *fakeServer) stop() {
	f.mu.Lock()
	if f.ln != nil {
		_ = f.ln.Close()
		f.ln = nil
	}
	f.mu.Unlock()
	f.dropAll()
	f.wg.Wait()
}

// restart listens again on the same address.
func (f *fakeServer) restart() { f.listen(f.addr) }

// dropAll closes every accepted connection.
func (f *fakeServer) dropAll() {
	f.mu.Lock()
	for c := range f.conns {
		_ = c.Close()
		delete(f.conns, c)
	}
	f.mu.Unlock()
}

func (f *fakeServer) serve(c net.Conn) {
	defer c.Close()
	head := make([]byte, 8)
	for {
		if _, err := io.ReadFull(c, head); err != nil {
			return
		}
		n := binary.LittleEndian.Uint32(head[0:4])
		code := binary.LittleEndian.Uint32(head[4:8])
		if n < 4 || n > 64<<20 {
			return
		}
		payload := make([]byte, n-4)
		if _, err := io.ReadFull(c, payload); err != nil {
			return
		}
		status, resp, hang := f.answer(code, payload)
		if hang {
			f.hangs.Add(1)
			_, _ = io.Copy(io.Discard, c) // until the client closes
			return
		}
		out := binary.LittleEndian.AppendUint32(nil, status)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(resp)))
		out = append(out, resp...)
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

func (f *fakeServer) answer(code uint32, p []byte) (uint32, []byte, bool) {
	switch code {
	case 1: // ping
		return 0, nil, false
	case 38: // login: Name8 username, Str8 password
		if len(p) < 1 || len(p) < 1+int(p[0])+1 {
			return 3, nil, false
		}
		pw := p[1+int(p[0]):]
		if len(pw) < 1+int(pw[0]) || string(pw[1:1+int(pw[0])]) != f.password {
			return 42, nil, false
		}
		f.logins.Add(1)
		return 0, []byte{0, 0, 0, 0}, false
	case 44: // PAT login: Name8 token
		if len(p) < 1 || len(p) < 1+int(p[0]) || string(p[1:1+int(p[0])]) != f.token {
			return 20, nil, false
		}
		f.logins.Add(1)
		return 0, []byte{0, 0, 0, 0}, false
	case 12: // cluster metadata: one node
		str := func(b []byte, s string) []byte {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
			return append(b, s...)
		}
		b := str(nil, "single-node")
		b = binary.LittleEndian.AppendUint32(b, 1)
		b = str(b, "node")
		b = str(b, "127.0.0.1")
		b = append(b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
		return 0, b, false
	case 604:
		if st := f.joinStatus.Load(); st != 0 {
			return st, nil, false
		}
		f.joins.Add(1)
		return 0, nil, false
	case 605:
		return 0, nil, false
	}
	if f.handle != nil {
		return f.handle(code, p)
	}
	return 3, nil, false
}

// refusedAddr returns an address on which nothing listens.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// silentListener accepts connections and never answers; its connections
// close at cleanup.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}
