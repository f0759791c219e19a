package seeder

import (
	"github.com/prometheus/client_golang/prometheus"

	"swarmcast/seeder/pml"
	"swarmcast/seeder/source"
)

// metrics are one Seeder's Prometheus collectors. Label values are static (generation
// names, result and reason enums), never taken from peer input.
type metrics struct {
	peers          *prometheus.GaugeVec   // generation
	uploaded       *prometheus.CounterVec // generation
	segments       *prometheus.CounterVec // generation, result
	protocolErrors *prometheus.CounterVec // generation
	closed         *prometheus.CounterVec // reason
	iceFailures    prometheus.Counter
	offers         *prometheus.CounterVec // kind: answered, sent, rejected_full, rejected_duplicate
}

func newMetrics(reg prometheus.Registerer, src *source.Source) (*metrics, error) {
	m := &metrics{
		peers: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "swarmcast_seeder_peers",
			Help: "Connected P2P Media Loader peers by client generation."}, []string{"generation"}),
		uploaded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "swarmcast_seeder_uploaded_bytes_total",
			Help: "Segment bytes uploaded to peers."}, []string{"generation"}),
		segments: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "swarmcast_seeder_segments_total",
			Help: "Segment requests by result: served, absent, cancelled."}, []string{"generation", "result"}),
		protocolErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "swarmcast_seeder_protocol_errors_total",
			Help: "Malformed, oversized or unexpected data-channel messages (each drops its peer)."}, []string{"generation"}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "swarmcast_seeder_peer_closed_total",
			Help: "Peer connections closed, by reason."}, []string{"reason"}),
		iceFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "swarmcast_seeder_ice_failures_total",
			Help: "Peer connections whose ICE failed before or after the data channel opened."}),
		offers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "swarmcast_seeder_offers_total",
			Help: "WebRTC offers: answered (from browsers), sent (own), rejected_full, rejected_duplicate."}, []string{"kind"}),
	}
	for _, g := range pml.Generations {
		m.peers.WithLabelValues(g.String())
		m.uploaded.WithLabelValues(g.String())
		m.protocolErrors.WithLabelValues(g.String())
		for _, r := range []string{"served", "absent", "cancelled"} {
			m.segments.WithLabelValues(g.String(), r)
		}
	}
	for r := range numReasons {
		m.closed.WithLabelValues(r.String())
	}
	srcStat := func(name, help string, f func(source.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f(src.Stats())) })
	}
	cs := []prometheus.Collector{m.peers, m.uploaded, m.segments, m.protocolErrors, m.closed, m.iceFailures, m.offers,
		srcStat("swarmcast_seeder_source_segments_total", "Segments added to the live window.", func(s source.Stats) uint64 { return s.SegmentsAdded }),
		srcStat("swarmcast_seeder_source_bytes_total", "Segment bytes fetched from the origin.", func(s source.Stats) uint64 { return s.BytesFetched }),
		srcStat("swarmcast_seeder_source_verify_failures_total", "Segments that failed the segments-sha256.json check (never uploaded).", func(s source.Stats) uint64 { return s.VerifyFailures }),
		srcStat("swarmcast_seeder_source_poll_errors_total", "Failed playlist polls.", func(s source.Stats) uint64 { return s.PollErrors }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
