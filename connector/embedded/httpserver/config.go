package httpserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/rustok/rustok-iggy/connector/embedded/server"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// Defaults, as Iggy 0.8.0's [http] and [http.jwt] sections.
const (
	// DefaultAccessTokenExpiry is the lifetime of an access token.
	DefaultAccessTokenExpiry = time.Hour
	// DefaultClockSkew is the leeway allowed on a token's expiry.
	DefaultClockSkew = 5 * time.Second
	// DefaultIssuer is the iss claim issued and the only one accepted.
	DefaultIssuer = "iggy.apache.org"
	// DefaultAudience is the aud claim issued and the only one accepted.
	DefaultAudience = "iggy.apache.org"
	// DefaultMaxRequestBody caps the body of every request except a send,
	// as the TCP server caps control frames (10 MiB).
	DefaultMaxRequestBody = iggyproto.MaxControlPayload
	// DefaultMaxSendBody caps the body of a send (JSON with base64
	// payloads), as the TCP server caps a SendMessages frame (128 MiB).
	DefaultMaxSendBody = iggyproto.DefaultMaxSendPayload
)

// Config configures the handler. The zero value is valid: tokens signed
// with a random in-memory secret (they die with the process), CORS off,
// TCP's body caps.
type Config struct {
	// StateDir, when set, is where the JWT signing secret
	// (http_jwt_secret, 0600) and the revoked token ids
	// (http_revoked_tokens.json) are kept, so tokens survive a restart.
	// Use the broker's data directory. Optional.
	StateDir string
	// Secret, when set, is the HMAC key used instead of StateDir's.
	// Optional; at least 32 bytes.
	Secret []byte
	// AccessTokenExpiry is a token's lifetime. Default
	// DefaultAccessTokenExpiry (1 h).
	AccessTokenExpiry time.Duration
	// ClockSkew is the leeway on expiry. Default DefaultClockSkew (5 s);
	// negative means none.
	ClockSkew time.Duration
	// MaxRequestBody caps a request body in bytes (413 beyond). Default
	// DefaultMaxRequestBody.
	MaxRequestBody int64
	// MaxSendBody caps a send's body in bytes (413 beyond). Default
	// DefaultMaxSendBody.
	MaxSendBody int64
	// CORS, as Iggy's [http.cors]. Off when Enabled is false.
	CORS CORSConfig
	// Rustok serves rustok's own GET /health and GET /metrics on the same
	// listener (public, as Iggy's /metrics). Optional; without it those
	// paths are 404 (after authentication, as any unknown route).
	Rustok http.Handler
	// Cluster describes the node for GET /cluster/metadata: the TCP and
	// HTTP addresses announced. Optional.
	Cluster ClusterInfo
	// TCP is the broker's TCP listener, whose settings the server_config
	// entry of POST /snapshot reports beside the broker's and this
	// handler's. Optional: without it the entry reports no TCP listener.
	TCP *server.Server
	// Now is the clock for tokens and snapshot file names. Default
	// time.Now.
	Now func() time.Time
	// Logger receives warnings; nil discards.
	Logger *slog.Logger
}

// ClusterInfo is what GET /cluster/metadata announces for the one node.
type ClusterInfo struct {
	// IP is the node's address; TCPPort and HTTPPort its ports (0 when
	// not served).
	IP                string
	TCPPort, HTTPPort uint16
}

// CORSConfig mirrors Iggy's [http.cors]. Iggy's defaults are Enabled,
// methods GET, POST, PUT, DELETE, origins "*", headers content-type and
// authorization; DefaultCORS returns them.
type CORSConfig struct {
	Enabled bool
	// AllowedOrigins lists the origins allowed; "*" allows any.
	AllowedOrigins []string
	// AllowedMethods, AllowedHeaders and ExposedHeaders go to the
	// matching Access-Control-* headers.
	AllowedMethods []string
	AllowedHeaders []string
	ExposedHeaders []string
	// AllowCredentials sets Access-Control-Allow-Credentials: true (not
	// allowed with origin "*").
	AllowCredentials bool
	// AllowPrivateNetwork answers Private Network Access preflights.
	AllowPrivateNetwork bool
}

// DefaultCORS returns Iggy 0.8.0's default [http.cors] (enabled).
func DefaultCORS() CORSConfig {
	return CORSConfig{
		Enabled:        true,
		AllowedOrigins: []string{"*"},
		AllowedMethods: []string{"GET", "POST", "PUT", "DELETE"},
		AllowedHeaders: []string{"content-type", "authorization"},
	}
}

// Validate reports every problem, joined.
func (c Config) Validate() error {
	var errs []error
	if c.Secret != nil && len(c.Secret) < 32 {
		errs = append(errs, fmt.Errorf("http.jwt.secret: %d bytes, want at least 32", len(c.Secret)))
	}
	if c.AccessTokenExpiry < 0 {
		errs = append(errs, fmt.Errorf("http.jwt.access_token_expiry: %v is negative", c.AccessTokenExpiry))
	}
	if c.MaxRequestBody < 0 {
		errs = append(errs, fmt.Errorf("http.max_request_size: %d is negative", c.MaxRequestBody))
	}
	if c.MaxSendBody < 0 {
		errs = append(errs, fmt.Errorf("http.max_send_size: %d is negative", c.MaxSendBody))
	}
	if c.CORS.Enabled && c.CORS.AllowCredentials {
		for _, o := range c.CORS.AllowedOrigins {
			if o == "*" {
				errs = append(errs, errors.New("http.cors: allow_credentials cannot be used with origin \"*\""))
			}
		}
	}
	for _, m := range c.CORS.AllowedMethods {
		if m == "" || strings.ContainsAny(m, " ,") {
			errs = append(errs, fmt.Errorf("http.cors.allowed_methods: %q is not a method", m))
		}
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.AccessTokenExpiry == 0 {
		c.AccessTokenExpiry = DefaultAccessTokenExpiry
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = DefaultClockSkew
	} else if c.ClockSkew < 0 {
		c.ClockSkew = 0
	}
	if c.MaxRequestBody == 0 {
		c.MaxRequestBody = DefaultMaxRequestBody
	}
	if c.MaxSendBody == 0 {
		c.MaxSendBody = DefaultMaxSendBody
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
