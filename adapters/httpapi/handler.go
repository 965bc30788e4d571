// Package httpapi is rustok-iggy's HTTP face: health, Prometheus metrics
// and a liveness ping, as one http.Handler that any application can mount.
//
//	GET /health   the transport's health report as JSON; 200 when healthy
//	              or degraded, 503 when unhealthy
//	GET /metrics  Prometheus text format, from the Metrics hooks the
//	              transport was built with (transport.WithHooks), and from
//	              any further Gatherer given in Config
//	GET /ping     "pong"
//
// Wire it as: m, err := NewMetrics(); transport.New(..., transport.WithHooks(m));
// h := New(Config{Health: tr.Health, Metrics: m}); mount h, at a prefix
// with http.StripPrefix if wanted. The composition root (adapters/compose)
// does this and serves it on embedded.http_port.
package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rustok/rustok-iggy/transport"
)

// Paths served by the Handler.
const (
	PathHealth  = "/health"
	PathMetrics = "/metrics"
	PathPing    = "/ping"
)

// DefaultHealthTimeout bounds one health check when Config.HealthTimeout
// is zero.
const DefaultHealthTimeout = 5 * time.Second

// HealthFunc returns a health report. It must be safe for concurrent use
// and honour ctx; transport.(*Transport).Health is one.
type HealthFunc func(ctx context.Context) transport.HealthReport

// Config configures a Handler.
type Config struct {
	// Health produces the /health report. Nil: /health answers 404.
	Health HealthFunc
	// Metrics are served on /metrics. Nil, with Gatherer nil too: /metrics
	// answers 404.
	Metrics *Metrics
	// Gatherer adds metrics to /metrics, for an application (or a
	// standalone broker) with figures of its own. With Metrics set, both
	// are served merged, so Gatherer must not repeat a metric of Metrics'
	// registry (which already holds the Go runtime and process
	// collectors); without Metrics, /metrics serves Gatherer alone. Nil:
	// only Metrics.
	Gatherer prometheus.Gatherer
	// HealthTimeout bounds one health check (default 5s); a check that
	// runs out of time reports the broker unhealthy.
	HealthTimeout time.Duration
	// Logger receives errors writing responses and gathering metrics. Nil
	// discards them.
	Logger *slog.Logger
}

// Handler serves /health, /metrics and /ping; other paths answer 404 and
// other methods than GET and HEAD answer 405. It is safe for concurrent use.
type Handler struct {
	mux *http.ServeMux
	cfg Config
	log *slog.Logger
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler for cfg.
func New(cfg Config) *Handler {
	if cfg.HealthTimeout <= 0 {
		cfg.HealthTimeout = DefaultHealthTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{mux: http.NewServeMux(), cfg: cfg, log: log.With("component", "httpapi")}
	h.mux.HandleFunc("GET "+PathPing, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("pong"))
	})
	if cfg.Health != nil {
		h.mux.HandleFunc("GET "+PathHealth, h.health)
	}
	var g prometheus.Gatherer
	switch {
	case cfg.Metrics != nil && cfg.Gatherer != nil:
		g = prometheus.Gatherers{cfg.Metrics.Registry(), cfg.Gatherer}
	case cfg.Metrics != nil:
		g = cfg.Metrics.Registry()
	case cfg.Gatherer != nil:
		g = cfg.Gatherer
	}
	if g != nil {
		h.mux.Handle("GET "+PathMetrics, promhttp.HandlerFor(g, promhttp.HandlerOpts{
			ErrorLog:          slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
			ErrorHandling:     promhttp.ContinueOnError,
			EnableOpenMetrics: false,
		}))
	}
	return h
}

// ServeHTTP dispatches to the endpoints.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// HealthJSON is the /health body.
type HealthJSON struct {
	// Status is "healthy", "degraded" or "unhealthy".
	Status string `json:"status"`
	// Checks are the report's checks in order.
	Checks []CheckJSON `json:"checks"`
	// At is when the report was made, RFC 3339 in UTC.
	At time.Time `json:"at"`
}

// CheckJSON is one check of HealthJSON.
type CheckJSON struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// ReportJSON converts a health report to its JSON shape.
func ReportJSON(r transport.HealthReport) HealthJSON {
	out := HealthJSON{Status: r.Status.String(), Checks: make([]CheckJSON, 0, len(r.Checks)), At: r.At.UTC()}
	for _, c := range r.Checks {
		out.Checks = append(out.Checks, CheckJSON{Name: c.Name, Status: c.Status.String(), Detail: c.Detail})
	}
	return out
}

// StatusCode is the HTTP status /health answers for a health status: 200
// for Healthy and Degraded, 503 for Unhealthy (and anything unknown).
func StatusCode(s transport.Status) int {
	switch s {
	case transport.Healthy, transport.Degraded:
		return http.StatusOK
	}
	return http.StatusServiceUnavailable
}

func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.HealthTimeout)
	defer cancel()
	rep := h.cfg.Health(ctx)
	body, err := json.Marshal(ReportJSON(rep))
	if err != nil { // cannot happen with these types; answer 500 rather than lie
		h.log.Error("encode health report", "error", err)
		http.Error(w, "encode health report", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(StatusCode(rep.Status))
	if _, err := w.Write(append(body, '\n')); err != nil {
		h.log.Debug("write health response", "error", err)
	}
}
