package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rustok/rustok-iggy/connector/embedded/server"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// defaultPingTimeout bounds one ping: connect, TLS handshake, request and
// answer.
const defaultPingTimeout = 3 * time.Second

func newPingCmd() *cobra.Command {
	var (
		addr    string
		useTLS  bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "ping",
		Short: "Send one Iggy ping over TCP; exit 0 on the answer (a health check)",
		Long: `Connects to an Iggy 0.8.0 TCP listener (serve, or Apache Iggy), sends one
Ping command, which needs no login, and exits 0 when the server answers OK,
1 otherwise. It is the image's HEALTHCHECK: a FROM scratch image has no
shell or curl. It needs no credentials and ignores --config.

The address is --addr, else IGGY_TCP_ADDRESS (as serve reads it), else
127.0.0.1:8090; an unspecified host (0.0.0.0, [::] or none) is reached on
loopback. --tls, or IGGY_TCP_TLS_ENABLED=true, pings over TLS without
verifying the certificate: the probe sends nothing secret and trusts
nothing it reads beyond the answer's status.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			target := addr
			if !cmd.Flags().Changed("addr") {
				if v := strings.TrimSpace(os.Getenv(envTCPAddress)); v != "" {
					target = v
				}
			}
			if !cmd.Flags().Changed("tls") {
				if v, err := strconv.ParseBool(strings.TrimSpace(os.Getenv(envTCPTLSEnabled))); err == nil {
					useTLS = v
				}
			}
			if timeout <= 0 {
				return fmt.Errorf("--timeout: %s is not positive", timeout)
			}
			dialAddr, err := pingAddr(target)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			rtt, err := pingIggy(ctx, dialAddr, useTLS)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pong from %s in %s\n", dialAddr, rtt.Round(time.Microsecond))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", server.DefaultAddr, "Iggy TCP `address` (host:port); default IGGY_TCP_ADDRESS, else 127.0.0.1:8090")
	f.BoolVar(&useTLS, "tls", false, "ping over TLS (certificate not verified); default IGGY_TCP_TLS_ENABLED")
	f.DurationVar(&timeout, "timeout", defaultPingTimeout, "give up after this long")
	return cmd
}

// pingAddr returns where to dial for a listen address: an unspecified
// host (none, 0.0.0.0 or ::) becomes the loopback address of its family.
func pingAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--addr: %w", err)
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("--addr: %q names no port", addr)
	}
	switch ip := net.ParseIP(host); {
	case host == "":
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "127.0.0.1"
		if ip.To4() == nil {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port), nil
}

// pingIggy sends one Ping frame to addr and waits for its answer, within
// ctx. It returns the round trip of the Ping (after connecting), or why
// the server did not answer OK.
func pingIggy(ctx context.Context, addr string, useTLS bool) (time.Duration, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, fmt.Errorf("ping %s: %w", addr, err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	// Closing the connection when ctx ends unblocks a read or write that
	// the deadline alone would not (a cancelled, not expired, ctx).
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if useTLS {
		host, _, _ := net.SplitHostPort(addr)
		tc := tls.Client(conn, &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12,
			InsecureSkipVerify: true}) // a liveness probe: nothing secret is sent, nothing but the status is used
		if err := tc.HandshakeContext(ctx); err != nil {
			return 0, fmt.Errorf("ping %s: TLS handshake: %w", addr, err)
		}
		conn = tc
	}
	start := time.Now()
	if _, err := conn.Write(iggyproto.AppendRequestFrame(nil, iggyproto.CmdPing, nil)); err != nil {
		return 0, fmt.Errorf("ping %s: send: %w", addr, ctxErr(ctx, err))
	}
	h, _, err := iggyproto.ReadResponse(conn, iggyproto.MaxControlPayload)
	if err != nil {
		return 0, fmt.Errorf("ping %s: no answer: %w", addr, ctxErr(ctx, err))
	}
	rtt := time.Since(start)
	if h.Status != 0 {
		return 0, fmt.Errorf("ping %s: the server answered error %d (%s)", addr, uint32(h.Status), h.Status)
	}
	return rtt, nil
}

// ctxErr prefers ctx's error (a timeout) to the I/O error it caused.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return errors.Join(cerr, err)
	}
	return err
}
