package torrent

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are one Seeder's Prometheus series. The counters are safe for any goroutine; the
// *Func series call back into the Seeder at scrape time.
type metrics struct {
	added   prometheus.Counter
	removed *prometheus.CounterVec // label reason: removed, evicted, closed
	errors  prometheus.Counter
	// disconnects counts tracker websockets that ended or failed to dial.
	disconnects prometheus.Counter
}

// Reasons a torrent is dropped (label values of swarmcast_seeder_webtorrent_dropped_total).
const (
	dropRemoved = "removed" // the segment source called Remove
	dropEvicted = "evicted" // maxTorrents was reached
	dropClosed  = "closed"  // the seeder shut down
)

func newMetrics(reg prometheus.Registerer, s *Seeder) (*metrics, error) {
	const ns, sub = "swarmcast", "seeder_webtorrent"
	m := &metrics{
		added: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "added_total",
			Help: "Segment torrents added to the WebTorrent seeder.",
		}),
		removed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "dropped_total",
			Help: "Segment torrents dropped, by reason (removed: left the live window; evicted: maxTorrents reached; closed: shutdown).",
		}, []string{"reason"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "add_errors_total",
			Help: "Segments that could not be turned into torrents.",
		}),
	}
	m.disconnects = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: ns, Subsystem: sub, Name: "tracker_disconnects_total",
		Help: "Tracker websockets of the seeder that closed or could not be dialled (anacrolix redials after a minute).",
	})
	for _, r := range []string{dropRemoved, dropEvicted, dropClosed} {
		m.removed.WithLabelValues(r)
	}
	collectors := []prometheus.Collector{
		m.added, m.removed, m.errors, m.disconnects,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "trackers_connected",
			Help: "Trackers the seeder's websocket is connected to.",
		}, func() float64 { return float64(s.connectedTrackers()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "torrents",
			Help: "Segment torrents currently seeded.",
		}, func() float64 { return float64(s.liveTorrents()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "peers",
			Help: "WebRTC peer connections of the seeder, over all segment torrents.",
		}, func() float64 { return float64(s.clientStats().Peers) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "uploaded_bytes_total",
			Help: "Segment data bytes uploaded to WebTorrent peers.",
		}, func() float64 { return float64(s.clientStats().UploadedBytes) }),
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering webtorrent seeder metrics (one Registerer per seeder): %w", err)
		}
	}
	return m, nil
}
