package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"swarmcast/hlsgen"
)

// runHLSGen runs the live test card and serves it with the HLS origin on hls.listen, under
// hls.prefix. Without an "hls" section in config.json the defaults apply.
func runHLSGen(ctx context.Context, env *cmdEnv) error {
	cfg := env.cfg.HLS
	if cfg == nil {
		c := hlsgen.Config{}
		c.SetDefaults()
		cfg = &c
		env.log.Info("config.json has no \"hls\" section, using the default test card")
	}
	reg := prometheus.NewRegistry()
	gen, err := hlsgen.New(*cfg, env.log, reg)
	if err != nil {
		return err
	}
	eff := gen.Config()
	mux := http.NewServeMux()
	mux.Handle(eff.Prefix, gen.Origin(reg))
	ln, err := net.Listen("tcp", eff.Listen)
	if err != nil {
		return fmt.Errorf("hls.listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	env.log.Info("HLS origin listening", "addr", ln.Addr().String(), "url",
		fmt.Sprintf("http://%s%s%s", ln.Addr(), eff.Prefix, hlsgen.MasterPlaylist))

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	genCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	genErr := make(chan error, 1)
	go func() { genErr <- gen.Run(genCtx) }()

	var first error
	select {
	case err := <-serveErr:
		first = fmt.Errorf("hls origin: %w", err)
		cancel()
		if err := <-genErr; err != nil {
			first = errors.Join(first, err)
		}
	case err := <-genErr:
		first = err
	case <-ctx.Done():
		cancel()
		first = <-genErr
	}
	shutCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		first = errors.Join(first, err)
	}
	return first
}
