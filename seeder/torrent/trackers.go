package torrent

import (
	atorrent "github.com/anacrolix/torrent"
)

// TrackerStats is the state of the seeder's connection to one tracker, as reported by
// anacrolix's status callbacks.
type TrackerStats struct {
	URL            string `json:"url"`
	Connected      bool   `json:"connected"`
	Connects       uint64 `json:"connects"`
	Disconnects    uint64 `json:"disconnects"` // failed dials included
	Announces      uint64 `json:"announces"`   // announces written to the websocket
	AnnounceErrors uint64 `json:"announceErrors"`
	LastError      string `json:"lastError,omitempty"`
}

// onStatus is anacrolix's StatusUpdated callback. anacrolix calls it synchronously from its
// tracker-client goroutines, possibly with its own locks held; it takes only s.mu, which is
// never held while calling into anacrolix.
func (s *Seeder) onStatus(ev atorrent.StatusUpdatedEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.trackers[ev.Url]
	if ts == nil {
		return // not a tracker (peer events have no URL)
	}
	switch ev.Event {
	case atorrent.TrackerConnected:
		ts.Connected = true
		ts.Connects++
	case atorrent.TrackerDisconnected:
		ts.Connected = false
		ts.Disconnects++
		if s.metrics != nil {
			s.metrics.disconnects.Inc()
		}
	case atorrent.TrackerAnnounceSuccessful:
		ts.Announces++
	case atorrent.TrackerAnnounceError:
		ts.AnnounceErrors++
	default:
		return
	}
	if ev.Error != nil {
		ts.LastError = ev.Error.Error()
		s.log.Warn("webtorrent seeder: tracker", "url", ev.Url, "event", string(ev.Event), "err", ev.Error)
	}
}

// trackerStats returns a copy of every tracker's state, in configuration order.
func (s *Seeder) trackerStats() []TrackerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TrackerStats, 0, len(s.cfg.Trackers))
	for _, u := range s.cfg.Trackers {
		if ts := s.trackers[u]; ts != nil {
			out = append(out, *ts)
		}
	}
	return out
}

// connectedTrackers counts the trackers whose websocket is up.
func (s *Seeder) connectedTrackers() int {
	n := 0
	for _, ts := range s.trackerStats() {
		if ts.Connected {
			n++
		}
	}
	return n
}
