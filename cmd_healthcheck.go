package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// runHealthcheck asks the first listener of config.json for /stats.json on loopback and
// fails unless it answers 200 within 3 seconds. It is the Docker image's HEALTHCHECK (the
// runtime image has no curl): `swarmcast healthcheck /app/config.json`.
func runHealthcheck(ctx context.Context, env *cmdEnv) error {
	servers := env.cfg.Tracker.Servers
	if len(servers) == 0 {
		return errors.New("healthcheck: no listener configured")
	}
	url, client := healthcheckTarget(servers[0].Server.Port, servers[0].Server.KeyFile != "")
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	fmt.Fprintln(env.stdout, "healthy")
	return nil
}

// healthcheckTarget is the loopback URL of /stats.json on port, and a client for it. With
// TLS the certificate is not verified: it names the public host, not 127.0.0.1.
func healthcheckTarget(port int, useTLS bool) (string, *http.Client) {
	scheme := "http"
	client := &http.Client{Timeout: 3 * time.Second}
	if useTLS {
		scheme = "https"
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // loopback self-check
	}
	return scheme + "://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + "/stats.json", client
}
