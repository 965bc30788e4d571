package main

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"

	"github.com/rustok/rustok-iggy/connector/embedded/httpserver"
	"github.com/rustok/rustok-iggy/connector/embedded/server"
)

// iggyHTTP puts Iggy 0.8.0's HTTP API (package httpserver) in front of
// rustok's handler on serve's HTTP listener: Iggy's routes, with rustok's
// /health and /metrics (public) beside them. Tokens are signed with the
// secret kept in the data dir. CORS is Iggy's default (any origin). With
// --tls-cert the listener speaks TLS with the TCP listener's certificate.
// POST /snapshot reports tcp's settings.
func iggyHTTP(p *brokerProbe, rustok http.Handler, tlsCfg *tls.Config, tcp *server.Server, httpAddr net.Addr,
	logger *slog.Logger) (http.Handler, string, error) {
	cluster := httpserver.ClusterInfo{}
	if tcpAddr := tcp.Addr(); tcpAddr != nil {
		cluster.IP, cluster.TCPPort = tcpAddr.IP.String(), uint16(tcpAddr.Port)
	}
	if a, ok := httpAddr.(*net.TCPAddr); ok {
		cluster.HTTPPort = uint16(a.Port)
	}
	h, err := httpserver.New(p.b, httpserver.Config{StateDir: p.dataDir, Rustok: rustok, CORS: httpserver.DefaultCORS(),
		Cluster: cluster, TCP: tcp, Logger: logger})
	if err != nil {
		return nil, "", err
	}
	if tlsCfg != nil {
		return h, "https", nil
	}
	return h, "http", nil
}
