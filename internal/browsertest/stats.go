package browsertest

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
)

// Stats is what a test page reports (window.swarmcastStats in pages/harness.js). Byte counts
// come from the P2P Media Loader events: onChunkDownloaded/onChunkUploaded (2.x) and
// piece_bytes_downloaded/piece_bytes_uploaded (0.6). Peers are named by their peer_id string
// (20 characters, e.g. "-PM0203-…" for 2.3, "-WW0006-…" for 0.6).
type Stats struct {
	Gen    string   `json:"gen"`
	Player string   `json:"player"`
	Failed string   `json:"failed"`
	Notes  []string `json:"notes"`

	HTTPBytes     int64            `json:"httpBytes"`
	P2PBytes      int64            `json:"p2pBytes"`
	UploadedBytes int64            `json:"uploadedBytes"`
	P2PFrom       map[string]int64 `json:"p2pFrom"`
	UploadedTo    map[string]int64 `json:"uploadedTo"`
	SegmentsHTTP  int              `json:"segmentsHTTP"`
	SegmentsP2P   int              `json:"segmentsP2P"`

	PeerConnects int      `json:"peerConnects"`
	PeerCloses   int      `json:"peerCloses"`
	Peers        []string `json:"peers"`

	// PeerConnections counts RTCPeerConnections made; CandidatesKept/Stripped count remote
	// ICE candidates kept (loopback) and dropped (anything else).
	PeerConnections    int    `json:"peerConnections"`
	CandidatesKept     int    `json:"candidatesKept"`
	CandidatesStripped int    `json:"candidatesStripped"`
	Pairs              []Pair `json:"pairs"`

	CurrentTime   float64 `json:"currentTime"`
	Paused        bool    `json:"paused"`
	ReadyState    int     `json:"readyState"`
	Buffered      float64 `json:"buffered"`
	DecodedFrames int     `json:"decodedFrames"`
	ElapsedMs     int64   `json:"elapsedMs"`
	// Latency is how far (s) the playhead is behind the end of the newest listed segment;
	// LiveSyncDurationCount is the hls.js setting in force (PML 2.x adjusts it).
	Latency               float64 `json:"latency"`
	LiveSyncDurationCount int     `json:"liveSyncDurationCount"`
}

// Pair is a selected ICE candidate pair seen on one of the page's peer connections.
type Pair struct {
	Local         string `json:"local"`
	Remote        string `json:"remote"`
	LocalType     string `json:"localType"`
	RemoteType    string `json:"remoteType"`
	BytesSent     int64  `json:"bytesSent"`
	BytesReceived int64  `json:"bytesReceived"`
}

// P2PShare is the fraction of downloaded bytes that came from peers.
func (s Stats) P2PShare() float64 {
	if s.HTTPBytes+s.P2PBytes == 0 {
		return 0
	}
	return float64(s.P2PBytes) / float64(s.HTTPBytes+s.P2PBytes)
}

// String is a one-line summary for test logs.
func (s Stats) String() string {
	return fmt.Sprintf("t=%.1fs behind=%.1fs sync=%d http=%d p2p=%d (%.0f%%) up=%d peers=%d segs http/p2p=%d/%d pcs=%d pairs=%d cand kept/stripped=%d/%d",
		s.CurrentTime, s.Latency, s.LiveSyncDurationCount, s.HTTPBytes, s.P2PBytes, 100*s.P2PShare(), s.UploadedBytes, len(s.Peers),
		s.SegmentsHTTP, s.SegmentsP2P, s.PeerConnections, len(s.Pairs), s.CandidatesKept, s.CandidatesStripped)
}

// Totals sums the byte counters of several pages.
type Totals struct {
	HTTPBytes, P2PBytes, UploadedBytes int64
}

// Sum adds up the counters of stats.
func Sum(stats []Stats) Totals {
	var t Totals
	for _, s := range stats {
		t.HTTPBytes += s.HTTPBytes
		t.P2PBytes += s.P2PBytes
		t.UploadedBytes += s.UploadedBytes
	}
	return t
}

// P2PShare is the fraction of all downloaded bytes that came from peers.
func (t Totals) P2PShare() float64 {
	if t.HTTPBytes+t.P2PBytes == 0 {
		return 0
	}
	return float64(t.P2PBytes) / float64(t.HTTPBytes+t.P2PBytes)
}

// StatsAll reads every page's counters, failing the test on an error or on a page whose
// player failed.
func StatsAll(tb testing.TB, pages []*Page) []Stats {
	tb.Helper()
	out := make([]Stats, len(pages))
	for i, p := range pages {
		s, err := p.Stats()
		if err != nil {
			tb.Fatalf("page %d: %v", p.N, err)
		}
		if s.Failed != "" {
			tb.Fatalf("page %d failed: %s\nnotes: %s", p.N, s.Failed, strings.Join(s.Notes, "\n"))
		}
		out[i] = s
	}
	return out
}

// CheckLoopback returns an error unless every selected candidate pair in stats has loopback
// addresses at both ends. Chromium hides the address of a peer-reflexive remote candidate
// (it reports ""); such a pair passes when its local end is loopback, because a socket bound
// to 127.0.0.1 or ::1 can only exchange packets with loopback addresses.
func CheckLoopback(stats []Stats) error {
	for i, s := range stats {
		for _, p := range s.Pairs {
			if !isLoopback(p.Local) {
				return fmt.Errorf("page %d used candidate pair %s -> %s: local end not loopback", i, p.Local, p.Remote)
			}
			if !isLoopback(p.Remote) && !(p.Remote == "" && p.RemoteType == "prflx") {
				return fmt.Errorf("page %d used candidate pair %s -> %s (%s): remote end not loopback", i, p.Local, p.Remote, p.RemoteType)
			}
		}
	}
	return nil
}

func isLoopback(addr string) bool {
	ip := net.ParseIP(addr)
	return ip != nil && ip.IsLoopback()
}

// JSON renders v for a log or a report.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
