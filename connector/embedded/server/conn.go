package server

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

const (
	// keepBuffer is the largest request/response buffer a connection keeps
	// between frames; bigger request buffers go back to bigBufs, bigger
	// response buffers are dropped.
	keepBuffer = 256 << 10
	// bufSize is the size of the per-connection read and write buffers.
	bufSize = 16 << 10
	// tlsHandshakeTimeout bounds a TLS handshake.
	tlsHandshakeTimeout = 10 * time.Second
	// smallFrame is the largest request payload read into the
	// connection's own buffer without charging the memory budget, and the
	// largest accepted before login (a login is well under 1 KiB).
	smallFrame = bufSize
)

// Connection states, guarded by Server.mu.
const (
	statePending = iota // not logged in, counted in Server.pending
	stateAuthed         // logged in, counted in Server.authed
	stateEvicted        // closed by the pending caps, no longer counted
	stateGone           // forgotten
)

// conn is one client connection: one goroutine, one broker session,
// requests served strictly in order.
type conn struct {
	srv    *Server
	nc     net.Conn
	remote string
	ip     string // remote IP, the key of the per-address pending cap
	br     *bufio.Reader
	bw     *bufio.Writer
	log    *slog.Logger

	mu     sync.Mutex
	idle   bool // waiting for the first byte of a request
	kicked bool // Shutdown woke an idle read

	state int // statePending...; guarded by srv.mu

	// Owned by the connection's goroutine.
	authed  bool      // logged in (mirrors the session)
	loginBy time.Time // deadline to log in while !authed; zero: none

	req   []byte    // small request payload buffer, reused (at most smallFrame)
	big   *[]byte   // the current frame's whole payload, back to bigBufs after it
	parts []*[]byte // the current frame's chunks, back to chunks after it
	held  int64     // bytes of the memory budget the current frame holds
	out   []byte    // response payload buffer, reused while small

	// vectored: responses with a big tail go out in one writev (plain TCP
	// only; TLS writes through bw).
	vectored bool
	hdr      [8]byte                           // response header being written
	rhdr     [iggyproto.RequestHeaderSize]byte // request header being read
	iov      [3][]byte                         // backing array of vec
	vec      net.Buffers
}

// refusal is a frame refused from its header alone: answered with status,
// then the connection is closed without reading the rest.
type refusal struct {
	status iggyproto.Code
	err    error
}

func (r *refusal) Error() string { return r.err.Error() }

func newConn(s *Server, nc net.Conn) *conn {
	remote := nc.RemoteAddr().String()
	ip := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		ip = h
	}
	var loginBy time.Time
	if d := s.cfg.LoginTimeout; d > 0 {
		loginBy = time.Now().Add(d)
	}
	_, plain := nc.(*net.TCPConn)
	return &conn{
		vectored: plain,
		srv:      s,
		nc:       nc,
		remote:   remote,
		ip:       ip,
		loginBy:  loginBy,
		br:       bufio.NewReaderSize(nc, bufSize),
		bw:       bufio.NewWriterSize(nc, bufSize),
		log:      s.log.With("remote", remote),
	}
}

// kickIfIdle wakes the connection's read if it is waiting for a request, so
// it notices the shutdown. A connection busy with a request is left alone.
func (c *conn) kickIfIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle {
		c.kicked = true
		_ = c.nc.SetReadDeadline(time.Now())
	}
}

func (c *conn) setIdle(idle bool) {
	c.mu.Lock()
	c.idle = idle
	c.mu.Unlock()
}

// serve runs the connection until the client leaves, a fatal frame error,
// or shutdown.
func (c *conn) serve() {
	defer func() { _ = c.nc.Close() }()
	if tc, ok := c.nc.(*tls.Conn); ok && !c.handshake(tc) {
		return
	}
	sess, err := c.srv.backend.open(c.nc.RemoteAddr())
	if err != nil {
		c.log.Warn("cannot open a session; closing", "err", err)
		return
	}
	defer sess.close()
	if sess.authenticated() { // a backend without login
		if !c.srv.promote(c) {
			c.log.Warn("connection refused: too many connections", "max_connections", c.srv.cfg.MaxConnections)
			return
		}
		c.authed = true
	}
	c.log.Debug("connected")
	for {
		if !c.serveOne(sess) {
			return
		}
	}
}

// handshake runs the TLS handshake within tlsHandshakeTimeout (or the
// login deadline, if sooner), counting as idle so Shutdown can cut it short.
func (c *conn) handshake(tc *tls.Conn) bool {
	deadline := time.Now().Add(tlsHandshakeTimeout)
	if !c.loginBy.IsZero() && c.loginBy.Before(deadline) {
		deadline = c.loginBy
	}
	// Deadline first: a Shutdown kick (only while idle) must come after it.
	_ = tc.SetDeadline(deadline)
	c.setIdle(true)
	if c.srv.closing.Load() {
		return false
	}
	err := tc.Handshake()
	c.setIdle(false)
	_ = tc.SetDeadline(time.Time{})
	if err != nil {
		c.log.Debug("TLS handshake failed", "err", err)
		return false
	}
	return true
}

// serveOne reads one request and answers it. It reports whether the
// connection should go on.
//
// Deadlines: before login, everything (waiting and reading) ends at the
// login deadline; once logged in, the wait for a request ends after
// IdleTimeout. A started frame must arrive whole within ReadTimeout (and
// before the login deadline).
func (c *conn) serveOne(sess session) bool {
	var wait time.Time
	if !c.authed {
		wait = c.loginBy
	} else if d := c.srv.cfg.IdleTimeout; d > 0 {
		wait = time.Now().Add(d)
	}
	// Deadline first: a Shutdown kick (only while idle) must come after it.
	_ = c.nc.SetReadDeadline(wait)
	c.setIdle(true)
	if c.srv.closing.Load() {
		return false
	}
	_, err := c.br.Peek(1)
	c.setIdle(false)
	if err != nil {
		c.logReadErr(err)
		return false
	}
	// A request has started: undo a shutdown kick (it is served in full)
	// and bound the rest of the frame.
	var frameBy time.Time
	if d := c.srv.cfg.ReadTimeout; d > 0 {
		frameBy = time.Now().Add(d)
	}
	if !c.authed && !c.loginBy.IsZero() && (frameBy.IsZero() || c.loginBy.Before(frameBy)) {
		frameBy = c.loginBy
	}
	_ = c.nc.SetReadDeadline(frameBy)

	code, payload, ferr := c.readFrame(frameBy)
	if ferr != nil {
		c.releaseReq()
		var rf *refusal
		if !errors.As(ferr, &rf) {
			if errors.Is(ferr, os.ErrDeadlineExceeded) || errors.Is(ferr, errBudgetWait) {
				c.log.Info("dropped a frame not received in time", "read_timeout", c.srv.cfg.ReadTimeout, "logged_in", c.authed, "err", ferr)
			} else {
				c.logReadErr(ferr)
			}
			return false
		}
		c.log.Debug("refused frame; closing", "err", ferr)
		c.writeResponse(rf.status, reply{})
		return false
	}

	resp, herr := c.call(sess, code, payload)
	c.releaseReq()
	if now := sess.authenticated(); now != c.authed {
		if now && !c.srv.promote(c) {
			c.log.Warn("login refused: too many connections", "max_connections", c.srv.cfg.MaxConnections)
			c.writeResponse(iggyproto.CodeError, reply{})
			return false
		}
		if !now {
			c.srv.demote(c)
			if d := c.srv.cfg.LoginTimeout; d > 0 {
				c.loginBy = time.Now().Add(d)
			}
		}
		c.authed = now
	}
	if herr != nil {
		status := iggyproto.CodeOf(herr)
		if status == 0 {
			status = iggyproto.CodeError
		}
		if status == iggyproto.CodeError {
			c.log.Warn("request failed", "command", code, "err", herr)
		} else {
			c.log.Debug("request refused", "command", code, "err", herr)
		}
		if !c.writeResponse(status, reply{}) {
			return false
		}
		// Iggy closes the connection after these two.
		if status == iggyproto.CodeClientNotFound || status == iggyproto.CodeStaleClient {
			return false
		}
		return true
	}
	if resp.size() == 1 {
		// The Go SDK reads no payload when the size is 1; never send one.
		c.log.Error("handler produced a 1-byte response", "command", code)
		return c.writeResponse(iggyproto.CodeError, reply{})
	}
	ok := c.writeResponse(0, resp)
	c.releaseOut(resp.head)
	bigBufs.put(resp.tailBuf)
	return ok
}

// call runs the handler, turning a panic into a generic error (code 1)
// so a bug never takes the process down.
func (c *conn) call(sess session, code uint32, payload []byte) (resp reply, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("handler panicked", "command", code, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			resp, err = reply{}, iggyproto.Errorf(iggyproto.CodeError, "internal error")
		}
	}()
	return sess.handle(code, payload, c.out[:0])
}

// readFrame reads one whole request frame. A payload of at most
// smallFrame bytes lands in the connection's own buffer; a bigger one is
// read in chunks of chunkSize, each charged to the server's memory budget
// before it is read (waiting for budget until frameBy, which stops reading
// the socket meanwhile): straight into a pooled buffer when bigBufs has
// one big enough, else into pooled chunks assembled at the end. So the
// memory a frame makes the server allocate is what arrived of it, never
// its declared length. I/O errors are returned
// as they are (the connection is over). A frame refused from its header
// (length below 4, over its limit, or over smallFrame before login) comes
// back as a *refusal, with its payload unread. Call releaseReq after.
func (c *conn) readFrame(frameBy time.Time) (uint32, []byte, error) {
	// Into the connection's own array: a local one would escape.
	if _, err := io.ReadFull(c.br, c.rhdr[:]); err != nil {
		return 0, nil, unexpected(err)
	}
	h := iggyproto.DecodeRequestHeader(c.rhdr)
	if err := iggyproto.CheckRequestHeader(h, iggyproto.Limits{MaxSendPayload: c.srv.cfg.MaxSendFrame}); err != nil {
		return 0, nil, &refusal{status: iggyproto.CodeOf(err), err: err}
	}
	n := h.PayloadSize()
	if n <= smallFrame {
		if cap(c.req) < n {
			c.req = make([]byte, 0, smallFrame)
		}
		buf := c.req[:n]
		if _, err := io.ReadFull(c.br, buf); err != nil {
			return 0, nil, unexpected(err)
		}
		return uint32(h.Command), buf, nil
	}
	if !c.authed {
		return 0, nil, &refusal{status: iggyproto.CodeUnauthenticated,
			err: fmt.Errorf("%s payload of %d bytes before login (limit %d)", h.Command, n, smallFrame)}
	}
	// A pooled buffer big enough (memory that exists already) takes the
	// payload as it arrives; otherwise it is read into chunks and
	// assembled. Either way each chunk is charged before it is read.
	var direct []byte
	if c.big = bigBufs.get(n); c.big != nil {
		direct = (*c.big)[:n]
	}
	for rest := n; rest > 0; {
		k := min(rest, chunkSize)
		if err := c.srv.budget.acquire(int64(k), frameBy, c.srv.kill); err != nil {
			return 0, nil, fmt.Errorf("%s payload of %d bytes, %d received: %w", h.Command, n, n-rest, err)
		}
		c.held += int64(k)
		var dst []byte
		if direct != nil {
			dst = direct[n-rest : n-rest+k]
		} else {
			part := chunks.Get().(*[]byte)
			c.parts = append(c.parts, part)
			dst = (*part)[:k]
		}
		if _, err := io.ReadFull(c.br, dst); err != nil {
			return 0, nil, unexpected(err)
		}
		rest -= k
	}
	if direct != nil {
		return uint32(h.Command), direct, nil
	}
	if len(c.parts) == 1 {
		return uint32(h.Command), (*c.parts[0])[:n], nil
	}
	buf := make([]byte, 0, n)
	for _, part := range c.parts {
		buf = append(buf, (*part)[:min(chunkSize, n-len(buf))]...)
		chunks.Put(part)
	}
	c.parts = c.parts[:0]
	c.big = &buf
	return uint32(h.Command), buf, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// releaseReq gives back what the current frame holds: its chunks, its
// assembled buffer (to bigBufs) and its share of the memory budget. The
// broker keeps no request bytes after the handler returned.
func (c *conn) releaseReq() {
	for _, part := range c.parts {
		chunks.Put(part)
	}
	c.parts = c.parts[:0]
	bigBufs.put(c.big)
	c.big = nil
	c.srv.budget.release(c.held)
	c.held = 0
}

// releaseOut keeps resp's buffer for the next response while it is small.
func (c *conn) releaseOut(resp []byte) {
	if cap(resp) <= keepBuffer {
		c.out = resp[:0]
	} else {
		c.out = nil
	}
}

// writeResponse writes one response frame and flushes it. It reports
// whether the connection is still usable. A big tail (polled messages) is
// not copied: header, head and tail go out in one writev.
func (c *conn) writeResponse(status iggyproto.Code, r reply) bool {
	if d := c.srv.cfg.WriteTimeout; d > 0 {
		_ = c.nc.SetWriteDeadline(time.Now().Add(d))
	}
	binary.LittleEndian.PutUint32(c.hdr[0:4], uint32(status))
	binary.LittleEndian.PutUint32(c.hdr[4:8], uint32(r.size()))
	if c.vectored && len(r.tail) >= bufSize && c.bw.Buffered() == 0 {
		c.iov = [3][]byte{c.hdr[:], r.head, r.tail}
		c.vec = c.iov[:]
		_, err := c.vec.WriteTo(c.nc)
		c.iov = [3][]byte{}
		c.vec = nil
		if err != nil {
			c.log.Debug("write failed; closing", "err", err)
			return false
		}
		return true
	}
	_, _ = c.bw.Write(c.hdr[:])
	_, _ = c.bw.Write(r.head)
	_, _ = c.bw.Write(r.tail)
	if err := c.bw.Flush(); err != nil {
		c.log.Debug("write failed; closing", "err", err)
		return false
	}
	return true
}

func (c *conn) logReadErr(err error) {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		c.log.Debug("disconnected")
	case errors.Is(err, io.ErrUnexpectedEOF):
		c.log.Debug("disconnected in the middle of a frame")
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.mu.Lock()
		kicked := c.kicked
		c.mu.Unlock()
		switch {
		case kicked:
			c.log.Debug("closed idle connection for shutdown")
		case !c.authed:
			c.log.Info("closed a connection that did not log in in time", "login_timeout", c.srv.cfg.LoginTimeout)
		default:
			c.log.Info("closed idle connection", "idle_timeout", c.srv.cfg.IdleTimeout)
		}
	default:
		c.log.Debug("read failed; closing", "err", err)
	}
}
