package tracker

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// serverMetrics are the transport-level metrics of one Server (the hub registers its own).
// Label values are static: listener addresses from config.json and CloseReason names.
// Every field is static after construction; the collectors are safe for concurrent use.
type serverMetrics struct {
	connections      *prometheus.GaugeVec   // open WebSocket connections, by listener
	accepted         *prometheus.CounterVec // upgrades completed, by listener
	rejected         *prometheus.CounterVec // upgrades refused, by reason
	closes           *prometheus.CounterVec // connections closed, by reason
	receivedBytes    prometheus.Counter
	sentBytes        prometheus.Counter
	receivedMessages prometheus.Counter
	sentMessages     prometheus.Counter
	tlsReloads       *prometheus.CounterVec // certificate reloads, by result
}

// Upgrade rejection reasons (label values of swarmcast_tracker_ws_rejected_total).
const (
	rejectOrigin         = "origin"
	rejectMaxConnections = "max_connections"
	rejectShutdown       = "shutdown"
	rejectHandshake      = "bad_handshake"
)

func newServerMetrics(reg prometheus.Registerer) (*serverMetrics, error) {
	m := &serverMetrics{
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "swarmcast_tracker_ws_connections",
			Help: "Open tracker WebSocket connections, by listener (servers[].server host:port).",
		}, []string{"listener"}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmcast_tracker_ws_accepted_total",
			Help: "WebSocket upgrades completed, by listener.",
		}, []string{"listener"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmcast_tracker_ws_rejected_total",
			Help: "WebSocket upgrades refused, by reason (origin, max_connections, shutdown, bad_handshake).",
		}, []string{"reason"}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmcast_tracker_ws_closes_total",
			Help: "Tracker WebSocket connections closed, by reason.",
		}, []string{"reason"}),
		receivedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmcast_tracker_ws_received_bytes_total",
			Help: "Payload bytes of WebSocket text frames received (after decompression).",
		}),
		sentBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmcast_tracker_ws_sent_bytes_total",
			Help: "Payload bytes of WebSocket text frames written.",
		}),
		receivedMessages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmcast_tracker_ws_received_messages_total",
			Help: "WebSocket text frames received.",
		}),
		sentMessages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmcast_tracker_ws_sent_messages_total",
			Help: "WebSocket text frames written.",
		}),
		tlsReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmcast_tracker_tls_reloads_total",
			Help: "TLS certificate reloads, by result (ok, error).",
		}, []string{"result"}),
	}
	// Pre-create every close reason, so all series exist from the start.
	for r := CloseReason(0); r < numCloseReasons; r++ {
		if r != ReasonPeerTakeover {
			m.closes.WithLabelValues(r.String())
		}
	}
	for _, r := range []string{rejectOrigin, rejectMaxConnections, rejectShutdown, rejectHandshake} {
		m.rejected.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{m.connections, m.accepted, m.rejected, m.closes,
		m.receivedBytes, m.sentBytes, m.receivedMessages, m.sentMessages, m.tlsReloads} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register tracker metrics: %w", err)
		}
	}
	return m, nil
}
