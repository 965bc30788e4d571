package remote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"sync"
	"unsafe"

	"github.com/apache/iggy/foreign/go/client/tcp"
	"github.com/rustok/rustok-iggy/core"
)

// session is one logged-in SDK client. The SDK has no context and no
// deadlines, and its Close waits for the request in flight; kill closes
// the client's socket directly so that a hung request fails at once.
type session struct {
	cli  *tcp.IggyTcpClient
	conn net.Conn // the SDK's socket, read once the SDK is done connecting
	addr string

	killOnce sync.Once
}

// kill closes the socket under the SDK: a request in flight fails with an
// I/O error and releases the SDK's mutex. Safe to call more than once and
// concurrently with a request.
func (s *session) kill() {
	s.killOnce.Do(func() {
		if s.conn != nil {
			_ = s.conn.Close()
		}
	})
}

// close kills the socket and closes the SDK client. It may wait for a
// request in flight to observe the closed socket (immediately).
func (s *session) close() {
	s.kill()
	_ = s.cli.Close()
}

// sdkConn returns the socket of an SDK client: the unexported field conn of
// tcp.IggyTcpClient v0.8.0, which the SDK gives no other way to reach
// (TestSDKConnAccessor fails if a new SDK version moves it). It must only be
// called when no request or connect is running on c.
func sdkConn(c *tcp.IggyTcpClient) net.Conn {
	v := reflect.ValueOf(c).Elem().FieldByName("conn")
	if !v.IsValid() || v.Type() != reflect.TypeFor[net.Conn]() {
		return nil
	}
	return *(*net.Conn)(unsafe.Pointer(v.UnsafeAddr()))
}

// errSDKLayout is returned when sdkConn cannot find the SDK's socket.
var errSDKLayout = errors.New("remote: cannot reach the Iggy SDK client's socket (unexpected SDK version); hung requests could not be aborted")

// loadTLS builds the TLS configuration used to probe a server; the SDK
// builds its own from the same settings.
func loadTLS(c TLSConfig) (*tls.Config, error) {
	if !c.Enabled {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: c.ServerName, MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: remote.tls.ca_file: %w", core.ErrInvalid, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: remote.tls.ca_file: %s holds no PEM certificate", core.ErrInvalid, c.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// dial connects to the first address that answers and logs in. A refused
// login ends the search (core.ErrUnauthenticated); otherwise every address
// is tried and the failures are joined under core.ErrUnavailable.
func (b *Broker) dial(ctx context.Context) (*session, error) {
	var errs []error
	for _, addr := range b.cfg.Addresses {
		s, err := b.dialAddr(ctx, addr)
		if err == nil {
			return s, nil
		}
		if errors.Is(err, core.ErrUnauthenticated) || errors.Is(err, core.ErrPermissionDenied) {
			return nil, err
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, unavailable(errors.Join(errs...))
}

// dialAddr connects to one address within ConnectTimeout. The SDK's
// connect retries a failed dial forever and has no timeout, so a bounded
// probe (TCP, then the TLS handshake) runs first; the SDK then connects in
// a goroutine of its own, abandoned (and its client closed once it
// returns) if it overruns.
func (b *Broker) dialAddr(ctx context.Context, addr string) (*session, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.ConnectTimeout)
	defer cancel()

	var d net.Dialer
	probe, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, unavailable(fmt.Errorf("dial %s: %w", addr, err))
	}
	if b.tls != nil {
		cfg := b.tls.Clone()
		if cfg.ServerName == "" {
			host, _, _ := net.SplitHostPort(addr)
			cfg.ServerName = host
		}
		if err := tls.Client(probe, cfg).HandshakeContext(ctx); err != nil {
			_ = probe.Close()
			return nil, unavailable(fmt.Errorf("TLS handshake with %s: %w", addr, err))
		}
	}
	_ = probe.Close()

	opts := []tcp.Option{tcp.WithServerAddress(addr)}
	if b.cfg.TLS.Enabled {
		var t []tcp.TLSOption
		if b.cfg.TLS.ServerName != "" {
			t = append(t, tcp.WithTLSDomain(b.cfg.TLS.ServerName))
		}
		if b.cfg.TLS.CAFile != "" {
			t = append(t, tcp.WithTLSCAFile(b.cfg.TLS.CAFile))
		}
		opts = append(opts, tcp.WithTLS(t...))
	}
	cli, err := bounded(ctx, &b.sdkWG, func() (*tcp.IggyTcpClient, error) {
		var cli *tcp.IggyTcpClient
		err := protect(func() (err error) {
			cli, err = tcp.NewIggyTcpClient(opts...)
			return err
		})
		return cli, err
	}, func(cli *tcp.IggyTcpClient) { _ = cli.Close() })
	if err != nil {
		return nil, unavailable(fmt.Errorf("connect %s: %w", addr, err))
	}
	s := &session{cli: cli, addr: addr, conn: sdkConn(cli)}
	if s.conn == nil {
		_ = cli.Close()
		return nil, errSDKLayout
	}
	err = b.runOn(ctx, s, func() error {
		if b.cfg.Token != "" {
			_, err := cli.LoginWithPersonalAccessToken(string(b.cfg.Token))
			return err
		}
		_, err := cli.LoginUser(b.cfg.Username, string(b.cfg.Password))
		return err
	})
	if err != nil {
		s.close()
		if errors.Is(err, core.ErrUnauthenticated) || errors.Is(err, core.ErrPermissionDenied) {
			return nil, fmt.Errorf("log in to %s: %w", addr, err)
		}
		return nil, unavailable(fmt.Errorf("log in to %s: %w", addr, err))
	}
	// A multi-node cluster may have moved the client to its leader.
	s.conn = sdkConn(cli)
	return s, nil
}

// runOn runs fn, a request on s (which nobody else uses), until ctx ends;
// then s is killed so that fn returns, and ctx's error is returned. The
// error of fn is mapped with mapErr.
func (b *Broker) runOn(ctx context.Context, s *session, fn func() error) error {
	_, err := bounded(ctx, &b.wg, func() (struct{}, error) {
		return struct{}{}, protect(fn)
	}, nil)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		s.kill()
		return unavailable(fmt.Errorf("%s: %w", s.addr, err))
	}
	return mapErr(err)
}

// bounded runs fn in a goroutine counted by wg and waits for it until ctx
// ends. If ctx ends first, it returns ctx's error and fn's goroutine, once
// fn returns, hands a successful result to cleanup (when not nil).
func bounded[T any](ctx context.Context, wg *sync.WaitGroup, fn func() (T, error), cleanup func(T)) (T, error) {
	type result struct {
		v   T
		err error
	}
	var (
		mu        sync.Mutex
		abandoned bool
		ch        = make(chan result, 1)
	)
	wg.Go(func() {
		v, err := fn()
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			if err == nil && cleanup != nil {
				cleanup(v)
			}
			return
		}
		ch <- result{v, err}
	})
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	select {
	case r := <-ch: // finished just in time
		return r.v, r.err
	default:
	}
	abandoned = true
	var zero T
	return zero, ctxErr(ctx)
}

// protect runs fn and turns a panic (the SDK's decoders index response
// bytes without checking their length) into an error.
func protect(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("remote: malformed response (the SDK panicked: %v)", r)
		}
	}()
	return fn()
}
