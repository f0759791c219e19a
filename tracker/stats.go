package tracker

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// statsEntry is one AddStats object.
type statsEntry struct {
	key string
	fn  func() any
}

// builtinStatsKeys are the top-level keys of wt-tracker's /stats.json.
var builtinStatsKeys = map[string]bool{
	"torrentsCount": true, "peersCount": true, "servers": true, "memory": true,
	"peersCountPerInfoHashPerTracker": true,
}

// AddStats adds a top-level object to /stats.json: fn's result, encoded with
// encoding/json on every request. Keys of wt-tracker's own shape cannot be replaced;
// adding a key again replaces its function. Safe for concurrent use.
func (s *Server) AddStats(key string, fn func() any) {
	if builtinStatsKeys[key] || fn == nil {
		s.log.Error("tracker: AddStats ignored", "key", key)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.extra {
		if s.extra[i].key == key {
			s.extra[i].fn = fn
			return
		}
	}
	s.extra = append(s.extra, statsEntry{key: key, fn: fn})
}

// serveStats writes /stats.json.
func (s *Server) serveStats(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.statsJSON())
}

// statsJSON builds wt-tracker's /stats.json, keys in its order:
//
//	{"torrentsCount":…,"peersCount":…,"servers":[{"server":"host:port","webSocketsCount":…}],
//	 "memory":{"rss":…,"heapTotal":…,"heapUsed":…,"external":…,"arrayBuffers":…},
//	 "peersCountPerInfoHashPerTracker":[{"totalPeers":…,"<hex info_hash>":…}]}
//
// followed by the AddStats objects. The per-info_hash array is left out when
// stats.perInfoHash is false.
func (s *Server) statsJSON() []byte {
	st := s.hub.Stats(s.cfg.Stats.PerInfoHash)
	var b bytes.Buffer
	b.WriteString(`{"torrentsCount":`)
	b.WriteString(strconv.Itoa(st.Torrents))
	b.WriteString(`,"peersCount":`)
	b.WriteString(strconv.Itoa(st.Peers))
	b.WriteString(`,"servers":[`)
	for i, l := range s.listeners {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"server":`)
		writeJSON(&b, l.name)
		b.WriteString(`,"webSocketsCount":`)
		b.WriteString(strconv.FormatInt(l.openConnections(), 10))
		b.WriteByte('}')
	}
	b.WriteString(`],"memory":`)
	writeJSON(&b, readMemory())
	if s.cfg.Stats.PerInfoHash {
		b.WriteString(`,"peersCountPerInfoHashPerTracker":[{"totalPeers":`)
		b.WriteString(strconv.Itoa(st.Peers))
		for _, sc := range st.PerInfoHash {
			b.WriteByte(',')
			writeJSON(&b, sc.InfoHashHex)
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(sc.Peers))
		}
		b.WriteString(`}]`)
	}
	s.mu.Lock()
	extra := append([]statsEntry(nil), s.extra...)
	s.mu.Unlock()
	for _, e := range extra {
		b.WriteByte(',')
		writeJSON(&b, e.key)
		b.WriteByte(':')
		writeJSON(&b, s.callStats(e))
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// callStats runs an AddStats function; a panic yields null, logged, instead of a crash.
func (s *Server) callStats(e statsEntry) (v any) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("tracker: stats function panicked", "key", e.key, "panic", r)
			v = nil
		}
	}()
	return e.fn()
}

// writeJSON appends v encoded as JSON, or null when it cannot be encoded.
func writeJSON(b *bytes.Buffer, v any) {
	out, err := json.Marshal(v)
	if err != nil {
		b.WriteString("null")
		return
	}
	b.Write(out)
}

// memoryStats is the "memory" object: Node's process.memoryUsage() fields, filled from
// the Go runtime. rss is the resident set size (from /proc on Linux, else the memory
// obtained from the OS), heapTotal the heap memory held from the OS, heapUsed the live
// heap, external the runtime's non-heap memory (stacks, GC metadata), arrayBuffers 0.
type memoryStats struct {
	RSS          uint64 `json:"rss"`
	HeapTotal    uint64 `json:"heapTotal"`
	HeapUsed     uint64 `json:"heapUsed"`
	External     uint64 `json:"external"`
	ArrayBuffers uint64 `json:"arrayBuffers"`
}

func readMemory() memoryStats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := memoryStats{
		RSS:       ms.Sys,
		HeapTotal: ms.HeapSys - ms.HeapReleased,
		HeapUsed:  ms.HeapAlloc,
		External:  ms.StackSys + ms.MSpanSys + ms.MCacheSys + ms.BuckHashSys + ms.GCSys + ms.OtherSys,
	}
	if rss, ok := procRSS(); ok {
		m.RSS = rss
	}
	return m
}

// procRSS reads the resident set size from /proc/self/statm (Linux).
func procRSS() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * uint64(os.Getpagesize()), true
}
