package main

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	status := http.StatusOK
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/stats.json" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	cfg := writeFile(t, t.TempDir(), "config.json", `{"servers":[{"server":{"host":"127.0.0.1","port":`+strconv.Itoa(port)+`}}]}`)

	var out, errOut strings.Builder
	if code := run([]string{"healthcheck", cfg}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "healthy") {
		t.Fatalf("healthy server: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	status = http.StatusServiceUnavailable
	if code := run([]string{"healthcheck", cfg}, &out, &errOut); code != 1 {
		t.Fatalf("503 server: exit %d, want 1", code)
	}
	srv.Close()
	if code := run([]string{"healthcheck", cfg}, &out, &errOut); code != 1 {
		t.Fatalf("no server: exit %d, want 1", code)
	}
}

func TestHealthcheckTarget(t *testing.T) {
	if u, _ := healthcheckTarget(8000, false); u != "http://127.0.0.1:8000/stats.json" {
		t.Fatalf("plain URL = %s", u)
	}
	if u, c := healthcheckTarget(443, true); u != "https://127.0.0.1:443/stats.json" || c.Transport == nil {
		t.Fatalf("TLS URL = %s", u)
	}
}
