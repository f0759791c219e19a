package tracker

import (
	"context"
	"log/slog"

	"swarmcast/tracker/wire"
)

// scrape answers a scrape (wt-tracker processScrape): no info_hash → every swarm, a string
// → that one, an array → each string element; unknown info_hashes count zeros; any other
// info_hash value gives an empty "files". Counts are taken under the lock, the reply is
// encoded after it.
func (h *Hub) scrape(sess *Session, m *wire.Message) error {
	h.met.in[inScrape].Inc()
	var files []wire.ScrapeFile
	h.mu.Lock()
	switch m.InfoHash.Kind {
	case wire.KindAbsent:
		files = make([]wire.ScrapeFile, 0, len(h.swarms))
		for sw := h.swarmHead; sw != nil; sw = sw.next {
			files = append(files, wire.ScrapeFile{InfoHash: sw.infoHash, Complete: sw.completed, Incomplete: len(sw.members) - sw.completed})
		}
	case wire.KindString:
		files = []wire.ScrapeFile{h.scrapeOne(&m.InfoHash)}
	case wire.KindArray:
		files = make([]wire.ScrapeFile, 0, len(m.ScrapeHashes))
		for i := range m.ScrapeHashes {
			files = append(files, h.scrapeOne(&m.ScrapeHashes[i]))
		}
	}
	h.mu.Unlock()

	size := 32 + 64*len(files)
	frame := wire.AppendScrape(wire.GetBuffer(size), files)
	h.send(sess, sess, frame, outScrape)
	if h.tracing() {
		h.log.LogAttrs(context.Background(), slog.LevelDebug, "tracker: scrape", slog.Int("files", len(files)))
	}
	return nil
}

// scrapeOne counts one requested info_hash; called with h.mu held. The key is written
// from the requested token, which encodes to the same bytes as the binary id.
func (h *Hub) scrapeOne(id *wire.ID) wire.ScrapeFile {
	f := wire.ScrapeFile{Raw: id.Raw}
	if id.IsBinary() {
		if sw := h.swarms[string(id.Bin)]; sw != nil {
			f.Complete, f.Incomplete = sw.completed, len(sw.members)-sw.completed
		}
	}
	return f
}
