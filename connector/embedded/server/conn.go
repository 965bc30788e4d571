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
)

// conn is one client connection: one goroutine, one broker session,
// requests served strictly in order.
type conn struct {
	srv    *Server
	nc     net.Conn
	remote string
	br     *bufio.Reader
	bw     *bufio.Writer
	log    *slog.Logger

	mu     sync.Mutex
	idle   bool // waiting for the first byte of a request
	kicked bool // Shutdown woke an idle read

	req []byte // request payload buffer, reused (at most keepBuffer)
	big []byte // the current frame's big payload buffer, back to bigBufs after it
	out []byte // response payload buffer, reused while small
}

func newConn(s *Server, nc net.Conn) *conn {
	remote := nc.RemoteAddr().String()
	return &conn{
		srv:    s,
		nc:     nc,
		remote: remote,
		br:     bufio.NewReaderSize(nc, bufSize),
		bw:     bufio.NewWriterSize(nc, bufSize),
		log:    s.log.With("remote", remote),
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
	c.log.Debug("connected")
	for {
		if !c.serveOne(sess) {
			return
		}
	}
}

// handshake runs the TLS handshake within tlsHandshakeTimeout (or the idle
// timeout, if shorter), counting as idle so Shutdown can cut it short.
func (c *conn) handshake(tc *tls.Conn) bool {
	d := tlsHandshakeTimeout
	if it := c.srv.cfg.IdleTimeout; it > 0 && it < d {
		d = it
	}
	// Deadline first: a Shutdown kick (only while idle) must come after it.
	_ = tc.SetDeadline(time.Now().Add(d))
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
func (c *conn) serveOne(sess session) bool {
	// Deadline first: a Shutdown kick (only while idle) must come after it.
	if d := c.srv.cfg.IdleTimeout; d > 0 {
		_ = c.nc.SetReadDeadline(time.Now().Add(d))
	}
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
	// and bound the rest of the frame by the idle timeout.
	if d := c.srv.cfg.IdleTimeout; d > 0 {
		_ = c.nc.SetReadDeadline(time.Now().Add(d))
	} else {
		_ = c.nc.SetReadDeadline(time.Time{})
	}

	code, payload, ferr := c.readFrame()
	if ferr != nil {
		var fe *iggyproto.FrameError
		if !errors.As(ferr, &fe) {
			c.logReadErr(ferr)
			return false
		}
		c.log.Debug("refused frame", "err", ferr)
		return c.writeResponse(iggyproto.CodeOf(ferr), reply{}) && !fe.Desync
	}

	resp, herr := c.call(sess, code, payload)
	c.releaseReq()
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

// readFrame reads one whole request frame with iggyproto.ReadRequest. The
// payload lands in the connection's small buffer, or for a frame bigger
// than keepBuffer in a buffer from bigBufs when one is free (otherwise
// ReadRequest grows a new one only as bytes arrive, so a declared length
// alone allocates little). I/O errors are returned as they are (the
// connection is over). A frame refused for its size is drained so the
// connection stays in step and comes back as a *iggyproto.FrameError; a
// length below 4 cannot be drained (FrameError.Desync) and closes the
// connection after the answer.
func (c *conn) readFrame() (uint32, []byte, error) {
	buf := c.req[:0]
	if hdr, err := c.br.Peek(iggyproto.RequestHeaderSize); err == nil {
		n := int64(binary.LittleEndian.Uint32(hdr)) - 4
		if n > int64(cap(buf)) && n > keepBuffer && n <= int64(c.srv.cfg.MaxSendFrame) {
			if b := bigBufs.get(int(n)); b != nil {
				buf = b
			}
		}
	}
	f, err := iggyproto.ReadRequest(c.br, buf, iggyproto.Limits{MaxSendPayload: c.srv.cfg.MaxSendFrame})
	if err != nil {
		var fe *iggyproto.FrameError
		if errors.As(err, &fe) && !fe.Desync && fe.Remaining > 0 {
			if derr := iggyproto.DiscardPayload(c.br, fe.Remaining); derr != nil {
				return 0, nil, derr
			}
		}
		return 0, nil, err
	}
	switch {
	case cap(f.Payload) > keepBuffer:
		c.big = f.Payload[:0]
	case cap(f.Payload) > cap(c.req):
		c.req = f.Payload[:0]
	}
	return uint32(f.Command), f.Payload, nil
}

// releaseReq hands a big request buffer back to bigBufs once the handler
// returned (the broker keeps no request bytes after it returns).
func (c *conn) releaseReq() {
	if c.big != nil {
		bigBufs.put(c.big)
		c.big = nil
	}
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
// whether the connection is still usable.
func (c *conn) writeResponse(status iggyproto.Code, r reply) bool {
	if d := c.srv.cfg.WriteTimeout; d > 0 {
		_ = c.nc.SetWriteDeadline(time.Now().Add(d))
	}
	var hdr [8]byte
	binary.LittleEndian.PutUint32(hdr[0:4], uint32(status))
	binary.LittleEndian.PutUint32(hdr[4:8], uint32(r.size()))
	_, _ = c.bw.Write(hdr[:])
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
		if kicked {
			c.log.Debug("closed idle connection for shutdown")
		} else {
			c.log.Info("closed idle connection", "idle_timeout", c.srv.cfg.IdleTimeout)
		}
	default:
		c.log.Debug("read failed; closing", "err", err)
	}
}
