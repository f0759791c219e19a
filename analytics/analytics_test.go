package analytics

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newTestCollector(t *testing.T, cfg Config) (*Collector, *time.Time, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	c, err := New(cfg, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	c.now = func() time.Time { return now }
	return c, &now, reg
}

func TestAggregation(t *testing.T) {
	c, now, reg := newTestCollector(t, Config{})
	steps := []struct {
		r       Report
		advance time.Duration
		wantErr error
	}{
		{r: Report{Viewer: "viewer-aaaa", HTTPBytes: 100, P2PBytes: 0}},
		{r: Report{Viewer: "viewer-bbbb", HTTPBytes: 50, P2PBytes: 150, SeederByte: 40, Uploaded: 10}},
		{r: Report{Viewer: "viewer-aaaa", HTTPBytes: 120, P2PBytes: 80}, advance: 2 * time.Second},
		// too soon after the previous accepted report
		{r: Report{Viewer: "viewer-aaaa", HTTPBytes: 130, P2PBytes: 80}, wantErr: ErrRateLimited},
		// counters may not go backwards
		{r: Report{Viewer: "viewer-aaaa", HTTPBytes: 10}, advance: 2 * time.Second, wantErr: ErrInvalid},
	}
	for i, s := range steps {
		*now = now.Add(s.advance)
		err := c.Add(s.r)
		if !errors.Is(err, s.wantErr) {
			t.Fatalf("step %d: Add = %v, want %v", i, err, s.wantErr)
		}
	}
	got := c.Totals()
	want := Totals{Viewers: 2, HTTPBytes: 170, P2PBytes: 230, SeederBytes: 40, Uploaded: 10, OffloadPct: 230 * 100.0 / 400}
	if got != want {
		t.Fatalf("Totals = %+v, want %+v", got, want)
	}
	if v := testutil.ToFloat64(c.metrics.reports.WithLabelValues("accepted")); v != 3 {
		t.Fatalf("accepted reports metric = %v, want 3", v)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n == 0 {
		t.Fatalf("GatherAndCount = %d, %v", n, err)
	}

	// A viewer that goes silent leaves the viewer count but its bytes stay in the totals.
	*now = now.Add(31 * time.Second)
	if err := c.Add(Report{Viewer: "viewer-cccc", HTTPBytes: 1}); err != nil {
		t.Fatal(err)
	}
	got = c.Totals()
	if got.Viewers != 1 || got.HTTPBytes != 171 || got.P2PBytes != 230 {
		t.Fatalf("after expiry Totals = %+v", got)
	}
}

func TestValidation(t *testing.T) {
	tests := map[string]Report{
		"short id":        {Viewer: "abc"},
		"bad chars":       {Viewer: "viewer aaaa"},
		"negative":        {Viewer: "viewer-aaaa", HTTPBytes: -1},
		"huge":            {Viewer: "viewer-aaaa", P2PBytes: 1 << 60},
		"seeder over p2p": {Viewer: "viewer-aaaa", P2PBytes: 1, SeederByte: 2},
		"peers":           {Viewer: "viewer-aaaa", Peers: -3},
		"generation":      {Viewer: "viewer-aaaa", Generation: strings.Repeat("x", 33)},
	}
	for name, r := range tests {
		t.Run(name, func(t *testing.T) {
			c, _, _ := newTestCollector(t, Config{})
			if err := c.Add(r); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Add = %v, want ErrInvalid", err)
			}
			if got := c.Totals(); got.Viewers != 0 {
				t.Fatalf("an invalid report created a viewer: %+v", got)
			}
		})
	}
}

func TestMaxViewers(t *testing.T) {
	c, _, _ := newTestCollector(t, Config{MaxViewers: 2})
	for i, id := range []string{"viewer-0001", "viewer-0002", "viewer-0003"} {
		err := c.Add(Report{Viewer: id})
		if i < 2 && err != nil || i == 2 && !errors.Is(err, ErrFull) {
			t.Fatalf("viewer %d: Add = %v", i, err)
		}
	}
}

func TestHandler(t *testing.T) {
	c, now, _ := newTestCollector(t, Config{})
	h := c.Handler()
	do := func(method, body string) *httptest.ResponseRecorder {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "/api/stats", strings.NewReader(body)))
		return rec
	}
	tests := []struct {
		name, method, body string
		want               int
	}{
		{"accepted", http.MethodPost, `{"viewer":"viewer-aaaa","http":10,"p2p":30,"seeder":5,"uploaded":0,"peers":1}`, http.StatusNoContent},
		{"rate limited", http.MethodPost, `{"viewer":"viewer-aaaa","http":11,"p2p":30}`, http.StatusTooManyRequests},
		{"unknown field", http.MethodPost, `{"viewer":"viewer-bbbb","evil":1}`, http.StatusBadRequest},
		{"not json", http.MethodPost, `null]`, http.StatusBadRequest},
		{"wrong type", http.MethodPost, `{"viewer":"viewer-bbbb","http":"10"}`, http.StatusBadRequest},
		{"too large", http.MethodPost, `{"viewer":"` + strings.Repeat("a", 2000) + `"}`, http.StatusRequestEntityTooLarge},
		{"method", http.MethodDelete, ``, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if rec := do(tt.method, tt.body); rec.Code != tt.want {
				t.Fatalf("%s %s = %d (%s), want %d", tt.method, tt.body, rec.Code, rec.Body, tt.want)
			}
		})
	}
	*now = now.Add(time.Second)
	rec := do(http.MethodGet, "")
	var got Totals
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("GET body %q: %v", rec.Body, err)
	}
	if got.Viewers != 1 || got.HTTPBytes != 10 || got.P2PBytes != 30 || got.OffloadPct != 75 {
		t.Fatalf("GET totals = %+v", got)
	}
}

func TestConfigErrorsNameKeys(t *testing.T) {
	for _, tt := range []struct {
		cfg Config
		key string
	}{
		{Config{MaxViewers: -1}, "analytics.maxViewers"},
		{Config{TimeoutSeconds: -1}, "analytics.timeoutSeconds"},
	} {
		err := tt.cfg.Validate("analytics")
		if err == nil || !strings.HasPrefix(err.Error(), tt.key+":") {
			t.Fatalf("Validate(%+v) = %v, want an error naming %s", tt.cfg, err, tt.key)
		}
	}
}

// TestOverallRateLimit: beyond 2 × MaxViewers reports a second in total, whatever their
// viewer ids and validity, reports are refused until the bucket refills.
func TestOverallRateLimit(t *testing.T) {
	c, now, _ := newTestCollector(t, Config{MaxViewers: 3})
	for i, id := range []string{"viewer-0001", "viewer-0002", "bad id", "viewer-0001", "viewer-0002", "bad id"} {
		err := c.Add(Report{Viewer: id})
		switch {
		case id == "bad id" && errors.Is(err, ErrInvalid), i < 3 && err == nil, i >= 3 && errors.Is(err, ErrRateLimited):
			// ErrRateLimited for i ≥ 3 comes from the per-viewer limit
		default:
			t.Fatalf("report %d (%s): %v", i, id, err)
		}
	}
	if err := c.Add(Report{Viewer: "viewer-0003"}); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("7th report within the same instant: %v, want ErrRateLimited", err)
	}
	*now = now.Add(100 * time.Millisecond) // 0.6 tokens back
	if err := c.Add(Report{Viewer: "viewer-0003"}); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("after 100 ms: %v, want ErrRateLimited", err)
	}
	*now = now.Add(100 * time.Millisecond) // 1.2 tokens
	if err := c.Add(Report{Viewer: "viewer-0003"}); err != nil {
		t.Fatalf("after 200 ms: %v", err)
	}
	if got := c.Totals().Viewers; got != 3 {
		t.Fatalf("viewers = %d, want 3", got)
	}
}
