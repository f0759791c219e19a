package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// errNotFound is returned by a fetcher for a missing file or an HTTP 404/410.
var errNotFound = errors.New("not found")

// fetcher reads one resource by absolute URL (file:// for a folder origin).
type fetcher interface {
	fetch(ctx context.Context, u *url.URL, limit int64) ([]byte, error)
}

// fileFetcher reads files below root only.
type fileFetcher struct {
	root string // absolute, cleaned
}

func (f fileFetcher) fetch(_ context.Context, u *url.URL, limit int64) ([]byte, error) {
	if u.Scheme != "file" {
		return nil, fmt.Errorf("%s: a folder origin only reads local files", u)
	}
	p := filepath.Clean(filepath.FromSlash(u.Path))
	if p != f.root && !strings.HasPrefix(p, f.root+string(filepath.Separator)) {
		return nil, fmt.Errorf("%s: outside the HLS folder %s", p, f.root)
	}
	fh, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", p, errNotFound)
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return readLimited(fh, limit, p)
}

// httpFetcher GETs http(s) URLs.
type httpFetcher struct {
	client  *http.Client
	timeout time.Duration
}

func (h httpFetcher) fetch(ctx context.Context, u *url.URL, limit int64) ([]byte, error) {
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s: unsupported scheme", u)
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("%s: %w (HTTP %d)", u, errNotFound, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("%s: HTTP %s", u, resp.Status)
	}
	return readLimited(resp.Body, limit, u.String())
}

func readLimited(r io.Reader, limit int64, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	return b, nil
}
