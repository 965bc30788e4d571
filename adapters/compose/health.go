package compose

import (
	"context"
	"time"

	"github.com/rustok/rustok-iggy/transport"
)

// HealthChecker reports an App's health. It is safe for concurrent use.
type HealthChecker struct{ app *App }

// Check returns the transport's health report (broker ping, topology,
// consumer lag, DLQ growth, connector state) and, when the App opened an
// outbox (events.outbox.enabled), the "outbox" check (Outbox.Check: relay
// state, lag, last error; Degraded when the relay is failing or the lag is
// past max_pending_age or max_pending). Before Start succeeded it
// reports Unhealthy with a "start" check carrying the last start error;
// it never blocks longer than ctx allows.
func (h *HealthChecker) Check(ctx context.Context) transport.HealthReport {
	a := h.app
	if !a.Started() {
		detail := "not started"
		if err := a.LastStartError(); err != nil {
			detail = "not started: " + err.Error()
		}
		return transport.HealthReport{Status: transport.Unhealthy, At: time.Now(),
			Checks: []transport.Check{{Name: "start", Status: transport.Unhealthy, Detail: detail}}}
	}
	rep := a.tr.Health(ctx)
	if ob := a.Outbox(); ob != nil {
		c := ob.Check(ctx)
		rep.Checks = append(rep.Checks, c)
		rep.Status = max(rep.Status, c.Status)
	}
	return rep
}
