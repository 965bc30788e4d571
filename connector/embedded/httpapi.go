package embedded

import (
	"fmt"
	"net"

	"github.com/rustok/rustok-iggy/connector/embedded/httpserver"
)

// HTTPHandler returns Iggy 0.8.0's HTTP API over this broker (see package
// httpserver), for the caller to serve on embedded.http_port. Zero fields
// of cfg default to this broker's: StateDir to Config.DataDir (the JWT
// secret and revoked tokens live there), the announced cluster TCP port
// to the bound listener's, the TCP listener whose settings POST /snapshot
// reports to this broker's (none without TCPAddr). The handler shares the broker with the
// in-process API and the TCP listener: what one sends the others poll.
// It is valid until Close.
func (b *Broker) HTTPHandler(cfg httpserver.Config) (*httpserver.Handler, error) {
	if cfg.StateDir == "" && cfg.Secret == nil {
		cfg.StateDir = b.cfg.DataDir
	}
	if cfg.Cluster.TCPPort == 0 && b.tcp != "" {
		if host, port, err := net.SplitHostPort(b.tcp); err == nil {
			var p uint16
			if _, err := fmt.Sscan(port, &p); err == nil {
				cfg.Cluster.TCPPort = p
			}
			if cfg.Cluster.IP == "" {
				cfg.Cluster.IP = host
			}
		}
	}
	if cfg.TCP == nil {
		cfg.TCP = b.srv
	}
	if cfg.Logger == nil {
		cfg.Logger = b.log
	}
	return httpserver.New(b.b, cfg)
}
