package tracker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"swarmcast/internal/jsonconf"
)

// tlsState serves one listener's TLS configuration and reloads it when the certificate,
// key or CA files change (or on ReloadTLS). Handshakes read the current configuration
// through GetConfigForClient, so a reload never interrupts open connections.
type tlsState struct {
	// Static after construction.
	opts    ServerOptions
	prefix  string // "servers[i].server", for error messages
	ciphers []uint16
	log     *slog.Logger
	metrics *serverMetrics

	current atomic.Pointer[tls.Config] // replaced whole by reload; read by every handshake

	mu    sync.Mutex // serialises reloads; guards stamp
	stamp string     // size and mtime of the files at the last successful load
}

func newTLSState(opts ServerOptions, prefix string, log *slog.Logger, m *serverMetrics) (*tlsState, error) {
	t := &tlsState{opts: opts, prefix: prefix, log: log, metrics: m}
	ciphers, warnings := mapCiphers(opts.Ciphers)
	for _, w := range warnings {
		log.Warn("tracker: "+prefix+".ssl_ciphers: "+w, "ciphers", opts.Ciphers)
	}
	t.ciphers = ciphers
	if opts.DHParamsFile != "" {
		log.Warn("tracker: " + prefix + ".dh_params_file_name is ignored: Go's TLS has no finite-field DHE cipher suites (ECDHE is used)")
	}
	if opts.PreferLowMemory {
		log.Warn("tracker: " + prefix + ".ssl_prefer_low_memory_usage is ignored: Go's TLS already frees idle connection buffers")
	}
	if err := t.reload(true); err != nil {
		return nil, err
	}
	return t, nil
}

// listenerConfig is the *tls.Config for tls.NewListener: every handshake asks for the
// configuration current at that moment.
func (t *tlsState) listenerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return t.current.Load(), nil
		},
	}
}

// fileStamp describes the files' sizes and modification times; a change means "reload".
func (t *tlsState) fileStamp() string {
	var b strings.Builder
	for _, name := range []string{t.opts.CertFile, t.opts.KeyFile, t.opts.CAFile} {
		if name == "" {
			continue
		}
		if fi, err := os.Stat(name); err == nil {
			fmt.Fprintf(&b, "%s:%d:%d;", name, fi.Size(), fi.ModTime().UnixNano())
		} else {
			fmt.Fprintf(&b, "%s:missing;", name)
		}
	}
	return b.String()
}

// reload loads the files again when they changed since the last successful load (always
// when force is set). On error the previous configuration stays in use.
func (t *tlsState) reload(force bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	stamp := t.fileStamp()
	if !force && stamp == t.stamp {
		return nil
	}
	cfg, err := t.load()
	first := t.current.Load() == nil
	if err != nil {
		if !first {
			t.metrics.tlsReloads.WithLabelValues("error").Inc()
		}
		return err
	}
	t.current.Store(cfg)
	t.stamp = stamp
	if !first {
		t.metrics.tlsReloads.WithLabelValues("ok").Inc()
		t.log.Info("tracker: TLS certificate reloaded", "listener", t.prefix, "cert", t.opts.CertFile)
	}
	return nil
}

// watch polls the files every interval until ctx is done.
func (t *tlsState) watch(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := t.reload(false); err != nil {
				t.log.Error("tracker: TLS reload failed, keeping the previous certificate", "err", err)
			}
		}
	}
}

// load reads the certificate chain, the (possibly encrypted) key and the client CAs.
// Errors name the config key of the file at fault.
func (t *tlsState) load() (*tls.Config, error) {
	o := t.opts
	key := func(name string) string { return t.prefix + "." + name }
	certPEM, err := os.ReadFile(o.CertFile)
	if err != nil {
		return nil, jsonconf.Errorf(key("cert_file_name"), "%v", err)
	}
	keyFile, err := os.ReadFile(o.KeyFile)
	if err != nil {
		return nil, jsonconf.Errorf(key("key_file_name"), "%v", err)
	}
	keyPEM, err := decryptKeyPEM(keyFile, o.Passphrase)
	switch {
	case errors.Is(err, errNeedPassphrase), errors.Is(err, errBadPassphrase):
		return nil, jsonconf.Errorf(key("passphrase"), "%s: %v", o.KeyFile, err)
	case err != nil:
		return nil, jsonconf.Errorf(key("key_file_name"), "%v", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, jsonconf.Errorf(key("cert_file_name"), "%s and %s: %v", o.CertFile, o.KeyFile, err)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
		Certificates: []tls.Certificate{cert},
		CipherSuites: t.ciphers,
	}
	if o.CAFile != "" {
		caPEM, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, jsonconf.Errorf(key("ca_file_name"), "%v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, jsonconf.Errorf(key("ca_file_name"), "%s holds no PEM certificate", o.CAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

// opensslCiphers maps OpenSSL cipher names (TLS 1.2 and older) to Go's suites.
var opensslCiphers = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA256":     tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-AES128-SHA256":       tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-DES-CBC3-SHA":        tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA256":                 tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	"DES-CBC3-SHA":                  tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
}

// mapCiphers turns an OpenSSL cipher list ("A:B:!C", also separated by spaces or commas)
// into Go suites. Names without a Go equivalent (DHE-*, keywords like HIGH, exclusions)
// produce a warning each. nil means Go's defaults.
func mapCiphers(list string) (ids []uint16, warnings []string) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	fields := strings.FieldsFunc(list, func(r rune) bool { return r == ':' || r == ',' || r == ' ' })
	seen := map[uint16]bool{}
	for _, f := range fields {
		switch {
		case strings.HasPrefix(f, "TLS_"):
			warnings = append(warnings, fmt.Sprintf("%q is a TLS 1.3 suite; Go always enables its TLS 1.3 suites", f))
		case strings.HasPrefix(f, "DHE-") || strings.HasPrefix(f, "EDH-"):
			warnings = append(warnings, fmt.Sprintf("%q is not supported: Go has no finite-field DHE suites", f))
		default:
			id, ok := opensslCiphers[f]
			if !ok {
				warnings = append(warnings, fmt.Sprintf("%q has no Go equivalent and is ignored", f))
				continue
			}
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		warnings = append(warnings, "no usable TLS 1.2 cipher left, using Go's defaults")
	}
	return ids, warnings
}

// pemBlocks returns the types of the PEM blocks in data (for error messages).
func pemTypes(data []byte) []string {
	var types []string
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return types
		}
		types = append(types, b.Type)
	}
}
