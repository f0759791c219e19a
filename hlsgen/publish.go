package hlsgen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Manifest is the JSON of segments-sha256.json: the SHA-256 of every complete segment (and
// fMP4 init segment) still on disk, keyed by its path relative to the HLS root folder,
// e.g. "v0/seg1700000000.ts". The format is a contract with the seeder and the demo page.
type Manifest struct {
	Version  int               `json:"version"`  // always 1
	Segments map[string]string `json:"segments"` // path → lowercase hex SHA-256
}

// ManifestVersion is the value of Manifest.Version.
const ManifestVersion = 1

// publisher turns what ffmpeg writes into what clients see. Every pollInterval it reads
// ffmpeg's private playlists; for each segment newly referenced it hashes the file and
// adds it to the manifest, writes the manifest (temp file + rename), and only then
// publishes the playlist under its public name (temp file + rename). So a client that can
// read a public playlist finds every segment it lists in the manifest already.
// It also drops manifest entries whose files are gone and deletes segments left over from
// earlier ffmpeg runs once they are older than retention.
//
// Static fields are set before run; the rest is owned by the goroutine calling run.
type publisher struct {
	dir          string
	names        []string // rendition folder names, in ladder order
	segExt       string
	pollInterval time.Duration
	retention    time.Duration
	progress     chan<- struct{} // buffered; a non-blocking send per tick with new segments
	log          *slog.Logger
	metrics      *Metrics

	// Owned by run.
	entries     map[string]entry  // manifest, by path relative to dir
	lastMedia   map[string][]byte // last private media playlist published, by rendition
	lastMaster  []byte            // last private master playlist published
	manifestOut []byte            // last manifest written
	ticks       int
}

type entry struct {
	sum   string
	size  int64
	mtime time.Time
}

func newPublisher(cfg *Config, progress chan<- struct{}, log *slog.Logger, m *Metrics) *publisher {
	names := make([]string, len(cfg.Renditions))
	for i, r := range cfg.Renditions {
		names[i] = r.Name
	}
	seg := time.Duration(cfg.SegmentSeconds) * time.Second
	return &publisher{
		dir:          cfg.OutputDir,
		names:        names,
		segExt:       cfg.SegmentExt(),
		pollInterval: 100 * time.Millisecond,
		retention:    time.Duration(cfg.ListSize+cfg.DeleteThreshold+2) * seg,
		progress:     progress,
		log:          log,
		metrics:      m,
		entries:      map[string]entry{},
		lastMedia:    map[string][]byte{},
	}
}

// run polls until ctx is done.
func (p *publisher) run(ctx context.Context) {
	t := time.NewTicker(p.pollInterval)
	defer t.Stop()
	for {
		if err := p.tick(); err != nil {
			p.log.Warn("publishing playlists", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tick does one publishing round.
func (p *publisher) tick() error {
	p.ticks++
	var errs []error
	changed := map[string][]byte{} // rendition → new private playlist content
	newSegments := 0

	for _, name := range p.names {
		data, err := os.ReadFile(filepath.Join(p.dir, name, privateMedia))
		if errors.Is(err, fs.ErrNotExist) || (err == nil && len(data) == 0) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if bytes.Equal(data, p.lastMedia[name]) {
			continue
		}
		for _, uri := range playlistURIs(data) {
			if !plainFileName(uri) {
				p.log.Warn("ignoring unexpected URI in ffmpeg playlist", "rendition", name, "uri", uri)
				continue
			}
			key := name + "/" + uri
			added, err := p.hash(key)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if added {
				if strings.HasSuffix(uri, p.segExt) {
					newSegments++
					p.metrics.Segments.WithLabelValues(name).Inc()
				}
			}
		}
		changed[name] = data
	}

	// Forget files that are gone (deleted by ffmpeg or by collect).
	present := map[string]bool{}
	for _, name := range p.names {
		des, err := os.ReadDir(filepath.Join(p.dir, name))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		for _, de := range des {
			present[name+"/"+de.Name()] = true
		}
	}
	for k := range p.entries {
		if !present[k] {
			delete(p.entries, k)
		}
	}

	// writeManifest writes only when the content changed, and retries a failed write on
	// the next tick.
	if err := p.writeManifest(); err != nil {
		// Do not publish playlists whose segments the manifest lacks.
		return errors.Join(append(errs, err)...)
	}
	for _, name := range p.names {
		data, ok := changed[name]
		if !ok {
			continue
		}
		if err := writeAtomic(filepath.Join(p.dir, name), MediaPlaylist, data); err != nil {
			errs = append(errs, err)
			continue
		}
		p.lastMedia[name] = data
	}
	if err := p.publishMaster(); err != nil {
		errs = append(errs, err)
	}
	if newSegments > 0 {
		select {
		case p.progress <- struct{}{}:
		default:
		}
	}
	if p.ticks%10 == 0 {
		p.collect()
	}
	return errors.Join(errs...)
}

// hash makes sure the manifest has an up-to-date entry for key; added reports a change.
func (p *publisher) hash(key string) (added bool, err error) {
	path := filepath.Join(p.dir, filepath.FromSlash(key))
	st, err := os.Stat(path)
	if err != nil {
		return false, fmt.Errorf("segment listed by ffmpeg: %w", err)
	}
	if e, ok := p.entries[key]; ok && e.size == st.Size() && e.mtime.Equal(st.ModTime()) {
		return false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return false, fmt.Errorf("hash %s: %w", key, err)
	}
	if n != st.Size() {
		return false, fmt.Errorf("hash %s: file changed while reading", key)
	}
	p.entries[key] = entry{sum: hex.EncodeToString(h.Sum(nil)), size: n, mtime: st.ModTime()}
	return true, nil
}

func (p *publisher) writeManifest() error {
	m := Manifest{Version: ManifestVersion, Segments: make(map[string]string, len(p.entries))}
	for k, e := range p.entries {
		m.Segments[k] = e.sum
	}
	out, err := json.Marshal(m) // map keys come out sorted
	if err != nil {
		return err
	}
	if bytes.Equal(out, p.manifestOut) {
		return nil
	}
	if err := writeAtomic(p.dir, ManifestFile, out); err != nil {
		return err
	}
	p.manifestOut = out
	p.metrics.Entries.Set(float64(len(m.Segments)))
	return nil
}

// publishMaster publishes ffmpeg's master playlist, pointing at the public media
// playlists, once every rendition has one.
func (p *publisher) publishMaster() error {
	for _, name := range p.names {
		if p.lastMedia[name] == nil {
			return nil
		}
	}
	data, err := os.ReadFile(filepath.Join(p.dir, privateMaster))
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(data) == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	if bytes.Equal(data, p.lastMaster) {
		return nil
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if strings.HasSuffix(l, "/"+privateMedia) && !strings.HasPrefix(l, "#") {
			lines[i] = strings.TrimSuffix(l, privateMedia) + MediaPlaylist
		}
	}
	if err := writeAtomic(p.dir, MasterPlaylist, []byte(strings.Join(lines, "\n"))); err != nil {
		return err
	}
	p.lastMaster = data
	return nil
}

// collect deletes what no ffmpeg will delete: segments and temp files of earlier runs,
// once older than retention. Segments the current playlists list are kept.
func (p *publisher) collect() {
	cutoff := time.Now().Add(-p.retention)
	for _, name := range p.names {
		listed := map[string]bool{}
		for _, uri := range playlistURIs(p.lastMedia[name]) {
			listed[uri] = true
		}
		folder := filepath.Join(p.dir, name)
		des, err := os.ReadDir(folder)
		if err != nil {
			continue
		}
		for _, de := range des {
			n := de.Name()
			ours := strings.HasSuffix(n, ".tmp") ||
				strings.HasPrefix(n, segmentPrefix) && strings.HasSuffix(n, p.segExt)
			if !ours || listed[n] || !de.Type().IsRegular() {
				continue
			}
			info, err := de.Info()
			if err != nil || info.ModTime().After(cutoff) {
				continue
			}
			if err := os.Remove(filepath.Join(folder, n)); err == nil {
				p.log.Debug("removed stale file", "path", name+"/"+n)
			}
		}
	}
}

// playlistURIs returns the URIs a media playlist references: its segments and the
// EXT-X-MAP init segment.
func playlistURIs(data []byte) []string {
	var uris []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "#EXT-X-MAP:"):
			if _, rest, ok := strings.Cut(line, `URI="`); ok {
				if uri, _, ok := strings.Cut(rest, `"`); ok {
					uris = append(uris, uri)
				}
			}
		case strings.HasPrefix(line, "#"):
		default:
			uris = append(uris, line)
		}
	}
	return uris
}

// plainFileName reports whether s is a file name in the same folder that clients may see.
func plainFileName(s string) bool {
	return s != "" && !strings.ContainsAny(s, `/\?#:`) && !strings.HasPrefix(s, ".") &&
		!strings.HasSuffix(s, ".tmp")
}

// writeAtomic writes data to dir/name through a hidden temp file and a rename, so readers
// see either the old or the new content. The origin never serves the temp file.
func writeAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// cleanOutput removes what earlier runs left in dir (only files the generator owns) and
// creates dir and the rendition folders.
func cleanOutput(cfg *Config) error {
	if err := os.MkdirAll(cfg.OutputDir, 0o755); err != nil {
		return fmt.Errorf("hls.outputDir: %w", err)
	}
	for _, n := range []string{MasterPlaylist, privateMaster, ManifestFile} {
		if err := os.Remove(filepath.Join(cfg.OutputDir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("hls.outputDir: %w", err)
		}
	}
	tmps, _ := filepath.Glob(filepath.Join(cfg.OutputDir, ".*.tmp"))
	for _, t := range tmps {
		_ = os.Remove(t)
	}
	for _, r := range cfg.Renditions {
		folder := filepath.Join(cfg.OutputDir, r.Name)
		if err := os.MkdirAll(folder, 0o755); err != nil {
			return fmt.Errorf("hls.outputDir: %w", err)
		}
		des, err := os.ReadDir(folder)
		if err != nil {
			return fmt.Errorf("hls.outputDir: %w", err)
		}
		for _, de := range des {
			n := de.Name()
			if !de.Type().IsRegular() {
				continue
			}
			if n == MediaPlaylist || n == privateMedia || strings.HasSuffix(n, ".tmp") ||
				strings.HasPrefix(n, segmentPrefix) && (strings.HasSuffix(n, ".ts") || strings.HasSuffix(n, ".m4s")) ||
				strings.HasPrefix(n, "init") && strings.HasSuffix(n, ".mp4") {
				if err := os.Remove(filepath.Join(folder, n)); err != nil {
					return fmt.Errorf("hls.outputDir: %w", err)
				}
			}
		}
	}
	return nil
}
