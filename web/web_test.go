package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler()
	tests := []struct {
		method, path string
		code         int
		typ, body    string
	}{
		{"GET", "/", 200, "text/html", "<video"},
		{"GET", "/index.html", 200, "text/html", "swarmcast"},
		{"GET", "/assets/style.css", 200, "text/css", "--peers"},
		{"GET", "/assets/app.js", 200, "javascript", ""},
		{"GET", "/assets/.gitkeep", 404, "", ""},
		{"GET", "/assets/../web.go", 404, "", ""},
		{"GET", "/nope", 404, "", ""},
		{"POST", "/", 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.code {
				t.Fatalf("status = %d, want %d", rec.Code, tt.code)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, tt.typ) {
				t.Fatalf("Content-Type = %q, want it to contain %q", ct, tt.typ)
			}
			if !strings.Contains(rec.Body.String(), tt.body) {
				t.Fatalf("body does not contain %q", tt.body)
			}
		})
	}
}

func TestPageReferencesOnlyLocalAssets(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	body := rec.Body.String()
	for _, bad := range []string{"http://", "https://", "//cdn"} {
		if strings.Contains(body, `src="`+bad) || strings.Contains(body, `href="`+bad) {
			t.Fatalf("page loads a remote asset (%s)", bad)
		}
	}
}
