package tracker

import (
	"github.com/prometheus/client_golang/prometheus"
)

// inKind labels received messages (swarmcast_tracker_messages_in_total{type}).
type inKind uint8

const (
	inAnnounce inKind = iota // announce: started, completed or regular
	inAnswer
	inStopped
	inScrape
	inInvalid // not JSON, not an object, unknown action or event
	numInKinds
)

var inKindNames = [numInKinds]string{"announce", "answer", "stopped", "scrape", "invalid"}

// outKind labels sent messages (swarmcast_tracker_messages_out_total{type}).
type outKind uint8

const (
	outAnnounce outKind = iota // announce reply
	outOffer
	outAnswer
	outScrape
	numOutKinds
)

var outKindNames = [numOutKinds]string{"announce", "offer", "answer", "scrape"}

// hubMetrics are the hub's Prometheus metrics. Children of the labelled vectors are resolved
// once so the hot path only does atomic adds. Static after newHubMetrics.
type hubMetrics struct {
	in             [numInKinds]prometheus.Counter
	out            [numOutKinds]prometheus.Counter
	sendDropped    [numOutKinds]prometheus.Counter
	offersRelayed  prometheus.Counter
	answersRouted  prometheus.Counter
	answersDropped prometheus.Counter
	protocolErrors prometheus.Counter
	takeovers      prometheus.Counter
	expired        prometheus.Counter
}

func newHubMetrics(reg prometheus.Registerer, h *Hub) (*hubMetrics, error) {
	inVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "swarmcast_tracker_messages_in_total",
		Help: "Tracker messages received, by type (invalid: not a JSON object, unknown action or event).",
	}, []string{"type"})
	outVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "swarmcast_tracker_messages_out_total",
		Help: "Tracker messages handed to connections, by type.",
	}, []string{"type"})
	dropVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "swarmcast_tracker_send_dropped_total",
		Help: "Outgoing tracker messages a connection refused (send queue full or connection closing), by type.",
	}, []string{"type"})
	m := &hubMetrics{
		offersRelayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmcast_tracker_offers_relayed_total",
			Help: "Offers relayed from an announcing peer to another peer.",
		}),
		answersRouted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmcast_tracker_answers_routed_total",
			Help: "Answers forwarded to their to_peer_id.",
		}),
		answersDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmcast_tracker_answers_dropped_total",
			Help: "Answers dropped because to_peer_id is unknown (wt-tracker closes the socket instead).",
		}),
		protocolErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmcast_tracker_protocol_errors_total",
			Help: "JSON messages that broke the protocol (their connection is closed); frames that are not JSON objects count as messages_in_total{type=\"invalid\"}.",
		}),
		takeovers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmcast_tracker_peer_takeovers_total",
			Help: "Announces whose peer_id was on another connection (the old peer is removed).",
		}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmcast_tracker_peers_expired_total",
			Help: "Swarm memberships removed because the peer did not announce for 2×announceInterval.",
		}),
	}
	for k := range numInKinds {
		m.in[k] = inVec.WithLabelValues(inKindNames[k])
	}
	for k := range numOutKinds {
		m.out[k] = outVec.WithLabelValues(outKindNames[k])
		m.sendDropped[k] = dropVec.WithLabelValues(outKindNames[k])
	}
	swarms := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "swarmcast_tracker_swarms",
		Help: "Swarms (info_hashes with at least one peer).",
	}, func() float64 { return float64(h.numSwarms.Load()) })
	peers := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "swarmcast_tracker_peers",
		Help: "Sum of swarm sizes (a peer_id in two swarms counts twice), as /stats.json peersCount.",
	}, func() float64 { return float64(h.numPeers.Load()) })
	if reg != nil {
		for _, c := range []prometheus.Collector{inVec, outVec, dropVec, m.offersRelayed, m.answersRouted,
			m.answersDropped, m.protocolErrors, m.takeovers, m.expired, swarms, peers} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
