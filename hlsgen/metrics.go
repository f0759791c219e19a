package hlsgen

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are one Generator's Prometheus collectors. All fields are static after
// construction and safe for concurrent use.
type Metrics struct {
	Starts   prometheus.Counter     // ffmpeg processes started
	Restarts prometheus.Counter     // starts after the first (exit, stall or start failure)
	Stalls   prometheus.Counter     // ffmpeg killed for producing no segment in time
	Running  prometheus.Gauge       // 1 while an ffmpeg process is running
	Segments *prometheus.CounterVec // new media segments published, by rendition
	Entries  prometheus.Gauge       // entries in segments-sha256.json
}

func newMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Starts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmcast_hlsgen_ffmpeg_starts_total", Help: "ffmpeg processes started.",
		}),
		Restarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmcast_hlsgen_ffmpeg_restarts_total", Help: "ffmpeg restarts after an exit, a stall or a failed start.",
		}),
		Stalls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmcast_hlsgen_ffmpeg_stalls_total", Help: "ffmpeg processes killed for producing no segment within 3 segment durations.",
		}),
		Running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "swarmcast_hlsgen_ffmpeg_running", Help: "1 while an ffmpeg process is running.",
		}),
		Segments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmcast_hlsgen_segments_total", Help: "Media segments published, by rendition.",
		}, []string{"rendition"}),
		Entries: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "swarmcast_hlsgen_manifest_entries", Help: "Entries in the segments-sha256.json integrity manifest.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.Starts, m.Restarts, m.Stalls, m.Running, m.Segments, m.Entries} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("hlsgen metrics: %w (use one registry per generator)", err)
			}
			return nil, fmt.Errorf("hlsgen metrics: %w", err)
		}
	}
	return m, nil
}
