package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Chart file names written by writeCharts into its directory.
const (
	chartThroughput = "throughput.svg"
	chartLatency    = "latency.svg"
)

// writeCharts draws the report as two SVG files in dir: the throughput of
// every producer and consumer scenario per target (grouped bars, msgs/s),
// and the latency percentiles p50, p99 and p99.9 of every row that measured
// latency (log scale). Rows with an error and the machine-limit rows are
// left out.
func (rep *Report) writeCharts(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tp, err := rep.throughputChart()
	if err != nil {
		return fmt.Errorf("throughput chart: %w", err)
	}
	if err := tp.Save(22*vg.Centimeter, 12*vg.Centimeter, filepath.Join(dir, chartThroughput)); err != nil {
		return err
	}
	lat, err := rep.latencyChart()
	if err != nil {
		return fmt.Errorf("latency chart: %w", err)
	}
	return lat.Save(22*vg.Centimeter, 13*vg.Centimeter, filepath.Join(dir, chartLatency))
}

// charted reports whether r belongs in the charts.
func charted(r *Row) bool { return r.Err == "" && r.Target != "limits" }

// label names a row's scenario with its durability when it has one.
func label(r *Row) string {
	if r.Durability == "" || r.Durability == "-" {
		return r.Scenario
	}
	return r.Scenario + " (" + r.Durability + ")"
}

func (rep *Report) throughputChart() (*plot.Plot, error) {
	var scenarios, targets []string
	rate := map[[2]string]float64{}
	for i := range rep.Rows {
		r := &rep.Rows[i]
		if !charted(r) || (r.Kind != kindWrite && r.Kind != kindRead) || r.MsgsPerSec <= 0 {
			continue
		}
		sc := r.Scenario
		if !slices.Contains(scenarios, sc) {
			scenarios = append(scenarios, sc)
		}
		// A series is a target at one durability, so that the bars of
		// one scenario sit side by side whatever each target syncs.
		tg := r.Target
		if r.Durability != "" && r.Durability != "-" {
			tg += " (" + r.Durability + ")"
		}
		if !slices.Contains(targets, tg) {
			targets = append(targets, tg)
		}
		rate[[2]string{tg, sc}] = r.MsgsPerSec / 1000
	}
	if len(scenarios) == 0 {
		return nil, fmt.Errorf("no producer or consumer rows")
	}
	p := plot.New()
	p.Title.Text = "Throughput per scenario and target"
	p.Y.Label.Text = "thousand messages/s"
	p.Legend.Top = true
	w := vg.Points(math.Max(3, 60/float64(len(targets))))
	for ti, tg := range targets {
		vals := make(plotter.Values, len(scenarios))
		for si, sc := range scenarios {
			vals[si] = rate[[2]string{tg, sc}]
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, err
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(ti)
		bars.Offset = w * vg.Length(float64(ti)-float64(len(targets)-1)/2)
		p.Add(bars)
		p.Legend.Add(tg, bars)
	}
	p.NominalX(scenarios...)
	p.Y.Min = 0
	p.Y.Max *= 1.1 + 0.06*float64(len(targets)) // room for the legend
	p.X.Tick.Label.Rotation = math.Pi / 6
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	p.Add(plotter.NewGrid())
	return p, nil
}

func (rep *Report) latencyChart() (*plot.Plot, error) {
	var names []string
	pcts := []struct {
		name string
		get  func(*Row) float64
	}{
		{"p50", func(r *Row) float64 { return r.P50us }},
		{"p99", func(r *Row) float64 { return r.P99us }},
		{"p99.9", func(r *Row) float64 { return r.P999us }},
	}
	series := make([]plotter.XYs, len(pcts))
	for i := range rep.Rows {
		r := &rep.Rows[i]
		if !charted(r) || r.Samples == 0 || r.P50us <= 0 {
			continue
		}
		x := float64(len(names))
		names = append(names, r.Target+" / "+label(r))
		for k, pc := range pcts {
			if v := pc.get(r); v > 0 {
				series[k] = append(series[k], plotter.XY{X: x, Y: v})
			}
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no rows with latency samples")
	}
	p := plot.New()
	p.Title.Text = "Latency percentiles (one sample: a batch, a call or one message end to end)"
	p.Y.Label.Text = "µs (log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	shapes := []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.SquareGlyph{}}
	for k, pc := range pcts {
		if len(series[k]) == 0 {
			continue
		}
		s, err := plotter.NewScatter(series[k])
		if err != nil {
			return nil, err
		}
		s.GlyphStyle.Color = plotutil.Color(k)
		s.GlyphStyle.Shape = shapes[k]
		s.GlyphStyle.Radius = vg.Points(3)
		p.Add(s)
		p.Legend.Add(pc.name, s)
	}
	p.NominalX(names...)
	p.Y.Max *= 4 // room for the legend (log scale)
	p.X.Tick.Label.Rotation = math.Pi / 4
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	p.Add(plotter.NewGrid())
	return p, nil
}
