package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"swarmcast/tracker"
)

// runTracker runs the tracker alone, like `wt-tracker config.json`: it serves until ctx
// ends (SIGINT/SIGTERM), then shuts down gracefully within shutdownTimeout. SIGHUP reloads
// the TLS certificates.
func runTracker(ctx context.Context, env *cmdEnv) error {
	srv, err := tracker.New(env.cfg.Tracker, tracker.Options{Logger: env.log})
	if err != nil {
		return err
	}
	defer srv.Close()
	stop := reloadTLSOnSIGHUP(ctx, env, srv)
	defer stop()
	return srv.Run(ctx)
}

// reloadTLSOnSIGHUP calls srv.ReloadTLS on every SIGHUP until ctx ends or stop is called.
func reloadTLSOnSIGHUP(ctx context.Context, env *cmdEnv, srv *tracker.Server) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := srv.ReloadTLS(); err != nil {
					env.log.Error("SIGHUP: TLS reload failed, keeping the previous certificates", "err", err)
				} else {
					env.log.Info("SIGHUP: TLS certificates reloaded")
				}
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		cancel()
		<-done
	}
}
