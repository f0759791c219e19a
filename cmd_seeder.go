package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"swarmcast/seeder"
)

// runSeeder runs the P2P Media Loader seeding super-peer alone until ctx ends. With
// seeder.httpAddr set it also serves /metrics and /stats.json ({"seeder": Stats}).
func runSeeder(ctx context.Context, env *cmdEnv) error {
	if env.cfg.Seeder == nil {
		return errors.New(`config.json has no "seeder" section (see docs/seeder.md for a minimal one)`)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s, err := seeder.New(env.cfg.Seeder, seeder.Options{Logger: env.log, Registry: reg})
	if err != nil {
		return err
	}
	defer s.Close()
	if addr := env.cfg.Seeder.HTTPAddr; addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("seeder.httpAddr: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.HandleFunc("/stats.json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"seeder": s.Stats()})
		})
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		env.log.Info("seeder metrics and stats", "addr", ln.Addr().String())
	}
	return s.Run(ctx)
}
