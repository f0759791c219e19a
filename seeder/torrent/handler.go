package torrent

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"swarmcast/hlsgen"
)

// IndexFile is the name under which Handler serves the index of live torrents.
const IndexFile = "torrents.json"

// Index is the JSON document served as torrents.json.
type Index struct {
	// Renditions maps rendition → segment URI → torrent.
	Renditions map[string]map[string]IndexEntry `json:"renditions"`
}

// IndexEntry describes one live segment torrent in torrents.json.
type IndexEntry struct {
	InfoHash string `json:"info_hash"` // 40 hex digits
	Magnet   string `json:"magnet"`    // xt, dn, tr (the trackers) and ws (the web seed)
	// Torrent is the .torrent file's URL relative to torrents.json ("<info_hash>.torrent").
	Torrent     string `json:"torrent"`
	SHA256      string `json:"sha256"` // of the segment, 64 hex digits
	Length      int64  `json:"length"`
	PieceLength int64  `json:"piece_length"`
	URL         string `json:"url,omitempty"` // the origin URL (web seed)
}

// Handler serves torrents.json and "<info_hash>.torrent" for every live segment, whatever
// prefix it is mounted under (it looks at the last path element only). Responses carry the
// HLS origin's CORS headers, also on errors; torrents.json is not cached (it changes with
// every segment, like a media playlist), .torrent files are immutable (named by content).
func (s *Seeder) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Seeder) serveHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &noStoreOnError{ResponseWriter: rw}
	h := w.Header()
	// The HLS origin's headers (hlsgen.NewOrigin, docs/hls-origin-and-testcard.md §3.3).
	hlsgen.SetCORSHeaders(h)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		hlsgen.WritePreflight(w)
		return
	default:
		h.Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := path.Base(r.URL.Path)
	switch {
	case name == IndexFile:
		body, version := s.indexJSON()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-cache") // it changes with every segment, like a media playlist
		h.Set("ETag", fmt.Sprintf(`"idx-%d"`, version))
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	case strings.HasSuffix(name, ".torrent"):
		ih, ok := parseInfoHash(strings.TrimSuffix(name, ".torrent"))
		var body []byte
		if ok {
			s.mu.Lock()
			if sd := s.byHash[ih]; sd != nil {
				body = sd.b.torrent
			}
			s.mu.Unlock()
		}
		if body == nil {
			http.Error(w, "no such torrent (not live)", http.StatusNotFound)
			return
		}
		h.Set("Content-Type", "application/x-bittorrent")
		// Named by content (its info hash, and the rest is fixed by configuration).
		h.Set("Cache-Control", "public, max-age=86400, immutable")
		h.Set("ETag", `"`+ih.HexString()+`"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

// noStoreOnError makes every error response uncacheable, so a .torrent that appears a
// moment later is not pinned as missing (http.ServeContent drops Cache-Control on errors).
type noStoreOnError struct {
	http.ResponseWriter
	wrote bool
}

func (w *noStoreOnError) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if code >= 400 {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Del("ETag")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *noStoreOnError) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *noStoreOnError) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func parseInfoHash(s string) (metainfo.Hash, bool) {
	var ih metainfo.Hash
	if len(s) != 2*len(ih) {
		return ih, false
	}
	if _, err := hex.Decode(ih[:], []byte(strings.ToLower(s))); err != nil {
		return ih, false
	}
	return ih, true
}

// indexJSON returns torrents.json and its version, rebuilding it only after the set of
// torrents changed.
func (s *Seeder) indexJSON() ([]byte, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.index != nil {
		return s.index, s.indexVersion
	}
	idx := Index{Renditions: make(map[string]map[string]IndexEntry)}
	for uri, e := range s.byURI {
		b := e.b
		m := idx.Renditions[b.seg.Rendition]
		if m == nil {
			m = make(map[string]IndexEntry)
			idx.Renditions[b.seg.Rendition] = m
		}
		ih := b.infoHash.HexString()
		ie := IndexEntry{
			InfoHash:    ih,
			Magnet:      b.magnet,
			Torrent:     ih + ".torrent",
			SHA256:      hex.EncodeToString(b.seg.SHA256[:]),
			Length:      b.info.Length,
			PieceLength: b.info.PieceLength,
		}
		if s.cfg.WebSeed {
			ie.URL = b.seg.URL
		}
		m[uri] = ie
	}
	body, err := json.Marshal(idx)
	if err != nil {
		// Only strings and numbers: cannot happen; serve an empty index rather than nothing.
		s.log.Error("webtorrent seeder: encoding torrents.json", "err", err)
		return []byte(`{"renditions":{}}`), s.indexVersion
	}
	s.index = append(body, '\n')
	return s.index, s.indexVersion
}
